"""The hot statements keep to indexes at national volume (PostgreSQL only).

The statements are the ones the service sends: captured (SQL and parameters, through
persistence/statement_counter.capturing) while requests run through the app for an applicant's
dashboard, availableSlots, the office directory near a point, `node` lookups of each kind and
a booking (its conditional UPDATE of the slot). Each one is then EXPLAINed, with its own
parameters, against a national-volume copy of the tables: the generator of the benchmark
(persistence/demo/national.py) fills a throw-away schema of the session database, first on
the search path, with 20,000 persons' records and 100 offices' slots, built and analysed as the
migrations index the real tables. A Seq Scan of a table holding more than LARGE rows there,
or an index read whole without a condition, fails the test.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.dates import local_day
from persistence import appointments as appointment_store
from persistence import reminders as reminder_store
from persistence import statement_counter
from persistence.demo import national
from persistence.demo.records import person_with_records
from persistence.models import Application
from resolvers import reminders
from tests.conftest import _postgres_url, gql, sign_in
from tests.helpers import SLOTS, beijing_today, book, office_id, pk_of

pytestmark = pytest.mark.skipif(
    _postgres_url() is None,
    reason="query plans are PostgreSQL's: set TEST_DATABASE_URL to run this module",
)

PERSONS = 20_000
OFFICES = 100  # about 250,000 slots over 50 days
LARGE = 5_000  # rows: the tables that grow with the country (persons, slots)

DASHBOARD = """
query Dashboard {
  viewer { person {
    id surname grantedScopes
    applications(first: 20) { edges { node {
      id number status office { code } events { status at }
    } } }
    documents { id kind number validUntil issuedBy { code } }
    appointments(first: 20) { edges { node { id reference status startsAt office { code } } } }
    permanentResidentCard { id number }
    passports { id number current }
  } }
}"""

DIRECTORY = """
query Near($lat: Float!, $lon: Float!) {
  offices(first: 10, filter: {near: {latitude: $lat, longitude: $lon}}) {
    edges { distanceKm node { id code name hours { weekday opens closes } services { code } } }
  }
}"""

NODE = "query($id: ID!) { node(id: $id) { id } }"

Captured = tuple[str, list[Any]]


async def _ok(client: httpx.AsyncClient, query: str, token: str | None, **variables: Any) -> dict:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture(scope="module")
async def hot_statements(app: Any) -> dict[str, list[Captured]]:
    """What each hot request sent, by request kind."""
    transport = httpx.ASGITransport(app=app, client=("10.250.2.1", 4000))
    sent: dict[str, list[Captured]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        email = await person_with_records(
            3, surname="Hot", now=datetime.now(UTC) - timedelta(days=3)
        )
        token = await sign_in(client, email)
        office = await office_id(client, "BJ-HD")
        today = beijing_today()
        with statement_counter.capturing() as sent["dashboard"]:
            person = (await _ok(client, DASHBOARD, token))["viewer"]["person"]
        window = {"from": today.isoformat(), "to": (today + timedelta(days=14)).isoformat()}
        with statement_counter.capturing() as sent["slots"]:
            slots = await _ok(
                client, SLOTS, token, office=office, service="VISA_EXTENSION", **window
            )
        assert slots["availableSlots"], "no slot to book at BJ-HD"
        with statement_counter.capturing() as sent["directory"]:
            near = await _ok(client, DIRECTORY, token, lat=39.95, lon=116.40)
        assert near["offices"]["edges"]
        records = [
            person["id"],
            person["applications"]["edges"][0]["node"]["id"],
            person["documents"][0]["id"],
            person["appointments"]["edges"][0]["node"]["id"],
            person["permanentResidentCard"]["id"],
            person["passports"][0]["id"],
            office,
            slots["availableSlots"][0]["id"],
        ]
        with statement_counter.capturing() as sent["node"]:
            for record in records:
                assert (await _ok(client, NODE, token, id=record))["node"] is not None, record
        with statement_counter.capturing() as sent["booking"]:
            booked = await book(client, token, person["id"], slots["availableSlots"][-1]["id"])
        assert booked["__typename"] == "BookingConfirmed", booked
    # The background work every process does on its own: the reminder scan (every few
    # minutes) and the no-shows of the upkeep round.
    services = app.state.services
    # An approved application not yet issued its document: the scan asks which approved
    # applications were issued one (through document.application_id).
    applicant = (
        await Application.filter(id=pk_of(records[1]))
        .first()
        .values_list("applicant_id", flat=True)
    )
    await Application.filter(id=pk_of(records[1])).update(status="APPROVED")
    with statement_counter.capturing() as sent["scheduler"]:
        await reminders.run_due(services)
        await appointment_store.mark_no_shows(services.clock.now())
        await reminder_store.kinds_applied_for({applicant})
    return sent


@pytest.fixture(scope="module")
async def volume(test_settings: Any) -> AsyncIterator[Any]:
    """A connection whose search path puts a national-volume schema before public."""
    import asyncpg

    url = test_settings.database_url
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    schema = f"national_{secrets.token_hex(4)}"
    tables = (*national.BULK_TABLES, *national.OFFICE_TABLES, "application_counter")
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        for table in tables:
            await connection.execute(
                f'CREATE TABLE "{schema}"."{table}" '
                f'(LIKE public."{table}" INCLUDING DEFAULTS INCLUDING CONSTRAINTS)'
            )
        # The migrations' indexes under their own names (the load drops and remakes them).
        for row in await connection.fetch(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1)",
            list(tables),
        ):
            definition, count = re.subn(r" ON public\.", f' ON "{schema}".', row["indexdef"])
            assert count == 1, row["indexdef"]
            await connection.execute(definition)
        await national.load(
            url,
            national.Volume(
                persons=PERSONS,
                offices=OFFICES,
                past_days=20,
                future_days=30,
                slot_minutes=test_settings.slot_minutes,
                today=local_day(datetime.now(UTC)),
                password_hash="not used",
            ),
            schema=schema,
            vacuum=False,
        )
        await connection.execute(f'SET search_path = "{schema}", public')
        yield connection
    finally:
        await connection.execute("SET search_path = public")
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


async def large_tables(connection: Any) -> set[str]:
    rows = await connection.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.reltuples > $1",
        LARGE,
    )
    return {row["relname"] for row in rows}


async def full_reads(connection: Any, statement: Captured, large: set[str]) -> list[str]:
    """The large tables the statement's plan reads whole: a Seq Scan, or an index scanned
    without a condition."""
    sql, values = statement
    text = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *values)
    plan = (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]
    indexes = {
        row["indexname"]: row["tablename"]
        for row in await connection.fetch(
            "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = current_schema()"
        )
    }
    found = []
    for node in _nodes(plan):
        table = node.get("Relation Name") or indexes.get(node.get("Index Name", ""))
        if table not in large:
            continue
        if node["Node Type"] == "Seq Scan":
            found.append(f"Seq Scan on {table}")
        elif node["Node Type"] in _INDEX_SCANS and "Index Cond" not in node:
            found.append(f"{table} read whole through {node['Index Name']}")
    return found


def explained(statements: list[Captured]) -> list[Captured]:
    """The statements that read or change rows (EXPLAIN runs none of them)."""
    kinds = ("SELECT", "UPDATE", "DELETE", "WITH")
    distinct = {
        sql: (sql, values) for sql, values in statements if sql.lstrip().upper().startswith(kinds)
    }
    return list(distinct.values())


def _reading(statements: list[Captured], table: str, column: str) -> list[Captured]:
    return [
        s
        for s in statements
        if f'"{table}"' in s[0] and f'"{column}"' in s[0].split("WHERE", 1)[-1]
    ]


# What each request must be seen reading, or it no longer exercises what this test is for.
EXPECTED = {
    "dashboard": [
        ("document", "person_id"),
        ("application", "applicant_id"),
        ("application_event", "application_id"),
        ("appointment", "applicant_id"),
        ("passport", "person_id"),
        ("pr_card", "person_id"),
        ("account_role", "account_id"),
    ],
    "slots": [("slot", "office_id")],
    "directory": [("office_hours", "office_id"), ("office_service", "office_id")],
    "node": [
        ("person", "id"),
        ("application", "id"),
        ("document", "id"),
        ("appointment", "id"),
        ("pr_card", "id"),
        ("passport", "id"),
        ("slot", "id"),
    ],
    "booking": [("slot", "id"), ("appointment", "applicant_id")],
    "scheduler": [
        ("document", "valid_until"),
        ("document", "application_id"),
        ("appointment", "starts_at"),
    ],
}


async def test_hot_statements_read_large_tables_through_indexes(hot_statements, volume):
    large = await large_tables(volume)
    assert {"person", "document", "application_event", "slot"} <= large, large
    for kind, reads in EXPECTED.items():
        for table, column in reads:
            assert _reading(hot_statements[kind], table, column), f"{kind}: no {table}.{column}"
    booking_update = [
        s
        for s in hot_statements["booking"]
        if s[0].lstrip().upper().startswith('UPDATE "SLOT"') and '"booked"' in s[0]
    ]
    assert booking_update, "the booking's conditional UPDATE of the slot was not captured"
    problems: dict[str, list[str]] = {}
    checked = 0
    for kind, statements in hot_statements.items():
        for statement in explained(statements):
            checked += 1
            found = await full_reads(volume, statement, large)
            if found:
                problems[f"{kind}: {statement[0]}"] = found
    assert checked >= 20, checked
    assert not problems, json.dumps(problems, indent=1)


async def test_the_check_sees_a_missing_index(hot_statements, volume):
    """Without the documents' index the dashboard's read of them is a Seq Scan, and is
    reported (the index is dropped in a transaction that is rolled back)."""
    large = await large_tables(volume)
    (documents, *_) = _reading(hot_statements["dashboard"], "document", "person_id")
    assert await full_reads(volume, documents, large) == []
    transaction = volume.transaction()
    await transaction.start()
    try:
        schema = await volume.fetchval("SELECT current_schema()")
        assert schema.startswith("national_"), schema
        await volume.execute(f'DROP INDEX "{schema}".ix_document_person')
        assert await full_reads(volume, documents, large) == ["Seq Scan on document"]
    finally:
        await transaction.rollback()
