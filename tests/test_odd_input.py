"""Odd input is the client's error, everywhere: control characters in any text, global IDs and
cursors in any but the form they were issued in, and moments at the edges of the calendar
are answered BAD_USER_INPUT, a ValidationError, or as an unknown ID; never a 500, and
nothing is written."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from persistence.models import (
    Account,
    Application,
    ApplicationEvent,
    Appointment,
    Delegation,
    IdempotencyRecord,
    Office,
    OfficeClosure,
)
from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import (
    ADD_DEPENDANT,
    BOOK,
    LINK_IDENTITY,
    UPDATE_STATUS,
    beijing_today,
    gid,
    new_applicant,
    office_id,
    open_slots,
    pk_of,
    record_application,
)
from tests.test_subscriptions import init, ws_session

# NUL, a C0 control, DEL and a C1 control (NEXT LINE). An unpaired surrogate cannot arrive
# over HTTP (the body is not valid JSON then) but can over the WebSocket: tested there.
ODD = ["\x00", "\x01", "\x7f", "\u0085"]
ODD_IDS = ["nul", "soh", "del", "nel"]

_tokens: dict[str, str] = {}


async def token_of(client: httpx.AsyncClient, email: str) -> str:
    """A demo account's access token, signed in once for the module."""
    if email not in _tokens:
        _tokens[email] = await sign_in(client, email)
    return _tokens[email]


def assert_no_server_error(body: dict) -> None:
    text = json.dumps(body)
    assert "INTERNAL_SERVER_ERROR" not in text and "Traceback" not in text, body


def error_code(body: dict) -> str | None:
    assert_no_server_error(body)
    return body["errors"][0]["extensions"]["code"] if body.get("errors") else None


def refused_as_bad_input(body: dict) -> None:
    assert error_code(body) == "BAD_USER_INPUT", body


def refused_as_validation_error(
    body: dict, mutation: str, field: str, reason: str = "control characters"
) -> None:
    """A ValidationError on `field` whose message names `reason` (control characters, or
    Unicode for an unpaired surrogate)."""
    assert_no_server_error(body)
    assert "errors" not in body, body
    result = body["data"][mutation]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field, result
    assert reason in result["message"], result


# ------------------------------------------------------------- control characters, per field


@dataclass
class Case:
    """Send `text` in one field; `check` asserts the refusal and that nothing was written."""

    send: Callable[[httpx.AsyncClient, str], Awaitable[dict]]
    check: Callable[[dict, str], Awaitable[None]]


OFFICES = "query($f: OfficeFilter) { offices(filter: $f) { edges { node { id } } } }"


async def _offices(client: httpx.AsyncClient, text: str, key: str) -> dict:
    return await gql(client, OFFICES, {"f": {key: f"Beijing{text}"}})


async def _bad_input(body: dict, text: str) -> None:
    refused_as_bad_input(body)


async def _sign_in_email(client: httpx.AsyncClient, text: str) -> dict:
    document = """mutation($i: SignInInput!) { signIn(input: $i) { __typename } }"""
    email = f"applicant@demo.test{text}"
    return await gql(client, document, {"i": {"email": email, "password": "demo-pass-2024"}})


SIGN_UP = """mutation($i: SignUpInput!) { signUp(input: $i) {
    __typename ... on ValidationError { message field } } }"""


async def _sign_up_name(client: httpx.AsyncClient, text: str) -> dict:
    email = unique_email()
    body = await gql(
        client,
        SIGN_UP,
        {"i": {"email": email, "password": "a-Strong-passphrase-1", "displayName": f"A{text}B"}},
    )
    body["email"] = email
    return body


async def _no_account(body: dict, text: str) -> None:
    email = body.pop("email")
    refused_as_validation_error(body, "signUp", "displayName")
    assert not await Account.exists(email=email)


async def _book_with_key(client: httpx.AsyncClient, text: str) -> dict:
    token = await token_of(client, "applicant@demo.test")
    viewer = await gql(client, "{ viewer { person { id } } }", token=token)
    person = viewer["data"]["viewer"]["person"]["id"]
    (slot,) = await open_slots(client, "VISA_RENEWAL")
    before = (
        await Appointment.filter(applicant_id=pk_of(person)).count(),
        await IdempotencyRecord.all().count(),
    )
    data = {"applicantId": person, "slotId": slot["id"], "service": "VISA_RENEWAL"}
    body = await gql(client, BOOK, {"input": {**data, "idempotencyKey": f"k-{text}-1"}}, token)
    body["before"] = (person, before)
    return body


