"""Found by a review that tried the round's new fields and transports as an attacker and as a
careless client would: each test is one way in that was open, kept shut."""

from __future__ import annotations

import secrets

import httpx
import pytest
from httpx_ws import WebSocketDisconnect

from tests.conftest import sign_in
from tests.test_subscriptions import ws_session
from tests.test_transport_limits import budget  # noqa: F401 (a fixture)

# Authorization and audit must hold whichever executor runs the operation.
pytestmark = pytest.mark.usefixtures("each_executor")

# ------------------------------------------------------------- the shared response cache


@pytest.mark.parametrize(
    "queue",
    [
        "applications { pageInfo { hasNextPage } edges { cursor } }",
        'appointments(on: "2026-12-02") { pageInfo { hasNextPage } edges { cursor } }',
        "applications { __typename }",
    ],
)
async def test_an_officers_get_of_a_queue_without_its_nodes_is_not_shared(client, queue):
    """An office's queues vary by viewer even when no node is selected (only cursors, page
    info, __typename): an officer's answer must not be stored and served to anyone else."""
    officer = await sign_in(client, "officer@demo.test")
    query = f"""{{ offices(filter: {{text: "BJ-DC"}}) {{ edges {{ node {{ code {queue} }} }} }} }}
        # {secrets.token_hex(4)}"""
    staff = await client.get(
        "/graphql", params={"query": query}, headers={"authorization": f"Bearer {officer}"}
    )
    anonymous = await client.get("/graphql", params={"query": query})
    assert "etag" not in staff.headers and staff.headers["cache-control"] == "no-store"
    field = queue.split(" ")[0].split("(")[0]
    own = staff.json()["data"]["offices"]["edges"][0]["node"]
    assert own["code"] == "BJ-DC" and own[field] is not None, staff.text
    assert anonymous.json()["data"]["offices"]["edges"][0]["node"][field] is None, anonymous.text


# ------------------------------------------------------------------------ the WebSocket


@pytest.mark.parametrize("payload", ["x", [1], None, 5], ids=["string", "list", "null", "number"])
async def test_a_subscribe_whose_payload_is_not_an_object_is_a_protocol_error(app, client, payload):
    """graphql-transport-ws: an invalid message closes the socket with 4400, not with 1011
    and the text of a Python exception."""
    token = await sign_in(client, "applicant@demo.test")
    async with ws_session(app) as ws:
        await init_with(ws, {"authorization": f"Bearer {token}"})
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4400, closed.value
    assert "indices" not in closed.value.reason and "subscriptable" not in closed.value.reason


@pytest.mark.parametrize(
    "message", [[], [1], None, 5, "x"], ids=["empty", "list", "null", "number", "text"]
)
@pytest.mark.parametrize("after_init", [False, True], ids=["before-init", "after-init"])
async def test_a_message_that_is_not_an_object_is_a_protocol_error(
    app, client, caplog, message, after_init
):
    """Valid JSON that is not an object, before or after connection_init: a 4400 close, not
    an unhandled error that drops the socket (1006) and logs a traceback."""
    token = await sign_in(client, "applicant@demo.test")
    async with ws_session(app) as ws:
        if after_init:
            await init_with(ws, {"authorization": f"Bearer {token}"})
        await ws.send_json(message)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4400, closed.value
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


@pytest.mark.parametrize(
    "params",
    [{"authorization": 5}, {"Authorization": ["Bearer x"]}, {"headers": {"authorization": 7}}],
    ids=["number", "list", "nested-number"],
)
async def test_an_authorization_that_is_not_text_is_refused_not_anonymous(app, params):
    """A client that sends a token it cannot spell must learn it, as over HTTP (401), instead
    of being served quietly as anonymous."""
    async with ws_session(app) as ws:
        await ws.send_json({"type": "connection_init", "payload": params})
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4403, closed.value


async def init_with(ws, payload: dict) -> None:
    await ws.send_json({"type": "connection_init", "payload": payload})
    assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"


# ------------------------------------------------------------------------------- limits


