"""An application found by the number on its paper receipt (`Query.applicationByNumber`),
answered like `node`; and who recorded each status change (`ApplicationEvent.actor`).

Every test works on persons and applications it makes itself (see tests/helpers.py)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from tortoise import connections

from domain.application_numbers import application_number_candidates, format_application_number
from persistence.models import Account, AccountRole, ApplicationEvent
from tests.conftest import gql, sign_in
from tests.helpers import (
    ACTIONS,
    accepted_dependant,
    active_dependant,
    gid,
    member_with_person,
    move_application,
    new_applicant,
    new_member,
    other_office_officer,
    pk_of,
    record_application,
)

LOOKUP = """
query($number: String!) {
  applicationByNumber(number: $number) {
    id number status service office { code }
    events { status note actor { id displayName kind } }
  }
}"""

NODE = """
query($id: ID!) {
  node(id: $id) { ... on Application {
    id number status service office { code }
    events { status note actor { id displayName kind } }
  } }
}"""


async def lookup(client: httpx.AsyncClient, token: str | None, number: str) -> dict | None:
    body = await gql(client, LOOKUP, {"number": number}, token=token)
    assert "errors" not in body, body
    return body["data"]["applicationByNumber"]


async def lookup_statements(client: httpx.AsyncClient, token: str, number: str) -> int:
    response = await client.post(
        "/graphql",
        json={"query": LOOKUP, "variables": {"number": number}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["applicationByNumber"] is None, response.json()
    return int(response.headers["x-sql-statements"])


async def helper_reads(client: httpx.AsyncClient, token: str) -> list[dict]:
    """The READ_APPLICATIONS entries of a person's audit trail, newest first."""
    body = await gql(client, ACTIONS, token=token)
    assert "errors" not in body, body
    return [
        e["node"]
        for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
        if e["node"]["action"] == "READ_APPLICATIONS"
    ]


def unknown_number() -> str:
    """A well-formed number no office has issued (the year is far ahead)."""
    return format_application_number("BJ-DC", 2099, secrets.randbelow(10**6))


# ------------------------------------------------------------------------- reading numbers


def test_typed_numbers_are_read_as_issued() -> None:
    issued = ["BJ-DC-2026-000123"]
    for typed in (
        "BJ-DC-2026-000123",
        "bj-dc-2026-000123",
        "  bj dc 2026 000123 ",
        "BJ–DC—2026‐000123",  # en dash, em dash, hyphen
        "ＢＪ－ＤＣ－２０２６－０００１２３",  # full width, as a Chinese input method types it
        "bj-dc 2026000123",
    ):
        assert application_number_candidates(typed) == issued, typed
    # The office code's hyphen left out: every place one hyphen could go is tried.
    assert "BJ-DC-2026-000123" in application_number_candidates("bjdc2026000123")
    for malformed in ("", "x", "BJ-DC-2026-12345", "BJ-DC-26-000123", "BJ_DC-2026-000123"):
        assert application_number_candidates(malformed) == [], malformed
    assert application_number_candidates("A" * 60 + "-2026-000123") == []


# ------------------------------------------------------------------------------- lookups


async def test_applicant_finds_own_application_by_number_however_typed(client):
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)
    number = recorded["number"]
    office_code, year, sequence = number.rsplit("-", 2)

    by_node = (await gql(client, NODE, {"id": recorded["id"]}, token=applicant.token))["data"]
    for typed in (
        number,
        number.lower(),
        f" {office_code.replace('-', ' ').lower()} {year} {sequence} ",
        office_code.replace("-", "") + year + sequence,
    ):
        found = await lookup(client, applicant.token, typed)
        assert found == by_node["node"], typed
    assert found["number"] == number
    # The applicant's own reads are not in their trail.
    assert await helper_reads(client, applicant.token) == []


async def test_strangers_anonymous_callers_and_unscoped_helpers_get_null_like_a_missing_number(
    client,
):
    applicant = await new_applicant(client)
    number = (await record_application(client, applicant.person_id))["number"]
    assert await lookup(client, applicant.token, number) is not None

    stranger_without_person = await new_member(client)
    stranger_with_person = await member_with_person(client)
    unscoped_helper, child, _ = await active_dependant(client, scopes=["BOOK_APPOINTMENTS"])
    childs_number = (await record_application(client, child.id))["number"]
    callers = {
        "anonymous": None,
        "account without a person": stranger_without_person.token,
        "another applicant": stranger_with_person.token,
        "helper without VIEW_APPLICATIONS": unscoped_helper.token,
        "the demo helper": await sign_in(client, "helper@demo.test"),
    }
    for who, token in callers.items():
        for typed in (number, childs_number, unknown_number(), "not a number", "x" * 5000):
            body = await gql(client, LOOKUP, {"number": typed}, token=token)
            assert "errors" not in body, (who, typed, body)
            assert body["data"] == {"applicationByNumber": None}, (who, typed, body)


