"""Registering persons (staff) and linking accounts to them by passport facts."""

from __future__ import annotations

import secrets

import pytest

from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import ALL_SCOPES, PASSWORD, link_identity, officer_token, register_person_as

REGISTER = """
mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) {
    __typename
    ... on PersonRegistered { person { id surname givenNames nationality birthDate
                                       passports { number issuingCountry current } } }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

LINK = """
mutation($input: LinkIdentityInput!) {
  linkIdentity(input: $input) {
    __typename
    ... on IdentityLinked { person { id surname nationality birthDate grantedScopes } }
    ... on IdentityNotFound { message }
    ... on ValidationError { message field }
    ... on RateLimited { message retryAfterSeconds }
  }
}"""

UNLINK = """
mutation($id: ID!) {
  unlinkIdentity(personId: $id) {
    __typename
    ... on IdentityUnlinked { person { id } }
    ... on NotPermitted { message }
  }
}"""

VIEWER_PERSON = "{ viewer { person { id surname grantedScopes } applicants { id } } }"
NODE = "query($id: ID!) { node(id: $id) { __typename id ... on Person { surname } } }"


def new_passport_number() -> str:
    return "P" + secrets.token_hex(5).upper()


def person_input(**overrides: str) -> dict:
    values = {
        "surname": "Müller-Lüdenscheidt",
        "givenNames": "Anna Maria",
        "nationality": "DEU",
        "birthDate": "1990-04-12",
        "sex": "F",
        "passportNumber": new_passport_number(),
        "passportIssuingCountry": "DEU",
        "passportValidUntil": "2031-05-31",
    }
    values.update(overrides)
    return values


def facts_of(person: dict) -> dict:
    """The four linkIdentity facts of a registered person's input."""
    return {
        "passportNumber": person["passportNumber"],
        "nationality": person["nationality"],
        "birthDate": person["birthDate"],
        "surname": person["surname"],
    }


async def register(client, token: str, **overrides: str) -> tuple[dict, dict]:
    """Register a fresh person as `token`; returns (input, registered person)."""
    values = person_input(**overrides)
    return values, await register_person_as(client, token, values, document=REGISTER)


async def link(client, token: str, facts: dict) -> dict:
    """linkIdentity's result, answered with the person's facts and granted scopes."""
    return await link_identity(client, token, facts, document=LINK)


# ---------------------------------------------------------------- registering


async def test_officer_registers_a_person(client):
    token = await officer_token(client)
    values, person = await register(client, token)
    assert person["id"]
    assert person["surname"] == values["surname"]
    assert person["givenNames"] == values["givenNames"]
    assert person["nationality"] == "DEU"
    assert person["birthDate"] == "1990-04-12"
    assert person["passports"] == [
        {"number": values["passportNumber"], "issuingCountry": "DEU", "current": True}
    ]


async def test_admin_registers_a_person(client):
    token = await sign_in(client, "admin@demo.test")
    _, person = await register(client, token)
    assert person["id"]


async def test_register_person_normalises_nationality_and_passport_number(client):
    token = await officer_token(client)
    number = new_passport_number()
    spaced = f"{number[:3].lower()} {number[3:]}"
    _, person = await register(
        client, token, nationality="fra", passportIssuingCountry="fra", passportNumber=spaced
    )
    assert person["nationality"] == "FRA"
    assert person["passports"][0]["number"] == number
    assert person["passports"][0]["issuingCountry"] == "FRA"


