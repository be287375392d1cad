"""One set of limits on every transport: depth, aliases, tokens and cost refuse an operation
over the WebSocket (graphql-transport-ws `error`) with the code HTTP answers it with; HTTP and
the WebSocket draw from one budget per account; introspection is costed (an alias flood is
refused, GraphiQL's query is not); an HTTP batch is paid for as a whole before any of it runs."""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, parse

from persistence.rate_limits import MemoryCostBudget
from schema.app import schema
from schema.limits import estimate
from tests.conftest import SIGN_IN, sign_up
from tests.helpers import beijing_today, graphql_ws, office_id

GQL = "application/graphql-response+json"

DEEP = "{ viewer { person { " + "applications { edges { node { office { id } " * 14 + "id"
DEEP += " } } }" * 14 + " } } }"
ALIASES = "{ " + " ".join(f"a{i}: services {{ code }}" for i in range(40)) + " }"
TOKENS = "{ services { " + " ".join(["code"] * 2500) + " } }"
COSTLY = """{ offices(first: 100) { edges { node { services { guidance {
             materials { name } fees { amount { amount } } } } } } } }"""
ONE_SCHEMA = "__schema { types { name fields { name type { name } } } }"
INTROSPECTION_FLOOD = "{ " + " ".join(f"a{i}: {ONE_SCHEMA}" for i in range(30)) + " }"
CHEAP = "{ bookingRules { slotMinutes } }"  # costs 1

_addresses = itertools.count(1)


@contextlib.asynccontextmanager
async def ws_connection(app: Any, token: str | None = None) -> AsyncIterator[Any]:
    """An acknowledged graphql-transport-ws connection, from an address of its own."""
    n = next(_addresses)
    async with graphql_ws(app, address=f"10.251.{n // 256 % 256}.{n % 256}") as ws:
        payload = {"authorization": f"Bearer {token}"} if token else {}
        await ws.send_json({"type": "connection_init", "payload": payload})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        yield ws


async def ws_run(ws: Any, query: str, variables: dict | None = None) -> list[dict]:
    """Send one operation; the messages it got, up to its `complete` or `error`."""
    op_id = secrets.token_hex(4)
    payload = {"query": query, "variables": variables or {}}
    await ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})
    messages = []
    while True:
        message = await ws.receive_json(timeout=10)
        assert message.get("id") == op_id, message
        messages.append(message)
        if message["type"] in ("complete", "error"):
            return messages


async def ws_errors(ws: Any, query: str, variables: dict | None = None) -> list[dict]:
    """The errors of an operation the WebSocket refused before running it."""
    messages = await ws_run(ws, query, variables)
    assert [m["type"] for m in messages] == ["error"], messages
    return messages[0]["payload"]


async def ws_refusal(ws: Any, query: str, variables: dict | None = None) -> dict:
    """The single error of an operation the WebSocket refused before running it."""
    (error,) = await ws_errors(ws, query, variables)
    return error


async def http(client: httpx.AsyncClient, body: Any, token: str | None = None) -> httpx.Response:
    headers = {"accept": GQL}
    if token:
        headers["authorization"] = f"Bearer {token}"
    return await client.post("/graphql", json=body, headers=headers)


def cost_of(query: str, variables: dict | None = None) -> int:
    return estimate(schema._schema, parse(query), None, variables).requested