@pytest.mark.parametrize(
    "typed",
    ["B" * 30 + "2026000001", "BJDC" + "1" * 50 + "2026000001", "BJ-" + "D" * 40 + "-2026-1"],
)
async def test_a_number_longer_than_any_issued_is_null_not_an_error(client, typed):
    """Shaped like a number, but longer than the service issues: no number, so null (for
    staff, who look it up among every application, too)."""
    for email in ("officer@demo.test", "applicant@demo.test"):
        body = await gql(client, LOOKUP, {"number": typed}, token=await sign_in(client, email))
        assert "errors" not in body, body
        assert body["data"] == {"applicationByNumber": None}


async def test_a_guess_at_someone_elses_number_runs_the_statements_of_a_missing_one(client):
    """Nothing, not even the work done, tells a taken number from a free one."""
    applicant = await new_applicant(client)
    number = (await record_application(client, applicant.person_id))["number"]
    stranger = await member_with_person(client)
    helper, _, _ = await active_dependant(client)

    for token in (stranger.token, helper.token):
        taken = await lookup_statements(client, token, number)
        free = await lookup_statements(client, token, unknown_number())
        assert taken == free, (taken, free)


async def test_helper_with_view_applications_finds_it_and_the_read_is_audited(client):
    helper, dependant, delegation = await accepted_dependant(client, scopes=["VIEW_APPLICATIONS"])
    assert dependant.person is not None
    recorded = await record_application(client, dependant.person.id)
    before = await helper_reads(client, dependant.token)

    found = await lookup(client, helper.token, recorded["number"].lower())

    assert found is not None and found["id"] == recorded["id"]
    new = [r for r in await helper_reads(client, dependant.token) if r not in before]
    assert len(new) == 1, new
    (read,) = new
    assert read["actor"]["kind"] == "HELPER"
    assert pk_of(read["actor"]["id"]) == pk_of(helper.account_id)
    assert read["onBehalf"] is True and read["delegation"]["id"] == delegation["id"]
    assert read["target"] == f"Application:{pk_of(recorded['id'])}"
    assert read["subject"]["id"] == dependant.person.id


async def test_staff_find_any_application_and_their_reads_are_audited(app, client):
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)  # at BJ-DC
    elsewhere = await other_office_officer(app, client)
    admin = await sign_in(client, "admin@demo.test")

    for token, kind in ((elsewhere, "OFFICER"), (admin, "ADMIN")):
        before = await helper_reads(client, applicant.token)
        found = await lookup(client, token, recorded["number"])
        assert found is not None and found["id"] == recorded["id"], kind
        new = [r for r in await helper_reads(client, applicant.token) if r not in before]
        assert [r["actor"]["kind"] for r in new] == [kind], new
    # Staff see only what exists: a number never issued is null for them too.
    assert await lookup(client, admin, unknown_number()) is None


# -------------------------------------------------------------------------------- actors


async def test_each_event_says_which_officer_or_admin_recorded_it(client):
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)
    await move_application(client, recorded["id"], "ACCEPTED")
    admin = await sign_in(client, "admin@demo.test")
    await move_application(client, recorded["id"], "UNDER_REVIEW", officer=admin, note="Seen.")
    officer = await Account.get(email="officer@demo.test")
    administrator = await Account.get(email="admin@demo.test")

    response = await client.post(
        "/graphql",
        json={"query": LOOKUP, "variables": {"number": recorded["number"]}},
        headers={"authorization": f"Bearer {applicant.token}"},
    )

    events = response.json()["data"]["applicationByNumber"]["events"]
    assert [(e["status"], e["actor"]) for e in events] == [
        (
            "SUBMITTED",
            {"id": gid("Actor", officer.id), "displayName": "Officer Li Wei", "kind": "OFFICER"},
        ),
        (
            "ACCEPTED",
            {"id": gid("Actor", officer.id), "displayName": "Officer Li Wei", "kind": "OFFICER"},
        ),
        (
            "UNDER_REVIEW",
            {
                "id": gid("Actor", administrator.id),
                "displayName": "Administrator",
                "kind": "ADMIN",
            },
        ),
    ]
    assert "@" not in response.text  # no e-mail address of anyone


