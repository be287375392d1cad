"""A Date is exactly YYYY-MM-DD and a DateTime an ISO 8601 moment; a value that is neither says
what was expected, in the client's terms (not the parser's), with the code of who is at fault:
BAD_USER_INPUT for a variable's value, GRAPHQL_VALIDATION_FAILED for a document that holds one.
Nothing runs, so nothing is written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from persistence.models import Person
from tests.conftest import gql
from tests.helpers import (
    beijing_today,
    office_id,
    officer_token,
    passport_number,
    person_input,
)

SLOTS = """
query($office: ID!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: VISA_EXTENSION, from: $from, to: $to) { id }
}
"""

IS_OPEN = """
query($office: ID!, $at: DateTime) {
  node(id: $office) { ... on Office { isOpen(at: $at) } }
}
"""

REGISTER = """
mutation($input: RegisterPersonInput!) {
  registerPerson(input: $input) { __typename ... on ValidationError { message field } }
}
"""

# Words of Python's parsers that must not reach a client.
PARSER_WORDS = ("isoformat", "out of range for month", "Expected 4 digits", "Value cannot")


def _only_error(body: dict) -> dict:
    assert body.get("data") is None, body
    [error] = body["errors"]
    assert not any(words in error["message"] for words in PARSER_WORDS), error
    return error


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2026-02-30", "is no day of the calendar"),
        ("2026-13-01", "is no day of the calendar"),
        ("tomorrow", "is not one"),
        ("20260203", "is not one"),  # ISO 8601's basic form: not a spelling clients send
        ("2026-W05-1", "is not one"),  # a week date
        ("2026-02-03T00:00", "is not one"),  # a moment is not a day
        (20260203, "is not one"),  # a number
    ],
)
async def test_a_day_variable_that_is_no_day_is_bad_user_input(client, value, says):
    office = await office_id(client, "BJ-DC")
    to = beijing_today().isoformat()
    body = await gql(client, SLOTS, {"office": office, "from": value, "to": to})
    error = _only_error(body)
    assert error["message"].startswith("Variable '$from'"), error
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Expected a calendar day as YYYY-MM-DD" in error["message"]
    assert says in error["message"]


async def test_a_day_variable_as_yyyy_mm_dd_is_taken(client):
    office = await office_id(client, "BJ-DC")
    day = beijing_today().isoformat()
    body = await gql(client, SLOTS, {"office": office, "from": day, "to": day})
    assert "errors" not in body, body
    assert isinstance(body["data"]["availableSlots"], list)


async def test_a_missing_required_variable_is_bad_user_input(client):
    office = await office_id(client, "BJ-DC")
    body = await gql(client, SLOTS, {"office": office, "from": beijing_today().isoformat()})
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "$to" in error["message"]


async def test_a_day_written_into_the_document_that_is_no_day_is_a_validation_failure(client):
    office = await office_id(client, "BJ-DC")
    document = (
        f'{{ availableSlots(officeId: "{office}", service: VISA_EXTENSION, '
        'from: "2026-02-30", to: 20260203) { id } }'
    )
    body = await gql(client, document)
    assert body.get("data") is None
    first, second = body["errors"]
    for error in (first, second):
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        assert "Expected a calendar day as YYYY-MM-DD" in error["message"]
        assert error["locations"], error  # it points at the value
    assert '"2026-02-30" is no day of the calendar' in first["message"]
    assert first["locations"][0]["column"] < second["locations"][0]["column"]


@pytest.mark.parametrize("value", ["tomorrow", "2026-02-30T10:00:00+08:00", "10:00", 5])
async def test_a_moment_variable_that_is_no_moment_is_bad_user_input(client, value):
    office = await office_id(client, "BJ-DC")
    body = await gql(client, IS_OPEN, {"office": office, "at": value})
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "Expected a date and time in ISO 8601 with an offset" in error["message"]


async def test_a_moment_with_an_offset_is_taken(client):
    office = await office_id(client, "BJ-DC")
    at = f"{beijing_today().isoformat()}T10:00:00+08:00"
    body = await gql(client, IS_OPEN, {"office": office, "at": at})
    assert "errors" not in body, body
    assert isinstance(body["data"]["node"]["isOpen"], bool)


async def test_a_moment_without_an_offset_is_still_refused_by_its_field(client):
    office = await office_id(client, "BJ-DC")
    at = f"{beijing_today().isoformat()}T10:00:00"
    body = await gql(client, IS_OPEN, {"office": office, "at": at})
    [error] = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "offset" in error["message"]


async def test_a_registration_with_no_such_birth_day_writes_nothing(client):
    token = await officer_token(client)
    number = passport_number("DV")
    facts = {
        "passportNumber": number,
        "nationality": "DEU",
        "birthDate": "1985-02-30",
        "surname": "Vogel",
    }
    until = (beijing_today() + timedelta(days=900)).isoformat()
    facts = person_input(facts, given_names="Ada", passport_valid_until=until)
    body = await gql(client, REGISTER, {"input": facts}, token=token)
    error = _only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert '"1985-02-30" is no day of the calendar' in error["message"]
    assert not await Person.filter(passports__number=number).exists()


async def test_a_document_whose_variables_are_wrong_is_still_a_validation_failure(client):
    """BAD_USER_INPUT is for a value that does not fit: a variable the document declares and
    never uses, or uses where its type may not stand, makes the document invalid."""
    office = await office_id(client, "BJ-DC")
    unused = "query($office: ID!, $day: Date) { node(id: $office) { id } }"
    misplaced = (
        "query($office: ID!, $day: Date) { availableSlots(officeId: $office, "
        "service: VISA_EXTENSION, from: $day, to: $day) { id } }"
    )
    for document in (unused, misplaced):
        body = await gql(client, document, {"office": office})
        assert body.get("data") is None, body
        codes = {error["extensions"]["code"] for error in body["errors"]}
        assert codes == {"GRAPHQL_VALIDATION_FAILED"}, body


@pytest.mark.parametrize(
    ("language", "expected", "not_a_day"),
    [
        ("zh", "应为 YYYY-MM-DD 格式的日期", "日历上没有“2026-13-01”这一天"),
        ("fr", "Une date du calendrier au format YYYY-MM-DD", "n'est pas un jour du calendrier"),
    ],
)
async def test_what_a_day_should_be_is_said_in_the_language_asked_for(
    client, language, expected, not_a_day
):
    """These texts are the service's (graphql-core's own words before them stay English):
    they used to be English in every language, beside range errors that were translated."""
    office = await office_id(client, "BJ-DC")
    to = beijing_today().isoformat()
    headers = {"accept_language": language}
    variable = _only_error(
        await gql(client, SLOTS, {"office": office, "from": "2026-13-01", "to": to}, **headers)
    )
    assert variable["message"].startswith("Variable '$from'"), variable
    assert expected in variable["message"] and not_a_day in variable["message"]
    assert "Expected a calendar day" not in variable["message"]
    assert variable["extensions"]["code"] == "BAD_USER_INPUT"

    document = (
        f'{{ availableSlots(officeId: "{office}", service: VISA_EXTENSION, '
        f'from: "2026-13-01", to: "{to}") {{ id }} }}'
    )
    for _ in range(2):  # the second from the cache of validated documents
        literal = _only_error(await gql(client, document, **headers))
        assert expected in literal["message"] and not_a_day in literal["message"]
        assert literal["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    english = _only_error(await gql(client, document))
    assert "Expected a calendar day as YYYY-MM-DD" in english["message"]


async def test_what_a_moment_should_be_is_said_in_the_language_asked_for(client):
    office = await office_id(client, "BJ-DC")
    body = await gql(client, IS_OPEN, {"office": office, "at": "yesterday"}, accept_language="ja")
    error = _only_error(body)
    assert "オフセット付きの ISO 8601 日時が必要です" in error["message"], error
    assert "「yesterday」は該当しません" in error["message"]
