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


async def test_a_passport_that_expired_yesterday_is_refused_before_8_in_the_morning(client, clock):
    # 07:30 in Beijing is still the previous day in UTC: a "today" counted in UTC would
    # take yesterday's expiry for today's and accept the passport.
    today = beijing_today(clock)
    clock.pinned = beijing(today, 7, 30)
    assert clock.pinned.date() == today - timedelta(days=1)
    expired = (today - timedelta(days=1)).isoformat()
    officer = await officer_token(client)
    someone = await register_person(client, officer=officer)

    facts = {
        "surname": "Expiredyesterday",
        "nationality": "GBR",
        "birthDate": "1985-02-03",
        "passportNumber": passport_number("E"),
    }
    values = person_input(facts, given_names="Sam", passport_valid_until=expired)
    registered = (await gql(client, REGISTER_PERSON, {"input": values}, officer))["data"]
    bound = (
        await gql(
            client,
            BIND_PASSPORT,
            {
                "input": {
                    "personId": someone.id,
                    "passportNumber": passport_number("E"),
                    "issuingCountry": "GBR",
                    "validUntil": expired,
                }
            },
            officer,
        )
    )["data"]

    assert registered["registerPerson"]["__typename"] == "ValidationError"
    assert registered["registerPerson"]["field"] == "passportValidUntil"
    assert bound["bindPassport"]["__typename"] == "ValidationError"
    assert bound["bindPassport"]["field"] == "validUntil"


async def test_a_passport_valid_until_today_is_accepted_before_8_in_the_morning(client, clock):
    today = beijing_today(clock)
    clock.pinned = beijing(today, 7, 30)
    officer = await officer_token(client)
    someone = await register_person(client, officer=officer)
    facts = {
        "surname": "Lastday",
        "nationality": "GBR",
        "birthDate": "1985-02-03",
        "passportNumber": passport_number("L"),
    }
    values = person_input(facts, given_names="Sam", passport_valid_until=today.isoformat())
    registered = (await gql(client, REGISTER_PERSON, {"input": values}, officer))["data"]
    bound = (
        await gql(
            client,
            BIND_PASSPORT,
            {
                "input": {
                    "personId": someone.id,
                    "passportNumber": passport_number("L"),
                    "issuingCountry": "GBR",
                    "validUntil": today.isoformat(),
                }
            },
            officer,
        )
    )["data"]

    assert registered["registerPerson"]["__typename"] == "PersonRegistered"
    assert bound["bindPassport"]["__typename"] == "PassportBound"