async def test_applicant_may_not_register_a_person(client):
    token = (await sign_up(client, unique_email()))["accessToken"]
    body = await gql(client, REGISTER, {"input": person_input()}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "NotPermitted"
    assert result["message"]


async def test_demo_applicant_and_analyst_may_not_register_a_person(client):
    for email in ("applicant@demo.test", "analyst@demo.test"):
        token = await sign_in(client, email)
        body = await gql(client, REGISTER, {"input": person_input()}, token=token)
        assert body["data"]["registerPerson"]["__typename"] == "NotPermitted", email


async def test_anonymous_register_person_is_unauthenticated(client):
    body = await gql(client, REGISTER, {"input": person_input()})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert body.get("data") is None or body["data"].get("registerPerson") is None


async def test_register_person_with_an_unknown_nationality_is_validation_error(client):
    token = await officer_token(client)
    body = await gql(client, REGISTER, {"input": person_input(nationality="XXX")}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "nationality"
    assert result["message"]


async def test_register_person_with_a_bad_passport_number_is_validation_error(client):
    token = await officer_token(client)
    body = await gql(client, REGISTER, {"input": person_input(passportNumber="AB")}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "passportNumber"


async def test_register_person_born_in_the_future_is_validation_error(client):
    token = await officer_token(client)
    body = await gql(client, REGISTER, {"input": person_input(birthDate="2999-01-01")}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError"
    assert result["field"] == "birthDate"


async def test_register_person_with_a_duplicate_passport_is_validation_error(client):
    token = await officer_token(client)
    values, _ = await register(client, token)
    again = person_input(passportNumber=values["passportNumber"], surname="Other")
    body = await gql(client, REGISTER, {"input": again}, token=token)
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError"
    assert result["message"]


@pytest.mark.parametrize("surname", ["ß" * 60, "\ufdfa" * 6, "ﬃ" * 40])
async def test_a_surname_that_folds_longer_than_kept_is_a_validation_error(client, surname):
    """Within 100 characters as typed, longer once folded for identity matching (ß is ss):
    refused on the surname, not an internal error."""
    token = await officer_token(client)
    body = await gql(client, REGISTER, {"input": person_input(surname=surname)}, token=token)
    assert "errors" not in body, body
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "surname"


async def test_registering_a_person_is_on_their_trail(client):
    from tests.helpers import ACTIONS, link_identity_ok, new_member

    token = await officer_token(client)
    values, person = await register(client, token)
    member = await new_member(client)
    facts = {k: values[k] for k in ("surname", "nationality", "birthDate", "passportNumber")}
    await link_identity_ok(client, member.token, facts, person["id"])
    body = await gql(client, ACTIONS, token=member.token)
    entries = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    registered = [e for e in entries if e["action"] == "REGISTER_PERSON"]
    assert len(registered) == 1, entries
    assert registered[0]["actor"]["kind"] == "OFFICER"
    assert registered[0]["target"] == values["passportNumber"]


# ---------------------------------------------------------------- linking


async def test_link_identity_with_all_four_facts_links_the_person(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    number = values["passportNumber"]
    facts = {
        "passportNumber": f" {number[:4].lower()} {number[4:].lower()} ",
        "nationality": values["nationality"],
        "birthDate": values["birthDate"],
        "surname": values["surname"].upper(),
    }
    result = await link(client, token, facts)
    assert result["__typename"] == "IdentityLinked"
    assert result["person"]["id"] == person["id"]
    assert result["person"]["grantedScopes"] == ALL_SCOPES
    viewer = (await gql(client, VIEWER_PERSON, token=token))["data"]["viewer"]
    assert viewer["person"]["id"] == person["id"]
    assert viewer["person"]["surname"] == values["surname"]
    assert viewer["person"]["grantedScopes"] == ALL_SCOPES
    assert viewer["applicants"][0]["id"] == person["id"]


async def test_link_identity_accepts_a_lower_case_nationality(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    result = await link(client, token, {**facts_of(values), "nationality": "deu"})
    assert result["__typename"] == "IdentityLinked"
    assert result["person"]["id"] == person["id"]


async def test_each_single_wrong_fact_is_identity_not_found_with_the_same_message(client):
    officer = await officer_token(client)
    values, _ = await register(client, officer)
    right = facts_of(values)
    wrong_facts = {
        "passportNumber": {**right, "passportNumber": new_passport_number()},
        "nationality": {**right, "nationality": "AUT"},
        "birthDate": {**right, "birthDate": "1990-04-13"},
        "surname": {**right, "surname": "Mueller-Luedenscheidt"},
    }
    messages = set()
    for fact, facts in wrong_facts.items():
        token = (await sign_up(client, unique_email()))["accessToken"]
        result = await link(client, token, facts)
        assert result["__typename"] == "IdentityNotFound", fact
        assert result["message"]
        for word in ("passport number", "nationality", "birth", "surname"):
            assert word not in result["message"].lower(), (fact, result["message"])
        messages.add(result["message"])
    assert len(messages) == 1
    # A malformed fact says no more either.
    token = (await sign_up(client, unique_email()))["accessToken"]
    malformed = await link(client, token, {**right, "nationality": "XXX"})
    assert malformed["__typename"] == "IdentityNotFound"
    assert malformed["message"] in messages


async def test_failed_attempts_then_the_right_facts_still_link(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    wrong = await link(client, token, {**facts_of(values), "birthDate": "1991-04-12"})
    assert wrong["__typename"] == "IdentityNotFound"
    result = await link(client, token, facts_of(values))
    assert result["__typename"] == "IdentityLinked"
    assert result["person"]["id"] == person["id"]


async def test_a_second_account_cannot_link_an_already_linked_person(client):
    officer = await officer_token(client)
    values, _ = await register(client, officer)
    first = (await sign_up(client, unique_email()))["accessToken"]
    assert (await link(client, first, facts_of(values)))["__typename"] == "IdentityLinked"
    second = (await sign_up(client, unique_email()))["accessToken"]
    result = await link(client, second, facts_of(values))
    assert result["__typename"] == "IdentityNotFound"
    mismatch = await link(client, second, {**facts_of(values), "surname": "Nobody"})
    assert result["message"] == mismatch["message"]
    viewer = (await gql(client, VIEWER_PERSON, token=second))["data"]["viewer"]
    assert viewer["person"] is None


async def test_an_already_linked_account_linking_again_is_validation_error(client):
    officer = await officer_token(client)
    values, _ = await register(client, officer)
    other_values, _ = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    assert (await link(client, token, facts_of(values)))["__typename"] == "IdentityLinked"
    result = await link(client, token, facts_of(other_values))
    assert result["__typename"] == "ValidationError"
    assert result["message"]
    again = await link(client, token, facts_of(values))
    assert again["__typename"] == "ValidationError"


async def test_ten_failed_link_attempts_are_rate_limited(client):
    officer = await officer_token(client)
    values, _ = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    for attempt in range(10):
        result = await link(client, token, {**facts_of(values), "surname": f"Wrong{attempt}"})
        assert result["__typename"] == "IdentityNotFound", attempt
    result = await link(client, token, {**facts_of(values), "surname": "WrongAgain"})
    assert result["__typename"] == "RateLimited"
    assert result["retryAfterSeconds"] > 0
    assert result["message"]
    # Even the right facts wait now.
    right = await link(client, token, facts_of(values))
    assert right["__typename"] == "RateLimited"
    viewer = (await gql(client, VIEWER_PERSON, token=token))["data"]["viewer"]
    assert viewer["person"] is None


async def test_link_identity_without_a_token_is_unauthenticated(client):
    facts = {
        "passportNumber": new_passport_number(),
        "nationality": "DEU",
        "birthDate": "1990-04-12",
        "surname": "Anyone",
    }
    body = await gql(client, LINK, {"input": facts})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_staff_account_cannot_link_a_person(client):
    officer = await officer_token(client)
    values, _ = await register(client, officer)
    result = await link(client, officer, facts_of(values))
    assert result["__typename"] == "ValidationError"


# ---------------------------------------------------------------- unlinking


async def linked_then_unlinked(client) -> tuple[str, dict, dict, str, dict]:
    """A person registered, linked to a fresh account, then unlinked by an officer: (the
    officer's token, the person's input, the person, the account's e-mail, the answer)."""
    officer = await officer_token(client)
    values, person = await register(client, officer)
    email = unique_email()
    token = (await sign_up(client, email))["accessToken"]
    assert (await link(client, token, facts_of(values)))["__typename"] == "IdentityLinked"
    body = await gql(client, UNLINK, {"id": person["id"]}, token=officer)
    result = body["data"]["unlinkIdentity"]
    assert result["__typename"] == "IdentityUnlinked", result
    return officer, values, person, email, result


async def test_officer_unlinks_a_person_and_the_account_loses_it(client):
    _, _, person, email, result = await linked_then_unlinked(client)
    assert result["person"]["id"] == person["id"]
    # The sessions of the linked account ended (tests/test_session_end.py); signed in again:
    token = await sign_in(client, email, PASSWORD)
    viewer = (await gql(client, VIEWER_PERSON, token=token))["data"]["viewer"]
    assert viewer["person"] is None
    assert viewer["applicants"] == []
    # The former owner no longer sees the person.
    node = (await gql(client, NODE, {"id": person["id"]}, token=token))["data"]["node"]
    assert node is None


async def test_after_unlinking_the_person_can_be_linked_again(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    first = (await sign_up(client, unique_email()))["accessToken"]
    assert (await link(client, first, facts_of(values)))["__typename"] == "IdentityLinked"
    body = await gql(client, UNLINK, {"id": person["id"]}, token=officer)
    assert body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked"
    second = (await sign_up(client, unique_email()))["accessToken"]
    result = await link(client, second, facts_of(values))
    assert result["__typename"] == "IdentityLinked"
    assert result["person"]["id"] == person["id"]


async def test_an_account_unlinked_from_a_person_cannot_link_itself_to_them_again(client):
    """Staff undid a wrong match: signed in again (the password still works), the same four
    facts get the answer (and the count) of a miss; other people it may still link."""
    officer, values, _, email, _ = await linked_then_unlinked(client)
    token = await sign_in(client, email, PASSWORD)
    again = await link(client, token, facts_of(values))
    assert again["__typename"] == "IdentityNotFound", again
    other_values, other = await register(client, officer)
    linked = await link(client, token, facts_of(other_values))
    assert linked["__typename"] == "IdentityLinked" and linked["person"]["id"] == other["id"]


async def test_unlinking_ends_the_delegations_the_wrongly_linked_account_accepted(client):
    from tests.helpers import (
        ACTIONS,
        ADD_DEPENDANT,
        link_identity_ok,
        new_member,
        person_node,
        register_person,
        respond,
    )

    victim = await register_person(client)
    impostor = await new_member(client)
    await link_identity_ok(client, impostor.token, victim.facts(), victim.id)
    accomplice = await new_member(client)
    body = await gql(
        client,
        ADD_DEPENDANT,
        {"input": {**victim.facts(), "relationship": "FRIEND", "scopes": ALL_SCOPES}},
        token=accomplice.token,
    )
    added = body["data"]["addDependant"]
    assert added["__typename"] == "DependantAdded", added
    accepted = await respond(client, impostor.token, added["delegation"]["id"], True)
    assert accepted["delegation"]["status"] == "ACTIVE"
    assert await person_node(client, accomplice.token, victim.id) is not None

    officer = await officer_token(client)
    body = await gql(client, UNLINK, {"id": victim.id}, token=officer)
    assert body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked", body

    assert await person_node(client, accomplice.token, victim.id) is None
    # The real owner, linking afresh, reads the revocation by the officer on their trail.
    owner = await new_member(client)
    await link_identity_ok(client, owner.token, victim.facts(), victim.id)
    body = await gql(client, ACTIONS, token=owner.token)
    entries = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    ended = [e for e in entries if e["action"] == "REVOKE_DELEGATION"]
    assert [e["actor"]["kind"] for e in ended] == ["OFFICER"], entries


async def test_unlinking_leaves_a_delegation_that_ended_on_its_date_as_it_ended(client, clock):
    """Accepted through the wrong link, but past its last day already (upkeep has not written
    it down): it ended on its date, and is not revoked (nor what its helper obtained)."""
    from datetime import timedelta

    from persistence.models import AuditEvent, Delegation
    from tests.helpers import (
        ADD_DEPENDANT,
        beijing,
        beijing_today,
        link_identity_ok,
        new_member,
        pk_of,
        register_person,
        respond,
    )

    clock.pinned = beijing(beijing_today(), 10)
    victim = await register_person(client)
    impostor = await new_member(client)
    await link_identity_ok(client, impostor.token, victim.facts(), victim.id)
    accomplice = await new_member(client)
    last_day = beijing_today(clock) + timedelta(days=1)
    values = {
        **victim.facts(),
        "relationship": "FRIEND",
        "scopes": ALL_SCOPES,
        "validUntil": last_day.isoformat(),
    }
    body = await gql(client, ADD_DEPENDANT, {"input": values}, token=accomplice.token)
    added = body["data"]["addDependant"]
    accepted = await respond(client, impostor.token, added["delegation"]["id"], True)
    assert accepted["delegation"]["status"] == "ACTIVE"

    clock.pinned = beijing(last_day + timedelta(days=2), 10)
    officer = await officer_token(client)
    body = await gql(client, UNLINK, {"id": victim.id}, token=officer)
    assert body["data"]["unlinkIdentity"]["__typename"] == "IdentityUnlinked", body

    row = await Delegation.get(id=pk_of(added["delegation"]["id"]))
    assert row.status == "ACTIVE" and row.ended_at is None  # expired by date, not revoked
    assert not await AuditEvent.filter(
        subject_id=pk_of(victim.id), action="REVOKE_DELEGATION"
    ).exists()


async def test_applicant_may_not_unlink_a_person(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    token = (await sign_up(client, unique_email()))["accessToken"]
    assert (await link(client, token, facts_of(values)))["__typename"] == "IdentityLinked"
    # Not even one's own person.
    body = await gql(client, UNLINK, {"id": person["id"]}, token=token)
    assert body["data"]["unlinkIdentity"]["__typename"] == "NotPermitted"
    viewer = (await gql(client, VIEWER_PERSON, token=token))["data"]["viewer"]
    assert viewer["person"]["id"] == person["id"]


async def test_unlink_of_an_unknown_person_is_not_permitted_with_the_same_message(client):
    officer = await officer_token(client)
    unknown = await gql(client, UNLINK, {"id": "UGVyc29uOjk5OTk5OTk5"}, token=officer)
    garbage = await gql(client, UNLINK, {"id": "garbage"}, token=officer)
    applicant = await sign_in(client, "applicant@demo.test")
    _, person = await register(client, officer)
    refused = await gql(client, UNLINK, {"id": person["id"]}, token=applicant)
    results = [
        unknown["data"]["unlinkIdentity"],
        garbage["data"]["unlinkIdentity"],
        refused["data"]["unlinkIdentity"],
    ]
    assert all(r["__typename"] == "NotPermitted" for r in results)
    assert len({r["message"] for r in results}) == 1


async def test_anonymous_unlink_is_unauthenticated(client):
    body = await gql(client, UNLINK, {"id": "UGVyc29uOjE"})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- who sees a person


async def test_person_node_is_visible_to_its_owner_and_to_an_officer_only(client):
    officer = await officer_token(client)
    values, person = await register(client, officer)
    owner = (await sign_up(client, unique_email()))["accessToken"]
    assert (await link(client, owner, facts_of(values)))["__typename"] == "IdentityLinked"
    stranger = (await sign_up(client, unique_email()))["accessToken"]
    analyst = await sign_in(client, "analyst@demo.test")

    async def node_as(token: str | None):
        body = await gql(client, NODE, {"id": person["id"]}, token=token)
        assert "errors" not in body, body
        return body["data"]["node"]

    assert await node_as(None) is None
    assert await node_as(stranger) is None
    assert await node_as(analyst) is None
    seen_by_owner = await node_as(owner)
    assert seen_by_owner == {
        "__typename": "Person",
        "id": person["id"],
        "surname": values["surname"],
    }
    seen_by_officer = await node_as(officer)
    assert seen_by_officer is not None and seen_by_officer["id"] == person["id"]


async def test_an_unlinked_person_is_invisible_to_applicants(client):
    officer = await officer_token(client)
    _, person = await register(client, officer)
    applicant = await sign_in(client, "applicant@demo.test")
    body = await gql(client, NODE, {"id": person["id"]}, token=applicant)
    assert body["data"]["node"] is None


async def test_the_facts_of_a_person_with_an_account_cost_a_guess_like_a_miss(app):
    """Matching the facts of a person who has an account already answers IdentityNotFound,
    as a miss does, and counts as one: the attempt limit does not tell a guesser that the
    facts were right."""
    import httpx

    from tests.helpers import new_applicant

    limit = app.state.services.settings.identity_attempts_per_account
    transport = httpx.ASGITransport(app=app, client=(f"10.201.{secrets.randbelow(250)}.7", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        victim = await new_applicant(client)  # a person linked to an account
        token = (await sign_up(client, unique_email(), PASSWORD))["accessToken"]
        wrong = {**victim.facts, "birthDate": "1901-01-01"}
        for _ in range(limit - 1):
            assert (await link_identity(client, token, wrong))["__typename"] == "IdentityNotFound"
        probe = await link_identity(client, token, victim.facts)
        assert probe["__typename"] == "IdentityNotFound", probe
        after = await link_identity(client, token, wrong)
        assert after["__typename"] == "RateLimited", after
