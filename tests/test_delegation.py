"""Assistance by relatives or friends (delegations), through HTTP.

Every test that changes a delegation builds its own helper account and its own persons
(officer `registerPerson`, optionally a fresh account linked with `linkIdentity`), so the
demo helper's two dependants are only ever read. Tests that need another day pin the clock
and sign in again for a token valid at that moment.

The helpers it shares with tests/test_security_paths.py live in tests/helpers.py.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.delegation import age_on, last_day_as_minor, represented_until
from persistence.models import Delegation as DelegationRow
from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import (
    ACTIONS,
    ALL_SCOPES,
    CANCEL,
    DELEGATION_FIELDS,
    NOT_PERMITTED,
    PASSWORD,
    RESCHEDULE,
    VIEWER,
    Registered,
    accepted_dependant,
    active_dependant,
    add_dependant,
    add_ok,
    beijing,
    beijing_today,
    book,
    book_open_slot,
    confirm,
    gid,
    helper_in_database,
    link_identity,
    link_identity_ok,
    member_with_person,
    minor_birth_date,
    mutate,
    new_member,
    new_surname,
    officer_token,
    open_slots,
    passport_number,
    person_node,
    pk_of,
    record_application,
    register_person,
    respond,
    revoke,
    viewer,
)

# ------------------------------------------------------------------------------- helpers


def scopes_of(person: dict) -> list[str]:
    return sorted(person["grantedScopes"])


def typed(person: Registered) -> dict[str, str]:
    """requestedFor as the helper typed `person`'s facts (surname upper-cased)."""
    return {
        "surname": person.surname.upper(),
        "nationality": person.nationality,
        "birthDate": person.birth_date,
    }


def assert_sees_only_what_was_typed(delegation: dict, person: Registered) -> None:
    """A delegation that is not ACTIVE shows its helper no person, only the typed facts."""
    assert delegation["dependant"] is None, delegation
    assert delegation["requestedFor"] == typed(person), delegation


# ------------------------------------------------------------------ the demo helper's state


async def test_demo_helper_has_two_active_dependants_as_the_contract_says(client):
    token = await sign_in(client, "helper@demo.test")

    me = await viewer(client, token)

    assert me["person"] is None
    assert me["helpers"] == []
    by_surname = {d["dependant"]["surname"]: d for d in me["dependants"]}
    assert set(by_surname) == {"Tanaka", "Kim"}, me["dependants"]
    child, elder = by_surname["Tanaka"], by_surname["Kim"]
    assert child["status"] == elder["status"] == "ACTIVE"
    assert child["relationship"] == "CHILD"
    assert sorted(child["scopes"]) == ALL_SCOPES
    assert child["dependant"]["nationality"] == "JPN"
    assert elder["relationship"] == "PARENT"
    assert sorted(elder["scopes"]) == ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"]
    assert elder["dependant"]["nationality"] == "KOR"
    assert elder["dependant"]["birthDate"] == "1948-02-11"
    assert child["requestedFor"]["surname"] == "TANAKA"
    assert child["requestedFor"]["nationality"] == "JPN"
    assert child["requestedFor"]["birthDate"] == child["dependant"]["birthDate"]
    assert elder["requestedFor"] == {
        "surname": "KIM",
        "nationality": "KOR",
        "birthDate": "1948-02-11",
    }
    for delegation in (child, elder):
        assert delegation["helper"]["kind"] == "HELPER"
        assert delegation["helper"]["displayName"] == "Wang Fang"
    # Everyone the helper may act for: the two dependants, and no person of its own.
    assert {a["surname"] for a in me["applicants"]} == {"Tanaka", "Kim"}
    assert len(me["applicants"]) == 2
    assert {a["id"] for a in me["applicants"]} == {
        child["dependant"]["id"],
        elder["dependant"]["id"],
    }


async def test_granted_scopes_self_all_three_child_all_three_elder_two(client):
    applicant = await sign_in(client, "applicant@demo.test")
    body = await gql(client, "{ viewer { person { id grantedScopes } } }", token=applicant)
    assert scopes_of(body["data"]["viewer"]["person"]) == ALL_SCOPES

    token = await sign_in(client, "helper@demo.test")
    applicants = {a["surname"]: a for a in (await viewer(client, token))["applicants"]}
    assert scopes_of(applicants["Tanaka"]) == ALL_SCOPES
    assert scopes_of(applicants["Kim"]) == ["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS"]


async def test_granted_scopes_follow_the_delegation(client):
    helper, child, _ = await active_dependant(client, scopes=["VIEW_DOCUMENTS"])

    node = await person_node(client, helper.token, child.id)

    assert node is not None
    assert scopes_of(node) == ["VIEW_DOCUMENTS"]
    assert node["documents"] == [] and node["passports"] is not None
    assert node["applications"] is None and node["appointments"] is None


async def test_elderly_dependant_without_view_documents_shows_only_granted_fields(client):
    token = await sign_in(client, "helper@demo.test")
    kim = next(a for a in (await viewer(client, token))["applicants"] if a["surname"] == "Kim")

    node = await person_node(client, token, kim["id"])

    assert node is not None
    assert (node["surname"], node["nationality"], node["birthDate"]) == (
        "Kim",
        "KOR",
        "1948-02-11",
    )
    assert node["documents"] is None
    assert node["permanentResidentCard"] is None
    assert node["passports"] is None
    assert node["applications"] is not None
    assert len(node["applications"]["edges"]) >= 1  # the demo data's application
    assert node["appointments"] is not None