async def _no_booking(body: dict, text: str) -> None:
    person, before = body.pop("before")
    refused_as_validation_error(body, "bookAppointment", "idempotencyKey")
    after = (
        await Appointment.filter(applicant_id=pk_of(person)).count(),
        await IdempotencyRecord.all().count(),
    )
    assert after == before


async def _link(client: httpx.AsyncClient, text: str, field: str) -> dict:
    session = await sign_up(client)
    facts = {
        "passportNumber": "E12345678",
        "nationality": "GBR",
        "birthDate": "1980-01-01",
        "surname": "Smith",
    }
    facts[field] = facts[field] + text
    body = await gql(client, LINK_IDENTITY, {"input": facts}, token=session["accessToken"])
    body["account"] = pk_of(session["account"]["id"])
    body["field"] = field
    return body


async def _not_linked(body: dict, text: str) -> None:
    account, field = body.pop("account"), body.pop("field")
    refused_as_validation_error(body, "linkIdentity", field)
    assert (await Account.get(id=account)).person_id is None


async def _add_dependant(client: httpx.AsyncClient, text: str) -> dict:
    token = await token_of(client, "helper@demo.test")
    facts = {
        "passportNumber": "E12345678",
        "nationality": "GBR",
        "birthDate": "2015-01-01",
        "surname": f"Smith{text}",
        "relationship": "CHILD",
        "scopes": ["VIEW_APPLICATIONS"],
    }
    before = await Delegation.all().count()
    body = await gql(client, ADD_DEPENDANT, {"input": facts}, token=token)
    body["before"] = before
    return body


async def _no_delegation(body: dict, text: str) -> None:
    before = body.pop("before")
    refused_as_validation_error(body, "addDependant", "surname")
    assert await Delegation.all().count() == before


async def _status_note(client: httpx.AsyncClient, text: str) -> dict:
    token = await token_of(client, "officer@demo.test")
    office = await Office.get(code="BJ-DC")
    application = await Application.filter(office_id=office.id).order_by("id").first()
    assert application is not None
    before = await ApplicationEvent.filter(application_id=application.id).count()
    data = {
        "applicationId": gid("Application", application.id),
        "status": "WITHDRAWN",
        "note": f"Moved{text}",
    }
    document = UPDATE_STATUS.replace(
        "... on NotPermitted { message }",
        "... on NotPermitted { message } ... on ValidationError { message field }",
    )
    body = await gql(client, document, {"input": data}, token=token)
    body["before"] = (application.id, application.status, before)
    return body


async def _status_unchanged(body: dict, text: str) -> None:
    application, status, before = body.pop("before")
    refused_as_validation_error(body, "updateApplicationStatus", "note")
    assert await ApplicationEvent.filter(application_id=application).count() == before
    assert (await Application.get(id=application)).status == status


CLOSURE = """mutation($i: AddOfficeClosureInput!) { addOfficeClosure(input: $i) {
    __typename ... on ValidationError { message field } } }"""
CLOSURE_DAY = date(2199, 6, 1)


async def _closure_reason(client: httpx.AsyncClient, text: str) -> dict:
    token = await token_of(client, "admin@demo.test")
    office = await office_id(client, "BJ-HD")
    data = {"officeId": office, "date": CLOSURE_DAY.isoformat(), "reason": f"Works{text}"}
    return await gql(client, CLOSURE, {"i": data}, token=token)


async def _no_closure(body: dict, text: str) -> None:
    refused_as_validation_error(body, "addOfficeClosure", "reason")
    assert not await OfficeClosure.exists(date=CLOSURE_DAY)


async def _verify_token(client: httpx.AsyncClient, text: str) -> dict:
    query = "query($t: String!) { verifyDocument(token: $t) { valid } }"
    return await gql(client, query, {"t": f"a.b{text}.c"})


async def _node_id(client: httpx.AsyncClient, text: str) -> dict:
    query = "query($id: ID!) { node(id: $id) { id } }"
    return await gql(client, query, {"id": gid("Office", 1) + text})


