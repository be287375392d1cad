"""Inputs at the edges of what types allow (the first and last days a Date can hold, deeply
nested JSON in a token) are refused as the client's error, never a 500."""

from __future__ import annotations

import base64
import json

from tests.conftest import gql, sign_in
from tests.helpers import office_id


async def _code(client, query: str, variables: dict | None = None, token: str | None = None):
    body = await gql(client, query, variables, token=token)
    assert "Traceback" not in json.dumps(body)
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


async def test_slots_on_the_first_days_a_date_can_hold_are_bad_input(client):
    office = await office_id(client, "BJ-DC")
    query = """query($o: ID!) { availableSlots(officeId: $o, service: VISA_EXTENSION,
                 from: "0001-01-01", to: "0001-01-02") { id } }"""
    assert await _code(client, query, {"o": office}) == "BAD_USER_INPUT"


async def test_statistics_over_the_first_days_a_date_can_hold_are_bad_input(client):
    token = await sign_in(client, "analyst@demo.test")
    query = '{ statistics(from: "0001-01-01", to: "0001-01-31") { appointmentsBooked } }'
    assert await _code(client, query, token=token) == "BAD_USER_INPUT"


async def test_an_office_day_at_the_end_of_time_is_bad_input(client):
    token = await sign_in(client, "officer@demo.test")
    office = await office_id(client, "BJ-DC")
    query = """query($o: ID!) { node(id: $o) { ... on Office {
                 appointments(on: "9999-12-31") { edges { cursor } } } } }"""
    assert await _code(client, query, {"o": office}, token) == "BAD_USER_INPUT"


async def test_a_closure_at_the_end_of_time_is_a_validation_error(client):
    token = await sign_in(client, "admin@demo.test")
    office = await office_id(client, "BJ-DC")
    body = await gql(
        client,
        """mutation($o: ID!) { addOfficeClosure(input: {officeId: $o, date: "9999-12-31",
             reason: "End"}) { __typename ... on ValidationError { field } } }""",
        {"o": office},
        token=token,
    )
    assert body["data"]["addOfficeClosure"] == {"__typename": "ValidationError", "field": "date"}


async def test_a_token_with_deeply_nested_json_is_malformed(client):
    header = base64.urlsafe_b64encode(("[" * 5000 + "]" * 5000).encode()).decode().rstrip("=")
    body = await gql(
        client,
        "query($t: String!) { verifyDocument(token: $t) { valid failure } }",
        {"t": f"{header}.e30.c2ln"},
    )
    assert body["data"]["verifyDocument"] == {"valid": False, "failure": "MALFORMED"}


def _token_whose_key_id_is_a_lone_surrogate() -> str:
    # JSON's escape spells an unpaired surrogate; base64url carries it past every text check.
    header = b'{"alg":"EdDSA","kid":"\\ud800","typ":"passport-info+jwt"}'
    return base64.urlsafe_b64encode(header).decode().rstrip("=") + ".e30.AAAA"


async def test_a_key_id_no_text_can_hold_is_malformed_not_a_server_error(client):
    query = "query($t: String!) { verifyDocument(token: $t) { valid failure keyId } }"
    token = _token_whose_key_id_is_a_lone_surrogate()
    body = await gql(client, query, {"t": token})
    assert body["data"]["verifyDocument"] == {"valid": False, "failure": "MALFORMED", "keyId": None}
    response = await client.get(
        "/graphql",
        params={"query": query, "variables": json.dumps({"t": token})},
        headers={"accept": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["verifyDocument"]["failure"] == "MALFORMED"