async def test_child_dependant_with_all_scopes_shows_documents(client):
    token = await sign_in(client, "helper@demo.test")
    tanaka = next(
        a for a in (await viewer(client, token))["applicants"] if a["surname"] == "Tanaka"
    )

    node = await person_node(client, token, tanaka["id"])

    assert node is not None
    assert [d["number"] for d in node["documents"]] == ["BJ2026R001177"]
    assert node["passports"] and node["applications"] is not None
    assert node["appointments"] is not None


# ----------------------------------------------------------------------- adding dependants


async def test_minor_without_account_is_active_at_once(client):
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())

    delegation = await add_ok(
        client, helper.token, child, scopes=["BOOK_APPOINTMENTS"], relationship="GRANDCHILD"
    )

    assert delegation["status"] == "ACTIVE"
    assert delegation["relationship"] == "GRANDCHILD"
    assert delegation["scopes"] == ["BOOK_APPOINTMENTS"]
    # Until the day before they come of age, not open-ended.
    born = date.fromisoformat(child.birth_date)
    assert delegation["validUntil"] == last_day_as_minor(born).isoformat()
    assert delegation["dependant"]["id"] == child.id
    assert delegation["helper"]["kind"] == "HELPER"
    me = await viewer(client, helper.token)
    assert [a["id"] for a in me["applicants"]] == [child.id]
    assert [d["id"] for d in me["dependants"]] == [delegation["id"]]
    assert me["dependants"][0]["dependant"]["grantedScopes"] == ["BOOK_APPOINTMENTS"]


async def test_adult_without_account_is_pending_until_an_officer_confirms(client):
    helper = await new_member(client)
    adult = await register_person(client)

    delegation = await add_ok(client, helper.token, adult, relationship="PARENT")

    assert delegation["status"] == "PENDING"
    assert await person_node(client, helper.token, adult.id) is None
    assert (await viewer(client, helper.token))["applicants"] == []

    confirmed = await confirm(client, await officer_token(client), delegation["id"])

    assert confirmed["__typename"] == "DelegationConfirmed", confirmed
    assert confirmed["delegation"]["status"] == "ACTIVE"
    node = await person_node(client, helper.token, adult.id)
    assert node is not None and scopes_of(node) == ALL_SCOPES
    assert [a["id"] for a in (await viewer(client, helper.token))["applicants"]] == [adult.id]
    # Confirming twice changes nothing.
    again = await confirm(client, await officer_token(client), delegation["id"])
    assert again == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