CASES = {
    "offices filter city": Case(lambda c, t: _offices(c, t, "city"), _bad_input),
    "offices filter text": Case(lambda c, t: _offices(c, t, "text"), _bad_input),
    "offices filter province": Case(lambda c, t: _offices(c, t, "province"), _bad_input),
    "signIn email": Case(_sign_in_email, _bad_input),
    "signUp displayName": Case(_sign_up_name, _no_account),
    "bookAppointment idempotencyKey": Case(_book_with_key, _no_booking),
    "linkIdentity passportNumber": Case(lambda c, t: _link(c, t, "passportNumber"), _not_linked),
    "linkIdentity surname": Case(lambda c, t: _link(c, t, "surname"), _not_linked),
    "addDependant surname": Case(_add_dependant, _no_delegation),
    "updateApplicationStatus note": Case(_status_note, _status_unchanged),
    "addOfficeClosure reason": Case(_closure_reason, _no_closure),
    "verifyDocument token": Case(_verify_token, _bad_input),
    "node id": Case(_node_id, _bad_input),
}


@pytest.mark.parametrize("text", ODD, ids=ODD_IDS)
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_control_characters_are_refused_and_nothing_is_written(client, case, text):
    body = await case.send(client, text)
    await case.check(body, text)


@pytest.mark.parametrize("text", ["\n", "\t", "\r"], ids=["lf", "tab", "cr"])
async def test_one_line_texts_refuse_line_breaks_and_tabs(client, text):
    await _not_linked(await _link(client, text, "surname"), text)


async def test_a_note_may_run_over_several_lines(client):
    who = await new_applicant(client)
    application = await record_application(client, who.person_id)
    note = "Please bring:\n- the passport\r\n- two photos\tin colour"
    token = await token_of(client, "officer@demo.test")
    data = {"applicationId": application["id"], "status": "ACCEPTED", "note": note}
    body = await gql(client, UPDATE_STATUS, {"input": data}, token=token)
    assert body["data"]["updateApplicationStatus"]["__typename"] == "ApplicationStatusUpdated"
    event = await ApplicationEvent.filter(application_id=pk_of(application["id"])).latest("id")
    assert event.note == note


async def test_a_reason_refuses_control_characters_other_than_line_breaks(client):
    body = await _closure_reason(client, "\n\x1b[31m")
    refused_as_validation_error(body, "addOfficeClosure", "reason")


async def test_control_characters_in_literals_are_refused_too(client):
    body = await gql(client, '{ offices(filter: {city: "Bei\\u0000jing"}) { edges { cursor } } }')
    refused_as_bad_input(body)


async def send_over_websocket(app: Any, token: str | None, query: str, variables: dict) -> dict:
    """Run one operation over graphql-transport-ws; the first message answering it. Sent as
    JSON with every non-ASCII character escaped, so an unpaired surrogate arrives as one."""
    async with ws_session(app) as ws:
        assert (await init(ws, token))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send_text(json.dumps({"id": "op", "type": "subscribe", "payload": payload}))
        message = await ws.receive_json(timeout=10)
    assert message["id"] == "op", message
    return message


@pytest.mark.parametrize("text", ["\x00", "\ud800"], ids=["nul", "surrogate"])
async def test_over_the_websocket_a_control_character_is_bad_input(app, text):
    message = await send_over_websocket(app, None, OFFICES, {"f": {"city": f"Bei{text}jing"}})
    assert message["type"] == "next", message
    refused_as_bad_input(message["payload"])


async def test_over_the_websocket_a_surrogate_in_a_mutation_is_a_validation_error(app):
    email = unique_email()
    data = {"email": email, "password": "a-Strong-passphrase-1", "displayName": "A\ud800B"}
    message = await send_over_websocket(app, None, SIGN_UP, {"i": data})
    assert message["type"] == "next", message
    refused_as_validation_error(message["payload"], "signUp", "displayName", "Unicode")
    assert not await Account.exists(email=email)


