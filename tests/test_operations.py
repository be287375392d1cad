"""What an operator relies on: bounded metrics labels, /metrics not public in production,
client errors logged without tracebacks, and the request id on every log record."""

from __future__ import annotations

import json
import logging
import secrets
import string
from typing import Any

import httpx
import pytest
from graphql import parse

import schema.query as query_module
from resolvers.metrics import BATCH, CACHED, OTHER, REGISTRY, UNPARSED
from schema import schema as service_schema
from server import create_app
from tests.conftest import gql
from tests.helpers import book, graphql_ws, new_applicant, open_slots
from web.logging_setup import JsonFormatter, request_id, stamp_records, start_job
from web.operation_labels import metrics_label, schema_root_fields

FIXED_LABELS = {BATCH, CACHED, OTHER, UNPARSED}
# Records the test's own HTTP client writes after the answer: not part of the server's request.
CLIENT_LOGGERS = ("httpx", "httpcore")


def operation_labels() -> set[str]:
    return {
        sample.labels["operation"]
        for metric in REGISTRY.collect()
        if metric.name == "graphql_requests"
        for sample in metric.samples
        if "operation" in sample.labels
    }


def random_name() -> str:
    return "Op" + "".join(secrets.choice(string.ascii_letters) for _ in range(12))


# ----------------------------------------------------------------------------------- metrics


async def test_a_thousand_random_operation_names_give_a_bounded_set_of_labels(app, client):
    root_fields = schema_root_fields(service_schema._schema)
    names = [random_name() for _ in range(1000)]
    for i, name in enumerate(names):
        # Plain names, unknown root fields, and a known root field under a random name.
        document = [
            f"query {name} {{ __typename }}",
            f"query {name} {{ {name.lower()} }}",
            f"query {name} {{ services {{ code }} }}",
        ][i % 3]
        response = await client.post("/graphql", json={"query": document, "operationName": name})
        assert response.status_code == 200
    labels = operation_labels()
    assert not labels & set(names)
    assert not {n.lower() for n in names} & labels
    assert labels <= root_fields | FIXED_LABELS
    assert {"services", OTHER} <= labels
    assert len(labels) <= len(root_fields) + len(FIXED_LABELS)


def test_registered_documents_are_labelled_by_their_operation_name():
    roots = schema_root_fields(service_schema._schema)
    document = parse("query Dashboard { viewer { account { id } } services { code } }")
    assert metrics_label(document, None, frozenset({"Dashboard"}), roots) == "Dashboard"
    assert metrics_label(document, None, frozenset(), roots) == OTHER
    single = parse("query Anything { viewer { account { id } } __typename }")
    assert metrics_label(single, "Anything", frozenset(), roots) == "viewer"
    assert metrics_label(single, "Missing", frozenset(), roots) == OTHER


def booking_outcomes(mutation: str, outcome: str) -> float:
    """booking_outcomes_total for one mutation and answer type, as /metrics reports it."""
    value = REGISTRY.get_sample_value(
        "booking_outcomes_total", {"mutation": mutation, "outcome": outcome}
    )
    return value or 0.0


async def test_every_booking_answer_is_counted_by_mutation_and_outcome(app, client):
    """The service runs mutations from compiled plans by default: the count is part of the
    mutation's resolver, so it is kept there too, for a success and a refusal alike."""
    who = await new_applicant(client)
    (slot,) = await open_slots(client, "VISA_EXTENSION")
    confirmed = booking_outcomes("bookAppointment", "BookingConfirmed")
    refused = booking_outcomes("bookAppointment", "NotPermitted")
    result = await book(client, who.token, who.person_id, slot["id"])
    assert result["__typename"] == "BookingConfirmed", result
    stranger = await new_applicant(client)
    refusal = await book(client, stranger.token, who.person_id, slot["id"])
    assert refusal["__typename"] == "NotPermitted", refusal
    assert booking_outcomes("bookAppointment", "BookingConfirmed") == confirmed + 1
    assert booking_outcomes("bookAppointment", "NotPermitted") == refused + 1
    body = (await client.get("/metrics")).text
    assert 'booking_outcomes_total{mutation="bookAppointment",outcome="BookingConfirmed"}' in body


def metrics_client(test_settings: Any, **changes: Any) -> httpx.AsyncClient:
    """/metrics needs no started services: the app is used without its lifespan."""
    application = create_app(test_settings.with_(**changes))
    transport = httpx.ASGITransport(app=application)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_metrics_with_a_token_require_it_as_bearer(test_settings):
    token = secrets.token_urlsafe(24)
    for env in ("development", "production"):
        async with metrics_client(test_settings, app_env=env, metrics_token=token) as c:
            assert (await c.get("/metrics")).status_code == 401
            wrong = await c.get("/metrics", headers={"authorization": f"Bearer {token}x"})
            assert wrong.status_code == 401
            assert wrong.headers["www-authenticate"].startswith("Bearer")
            right = await c.get("/metrics", headers={"authorization": f"Bearer {token}"})
            assert right.status_code == 200
            assert "graphql_requests_total" in right.text


async def test_metrics_are_absent_in_production_without_a_token(test_settings):
    async with metrics_client(test_settings, app_env="production", metrics_token=None) as c:
        response = await c.get("/metrics")
        assert response.status_code == 404
        assert "graphql_requests" not in response.text


async def test_metrics_stay_open_in_development_without_a_token(test_settings):
    async with metrics_client(test_settings, app_env="development", metrics_token=None) as c:
        response = await c.get("/metrics")
        assert response.status_code == 200
        assert "graphql_requests_total" in response.text


