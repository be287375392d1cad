"""A document replaced by a later one of its kind (an extension, a renewal, a reissuance) is
no longer valid from the day the replacement takes effect: the holder sees it SUPERSEDED, with
what replaced it and from when, no days remaining and no extension deadline, and `validOn`
leaves it out from then on. A first issuance, or a document of another kind, replaces nothing.
Through HTTP, as the holder and the officer meet it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx

from tests.conftest import gql
from tests.helpers import beijing, helper_in_database, officer_token
from tests.test_records import application_in, issue, new_applicant

FIELDS = """
  id kind number validFrom validUntil daysRemaining extensionDeadline status supersededOn
  supersededBy { id number status }
"""

DOCUMENTS = f"""
query($validOn: Date) {{
  viewer {{ person {{ documents(validOn: $validOn) {{ {FIELDS} }} }} }}
}}"""

NODE = f"query($id: ID!) {{ node(id: $id) {{ ... on Document {{ {FIELDS} }} }} }}"

TODAY = date(2026, 12, 2)


async def documents(client: httpx.AsyncClient, token: str, **filters: str) -> dict[str, dict]:
    body = await gql(client, DOCUMENTS, filters, token=token)
    assert "errors" not in body, body
    return {d["id"]: d for d in body["data"]["viewer"]["person"]["documents"]}


async def permit(
    client: httpx.AsyncClient, desk: str, person_id: str, service: str, first: date, last: date
) -> dict[str, Any]:
    """A residence permit issued on an application for `service`, moved along to APPROVED."""
    application = await application_in(client, desk, person_id, "APPROVED", service)
    issued = await issue(
        client,
        desk,
        application["id"],
        kind="RESIDENCE_PERMIT",
        category="WORK",
        validFrom=first.isoformat(),
        validUntil=last.isoformat(),
    )
    assert issued["__typename"] == "DocumentIssued", issued
    return issued["document"]


async def test_a_renewal_supersedes_the_permit_held_from_the_day_it_is_issued(client, clock):
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    first = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 12, 1)
    )
    before = (await documents(client, who.token))[first["id"]]
    assert before["status"] == "VALID" and before["supersededBy"] is None
    assert before["extensionDeadline"] == "2027-11-01"

    renewed = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_RENEWAL", TODAY, date(2028, 12, 1)
    )

    held = await documents(client, who.token)
    old, new = held[first["id"]], held[renewed["id"]]
    assert old["status"] == "SUPERSEDED"
    assert old["supersededOn"] == TODAY.isoformat()
    assert old["supersededBy"] == {"id": new["id"], "number": new["number"], "status": "VALID"}
    assert old["daysRemaining"] == 0 and old["extensionDeadline"] is None
    assert old["validUntil"] == "2027-12-01"  # what is printed on it stays as it was
    assert new["status"] == "VALID" and new["supersededBy"] is None
    assert new["supersededOn"] is None and new["extensionDeadline"] == "2028-11-01"
    assert list(await documents(client, who.token, validOn="2027-06-01")) == [new["id"]]
    body = await gql(client, NODE, {"id": first["id"]}, token=who.token)
    assert body["data"]["node"]["status"] == "SUPERSEDED", body


async def test_a_replacement_valid_from_a_later_day_supersedes_from_that_day(client, clock):
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    lost = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 12, 1)
    )
    start = TODAY + timedelta(days=18)
    reissued = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_REISSUANCE", start, date(2027, 12, 1)
    )

    held = await documents(client, who.token)
    assert held[lost["id"]]["status"] == "VALID"  # until the replacement takes effect
    assert held[lost["id"]]["supersededOn"] == start.isoformat()
    assert held[lost["id"]]["daysRemaining"] == 17  # its last day is the day before
    assert held[reissued["id"]]["status"] == "NOT_YET_VALID"
    before = (start - timedelta(days=1)).isoformat()
    assert list(await documents(client, who.token, validOn=before)) == [lost["id"]]
    assert list(await documents(client, who.token, validOn=start.isoformat())) == [reissued["id"]]

    clock.pinned = beijing(start, 9)
    held = await documents(client, await who.sign_in_again(client))
    assert held[lost["id"]]["status"] == "SUPERSEDED"
    assert held[reissued["id"]]["status"] == "VALID"


async def test_a_first_issuance_or_another_kind_replaces_nothing(client, clock):
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    visa_application = await application_in(client, desk, who.person_id, "APPROVED", "VISA_RENEWAL")
    visa = await issue(
        client,
        desk,
        visa_application["id"],
        kind="VISA",
        category="M",
        validFrom=TODAY.isoformat(),
        validUntil="2027-06-01",
        entries="MULTIPLE",
        durationOfStayDays=90,
    )
    assert visa["__typename"] == "DocumentIssued", visa
    one = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 12, 1)
    )
    two = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_EXTENSION", TODAY, date(2028, 6, 1)
    )

    held = await documents(client, who.token)
    assert held[visa["document"]["id"]]["status"] == "VALID"  # a permit does not replace a visa
    assert held[one["id"]]["supersededBy"]["id"] == two["id"]  # the extension did
    assert held[two["id"]]["status"] == "VALID"


async def test_a_second_first_issuance_leaves_both_in_force(client, clock):
    """Two first issuances (say, a permit issued again on a new application) replace nothing:
    only an extension, renewal or reissuance does."""
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    one = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 12, 1)
    )
    two = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2028, 6, 1)
    )
    held = await documents(client, who.token)
    assert held[one["id"]]["status"] == held[two["id"]]["status"] == "VALID"
    assert held[one["id"]]["supersededBy"] is None
    clock.pinned = beijing(date(2027, 12, 2), 10)
    token = await who.sign_in_again(client)
    assert (await documents(client, token))[one["id"]]["status"] == "EXPIRED"


async def test_a_replacement_leaves_the_permit_that_continues_it(client, clock):
    """A permit extended by one that starts when it ends, then lost and reissued: the
    reissue replaces the lost one, and the extension that follows it still holds."""
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    end = date(2027, 5, 31)
    lost = await permit(client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, end)
    follows = await permit(
        client,
        desk,
        who.person_id,
        "RESIDENCE_PERMIT_EXTENSION",
        date(2027, 6, 1),
        date(2028, 5, 31),
    )
    assert (await documents(client, who.token))[lost["id"]]["supersededBy"] is None
    reissued = await permit(client, desk, who.person_id, "RESIDENCE_PERMIT_REISSUANCE", TODAY, end)

    held = await documents(client, who.token)
    assert held[lost["id"]]["supersededBy"]["id"] == reissued["id"]
    assert held[follows["id"]]["status"] == "NOT_YET_VALID"
    assert held[follows["id"]]["supersededBy"] is None
    assert list(await documents(client, who.token, validOn="2027-05-31")) == [reissued["id"]]
    assert list(await documents(client, who.token, validOn="2027-06-01")) == [follows["id"]]


async def test_the_latest_replacement_wins_over_one_not_yet_in_force(client, clock):
    """A renewal valid from a later day, then a reissuance in force today: the reissuance
    replaces both the permit held and the renewal that never came into force, so one permit
    is valid on any day."""
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    held_first = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 5, 31)
    )
    renewal = await permit(
        client,
        desk,
        who.person_id,
        "RESIDENCE_PERMIT_RENEWAL",
        date(2026, 12, 20),
        date(2028, 5, 31),
    )
    reissued = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_REISSUANCE", TODAY, date(2028, 5, 31)
    )

    held = await documents(client, who.token)
    for replaced in (held_first["id"], renewal["id"]):
        assert held[replaced]["status"] == "SUPERSEDED", held[replaced]
        assert held[replaced]["supersededBy"]["id"] == reissued["id"]
        assert held[replaced]["supersededOn"] == TODAY.isoformat()
    for day in ("2026-12-02", "2026-12-19", "2026-12-20", "2028-05-31"):
        assert list(await documents(client, who.token, validOn=day)) == [reissued["id"]], day


HELPER_VIEW = f"""
query($person: ID!, $old: ID!) {{
  person: node(id: $person) {{ ... on Person {{ documents {{ {FIELDS} }} }} }}
  old: node(id: $old) {{ ... on Document {{ id supersededBy {{ id }} }} }}
}}"""


async def test_what_replaced_a_document_is_shown_only_to_who_may_see_documents(client, clock):
    """supersededBy is the holder's own document: a helper with VIEW_DOCUMENTS sees it, one
    without (or a stranger) reaches neither document."""
    clock.pinned = beijing(TODAY, 10)
    who = await new_applicant(client)
    desk = await officer_token(client)
    old = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_ISSUANCE", TODAY, date(2027, 12, 1)
    )
    new = await permit(
        client, desk, who.person_id, "RESIDENCE_PERMIT_RENEWAL", TODAY, date(2028, 12, 1)
    )
    variables = {"person": who.person_id, "old": old["id"]}
    docs, _ = await helper_in_database(client, who.person_id, ["VIEW_DOCUMENTS"], "PARENT")
    body = await gql(client, HELPER_VIEW, variables, token=docs)
    assert body["data"]["old"] == {"id": old["id"], "supersededBy": {"id": new["id"]}}, body
    seen = {d["id"]: d for d in body["data"]["person"]["documents"]}
    assert seen[old["id"]]["supersededBy"]["id"] == new["id"]
    book, _ = await helper_in_database(client, who.person_id, ["BOOK_APPOINTMENTS"], "PARENT")
    body = await gql(client, HELPER_VIEW, variables, token=book)
    assert body["data"] == {"person": {"documents": None}, "old": None}, body
    stranger = await new_applicant(client)
    body = await gql(client, HELPER_VIEW, variables, token=stranger.token)
    assert body["data"] == {"person": None, "old": None}, body
