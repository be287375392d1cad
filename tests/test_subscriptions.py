"""applicationUpdates over WebSocket (graphql-transport-ws): authentication in connection_init,
the same authorization as queries, events from officers' status changes over HTTP, and (on
PostgreSQL with Redis) delivery across two server processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from schema.common import from_global_id
from tests import helpers
from tests.conftest import SIGN_IN, SIGN_UP, gql, sign_in, sign_up, unique_email
from tests.helpers import (
    LINK_IDENTITY,
    PASSWORD,
    RECORD_APPLICATION,
    REGISTER_PERSON,
    UPDATE_STATUS,
    Applicant,
    graphql_ws,
    helper_in_database,
    link_identity_ok,
    move_application,
    new_member,
    passport_number,
    person_input,
    record_application,
    register_person,
    running_servers,
    server_environment,
)

PROTOCOL = "graphql-transport-ws"

SUBSCRIPTION = """
subscription($id: ID!) {
  applicationUpdates(applicantId: $id) { status note application { number status } }
}"""

# ------------------------------------------------------------------------------- helpers


async def new_applicant(client: httpx.AsyncClient) -> Applicant:
    """Officer registers a fresh person; a new account links to it."""
    return await helpers.new_applicant(
        client,
        surname="Listener",
        nationality="ITA",
        birth_date="1991-02-03",
        given_names="Lia",
        sex="F",
        passport_prefix="R",
        passport_valid_until="2034-01-01",
    )


async def recorded_application(client: httpx.AsyncClient, person_id: str) -> dict:
    return await record_application(client, person_id, "VISA_EXTENSION")


async def update(
    client: httpx.AsyncClient, application_id: str, status: str, note: str | None = None
) -> None:
    await move_application(client, application_id, status, note=note)


@contextlib.asynccontextmanager
async def ws_session(app: Any) -> AsyncIterator[Any]:
    """A graphql-transport-ws WebSocket to the app under test, in this event loop."""
    async with graphql_ws(app) as ws:
        yield ws


async def init(ws: Any, token: str | None) -> dict:
    payload = {"authorization": f"Bearer {token}"} if token else {}
    await ws.send_json({"type": "connection_init", "payload": payload})
    return await ws.receive_json(timeout=10)


async def subscribe(ws: Any, person_id: str, op_id: str = "1") -> None:
    await ws.send_json(
        {
            "id": op_id,
            "type": "subscribe",
            "payload": {"query": SUBSCRIPTION, "variables": {"id": person_id}},
        }
    )


async def wait_until_listening(app: Any, person_id: str) -> None:
    """Give the subscription time to register with the event bus before publishing.

    Uses the in-process bus's subscriber table when it exposes one; otherwise waits a moment.
    """
    bus = app.state.services.events
    queues = getattr(bus, "_queues", None)
    decoded = from_global_id(person_id)
    for _ in range(200):
        if isinstance(queues, dict) and decoded and queues.get(decoded[1]):
            await asyncio.sleep(0.05)
            return
        await asyncio.sleep(0.02)


async def nothing_more(ws: Any, seconds: float = 1.5) -> None:
    """Assert that no message arrives within `seconds`."""
    with pytest.raises(TimeoutError):
        message = await ws.receive_json(timeout=seconds)
        raise AssertionError(f"unexpected message {message}")


# --------------------------------------------------------------------- in-process (ASGI)


async def test_the_applicant_receives_a_status_change_made_over_http(app, client):
    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)

    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)
        await wait_until_listening(app, who.person_id)

        await update(client, application["id"], "ACCEPTED")
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["id"] == "1"
        assert "errors" not in message["payload"], message
        assert message["payload"]["data"]["applicationUpdates"] == {
            "status": "ACCEPTED",
            "note": None,
            "application": {"number": application["number"], "status": "ACCEPTED"},
        }

        # Each later event carries the application as it is now, not as it was first seen.
        await update(client, application["id"], "UNDER_REVIEW")
        second = await ws.receive_json(timeout=10)
        assert second["type"] == "next", second
        assert second["payload"]["data"]["applicationUpdates"] == {
            "status": "UNDER_REVIEW",
            "note": None,
            "application": {"number": application["number"], "status": "UNDER_REVIEW"},
        }
        await update(client, application["id"], "MATERIALS_REQUESTED", "Bring your lease.")
        third = await ws.receive_json(timeout=10)
        assert third["type"] == "next", third
        assert third["payload"]["data"]["applicationUpdates"] == {
            "status": "MATERIALS_REQUESTED",
            "note": "Bring your lease.",
            "application": {"number": application["number"], "status": "MATERIALS_REQUESTED"},
        }

        # Another applicant's changes are not delivered here.
        other = await new_applicant(client)
        other_application = await recorded_application(client, other.person_id)
        await update(client, other_application["id"], "ACCEPTED")
        await nothing_more(ws, 1.0)

        await ws.send_json({"id": "1", "type": "complete"})


async def test_a_new_application_is_delivered_as_submitted(app, client):
    who = await new_applicant(client)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)
        await wait_until_listening(app, who.person_id)

        application = await recorded_application(client, who.person_id)

        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["applicationUpdates"] == {
            "status": "SUBMITTED",
            "note": None,
            "application": {"number": application["number"], "status": "SUBMITTED"},
        }


async def test_a_stranger_gets_an_error_and_no_events(app, client):
    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)
    stranger = (await sign_up(client))["accessToken"]

    async with ws_session(app) as ws:
        assert (await init(ws, stranger))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)

        message = await ws.receive_json(timeout=10)
        assert message["type"] == "error", message
        assert message["id"] == "1"
        assert isinstance(message["payload"], list), message
        assert message["payload"][0]["message"]
        # Nothing identifies the person; and nothing else follows, even after a change.
        assert "Listener" not in json.dumps(message)

        await update(client, application["id"], "ACCEPTED")
        await nothing_more(ws)


async def test_an_unknown_applicant_looks_like_a_forbidden_one(app, client):
    who = await new_applicant(client)
    stranger = (await sign_up(client))["accessToken"]
    from schema.common import to_global_id

    async with ws_session(app) as ws:
        assert (await init(ws, stranger))["type"] == "connection_ack"
        await subscribe(ws, who.person_id, "forbidden")
        await subscribe(ws, to_global_id("Person", 987654321), "unknown")
        by_id: dict[str, dict] = {}
        while len(by_id) < 2:
            message = await ws.receive_json(timeout=10)
            by_id.setdefault(message["id"], message)
    # Whatever form the refusal takes, a forbidden applicant and an unknown one look alike.
    forbidden, unknown = by_id["forbidden"], by_id["unknown"]
    assert forbidden["type"] == unknown["type"], by_id
    assert forbidden["payload"] == unknown["payload"], by_id


async def test_an_invalid_token_in_connection_init_closes_the_connection_4403(app):
    async with ws_session(app) as ws:
        await ws.send_json(
            {"type": "connection_init", "payload": {"authorization": "Bearer not-a-token"}}
        )
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
    assert closed.value.code == 4403


async def test_a_token_of_the_wrong_scheme_closes_the_connection_4403(app, client):
    token = (await sign_up(client))["accessToken"]
    async with ws_session(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": {"authorization": token}})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
    assert closed.value.code == 4403


async def test_without_authorization_subscribing_is_unauthenticated(app, client):
    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)

    async with ws_session(app) as ws:
        assert (await init(ws, None))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)

        message = await ws.receive_json(timeout=10)
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "UNAUTHENTICATED", message

        await update(client, application["id"], "ACCEPTED")
        await nothing_more(ws, 1.0)


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("variables", ["x"], "`variables` must be a JSON object."),
        ("variables", "{}", "`variables` must be a JSON object."),
        ("operationName", 5, "`operationName` must be a string."),
    ],
)
async def test_a_subscribe_with_malformed_parameters_is_refused_as_http_refuses_them(
    app, client, field, value, said
):
    who = await new_applicant(client)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": {"id": who.person_id}, field: value}
        await ws.send_json({"id": "odd", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "error" and message["id"] == "odd", message
        [error] = message["payload"]
        assert error["extensions"]["code"] == "BAD_REQUEST", message
        assert error["message"] == said
        # The connection stays usable.
        await subscribe(ws, who.person_id, "fine")
        await nothing_more(ws, 1.0)


async def test_subscribing_before_connection_init_closes_4401(app, client):
    who = await new_applicant(client)
    async with ws_session(app) as ws:
        await subscribe(ws, who.person_id)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=10)
    assert closed.value.code == 4401


async def test_a_helper_with_view_applications_follows_a_dependant(app, client):
    """The demo helper's elderly dependant has VIEW_APPLICATIONS: the helper may subscribe.

    No status is changed on the demo person: the subscription is only checked to be accepted
    (no error within a moment), and then completed by the client.
    """
    helper = await sign_in(client, "helper@demo.test")
    body = await gql(client, "{ viewer { applicants { id surname grantedScopes } } }", token=helper)
    elder = next(p for p in body["data"]["viewer"]["applicants"] if p["surname"] == "Kim")
    assert "VIEW_APPLICATIONS" in elder["grantedScopes"]

    async with ws_session(app) as ws:
        assert (await init(ws, helper))["type"] == "connection_ack"
        await subscribe(ws, elder["id"])
        await nothing_more(ws, 1.0)
        await ws.send_json({"id": "1", "type": "complete"})


async def _fresh_helper(client: httpx.AsyncClient, dependant_id: str, scopes: list[str]):
    """A new account with an ACTIVE delegation for the dependant (made in the database)."""
    return await helper_in_database(client, dependant_id, scopes, "FRIEND")


async def test_a_helper_without_view_applications_cannot_subscribe(app, client):
    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)
    helper, _ = await _fresh_helper(client, who.person_id, ["BOOK_APPOINTMENTS"])

    async with ws_session(app) as ws:
        assert (await init(ws, helper))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "error", message
        await update(client, application["id"], "ACCEPTED")
        await nothing_more(ws, 1.0)


async def test_a_helpers_subscription_ends_when_the_delegation_is_revoked(app, client):
    from schema.common import to_global_id

    who = await new_applicant(client)
    application = await recorded_application(client, who.person_id)
    helper, delegation_pk = await _fresh_helper(client, who.person_id, ["VIEW_APPLICATIONS"])

    async with ws_session(app) as ws:
        assert (await init(ws, helper))["type"] == "connection_ack"
        await subscribe(ws, who.person_id)
        await wait_until_listening(app, who.person_id)
        await update(client, application["id"], "ACCEPTED")
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["applicationUpdates"]["status"] == "ACCEPTED"

        body = await gql(
            client,
            "mutation($id: ID!) { revokeDelegation(id: $id) { __typename } }",
            {"id": to_global_id("Delegation", delegation_pk)},
            token=helper,
        )
        assert body["data"]["revokeDelegation"]["__typename"] == "DelegationRevoked", body
        await update(client, application["id"], "UNDER_REVIEW")

        # No further event reaches the former helper; the operation completes.
        ended = await ws.receive_json(timeout=15)
        assert ended == {"id": "1", "type": "complete"}, ended


# ---------------------------------------------------------- two processes (PostgreSQL + Redis)


@pytest.fixture
async def two_servers_with_redis(app, backend, test_settings):
    if backend != "postgres":
        pytest.skip("several processes share a database only on PostgreSQL")
    redis_url = os.environ.get("TEST_REDIS_URL")
    if not redis_url:
        pytest.skip("TEST_REDIS_URL is not set")
    env = server_environment(test_settings, REDIS_URL=redis_url)
    async with running_servers(2, env, ready_attempts=300) as ports:
        yield ports


async def _sign_in_at(base: str, email: str, password: str) -> str:
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        body = (
            await c.post(
                "/graphql",
                json={"query": SIGN_IN, "variables": {"email": email, "password": password}},
            )
        ).json()
    return body["data"]["signIn"]["accessToken"]


async def _post(base: str, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        response = await c.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    return response.json()


async def test_an_event_made_through_one_process_reaches_a_subscriber_of_the_other(
    two_servers_with_redis,
):
    import websockets

    port_a, port_b = two_servers_with_redis
    base_b = f"http://127.0.0.1:{port_b}"

    # A fresh applicant, registered and linked through process B.
    officer_b = await _sign_in_at(base_b, "officer@demo.test", "demo-pass-2024")
    facts = {
        "surname": "Farlistener",
        "nationality": "ESP",
        "birthDate": "1987-05-06",
        "passportNumber": passport_number("R"),
    }
    values = person_input(facts, given_names="Ana", sex="F", passport_valid_until="2034-01-01")
    body = await _post(base_b, REGISTER_PERSON, {"input": values}, officer_b)
    person_id = body["data"]["registerPerson"]["person"]["id"]
    email = unique_email()
    body = await _post(base_b, SIGN_UP, {"email": email, "password": PASSWORD, "name": "Far"})
    applicant_token = body["data"]["signUp"]["accessToken"]
    body = await _post(base_b, LINK_IDENTITY, {"input": facts}, applicant_token)
    assert body["data"]["linkIdentity"]["__typename"] == "IdentityLinked", body
    recorded = {"applicantId": person_id, "service": "VISA_EXTENSION"}
    body = await _post(base_b, RECORD_APPLICATION, {"input": recorded}, officer_b)
    application = body["data"]["recordApplication"]["application"]

    # The applicant subscribes at process A ...
    async with websockets.connect(
        f"ws://127.0.0.1:{port_a}/graphql", subprotocols=[PROTOCOL], open_timeout=10
    ) as ws:
        await ws.send(
            json.dumps(
                {
                    "type": "connection_init",
                    "payload": {"authorization": f"Bearer {applicant_token}"},
                }
            )
        )
        ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps(
                {
                    "id": "far",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"id": person_id}},
                }
            )
        )
        await asyncio.sleep(1.5)  # let the subscription register at process A

        # ... and the officer changes the status through process B.
        body = await _post(
            base_b,
            UPDATE_STATUS,
            {
                "input": {
                    "applicationId": application["id"],
                    "status": "ACCEPTED",
                    "note": "Across processes.",
                }
            },
            officer_b,
        )
        assert body["data"]["updateApplicationStatus"]["__typename"] == "ApplicationStatusUpdated"

        message = json.loads(await asyncio.wait_for(ws.recv(), 15))
        assert message["type"] == "next", message
        assert message["id"] == "far"
        assert message["payload"]["data"]["applicationUpdates"] == {
            "status": "ACCEPTED",
            "note": "Across processes.",
            "application": {"number": application["number"], "status": "ACCEPTED"},
        }


@pytest.mark.parametrize(
    "payload",
    [
        lambda t: {"Authorization": f"Bearer {t}"},  # GraphiQL
        lambda t: {"AUTHORIZATION": f"Bearer {t}"},
        lambda t: {"headers": {"Authorization": f"Bearer {t}"}},  # Apollo, urql
        lambda t: {"headers": {"authorization": f"Bearer {t}"}},
    ],
    ids=["capitalised", "upper-case", "nested-headers", "nested-lower-case"],
)
async def test_the_token_is_read_as_clients_send_it_in_connection_init(app, client, payload):
    who = await new_applicant(client)
    async with ws_session(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": payload(who.token)})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "{ viewer { person { id } } }"}}
        )
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["viewer"]["person"]["id"] == who.person_id


async def test_a_connection_opened_before_linking_identity_follows_the_persons_applications(
    app, client
):
    person = await register_person(client)
    member = await new_member(client)
    async with ws_session(app) as ws:
        assert (await init(ws, member.token))["type"] == "connection_ack"
        await link_identity_ok(client, member.token, person.facts(), person.id)
        await subscribe(ws, person.id)
        await wait_until_listening(app, person.id)
        application = await recorded_application(client, person.id)
        message = await ws.receive_json(timeout=10)
        assert message["type"] == "next", message
        assert message["payload"]["data"]["applicationUpdates"]["application"] == {
            "number": application["number"],
            "status": "SUBMITTED",
        }


@pytest.mark.parametrize(
    "variables", [{}, {"id": ["x"]}, {"id": None}], ids=["missing", "a list", "null"]
)
async def test_variables_that_do_not_fit_carry_the_code_http_gives_them(app, client, variables):
    """As over HTTP, where they are the client's bad input (a BAD_USER_INPUT request error)."""
    who = await new_applicant(client)
    async with ws_session(app) as ws:
        assert (await init(ws, who.token))["type"] == "connection_ack"
        payload = {"query": SUBSCRIPTION, "variables": variables}
        await ws.send_json({"id": "v", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=10)
    assert message["type"] == "error", message
    [error] = message["payload"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", message