async def test_applicants_cannot_confirm_a_delegation(client):
    helper = await new_member(client)
    adult = await register_person(client)
    delegation = await add_ok(client, helper.token, adult)
    bystander = await sign_in(client, "applicant@demo.test")

    for token in (helper.token, bystander, await sign_in(client, "analyst@demo.test")):
        result = await confirm(client, token, delegation["id"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    assert (await viewer(client, helper.token))["dependants"][0]["status"] == "PENDING"
    assert await person_node(client, helper.token, adult.id) is None


async def test_an_officer_cannot_confirm_for_a_person_who_has_an_account(client):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    delegation = await add_ok(client, helper.token, dependant.person)

    result = await confirm(client, await officer_token(client), delegation["id"])

    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    assert await person_node(client, helper.token, dependant.person.id) is None


async def test_person_with_an_account_sees_the_pending_delegation_and_accepts(client):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None

    added = await add_ok(
        client, helper.token, dependant.person, scopes=["VIEW_APPLICATIONS"], relationship="FRIEND"
    )

    assert added["status"] == "PENDING"
    assert await person_node(client, helper.token, dependant.person.id) is None
    response = await client.post(
        "/graphql",
        json={"query": VIEWER},
        headers={"authorization": f"Bearer {dependant.token}"},
    )
    theirs = response.json()["data"]["viewer"]["helpers"]
    assert [d["id"] for d in theirs] == [added["id"]]
    assert theirs[0]["status"] == "PENDING"
    assert theirs[0]["helper"] == {
        "id": theirs[0]["helper"]["id"],
        "displayName": "Test User",
        "kind": "HELPER",
    }
    assert helper.email not in response.text  # the helper appears as an Actor only

    answered = await respond(client, dependant.token, added["id"], True)

    assert answered["__typename"] == "DelegationResponded", answered
    assert answered["delegation"]["status"] == "ACTIVE"
    node = await person_node(client, helper.token, dependant.person.id)
    assert node is not None and scopes_of(node) == ["VIEW_APPLICATIONS"]
    assert [a["id"] for a in (await viewer(client, helper.token))["applicants"]] == [
        dependant.person.id
    ]
    # Answering again is refused: it is no longer pending.
    again = await respond(client, dependant.token, added["id"], False)
    assert again == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


async def test_declined_delegation_grants_nothing(client):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    added = await add_ok(client, helper.token, dependant.person)

    answered = await respond(client, dependant.token, added["id"], False)

    assert answered["__typename"] == "DelegationResponded", answered
    assert answered["delegation"]["status"] == "DECLINED"
    assert await person_node(client, helper.token, dependant.person.id) is None
    me = await viewer(client, helper.token)
    assert me["applicants"] == []
    assert me["dependants"][0]["status"] == "DECLINED"
    assert_sees_only_what_was_typed(me["dependants"][0], dependant.person)
    (slot,) = await open_slots(client)
    refused = await book(client, helper.token, dependant.person.id, slot["id"])
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    # A declined delegation cannot be accepted afterwards.
    late = await respond(client, dependant.token, added["id"], True)
    assert late == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    assert await person_node(client, helper.token, dependant.person.id) is None


async def test_only_the_dependant_may_respond(client):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    added = await add_ok(client, helper.token, dependant.person)
    stranger = await new_member(client)
    other_person = await member_with_person(client)

    for token in (
        stranger.token,
        other_person.token,
        helper.token,  # the helper may not accept on the dependant's behalf
        await officer_token(client),
        await sign_in(client, "admin@demo.test"),
    ):
        result = await respond(client, token, added["id"], True)
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    unknown = await respond(client, stranger.token, gid("Delegation", 99999999), True)
    assert unknown == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    theirs = (await viewer(client, dependant.token))["helpers"]
    assert theirs[0]["status"] == "PENDING"
    assert await person_node(client, helper.token, dependant.person.id) is None


async def test_pending_delegation_expires_after_fourteen_days(client, clock):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    added = await add_ok(client, helper.token, dependant.person)
    start = datetime.now(UTC)

    clock.pinned = start + timedelta(days=13)
    await dependant.refresh(client)
    assert (await viewer(client, dependant.token))["helpers"][0]["status"] == "PENDING"

    clock.pinned = start + timedelta(days=15)
    await dependant.refresh(client)
    await helper.refresh(client)

    assert (await viewer(client, dependant.token))["helpers"][0]["status"] == "EXPIRED"
    mine = await viewer(client, helper.token)
    assert mine["dependants"][0]["status"] == "EXPIRED"
    assert mine["applicants"] == []
    assert_sees_only_what_was_typed(mine["dependants"][0], dependant.person)
    late = await respond(client, dependant.token, added["id"], True)
    assert late == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    assert await person_node(client, helper.token, dependant.person.id) is None
    assert (await viewer(client, helper.token))["applicants"] == []


async def test_pending_delegation_of_an_adult_cannot_be_confirmed_after_it_expired(client, clock):
    helper = await new_member(client)
    adult = await register_person(client)
    added = await add_ok(client, helper.token, adult)

    clock.pinned = datetime.now(UTC) + timedelta(days=15)
    result = await confirm(client, await officer_token(client), added["id"])

    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    await helper.refresh(client)
    assert (await viewer(client, helper.token))["dependants"][0]["status"] == "EXPIRED"
    assert await person_node(client, helper.token, adult.id) is None


async def test_valid_until_in_the_past_is_a_validation_error(client):
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())
    yesterday = (beijing_today() - timedelta(days=1)).isoformat()

    result = await add_dependant(client, helper.token, child.facts(), valid_until=yesterday)

    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "validUntil"
    assert (await viewer(client, helper.token))["dependants"] == []


async def test_active_delegation_expires_after_its_valid_until_day(client, clock):
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())
    last_day = beijing_today() + timedelta(days=3)
    delegation = await add_ok(client, helper.token, child, valid_until=last_day.isoformat())
    assert delegation["status"] == "ACTIVE"
    assert delegation["validUntil"] == last_day.isoformat()

    # Late on its last day (Beijing time) it still holds.
    clock.pinned = beijing(last_day, 22)
    await helper.refresh(client)
    assert await person_node(client, helper.token, child.id) is not None

    # Just after midnight in Beijing it has ended, although it is still that day in UTC.
    clock.pinned = beijing(last_day + timedelta(days=1), 0, 30)
    await helper.refresh(client)

    mine = await viewer(client, helper.token)
    assert mine["dependants"][0]["status"] == "EXPIRED"
    assert mine["applicants"] == []
    assert_sees_only_what_was_typed(mine["dependants"][0], child)
    assert await person_node(client, helper.token, child.id) is None
    refused = await book(client, helper.token, child.id, gid("Slot", 1))
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    # And well after it, too.
    clock.pinned = beijing(last_day + timedelta(days=5), 12)
    await helper.refresh(client)
    assert await person_node(client, helper.token, child.id) is None
    assert (await viewer(client, helper.token))["dependants"][0]["status"] == "EXPIRED"


async def test_every_wrong_fact_is_identity_not_found_with_one_message(client):
    helper = await new_member(client)
    person = await register_person(client, birth_date=minor_birth_date())
    right = person.facts()
    wrong = [
        {**right, "passportNumber": passport_number("D")},
        {**right, "nationality": "FRA"},
        {**right, "birthDate": "2001-01-01"},
        {**right, "surname": new_surname()},
        {**right, "passportNumber": "!!"},  # malformed
        {**right, "nationality": "XX"},  # malformed
    ]

    results = [await add_dependant(client, helper.token, facts) for facts in wrong]

    assert {r["__typename"] for r in results} == {"IdentityNotFound"}, results
    assert len({r["message"] for r in results}) == 1, results
    assert (await viewer(client, helper.token))["dependants"] == []
    # The right facts still work (surname case ignored).
    ok = await add_dependant(client, helper.token, {**right, "surname": right["surname"].upper()})
    assert ok["__typename"] == "DependantAdded", ok


async def test_ten_failed_attempts_are_rate_limited(client):
    helper = await new_member(client)
    person = await register_person(client, birth_date=minor_birth_date())

    for _ in range(10):
        failed = await add_dependant(
            client, helper.token, {**person.facts(), "passportNumber": passport_number("D")}
        )
        assert failed["__typename"] == "IdentityNotFound", failed

    limited = await add_dependant(client, helper.token, person.facts())

    assert limited["__typename"] == "RateLimited", limited
    assert limited["retryAfterSeconds"] > 0
    assert (await viewer(client, helper.token))["dependants"] == []


async def test_adding_the_same_person_twice_is_a_validation_error(client):
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())
    adult = await register_person(client)
    await add_ok(client, helper.token, child)  # ACTIVE
    await add_ok(client, helper.token, adult)  # PENDING

    for person in (child, adult):
        again = await add_dependant(client, helper.token, person.facts(), scopes=["VIEW_DOCUMENTS"])
        assert again["__typename"] == "ValidationError", again

    assert len((await viewer(client, helper.token))["dependants"]) == 2