# ----------------------------------------------------------------------------------- logging


def services_query() -> str:
    # A comment makes the text unique, so no cached answer stands in for execution.
    return f"{{ services {{ code }} }} # {secrets.token_hex(6)}"


@pytest.fixture
def broken_services(monkeypatch: pytest.MonkeyPatch) -> None:
    async def fail(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(query_module.office_resolvers, "service_types", fail)


async def test_client_errors_are_logged_at_info_without_traceback(client, caplog):
    caplog.set_level(logging.INFO)
    validation = await gql(client, "{ noSuchField }")
    assert validation["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    variables = await gql(
        client,
        'query($d: Date!) { availableSlots(officeId: "x", service: VISA_EXTENSION, '
        "from: $d, to: $d) { id } }",
        {"d": "not-a-date"},
    )
    assert variables["errors"]
    bad_input = await gql(
        client,
        '{ availableSlots(officeId: "x", service: VISA_EXTENSION, from: "1800-01-01", '
        'to: "1800-01-02") { id } }',
    )
    assert bad_input["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    server_records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    assert not [r for r in server_records if r.levelno >= logging.WARNING]
    assert not [r for r in server_records if r.exc_info]
    client_errors = [r for r in server_records if r.getMessage().startswith("client error")]
    assert len(client_errors) == 3
    assert all(r.levelno == logging.INFO for r in client_errors)
    assert any("BAD_USER_INPUT" in r.getMessage() for r in client_errors)


async def test_a_server_fault_is_logged_at_error_with_its_traceback(
    client, caplog, broken_services
):
    caplog.set_level(logging.INFO)
    body = await gql(client, services_query())
    assert body["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "disk on fire" not in str(body)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info and errors[0].exc_info[0] is RuntimeError


async def test_every_record_of_a_failed_request_carries_its_request_id(client, caplog, monkeypatch):
    original = query_module.office_resolvers.service_types

    async def read_then_fail(ctx: Any) -> None:
        # The catalogue read is logged by Tortoise before the fault. (A sibling field's read
        # is not a sure record: a failing non-null root field may abandon it while it waits
        # for the connection.)
        await original(ctx)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(query_module.office_resolvers, "service_types", read_then_fail)
    caplog.set_level(logging.DEBUG)
    rid = f"req-{secrets.token_hex(4)}_a.1"
    response = await client.post(
        "/graphql", json={"query": services_query()}, headers={"x-request-id": rid}
    )
    assert response.headers["x-request-id"] == rid
    assert response.json()["errors"][0]["extensions"]["requestId"] == rid
    records = [r for r in caplog.records if not r.name.startswith(CLIENT_LOGGERS)]
    # The background jobs (mail, reminders, waitlist, upkeep) log meanwhile, as themselves.
    background = [r for r in records if r.job is not None]
    assert all(r.request_id is None for r in background)
    ours = [r for r in records if r.job is None]
    assert {r.name for r in ours} >= {"graphql.errors", "tortoise.db_client"}
    assert [(r.name, r.request_id) for r in ours] == [(r.name, rid) for r in ours]


@pytest.mark.parametrize("incoming", ["has space", "a/b", "x" * 65, "ünï", ""])
async def test_a_malformed_request_id_is_replaced(client, incoming):
    response = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"x-request-id": incoming.encode()}
    )
    returned = response.headers["x-request-id"]
    assert returned != incoming
    assert 1 <= len(returned) <= 64 and returned.isalnum()


async def test_the_cached_get_front_answers_with_the_callers_request_id(client):
    params = {"query": f"{{ services {{ code }} }} # {secrets.token_hex(6)}"}
    first = await client.get("/graphql", params=params, headers={"x-request-id": "first-1"})
    assert first.status_code == 200
    assert first.headers["x-request-id"] == "first-1"
    again = await client.get("/graphql", params=params, headers={"x-request-id": "again.2"})
    assert again.headers["etag"] == first.headers["etag"]  # answered from the cache
    assert again.headers["x-request-id"] == "again.2"


async def test_websocket_records_carry_the_connections_request_id(app, caplog):
    caplog.set_level(logging.INFO)
    async with graphql_ws(app, address="10.250.0.9", headers={"x-request-id": "ws-conn-7"}) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": "subscription { nope }"}}
        )
        assert (await ws.receive_json(timeout=10))["type"] == "error"
    logged = [r for r in caplog.records if r.getMessage().startswith("client error")]
    assert logged
    assert {getattr(r, "request_id", None) for r in logged} == {"ws-conn-7"}


async def test_a_server_fault_over_the_websocket_is_masked_like_over_http(app, broken_services):
    async with graphql_ws(app, address="10.250.0.10", headers={"x-request-id": "ws-fault-1"}) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": services_query()}})
        message = await ws.receive_json(timeout=10)
    assert message["type"] == "next", message
    error = message["payload"]["errors"][0]
    assert "disk on fire" not in str(message)
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "ws-fault-1"}
    assert "ws-fault-1" in error["message"]


async def test_a_background_jobs_log_lines_name_the_job_and_no_request():
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("test.background")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    stamp_records()
    token = request_id.set("req-that-started-it")  # a job started from a request's context
    try:
        await start_job("sweep", _log_once(logger))
    finally:
        request_id.reset(token)
        logger.removeHandler(handler)
    [record] = records
    line = json.loads(JsonFormatter().format(record))
    assert line["job"] == "sweep" and "requestId" not in line
    assert line["message"] == "swept"


async def _log_once(logger: logging.Logger) -> None:
    logger.info("swept")