async def test_the_capacity_is_the_one_acted_in_not_the_roles_held_today(app, client):
    """An account that recorded an event as an officer and is made an admin later still
    shows OFFICER on that event (its roles today do not rewrite the history)."""
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)
    officer = await other_office_officer(app, client, code="BJ-DC")
    await move_application(client, recorded["id"], "ACCEPTED", officer=officer)
    me = await gql(client, "{ viewer { account { id } } }", token=officer)
    account = await Account.get(id=pk_of(me["data"]["viewer"]["account"]["id"]))
    await AccountRole.create(account_id=account.id, role="ADMIN")

    found = await lookup(client, applicant.token, recorded["number"])

    assert found is not None
    assert found["events"][-1]["actor"] == {
        "id": gid("Actor", account.id),
        "displayName": "Officer of BJ-DC",
        "kind": "OFFICER",
    }


async def test_events_from_before_actors_were_kept_have_no_actor_and_system_events_say_so(
    client, clock
):
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)
    officer = await Account.get(email="officer@demo.test")
    # The day after the application was recorded, whatever today is.
    at = (clock.now() + timedelta(days=1)).astimezone(UTC).replace(hour=2, minute=0, microsecond=0)
    # As events recorded before this change are stored (actor known or not), and as an event
    # the service records by itself would be.
    await ApplicationEvent.bulk_create(
        [
            ApplicationEvent(application_id=pk_of(recorded["id"]), status="ACCEPTED", at=at),
            ApplicationEvent(
                application_id=pk_of(recorded["id"]),
                status="UNDER_REVIEW",
                at=at.replace(hour=3),
                actor_id=officer.id,
            ),
            ApplicationEvent(
                application_id=pk_of(recorded["id"]),
                status="WITHDRAWN",
                at=at.replace(hour=4),
                actor_kind="SYSTEM",
            ),
        ]
    )

    found = await lookup(client, applicant.token, recorded["number"])

    assert found is not None
    assert [(e["status"], e["actor"]) for e in found["events"][1:]] == [
        ("ACCEPTED", None),
        ("UNDER_REVIEW", None),
        ("WITHDRAWN", {"id": gid("Actor", 0), "displayName": "System", "kind": "SYSTEM"}),
    ]


async def test_migration_reads_older_events_of_staff_as_their_role_and_leaves_others_unknown(
    client,
):
    """0006's backfill: an older event's actor holding ADMIN reads ADMIN, holding OFFICER reads
    OFFICER; an actor holding neither, or none at all, stays unknown (null)."""
    import importlib

    migration = importlib.import_module("persistence.migrations.0006_event_actor_kind")
    applicant = await new_applicant(client)
    recorded = await record_application(client, applicant.person_id)
    application_id = pk_of(recorded["id"])
    accounts = {}
    for roles in (["OFFICER"], ["ADMIN", "OFFICER"], ["APPLICANT"]):
        account = await Account.create(
            email=f"old-{secrets.token_hex(4)}@example.test",
            display_name="Old " + "+".join(roles),
            password_hash="-",
        )
        await AccountRole.bulk_create([AccountRole(account_id=account.id, role=r) for r in roles])
        accounts[roles[0]] = account.id
    at = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    rows = {
        name: await ApplicationEvent.create(
            application_id=application_id, status="ACCEPTED", at=at, actor_id=actor_id
        )
        for name, actor_id in (
            ("officer", accounts["OFFICER"]),
            ("admin", accounts["ADMIN"]),
            ("applicant", accounts["APPLICANT"]),
            ("nobody", None),
        )
    }

    await connections.get("default").execute_script(migration._BACKFILL)

    kinds = {name: (await ApplicationEvent.get(id=row.id)).actor_kind for name, row in rows.items()}
    assert kinds == {"officer": "OFFICER", "admin": "ADMIN", "applicant": None, "nobody": None}


async def test_actor_is_a_name_and_a_capacity_never_an_email(client):
    body = await gql(
        client,
        '{ actor: __type(name: "Actor") { fields { name } } '
        'event: __type(name: "ApplicationEvent") { fields { name type { name kind } } } }',
    )
    assert {f["name"] for f in body["data"]["actor"]["fields"]} == {"id", "displayName", "kind"}
    fields = {f["name"]: f["type"] for f in body["data"]["event"]["fields"]}
    assert fields["actor"] == {"name": "Actor", "kind": "OBJECT"}  # nullable