async def test_concurrent_additions_of_the_same_person_make_one_delegation(client):
    """addDependant looks for an open delegation, then inserts one: concurrent calls for the
    same person all found none (PostgreSQL) and made several open delegations, so revoking one
    left another granting. The database keeps one open delegation per helper and dependant;
    every other call gets the answer a second call made later gets."""
    helper = await new_member(client)
    officer = await officer_token(client)
    child = await register_person(client, birth_date=minor_birth_date(), officer=officer)
    adult = await register_person(client, officer=officer)
    helper_pk = pk_of(helper.account_id)

    for person, status in ((child, "ACTIVE"), (adult, "PENDING")):
        results = await asyncio.gather(
            *(add_dependant(client, helper.token, person.facts()) for _ in range(8))
        )

        (added,) = [r for r in results if r["__typename"] == "DependantAdded"]
        assert added["delegation"]["status"] == status, added
        refused = [r for r in results if r is not added]
        assert (
            refused
            == [
                {
                    "__typename": "ValidationError",
                    "message": "You have already added this person; see your dependants.",
                    "field": None,
                }
            ]
            * 7
        ), results
        rows = await DelegationRow.filter(helper_id=helper_pk, dependant_id=pk_of(person.id))
        assert [row.status for row in rows] == [status]

        revoked = await revoke(client, helper.token, added["delegation"]["id"])
        assert revoked["__typename"] == "DelegationRevoked", revoked
        assert not await DelegationRow.filter(
            helper_id=helper_pk, dependant_id=pk_of(person.id), status__in=["PENDING", "ACTIVE"]
        ).exists()
    assert [d["status"] for d in (await viewer(client, helper.token))["dependants"]] == [
        "REVOKED",
        "REVOKED",
    ]


async def test_adding_yourself_is_a_validation_error(client):
    member = await member_with_person(client)
    assert member.person is not None

    result = await add_dependant(client, member.token, member.person.facts())

    assert result["__typename"] == "ValidationError", result
    assert (await viewer(client, member.token))["dependants"] == []


async def test_limit_reached_at_ten_dependants(client):
    """Ten successful additions are not failed attempts: the eleventh is LimitReached."""
    helper = await new_member(client)
    officer = await officer_token(client)
    children = [
        await register_person(client, birth_date=minor_birth_date(), officer=officer)
        for _ in range(11)
    ]
    for child in children[:10]:
        await add_ok(client, helper.token, child, scopes=["BOOK_APPOINTMENTS"])

    eleventh = await add_dependant(client, helper.token, children[10].facts())

    assert eleventh["__typename"] == "LimitReached", eleventh
    assert eleventh["limit"] == 10
    assert len((await viewer(client, helper.token))["dependants"]) == 10


async def test_limit_counts_active_and_pending_only(client):
    """Ended delegations (revoked, declined, expired) do not count towards the limit of 10."""
    helper = await new_member(client)
    officer = await officer_token(client)
    persons = [await register_person(client, officer=officer) for _ in range(13)]
    helper_pk = pk_of(helper.account_id)
    past = beijing_today() - timedelta(days=3)
    seeded = [("ACTIVE", None)] * 5 + [("PENDING", None)] * 4
    seeded += [("REVOKED", None), ("DECLINED", None), ("ACTIVE", past)]
    for person, (status, valid_until) in zip(persons, seeded, strict=False):
        await DelegationRow.create(
            helper_id=helper_pk,
            dependant_id=pk_of(person.id),
            relationship="FRIEND",
            scopes=["BOOK_APPOINTMENTS"],
            status=status,
            valid_until=valid_until,
            pending_until=datetime.now(UTC) + timedelta(days=14) if status == "PENDING" else None,
        )

    tenth = await add_dependant(client, helper.token, persons[12].facts())
    assert tenth["__typename"] == "DependantAdded", tenth

    eleventh_person = await register_person(client, officer=officer)
    eleventh = await add_dependant(client, helper.token, eleventh_person.facts())

    assert eleventh["__typename"] == "LimitReached", eleventh
    assert eleventh["limit"] == 10


# ------------------------------------------------------- what the helper sees of the dependant

DELEGATION_NODE = f"""
query($id: ID!) {{ node(id: $id) {{ ... on Delegation {{ {DELEGATION_FIELDS} }} }} }}"""


async def delegation_node(client, token: str, delegation_id: str) -> dict:
    body = await gql(client, DELEGATION_NODE, {"id": delegation_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def test_a_pending_delegation_shows_the_helper_what_it_typed_and_no_person(client):
    helper = await new_member(client)
    adult = await register_person(client)
    facts = {
        **adult.facts(),
        "surname": f"  {adult.surname.lower()} ",  # typed carelessly, still a match
        "nationality": adult.nationality.lower(),
    }

    added = await add_dependant(client, helper.token, facts, relationship="PARENT")

    assert added["__typename"] == "DependantAdded", added
    delegation = added["delegation"]
    delegation_id = delegation["id"]
    assert delegation["status"] == "PENDING"
    assert_sees_only_what_was_typed(delegation, adult)
    assert delegation["requestedFor"]["surname"] == adult.surname.upper()
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {helper.token}"}
    )
    (listed,) = response.json()["data"]["viewer"]["dependants"]
    assert_sees_only_what_was_typed(listed, adult)
    assert_sees_only_what_was_typed(
        await delegation_node(client, helper.token, delegation_id), adult
    )
    # Nothing the helper did not type reaches it: not the given names, not the record's id.
    assert adult.given_names not in response.text
    assert adult.id not in response.text

    # Staff see the person behind a pending delegation (they confirm it at the counter).
    officer = await officer_token(client)
    seen_by_staff = await delegation_node(client, officer, delegation_id)
    assert seen_by_staff["dependant"]["id"] == adult.id

    # Once ACTIVE the helper sees the person; what it typed stays as it was.
    confirmed = await confirm(client, officer, delegation_id)
    assert confirmed["delegation"]["status"] == "ACTIVE"
    active = await delegation_node(client, helper.token, delegation_id)
    assert active["dependant"]["id"] == adult.id
    assert active["dependant"]["givenNames"] == adult.given_names
    assert active["requestedFor"] == typed(adult)
    assert (await viewer(client, helper.token))["dependants"][0]["dependant"]["id"] == adult.id

    # Revoked: the person is gone from the helper's view again.
    revoked = await revoke(client, helper.token, delegation_id)
    assert revoked["delegation"]["status"] == "REVOKED"
    assert_sees_only_what_was_typed(revoked["delegation"], adult)
    assert_sees_only_what_was_typed(
        await delegation_node(client, helper.token, delegation_id), adult
    )
    response = await client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {helper.token}"}
    )
    assert adult.given_names not in response.text