async def test_over_http_an_unpaired_surrogate_is_not_valid_json(client):
    payload = json.dumps({"query": OFFICES, "variables": {"f": {"city": "Bei\ud800jing"}}})
    response = await client.post(
        "/graphql", content=payload.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_a_subscription_to_an_id_with_a_control_character_is_refused(app, client):
    token = await token_of(client, "applicant@demo.test")
    async with ws_session(app) as ws:
        assert (await init(ws, token))["type"] == "connection_ack"
        document = "subscription($id: ID!) { applicationUpdates(applicantId: $id) { status } }"
        payload = {"query": document, "variables": {"id": gid("Person", 1) + "\x00"}}
        await ws.send_json({"id": "s", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=10)
    assert message["type"] == "error", message
    assert message["payload"][0]["extensions"]["code"] == "BAD_USER_INPUT", message


# ------------------------------------------------------------ global IDs and cursors


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def with_other_trailing_bits(encoded: str) -> str:
    """The same bytes in a non-canonical spelling: the unused low bits of the last character
    set (b64decode ignores them); `encoded` itself when it has no unused bits."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    if len(encoded) % 4 == 0:
        return encoded  # every bit is used: there is no other spelling
    spelled = encoded[:-1] + alphabet[alphabet.index(encoded[-1]) + 1]
    decode = base64.urlsafe_b64decode
    assert decode(spelled + "=" * (-len(spelled) % 4)) == decode(
        encoded + "=" * (-len(encoded) % 4)
    )
    return spelled


def odd_spellings(type_name: str, pk: int) -> dict[str, str]:
    """Strings that older decoding took for (or choked on as) the ID of `type_name` `pk`."""
    canonical = b64(f"{type_name}:{pk}")
    return {
        "superscript": b64(f"{type_name}:{pk}\u00b2"),
        "superscript only": b64(f"{type_name}:\u00b2"),
        "arabic-indic": b64(f"{type_name}:" + "".join(chr(0x660 + int(d)) for d in str(pk))),
        "fullwidth": b64(f"{type_name}:" + "".join(chr(0xFF10 + int(d)) for d in str(pk))),
        "leading zero": b64(f"{type_name}:0{pk}"),
        "plus sign": b64(f"{type_name}:+{pk}"),
        "space": b64(f"{type_name}: {pk}"),
        "padded": canonical + "=" * (-len(canonical) % 4),
        "trailing bits": with_other_trailing_bits(canonical),
        "junk inside": canonical[:4] + "!" + canonical[4:],
    }


NODE = "query($id: ID!) { node(id: $id) { id } }"


async def test_odd_spellings_of_an_office_id_are_unknown_ids(client):
    # A one-digit key: "Office:N" is 8 bytes, so its spelling has padding and spare bits.
    office = await Office.filter(id__lt=10).order_by("id").first()
    assert office is not None
    canonical = gid("Office", office.id)
    known = await gql(client, NODE, {"id": canonical})
    assert known["data"]["node"] == {"id": canonical}
    for name, spelled in odd_spellings("Office", office.id).items():
        assert spelled != canonical, name
        body = await gql(client, NODE, {"id": spelled})
        assert_no_server_error(body)
        assert "errors" not in body and body["data"] == {"node": None}, (name, body)


async def test_odd_spellings_in_mutations_and_queries_answer_like_unknown_ids(client, clock):
    token = await token_of(client, "applicant@demo.test")
    cancel = "mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }"
    slots = """query($o: ID!, $d: Date!) { availableSlots(officeId: $o, service: VISA_RENEWAL,
                 from: $d, to: $d) { id } }"""
    day = (beijing_today(clock) + timedelta(days=3)).isoformat()
    unknown_cancel = await gql(client, cancel, {"id": gid("Appointment", 2_000_000_000)}, token)
    unknown_slots = await gql(client, slots, {"o": gid("Office", 2_000_000_000), "d": day})
    assert_no_server_error(unknown_cancel)
    assert_no_server_error(unknown_slots)
    office = (await Office.get(code="BJ-DC")).id
    for name in ("superscript", "superscript only", "arabic-indic", "leading zero"):
        body = await gql(client, cancel, {"id": odd_spellings("Appointment", 1)[name]}, token)
        assert body["data"] == unknown_cancel["data"], (name, body)
        body = await gql(client, slots, {"o": odd_spellings("Office", office)[name], "d": day})
        assert body.get("errors") == unknown_slots.get("errors"), (name, body)
        assert body["data"] == unknown_slots["data"], (name, body)


AFTER = "query($a: String) { offices(first: 2, after: $a) { edges { cursor node { code } } } }"


async def test_a_cursor_is_accepted_only_as_issued(client):
    first = await gql(client, AFTER, {"a": None})
    cursor = first["data"]["offices"]["edges"][0]["cursor"]
    assert cursor == b64("o:0")
    later = await gql(client, AFTER, {"a": cursor})
    assert "errors" not in later, later
    assert "errors" not in await gql(client, AFTER, {"a": b64("o:10")})
    for spelled in odd_spellings("o", 10).values():
        refused_as_bad_input(await gql(client, AFTER, {"a": spelled}))
    for text in ("o:\u00b2", "o:\u0661", "o:01", "o:1\u00b2", "o:-1"):
        refused_as_bad_input(await gql(client, AFTER, {"a": b64(text)}))


# ------------------------------------------------------------- the edges of the calendar

FIRST_MOMENT = "0001-01-01T00:00:00+14:00"
LAST_MOMENT = "9999-12-31T23:59:59-14:00"


@pytest.mark.parametrize("at", [FIRST_MOMENT, LAST_MOMENT, "2026-12-01T10:00:00"])
async def test_is_open_at_the_edges_of_time_is_bad_input(client, at):
    query = """query($o: ID!, $at: DateTime) { node(id: $o) { ... on Office {
                 isOpen(at: $at) } } }"""
    office = await office_id(client, "BJ-DC")
    refused_as_bad_input(await gql(client, query, {"o": office, "at": at}))
    fine = await gql(client, query, {"o": office, "at": "2026-12-01T10:00:00+08:00"})
    assert isinstance(fine["data"]["node"]["isOpen"], bool), fine


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_query_dates_at_the_edges_of_the_calendar_are_bad_input(client, day):
    office = await office_id(client, "BJ-DC")
    queries = [
        """query($o: ID!, $d: Date!) { node(id: $o) { ... on Office {
             closures(from: $d, to: $d) { date } } } }""",
        "query($d: Date) { offices(filter: {openOn: $d}) { edges { cursor } } }",
        """query($o: ID!, $d: Date!) { availableSlots(officeId: $o, service: VISA_RENEWAL,
             from: $d, to: $d) { id } }""",
    ]
    for query in queries:
        refused_as_bad_input(await gql(client, query, {"o": office, "d": day}))
    token = await token_of(client, "applicant@demo.test")
    documents = """query($d: Date) { viewer { person { documents(validOn: $d) { id } } } }"""
    refused_as_bad_input(await gql(client, documents, {"d": day}, token))


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
async def test_mutation_dates_at_the_edges_of_the_calendar_are_validation_errors(client, day):
    member = await sign_up(client)
    facts = {"passportNumber": "E1", "nationality": "GBR", "birthDate": day, "surname": "Smith"}
    body = await gql(client, LINK_IDENTITY, {"input": facts}, token=member["accessToken"])
    refused_as_date_out_of_range(body, "linkIdentity", "birthDate")
    assert (await Account.get(id=pk_of(member["account"]["id"]))).person_id is None
    helper = await token_of(client, "helper@demo.test")
    dependant = {**facts, "relationship": "CHILD", "scopes": ["VIEW_APPLICATIONS"]}
    body = await gql(client, ADD_DEPENDANT, {"input": dependant}, token=helper)
    refused_as_date_out_of_range(body, "addDependant", "birthDate")


def refused_as_date_out_of_range(body: dict, mutation: str, field: str) -> None:
    assert_no_server_error(body)
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][mutation]
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == field, result
    assert "Dates must lie between" in result["message"], result


# ------------------------------------------------------------------- the guard itself


def test_every_field_taking_text_ids_or_dates_is_guarded():
    from graphql import GraphQLObjectType, get_named_type

    from schema.app import schema
    from schema.input_guard import guarded_fields

    def takes_checked(arg_type, seen=frozenset()) -> bool:
        named = get_named_type(arg_type)
        if hasattr(named, "fields"):  # an input object
            return named.name not in seen and any(
                takes_checked(f.type, seen | {named.name}) for f in named.fields.values()
            )
        return named.name in {"String", "ID", "Date", "DateTime", "JSON"}

    expected = sorted(
        f"{type_.name}.{name}"
        for type_ in schema._schema.type_map.values()
        if isinstance(type_, GraphQLObjectType) and not type_.name.startswith("__")
        for name, field in type_.fields.items()
        if any(takes_checked(arg.type) for arg in field.args.values())
    )
    assert "Mutation.bookAppointment" in expected and "Office.isOpen" in expected
    assert guarded_fields(schema) == expected


def test_every_multi_line_text_names_an_input_field():
    from schema.app import schema
    from schema.input_guard import MULTI_LINE_TEXTS

    for coordinate in MULTI_LINE_TEXTS:
        type_name, _, field = coordinate.partition(".")
        assert field in schema._schema.type_map[type_name].fields, coordinate
