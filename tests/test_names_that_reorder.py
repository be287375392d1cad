"""A name others read (an account's display name; a person's names, which certificates sign
and verifiers show) may not hold the characters that reverse or reorder how text shows: with
RIGHT-TO-LEFT OVERRIDE "Li Wei\u202eRECIFFO" reads as another name. The joiners and marks
that scripts need stay accepted."""

from __future__ import annotations

import pytest

from persistence.models import Account, Person
from tests.conftest import SIGN_UP, gql, unique_email
from tests.helpers import (
    REGISTER_PERSON,
    new_surname,
    officer_token,
    passport_number,
    person_input,
)

REORDERING = ["\u202e", "\u202d", "\u202a", "\u2066", "\u2069"]
REORDERING_IDS = ["RLO", "LRO", "LRE", "LRI", "PDI"]


@pytest.mark.parametrize("char", REORDERING, ids=REORDERING_IDS)
async def test_a_display_name_that_reorders_is_refused_and_no_account_is_made(client, char):
    email = unique_email()
    body = await gql(
        client,
        SIGN_UP,
        {"email": email, "password": "a-Strong-passphrase-1", "name": f"Li Wei{char}RECIFFO"},
    )
    result = body["data"]["signUp"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "displayName"
    assert "U+202A" in result["message"]
    assert not await Account.filter(email=email).exists()


async def test_a_display_name_with_joiners_and_marks_is_accepted(client):
    name = "Mehr\u200cnaz \u200fمهر\u200cناز\u200f \U0001f468\u200d\U0001f469"
    body = await gql(
        client,
        SIGN_UP,
        {"email": unique_email(), "password": "a-Strong-passphrase-1", "name": name},
    )
    result = body["data"]["signUp"]
    assert result["__typename"] == "AuthSession", result
    assert result["account"]["displayName"] == name


@pytest.mark.parametrize("field", ["surname", "givenNames"])
@pytest.mark.parametrize("char", REORDERING[:2], ids=REORDERING_IDS[:2])
async def test_a_persons_name_that_reorders_is_refused_and_no_person_is_made(client, field, char):
    surname = new_surname()
    facts = {
        "surname": surname,
        "nationality": "GBR",
        "birthDate": "1990-01-02",
        "passportNumber": passport_number("B"),
    }
    values = person_input(facts, given_names="Sam", passport_valid_until="2035-06-30")
    values[field] = f"{values[field]}{char}XX"
    body = await gql(client, REGISTER_PERSON, {"input": values}, token=await officer_token(client))
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert not await Person.filter(surname__startswith=surname).exists()


INVISIBLE = ["\u200b", "\u200b\u200d\u200b", "\u0301", "\u2060\ufeff"]
INVISIBLE_IDS = ["zero-width-space", "with-a-joiner", "a-mark-alone", "word-joiner-and-bom"]


@pytest.mark.parametrize("name", INVISIBLE, ids=INVISIBLE_IDS)
async def test_a_display_name_that_shows_nothing_is_refused_and_no_account_is_made(client, name):
    """A dependant reading who acts for them would see a blank."""
    email = unique_email()
    body = await gql(
        client, SIGN_UP, {"email": email, "password": "a-Strong-passphrase-1", "name": name}
    )
    result = body["data"]["signUp"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "displayName"
    assert "nothing readable" in result["message"]
    assert not await Account.filter(email=email).exists()


@pytest.mark.parametrize("field", ["surname", "givenNames"])
async def test_a_persons_name_that_shows_nothing_is_refused_and_no_person_is_made(client, field):
    surname = new_surname()
    number = passport_number("B")
    facts = {"surname": surname, "nationality": "GBR", "birthDate": "1990-01-02"}
    values = person_input(
        {**facts, "passportNumber": number}, given_names="Sam", passport_valid_until="2035-06-30"
    )
    values[field] = "\u200b"
    body = await gql(client, REGISTER_PERSON, {"input": values}, token=await officer_token(client))
    result = body["data"]["registerPerson"]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field
    assert "nothing readable" in result["message"]
    assert not await Person.filter(passports__number=number).exists()


async def test_a_person_without_given_names_is_still_registered(client):
    facts = {
        "surname": new_surname(),
        "nationality": "GBR",
        "birthDate": "1990-01-02",
        "passportNumber": passport_number("B"),
    }
    values = person_input(facts, given_names="", passport_valid_until="2035-06-30")
    body = await gql(client, REGISTER_PERSON, {"input": values}, token=await officer_token(client))
    assert body["data"]["registerPerson"]["__typename"] == "PersonRegistered", body