async def test_the_dependant_sees_themselves_in_every_delegation_whatever_its_status(client):
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    added = await add_ok(client, helper.token, dependant.person)

    pending = (await viewer(client, dependant.token))["helpers"][0]
    assert pending["status"] == "PENDING"
    assert pending["dependant"]["id"] == dependant.person.id
    assert pending["requestedFor"] == typed(dependant.person)

    answered = await respond(client, dependant.token, added["id"], False)
    assert answered["delegation"]["status"] == "DECLINED"
    assert answered["delegation"]["dependant"]["id"] == dependant.person.id
    declined = (await viewer(client, dependant.token))["helpers"][0]
    assert declined["dependant"]["givenNames"] == dependant.person.given_names
    # ... while the helper, the same moment, sees only what it typed.
    assert_sees_only_what_was_typed(
        (await viewer(client, helper.token))["dependants"][0], dependant.person
    )


async def test_a_helper_never_sees_another_helper_in_booked_by(client):
    child = await register_person(client, birth_date=minor_birth_date())
    first, second = await new_member(client), await new_member(client)
    for helper in (first, second):
        assert (await add_ok(client, helper.token, child))["status"] == "ACTIVE"
    first_actor = gid("Actor", pk_of(first.account_id))

    booked = await book_open_slot(client, first.token, child.id)

    assert booked["bookedBy"] == {"id": first_actor, "displayName": "Test User", "kind": "HELPER"}
    query = """query($id: ID!) { node(id: $id) { ... on Person {
        appointments(first: 10) { edges { node { id bookedBy { id displayName kind } } } } } } }"""
    body = await gql(client, query, {"id": child.id}, token=second.token)
    assert "errors" not in body, body
    (edge,) = body["data"]["node"]["appointments"]["edges"]
    assert edge["node"]["id"] == booked["id"]
    assert edge["node"]["bookedBy"] == {
        "id": gid("Actor", 0),
        "displayName": "Another helper",
        "kind": "HELPER",
    }
    assert first_actor not in str(body)
    appointment = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Appointment { bookedBy { id } } } }",
        {"id": booked["id"]},
        token=second.token,
    )
    assert appointment["data"]["node"]["bookedBy"]["id"] == gid("Actor", 0)
    # The helper who booked, and staff, see who it was.
    for token in (first.token, await officer_token(client)):
        body = await gql(client, query, {"id": child.id}, token=token)
        (edge,) = body["data"]["node"]["appointments"]["edges"]
        assert edge["node"]["bookedBy"]["id"] == first_actor


# -------------------------------------------------------------------------------- revoking


async def test_helper_revokes_and_the_very_next_request_sees_nothing(client):
    helper, child, delegation = await active_dependant(client)
    (slot, other_slot) = await open_slots(client, count=2)
    key = secrets.token_hex(8)
    booked = await book(client, helper.token, child.id, slot["id"], key=key)
    assert booked["__typename"] == "BookingConfirmed", booked
    appointment = booked["appointment"]
    assert appointment["bookedBy"]["kind"] == "HELPER"
    assert await person_node(client, helper.token, child.id) is not None

    revoked = await revoke(client, helper.token, delegation["id"])

    assert revoked["__typename"] == "DelegationRevoked", revoked
    assert revoked["delegation"]["status"] == "REVOKED"
    assert await person_node(client, helper.token, child.id) is None
    body = await gql(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": appointment["id"]}, helper.token
    )
    assert body["data"]["node"] is None
    mine = await viewer(client, helper.token)
    assert mine["applicants"] == []
    assert mine["dependants"][0]["status"] == "REVOKED"
    assert_sees_only_what_was_typed(mine["dependants"][0], child)
    refused = await book(client, helper.token, child.id, other_slot["id"], service="VISA_RENEWAL")
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    # Replaying the earlier booking's idempotency key does not hand the appointment back.
    replay = await book(client, helper.token, child.id, slot["id"], key=key)
    assert replay == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    cancelled = await mutate(client, CANCEL, helper.token, id=appointment["id"])
    assert cancelled == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    moved = await mutate(
        client,
        RESCHEDULE,
        helper.token,
        input={"appointmentId": appointment["id"], "slotId": other_slot["id"]},
    )
    assert moved == {"__typename": "NotPermitted", "message": NOT_PERMITTED}


