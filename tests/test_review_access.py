"""Who may read and act on a person's round-2 records, tried as an attacker would through HTTP:
presentations only by the holder and a helper with VIEW_DOCUMENTS (not staff), the PDF route
the same 404 for strangers as for nothing, Notification and Certificate nodes never across
accounts, and a dependant's notifications leaving a helper's inbox, node and subscription
once the delegation or its scope ends."""

from __future__ import annotations

import httpx

from persistence.models import AuditEvent
from tests.conftest import gql, sign_in
from tests.helpers import ACTIONS, NOT_PERMITTED, book_open_slot, member_with_person, pk_of
from tests.test_certificates import (
    issue_ok,
    pr_holder,
)
from tests.test_presentations import present, present_ok


async def test_staff_may_not_present_someone_elses_certificate(
    client: httpx.AsyncClient,
) -> None:
    """A presentation is the holder's choice of what to show: officers and admins verify and
    revoke, but cannot make one in the holder's name (and nothing is stored or audited)."""
    holder, person = await pr_holder(client)
    certificate = await issue_ok(client, holder, person["id"])
    before = await AuditEvent.filter(action="PRESENT_CERTIFICATE").count()
    for staff in ("officer@demo.test", "admin@demo.test"):
        token = await sign_in(client, staff)
        result = await present(client, token, certificate["id"], ["NAME"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, staff
    assert await AuditEvent.filter(action="PRESENT_CERTIFICATE").count() == before
    # The holder still can.
    assert (await present_ok(client, holder, certificate["id"], ["NAME"]))["disclosed"] == ["NAME"]


async def test_a_helper_reading_a_dependants_notifications_is_in_the_dependants_trail(
    client: httpx.AsyncClient,
) -> None:
    """A dependant's notification tells the helper the dependant's facts (an appointment's
    time and reference, an officer's note): reading it is reading the person's data, recorded
    in their actionsOnMyBehalf like any other read (the list once per person, a node by
    id); the person's own reads are not recorded."""
    from tests.test_notifications import INBOX, NODE, about, helper_of

    person = await member_with_person(client)
    helper, delegation = await helper_of(client, person, ["BOOK_APPOINTMENTS"])
    appointment = await book_open_slot(client, person.token, person.person.id)
    (seen,) = await about(client, helper.token, "APPOINTMENT_BOOKED", appointment["id"])
    body = await gql(client, NODE, {"id": seen["id"]}, token=helper.token)
    assert body["data"]["node"]["kind"] == "APPOINTMENT_BOOKED"
    await gql(client, INBOX, {"first": 10}, token=person.token)  # the person's own: no entry

    trail = await gql(client, ACTIONS, token=person.token)
    entries = [e["node"] for e in trail["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    reads = [e for e in entries if e["action"] == "READ_NOTIFICATIONS"]
    assert reads, entries
    assert {e["actor"]["kind"] for e in reads} == {"HELPER"}
    assert {e["delegation"]["id"] for e in reads} == {delegation["id"]}
    assert {e["target"] for e in reads} == {None, f"Notification:{pk_of(seen['id'])}"}
