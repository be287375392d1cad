"""One "today" for every rule: the day in China, whatever UTC's date is."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import gql
from tests.helpers import (
    BIND_PASSPORT,
    REGISTER_PERSON,
    beijing,
    beijing_today,
    officer_token,
    passport_number,
    person_input,
    register_person,
)


async def _register_and_bind(client, prefix: str, valid_until) -> tuple[dict, dict]:
    """Register a person with a passport valid until `valid_until`, and bind another such
    passport to someone already registered: the two answers."""
    officer = await officer_token(client)
    someone = await register_person(client, officer=officer)
    facts = {
        "surname": "Onetoday",
        "nationality": "GBR",
        "birthDate": "1985-02-03",
        "passportNumber": passport_number(prefix),
    }
    values = person_input(facts, given_names="Sam", passport_valid_until=valid_until.isoformat())
    registered = (await gql(client, REGISTER_PERSON, {"input": values}, officer))["data"]
    binding = {
        "personId": someone.id,
        "passportNumber": passport_number(prefix),
        "issuingCountry": "GBR",
        "validUntil": valid_until.isoformat(),
    }
    bound = (await gql(client, BIND_PASSPORT, {"input": binding}, officer))["data"]
    return registered["registerPerson"], bound["bindPassport"]


async def test_a_passport_that_expired_yesterday_is_refused_before_8_in_the_morning(client, clock):
    # 07:30 in Beijing is still the previous day in UTC: a "today" counted in UTC would
    # take yesterday's expiry for today's and accept the passport.
    today = beijing_today(clock)
    clock.pinned = beijing(today, 7, 30)
    assert clock.pinned.date() == today - timedelta(days=1)
    registered, bound = await _register_and_bind(client, "E", today - timedelta(days=1))
    assert registered["__typename"] == "ValidationError"
    assert registered["field"] == "passportValidUntil"
    assert bound["__typename"] == "ValidationError"
    assert bound["field"] == "validUntil"


async def test_a_passport_valid_until_today_is_accepted_before_8_in_the_morning(client, clock):
    today = beijing_today(clock)
    clock.pinned = beijing(today, 7, 30)
    registered, bound = await _register_and_bind(client, "L", today)
    assert registered["__typename"] == "PersonRegistered", registered
    assert bound["__typename"] == "PassportBound", bound