async def test_dependant_revokes_and_the_helper_sees_nothing_on_the_next_request(client):
    helper, dependant, delegation = await accepted_dependant(client)
    assert dependant.person is not None
    assert await person_node(client, helper.token, dependant.person.id) is not None

    revoked = await revoke(client, dependant.token, delegation["id"])

    assert revoked["__typename"] == "DelegationRevoked", revoked
    assert revoked["delegation"]["status"] == "REVOKED"
    assert await person_node(client, helper.token, dependant.person.id) is None
    assert (await viewer(client, helper.token))["applicants"] == []
    (slot,) = await open_slots(client)
    refused = await book(client, helper.token, dependant.person.id, slot["id"])
    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    assert (await viewer(client, dependant.token))["helpers"][0]["status"] == "REVOKED"


async def test_others_cannot_revoke_a_delegation(client):
    helper, child, delegation = await active_dependant(client)
    stranger = await new_member(client)

    for token in (stranger.token, await sign_in(client, "helper@demo.test")):
        result = await revoke(client, token, delegation["id"])
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}

    assert await person_node(client, helper.token, child.id) is not None


# ----------------------------------------------------------------------------- audit trail


async def test_an_appointment_shown_by_already_booked_is_in_the_dependants_trail(client):
    """A helper booking a service the dependant holds already is shown that appointment
    (AlreadyBooked.existing): a read of it, recorded as any other, though nothing is booked."""
    helper, dependant, _ = await accepted_dependant(client, ["BOOK_APPOINTMENTS"])
    assert dependant.person is not None
    held = await book_open_slot(client, dependant.token, dependant.person.id)
    (slot,) = await open_slots(client)
    body = await gql(
        client,
        """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
             __typename ... on AlreadyBooked { existing { id reference } } } }""",
        {
            "input": {
                "applicantId": dependant.person.id,
                "slotId": slot["id"],
                "service": "VISA_EXTENSION",
            }
        },
        token=helper.token,
    )
    answer = body["data"]["bookAppointment"]
    assert answer["__typename"] == "AlreadyBooked", body
    assert answer["existing"]["reference"] == held["reference"]
    trail = await gql(client, ACTIONS, token=dependant.token)
    entries = [e["node"] for e in trail["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    reads = [(e["action"], e["target"], e["actor"]["kind"]) for e in entries]
    assert ("READ_APPOINTMENTS", held["reference"], "HELPER") in reads, reads
    assert not any(e["action"] == "BOOK_APPOINTMENT" for e in entries)


async def test_actions_on_my_behalf_record_helpers_and_officers_but_not_oneself(client):
    helper, dependant, delegation = await accepted_dependant(client)
    assert dependant.person is not None
    officer = await officer_token(client)
    await record_application(client, dependant.person.id, officer=officer)

    async def events() -> list[dict]:
        body = await gql(client, ACTIONS, token=dependant.token)
        assert "errors" not in body, body
        return [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]

    before = await events()
    # The person's own reads are not recorded.
    own = await gql(
        client,
        "{ viewer { person { applications { edges { node { id } } } documents { id } "
        "passports { id } appointments { edges { node { id } } } } } }",
        token=dependant.token,
    )
    assert len(own["data"]["viewer"]["person"]["applications"]["edges"]) == 1
    assert await events() == before

    # The helper reads the applications and books an appointment.
    seen = await person_node(client, helper.token, dependant.person.id)
    assert seen is not None and len(seen["applications"]["edges"]) == 1
    appointment = await book_open_slot(client, helper.token, dependant.person.id)
    # An officer reads the applications.
    assert await person_node(client, officer, dependant.person.id) is not None

    response = await client.post(
        "/graphql", json={"query": ACTIONS}, headers={"authorization": f"Bearer {dependant.token}"}
    )
    after = [e["node"] for e in response.json()["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    new = [e for e in after if e["id"] not in {b["id"] for b in before}]
    by_helper = [e for e in new if e["actor"]["kind"] == "HELPER"]
    by_officer = [e for e in new if e["actor"]["kind"] == "OFFICER"]
    assert {e["action"] for e in by_helper} >= {"READ_APPLICATIONS", "BOOK_APPOINTMENT"}
    for event in by_helper:
        assert event["onBehalf"] is True
        assert pk_of(event["actor"]["id"]) == pk_of(helper.account_id)
        assert event["actor"]["displayName"] == "Test User"
        assert event["subject"] == {"id": dependant.person.id}
        assert event["delegation"]["id"] == delegation["id"]
    booking = next(e for e in by_helper if e["action"] == "BOOK_APPOINTMENT")
    assert booking["target"] == appointment["reference"]
    assert "READ_APPLICATIONS" in {e["action"] for e in by_officer}
    for event in by_officer:
        assert event["onBehalf"] is False
        assert event["delegation"] is None
        assert event["actor"]["displayName"] == "Officer Li Wei"
    assert {e["actor"]["kind"] for e in new} <= {"HELPER", "OFFICER"}  # never SELF
    assert helper.email not in response.text
    assert "officer@demo.test" not in response.text
    # The newest first.
    moments = [e["at"] for e in after]
    assert moments == sorted(moments, reverse=True)


async def test_actor_has_no_email_field(client):
    body = await gql(client, '{ __type(name: "Actor") { fields { name } } }')
    names = {f["name"] for f in body["data"]["__type"]["fields"]}
    assert "email" not in names
    assert names >= {"id", "displayName", "kind"}


async def test_a_delegation_made_without_add_dependant_echoes_the_persons_facts(client):
    adult = await register_person(client)
    token, _ = await helper_in_database(client, adult.id, ["VIEW_DOCUMENTS"], "FRIEND")
    body = await gql(
        client,
        "{ viewer { dependants { requestedFor { surname nationality birthDate } } } }",
        token=token,
    )
    assert "errors" not in body, body
    [delegation] = body["data"]["viewer"]["dependants"]
    assert delegation["requestedFor"] == {
        "surname": adult.surname.upper(),
        "nationality": adult.nationality,
        "birthDate": adult.birth_date,
    }


async def test_revocations_racing_each_other_leave_one_entry_in_the_trail(client) -> None:
    """The helper revokes several times at once (a double tap, a retry) and the dependant too:
    the delegation ends once, and the dependant's trail records the helper's revocation once
    when a helper's call ended it, none when the dependant's did (their own acts are not on
    their trail)."""
    for racers in ("helper", "both"):
        helper, dependant, delegation = await accepted_dependant(client)
        who = (helper,) * 6 if racers == "helper" else (helper, dependant) * 3
        results = await asyncio.gather(*(revoke(client, w.token, delegation["id"]) for w in who))
        assert {r["__typename"] for r in results} == {"DelegationRevoked"}, results
        body = await gql(client, ACTIONS, token=dependant.token)
        edges = body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]
        actions = [e["node"]["action"] for e in edges]
        if racers == "helper":
            assert actions.count("REVOKE_DELEGATION") == 1, actions
        else:
            assert actions.count("REVOKE_DELEGATION") <= 1, actions


async def test_concurrent_additions_of_different_people_stop_at_the_limit(client) -> None:
    """Eight held, five different people added at once: two are added and three reach the
    limit of ten (on PostgreSQL the counts read before the inserts let more through)."""
    helper = await new_member(client)
    officer = await officer_token(client)
    persons = [await register_person(client, officer=officer) for _ in range(13)]
    for person in persons[:8]:
        await DelegationRow.create(
            helper_id=pk_of(helper.account_id),
            dependant_id=pk_of(person.id),
            relationship="FRIEND",
            scopes=["BOOK_APPOINTMENTS"],
            status="ACTIVE",
        )
    results = await asyncio.gather(
        *(add_dependant(client, helper.token, p.facts()) for p in persons[8:])
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["DependantAdded"] * 2 + ["LimitReached"] * 3, results
    assert len((await viewer(client, helper.token))["dependants"]) == 10


@pytest.mark.parametrize("staff", ["analyst@demo.test", "officer@demo.test", "admin@demo.test"])
async def test_staff_accounts_cannot_become_helpers(client, staff):
    """A delegation would let an analyst see a person, or an officer act outside their role
    and its office: staff accounts are refused, and nothing is created."""
    child = await register_person(client, birth_date=minor_birth_date())
    token = await sign_in(client, staff)
    result = await add_dependant(client, token, child.facts())
    assert result["__typename"] == "ValidationError", result
    assert "Staff accounts" in result["message"]
    assert not await DelegationRow.filter(dependant_id=pk_of(child.id)).exists()


async def test_identity_misses_of_link_identity_and_add_dependant_share_one_count(app, client):
    """An account has one budget of identity guesses: misses at linkIdentity use up
    addDependant's too (and the other way round), so two mutations do not double it."""
    limit = app.state.services.settings.identity_attempts_per_account
    token = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
    person = await register_person(client, birth_date=minor_birth_date())
    wrong = {**person.facts(), "passportNumber": passport_number("D")}
    for attempt in range(limit):
        if attempt % 2:
            missed = await link_identity(client, token, wrong)
        else:
            missed = await add_dependant(client, token, wrong)
        assert missed["__typename"] == "IdentityNotFound", missed
    limited = await add_dependant(client, token, person.facts())
    assert limited["__typename"] == "RateLimited", limited
    assert (await link_identity(client, token, wrong))["__typename"] == "RateLimited"


# ---------------------------------------------------------------------- coming of age


def _turning_18_in(days: int) -> tuple[date, date]:
    """(birth date, 18th birthday) of someone who turns 18 `days` from today in Beijing (a
    29 February moved on a day: its 18th birthday is not a date of its own)."""
    birthday = beijing_today() + timedelta(days=days)
    if (birthday.month, birthday.day) == (2, 29):
        birthday += timedelta(days=1)
    return date(birthday.year - 18, birthday.month, birthday.day), birthday


def test_a_minor_is_represented_to_the_day_before_the_18th_birthday():
    assert last_day_as_minor(date(2010, 6, 15)) == date(2028, 6, 14)
    assert last_day_as_minor(date(2008, 2, 29)) == date(2026, 2, 28)  # 18 on 1 March
    assert last_day_as_minor(date(2012, 2, 29)) == date(2030, 2, 28)
    assert last_day_as_minor(date(2010, 3, 1)) == date(2028, 2, 29)
    for born in (date(2010, 6, 15), date(2008, 2, 29), date(2012, 2, 29), date(2009, 1, 1)):
        last = last_day_as_minor(born)
        assert age_on(born, last) == 17 and age_on(born, last + timedelta(days=1)) == 18
    assert represented_until(date(2010, 6, 15), None) == date(2028, 6, 14)
    assert represented_until(date(2010, 6, 15), date(2027, 1, 1)) == date(2027, 1, 1)
    assert represented_until(date(2010, 6, 15), date(2030, 1, 1)) == date(2028, 6, 14)


async def test_a_child_is_represented_without_consent_only_until_coming_of_age(client, clock):
    born, birthday = _turning_18_in(3)
    helper = await new_member(client)
    child = await register_person(client, birth_date=born.isoformat())
    delegation = await add_ok(client, helper.token, child, scopes=ALL_SCOPES)
    assert delegation["status"] == "ACTIVE"
    assert delegation["validUntil"] == (birthday - timedelta(days=1)).isoformat()
    # A later end the helper asks for is cut to the same day.
    assert await person_node(client, helper.token, child.id) is not None

    # A month after the 18th birthday (before any upkeep ran): an adult who never agreed.
    clock.pinned = beijing(birthday + timedelta(days=30), 10)
    await helper.refresh(client)
    assert await person_node(client, helper.token, child.id) is None
    [held] = (await viewer(client, helper.token))["dependants"]
    assert held["status"] == "EXPIRED"
    # Asking again is asking an adult without an account: PENDING, for an officer to confirm.
    again = await add_ok(client, helper.token, child, scopes=ALL_SCOPES)
    assert again["status"] == "PENDING", again
    assert await person_node(client, helper.token, child.id) is None


async def test_a_later_end_asked_for_a_minor_is_cut_to_coming_of_age(client):
    born, birthday = _turning_18_in(100)
    helper = await new_member(client)
    child = await register_person(client, birth_date=born.isoformat())
    later = (birthday + timedelta(days=365)).isoformat()
    delegation = await add_ok(client, helper.token, child, valid_until=later)
    assert delegation["validUntil"] == (birthday - timedelta(days=1)).isoformat()
    earlier = (beijing_today() + timedelta(days=10)).isoformat()
    other = await new_member(client)
    kept = await add_ok(client, other.token, child, valid_until=earlier)
    assert kept["validUntil"] == earlier


async def test_an_ended_delegation_does_not_block_adding_the_person_again(client, clock):
    helper = await new_member(client)
    child = await register_person(client, birth_date=minor_birth_date())
    last_day = beijing_today() + timedelta(days=1)
    await add_ok(client, helper.token, child, valid_until=last_day.isoformat())

    clock.pinned = beijing(last_day + timedelta(days=2), 10)  # no upkeep has run since
    await helper.refresh(client)
    assert (await viewer(client, helper.token))["dependants"][0]["status"] == "EXPIRED"
    again = await add_dependant(client, helper.token, child.facts())
    assert again["__typename"] == "DependantAdded", again
    assert again["delegation"]["status"] == "ACTIVE"
    statuses = sorted(d["status"] for d in (await viewer(client, helper.token))["dependants"])
    assert statuses == ["ACTIVE", "EXPIRED"]


async def test_only_a_helpers_actions_through_the_delegation_are_on_the_persons_behalf(client):
    helper = await new_member(client)
    adult = await register_person(client)
    delegation = await add_ok(client, helper.token, adult, scopes=["BOOK_APPOINTMENTS"])
    done = await confirm(client, await officer_token(client), delegation["id"])
    assert done["__typename"] == "DelegationConfirmed", done
    await book_open_slot(client, helper.token, adult.id)
    member = await new_member(client)
    await link_identity_ok(client, member.token, adult.facts(), adult.id)
    body = await gql(client, ACTIONS, token=member.token)
    entries = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    flags = {(e["action"], e["actor"]["kind"]): e["onBehalf"] for e in entries}
    assert flags[("ADD_DEPENDANT", "HELPER")] is False
    assert flags[("CONFIRM_DELEGATION", "OFFICER")] is False
    assert flags[("BOOK_APPOINTMENT", "HELPER")] is True
    # Each still names the delegation it concerned.
    assert all(e["delegation"]["id"] == delegation["id"] for e in entries if e["delegation"])


async def test_at_the_limit_the_answer_does_not_say_whether_the_facts_are_a_persons(client):
    """A helper at its limit used to get LimitReached for a real person's facts and
    IdentityNotFound for made-up ones: a free oracle. Now LimitReached either way."""
    helper = await new_member(client)
    officer = await officer_token(client)
    for _ in range(10):
        child = await register_person(client, birth_date=minor_birth_date(), officer=officer)
        await add_ok(client, helper.token, child, scopes=["BOOK_APPOINTMENTS"])
    real = await member_with_person(client)
    assert real.person is not None
    made_up = {**real.person.facts(), "passportNumber": passport_number("ZZ")}

    for facts in (real.person.facts(), made_up):
        answer = await add_dependant(client, helper.token, facts, scopes=["BOOK_APPOINTMENTS"])
        assert answer["__typename"] == "LimitReached", answer


async def test_asking_the_same_person_again_and_again_is_limited(client):
    """Each request to an adult with an account notifies and mails them; withdrawing and
    asking again used to do so without end. The fourth request in the window is RateLimited
    and neither creates a delegation nor tells the person anything."""
    helper = await new_member(client)
    dependant = await member_with_person(client)
    assert dependant.person is not None
    inbox = "{ viewer { notifications(first: 50) { edges { node { kind } } } } }"

    async def requests_told() -> int:
        body = await gql(client, inbox, token=dependant.token)
        edges = body["data"]["viewer"]["notifications"]["edges"]
        return sum(e["node"]["kind"] == "DELEGATION_REQUESTED" for e in edges)

    for _ in range(3):
        added = await add_ok(client, helper.token, dependant.person, scopes=["BOOK_APPOINTMENTS"])
        assert (await revoke(client, helper.token, added["id"]))[
            "__typename"
        ] == "DelegationRevoked"
    assert await requests_told() == 3

    fourth = await add_dependant(
        client, helper.token, dependant.person.facts(), scopes=["BOOK_APPOINTMENTS"]
    )

    assert fourth["__typename"] == "RateLimited", fourth
    assert fourth["retryAfterSeconds"] > 6 * 86400
    assert "7 days" in fourth["message"]
    assert await requests_told() == 3
    assert all(d["status"] == "REVOKED" for d in (await viewer(client, helper.token))["dependants"])
    # Another helper may still ask that person: the limit is per helper and person.
    other = await new_member(client)
    assert (await add_ok(client, other.token, dependant.person))["status"] == "PENDING"