@pytest.fixture
def budget(app: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Set a tiny per-minute budget, in a window that does not roll over during the test."""
    services = app.state.services

    def set_budget(points: int) -> None:
        monkeypatch.setattr(
            services, "settings", services.settings.with_(cost_budget_per_minute=points)
        )
        monkeypatch.setattr(services, "budget", MemoryCostBudget(clock=lambda: 0.0))

    return set_budget


# ----------------------------------------------------- the same refusals, the same codes


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [
        (DEEP, "GRAPHQL_VALIDATION_FAILED", "depth"),
        (ALIASES, "GRAPHQL_VALIDATION_FAILED", "alias"),
        (TOKENS, "GRAPHQL_VALIDATION_FAILED", "token"),
        (COSTLY, "QUERY_TOO_COMPLEX", "cost"),
        (INTROSPECTION_FLOOD, "QUERY_TOO_COMPLEX", "cost"),
    ],
    ids=["depth", "aliases", "tokens", "cost", "introspection-flood"],
)
async def test_the_websocket_refuses_what_http_refuses_with_the_same_code(
    app, client, query, code, words
):
    over_http = await http(client, {"query": query})
    assert over_http.status_code == 400, over_http.text
    http_errors = over_http.json()["errors"]
    assert {e["extensions"]["code"] for e in http_errors} == {code}
    assert words in http_errors[0]["message"].lower()

    async with ws_connection(app) as ws:
        # The same errors: messages, locations and codes.
        assert await ws_errors(ws, query) == http_errors
        # The connection stays open and serves the next operation.
        ok = await ws_run(ws, CHEAP)
        assert [m["type"] for m in ok] == ["next", "complete"]
        assert ok[0]["payload"]["data"]["bookingRules"]["slotMinutes"] == 30


async def test_a_subscription_over_the_cost_limit_is_refused_at_start(app, monkeypatch):
    app_settings = app.state.services.settings
    monkeypatch.setattr(app.state.services, "settings", app_settings.with_(max_query_cost=2))
    subscription = """subscription($id: ID!) { applicationUpdates(applicantId: $id) {
        status application { number office { code } } } }"""
    assert cost_of(subscription, {"id": "x"}) > 2
    async with ws_connection(app) as ws:
        error = await ws_refusal(ws, subscription, {"id": "UGVyc29uOjE="})
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


# ------------------------------------------------------------------ introspection


async def test_introspection_is_costed_so_an_alias_flood_is_refused_but_graphiql_is_not(
    app, client
):
    token = (await sign_up(client))["accessToken"]
    one = "{ " + ONE_SCHEMA + " }"
    assert cost_of(one) > 100  # every type, and every field once: no longer free
    assert cost_of(INTROSPECTION_FLOOD) == 30 * cost_of(one) > 5000

    standard = get_introspection_query(descriptions=True)
    assert cost_of(standard) <= 5000
    response = await http(client, {"query": standard}, token)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
    assert body["extensions"]["cost"]["requestedQueryCost"] == cost_of(standard)

    async with ws_connection(app) as ws:
        messages = await ws_run(ws, standard)
        assert [m["type"] for m in messages] == ["next", "complete"]
        assert messages[0]["payload"]["data"]["__schema"]["queryType"]["name"] == "Query"


def test_a_named_type_is_costed_at_its_own_sizes():
    query_fields = len(schema._schema.query_type.fields)
    assert cost_of('{ __type(name: "Query") { fields { type { name } } } }') == (
        1 + 1 + query_fields
    )
    assert cost_of('{ __type(name: "NoSuchType") { fields { type { name } } } }') == 1


# ------------------------------------------------------------ one budget per account


async def test_a_websocket_client_that_spent_its_budget_is_rate_limited(app, client, budget):
    token = (await sign_up(client))["accessToken"]
    budget(3)
    async with ws_connection(app, token) as ws:
        for _ in range(3):
            assert [m["type"] for m in await ws_run(ws, CHEAP)] == ["next", "complete"]
        error = await ws_refusal(ws, CHEAP)
        assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": 60}


async def test_http_and_the_websocket_share_one_budget_per_account(app, client, budget):
    token = (await sign_up(client))["accessToken"]
    other = (await sign_up(client))["accessToken"]
    budget(2)
    # Spent over HTTP, missing over the WebSocket ...
    assert (await http(client, {"query": CHEAP}, token)).status_code == 200
    async with ws_connection(app, token) as ws:
        assert [m["type"] for m in await ws_run(ws, CHEAP)] == ["next", "complete"]
        # ... and spent over the WebSocket, missing over HTTP.
        refused = await http(client, {"query": CHEAP}, token)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "60"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert (await ws_refusal(ws, CHEAP))["extensions"]["code"] == "RATE_LIMITED"
    # Another account is unaffected.
    assert (await http(client, {"query": CHEAP}, other)).status_code == 200


async def test_a_subscription_is_paid_for_at_start(app, client, budget):
    token = (await sign_up(client))["accessToken"]
    subscription = "subscription($id: ID!) { applicationUpdates(applicantId: $id) { status } }"
    budget(cost_of(subscription, {"id": "x"}) - 1)
    async with ws_connection(app, token) as ws:
        error = await ws_refusal(ws, subscription, {"id": "UGVyc29uOjE="})
        assert error["extensions"]["code"] == "RATE_LIMITED"


async def test_a_mutation_refused_over_the_websocket_does_not_run(app, client, budget):
    email = f"ws-{secrets.token_hex(5)}@example.test"
    sign_up_query = """mutation($e: String!) { signUp(input: {email: $e,
        password: "a-Strong-passphrase-1", displayName: "WS"}) { __typename } }"""
    budget(cost_of(sign_up_query, {"e": email}) - 1)
    async with ws_connection(app) as ws:
        error = await ws_refusal(ws, sign_up_query, {"e": email})
        assert error["extensions"]["code"] == "RATE_LIMITED"
    budget(10_000)
    # The address is free: the refused sign-up never ran.
    await sign_up(client, email)


# ------------------------------------------------------------------------ batches

SIGN_UP = """mutation($e: String!) { signUp(input: {email: $e,
    password: "a-Strong-passphrase-1", displayName: "Batch"}) { __typename } }"""


async def registered(client: httpx.AsyncClient, email: str) -> bool:
    response = await http(
        client,
        {"query": SIGN_IN, "variables": {"email": email, "password": "a-Strong-passphrase-1"}},
    )
    return response.json()["data"]["signIn"]["__typename"] == "AuthSession"


async def test_a_batch_over_the_budget_is_refused_whole_before_anything_runs(app, client, budget):
    emails = [f"batch-{secrets.token_hex(5)}@example.test" for _ in range(3)]
    each = cost_of(SIGN_UP, {"e": emails[0]})
    # Room for two of the three: item by item, the first two would have run.
    budget(2 * each + 1)
    batch = [{"query": SIGN_UP, "variables": {"e": e}} for e in emails]
    response = await http(client, batch)
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == "60"
    assert response.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    budget(10_000)
    for email in emails:
        assert not await registered(client, email)


async def test_a_batch_within_the_budget_runs_and_reports_what_is_left(app, client, budget):
    emails = [f"batch-{secrets.token_hex(5)}@example.test" for _ in range(2)]
    each = cost_of(SIGN_UP, {"e": emails[0]})
    budget(2 * each + 1)
    batch = [{"query": SIGN_UP, "variables": {"e": e}} for e in emails]
    batch.append({"query": COSTLY})  # refused on its own, costs nothing
    response = await http(client, batch)
    assert response.status_code == 200, response.text
    first, second, costly = response.json()
    for item in (first, second):
        assert item["data"]["signUp"]["__typename"] == "AuthSession"
        assert item["extensions"]["cost"]["remaining"] == 1
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    budget(10_000)
    for email in emails:
        assert await registered(client, email)


# ------------------------------------------------------------- lists of known length

SLOTS = """query($o: ID!, $f: Date!, $t: Date!) {
  %s
}"""
SLOTS_OF = "availableSlots(officeId: $o, service: VISA_EXTENSION, from: $f, to: $t)"
MONTH_OF_SLOTS = SLOTS_OF + " { id office { services { guidance { steps } } } }"


def test_available_slots_are_costed_at_a_long_day_of_slots_for_each_day_asked():
    """Every item of a plain list counts (as every node of a page does), and availableSlots
    counts the slots its range may hold, not a flat ten: 24 half-hour slots a day."""
    week = {"o": "x", "f": "2030-01-01", "t": "2030-01-07"}
    assert cost_of(SLOTS % (SLOTS_OF + " { id }"), week) == 1 + 7 * 24
    inline = """{ availableSlots(officeId: "x", service: VISA_EXTENSION, from: "2030-01-01",
        to: "2030-01-31") { id } }"""
    assert cost_of(inline) == 1 + 31 * 24
    # Days that cannot be read, or a range the field refuses, count as the longest allowed.
    too_long = {**week, "t": "2031-01-01"}
    assert cost_of(SLOTS % (SLOTS_OF + " { id }"), too_long) == 1 + 32 * 24
    # A plain list of unknown length: ten items, each an object.
    assert cost_of("{ services { code } }") == 1 + 10


async def test_aliases_of_a_month_of_slots_with_their_office_are_refused(client):
    """Five aliases of a month of slots, each slot with its office's guidance, took 8.7 s of
    one process's time (and 5.9 MB) at an estimated 605 points: refused before running now,
    while one week of plain slots runs."""
    first = beijing_today() + timedelta(days=100)  # any month to come: the cost is the same
    last, week_end = first + timedelta(days=30), first + timedelta(days=6)
    variables = {"o": await office_id(client, "BJ-DC"), "f": str(first), "t": str(last)}
    flood = SLOTS % " ".join(f"a{i}: {MONTH_OF_SLOTS}" for i in range(5))
    refused = await http(client, {"query": flood, "variables": variables})
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    week = SLOTS % (SLOTS_OF + " { id startsAt remaining office { code } }")
    runs = await http(client, {"query": week, "variables": {**variables, "t": str(week_end)}})
    assert runs.status_code == 200, runs.text
    assert "errors" not in runs.json(), runs.text
    assert runs.json()["extensions"]["cost"]["requestedQueryCost"] == 1 + 7 * 24 * 2