async def test_an_anonymous_budget_is_one_per_ipv6_slash_64(app, budget):  # noqa: F811
    """A client holding an IPv6 /64 must not buy a fresh cost budget with every address in
    it, as it cannot for sign-in and identity-matching limits."""
    query = "{ viewer { account { id } } }"

    async def from_address(address: str) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(address, 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            return await c.post("/graphql", json={"query": query})

    cost = (await from_address("2001:db8:6::1")).json()["extensions"]["cost"]["requestedQueryCost"]
    budget(2 * cost)
    answers = [await from_address(f"2001:db8:7:{secrets.token_hex(2)}::{n}") for n in (1, 2, 3)]
    assert [a.status_code for a in answers] == [200, 200, 200]  # other /64s: their own budgets
    budget(2 * cost)
    prefix = f"2001:db8:8:{secrets.token_hex(2)}"
    answers = [await from_address(f"{prefix}:{n}::{n}") for n in (1, 2, 3)]
    assert [a.status_code for a in answers] == [200, 200, 429], [a.text for a in answers]


@pytest.mark.parametrize("after_init", [False, True], ids=["before-init", "after-init"])
async def test_a_message_nested_past_the_parsers_limit_is_a_protocol_error(
    app, client, caplog, after_init
):
    """2,000 nested brackets (4 KB) exhausted Python's recursion in the JSON reader: the socket
    dropped with a traceback logged. Read as HTTP reads a body, it is an invalid message."""
    token = await sign_in(client, "applicant@demo.test")
    async with ws_session(app) as ws:
        if after_init:
            await init_with(ws, {"authorization": f"Bearer {token}"})
        await ws.send_text("[" * 2000 + "]" * 2000)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4400, closed.value
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_message_larger_than_a_request_body_may_be_is_refused(app, client):
    token = await sign_in(client, "applicant@demo.test")
    limit = app.state.services.settings.max_body_bytes
    async with ws_session(app) as ws:
        await init_with(ws, {"authorization": f"Bearer {token}"})
        padding = " " * (limit + 1)
        await ws.send_text(f'{{"id": "1", "type": "ping"{padding}}}')
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_json(timeout=5)
    assert closed.value.code == 4400, closed.value


async def test_variables_nested_too_deeply_are_refused_as_over_http(app, client):
    token = await sign_in(client, "applicant@demo.test")
    deep: object = 1
    for _ in range(40):
        deep = [deep]
    query = "query($x: Int) { viewer { id } }"
    over_http = await client.post("/graphql", json={"query": query, "variables": {"x": deep}})
    async with ws_session(app) as ws:
        await init_with(ws, {"authorization": f"Bearer {token}"})
        payload = {"query": query, "variables": {"x": deep}}
        await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
        message = await ws.receive_json(timeout=5)
        assert message["type"] == "error", message
        [error] = message["payload"]
        assert error["message"] == over_http.json()["errors"][0]["message"]
        assert "nests more than" in error["message"]
        await ws.send_json({"type": "ping"})  # the connection stays open
        assert (await ws.receive_json(timeout=5))["type"] == "pong"


async def test_too_many_operations_at_once_are_refused_with_a_code_in_the_language_asked(
    app, client
):
    """Strawberry's own answer ("Subscription limit reached") had no code and no translation."""
    token = await sign_in(client, "applicant@demo.test")
    person = (
        await client.post(
            "/graphql",
            json={"query": "{ viewer { person { id } } }"},
            headers={"authorization": f"Bearer {token}"},
        )
    ).json()["data"]["viewer"]["person"]["id"]
    view = app.state.websocket_view
    saved = view.max_subscriptions_per_connection
    view.max_subscriptions_per_connection = 1
    try:
        async with ws_session(app) as ws:
            await init_with(ws, {"authorization": f"Bearer {token}", "language": "zh"})
            follow = "subscription($id: ID!) { applicationUpdates(applicantId: $id) { status } }"
            for op in ("1", "2"):
                payload = {"query": follow, "variables": {"id": person}}
                await ws.send_json({"id": op, "type": "subscribe", "payload": payload})
            message = await ws.receive_json(timeout=5)
    finally:
        view.max_subscriptions_per_connection = saved
    assert message["id"] == "2" and message["type"] == "error", message
    [error] = message["payload"]
    assert error["extensions"]["code"] == "RATE_LIMITED"
    assert error["extensions"]["maxOperations"] == 1
    assert "Subscription limit" not in error["message"]
    assert any("\u4e00" <= c <= "\u9fff" for c in error["message"]), error
