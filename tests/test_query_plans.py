"""The hot reads stay on indexes at national volume (PostgreSQL only).

The SQL is the real SQL: captured from Tortoise's statement log while HTTP requests run the
dashboard, a helper's reads through a delegation, a dependant's view of its helpers and audit
trail, availableSlots, an office's day and node lookups. Each captured SELECT is then EXPLAINed,
with its own parameters, against copies of the big tables filled with 30,000 persons' records
(a throw-away schema first on the search path, with the indexes the migrations made in the
session database; the planner already prefers a Seq Scan to a missing index at this volume).
A Seq Scan on any of those tables, or a whole index read without a condition, fails the test.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from persistence.demo import bulk
from persistence.demo.records import person_with_records
from persistence.models import Account
from persistence.models import Appointment as AppointmentRow
from persistence.models import Delegation as DelegationRow
from tests.conftest import _postgres_url, gql, sign_in, sign_up
from tests.helpers import SLOTS, beijing_today, gid, office_id, officer_token, pk_of

pytestmark = pytest.mark.skipif(
    _postgres_url() is None,
    reason="query plans are PostgreSQL's: set TEST_DATABASE_URL to run this module",
)

PERSONS = 30_000  # 60,000 documents, 90,000 application events, 15,000 delegations

DASHBOARD = """
query Dashboard {
  viewer { person {
    id surname grantedScopes
    applications(first: 20) { edges { node {
      id number status office { code } events { status at }
    } } }
    documents { id kind number validUntil issuedBy { code } }
    appointments(first: 20) { edges { node {
      id reference status startsAt office { code } rescheduledTo { reference }
    } } }
    permanentResidentCard { id number }
    passports { id number current }
  } }
}"""

HELPER_READS = """
query Helper($person: ID!) {
  viewer {
    dependants { id status dependant { id } }
    applicants {
      id grantedScopes documents { number } passports { number }
      permanentResidentCard { number }
      applications(first: 5) { edges { node { number events { status } } } }
      appointments(first: 5) { edges { node { reference } } }
    }
  }
  node(id: $person) { ... on Person { documents { number } } }
}"""

DEPENDANT_READS = """
query Dependant {
  viewer {
    helpers { id status }
    actionsOnMyBehalf(first: 10) { edges { node { id action } } }
  }
}"""

NODE = "query($id: ID!) { node(id: $id) { id } }"

OFFICE_DAY = """
query($office: ID!, $on: Date!) {
  node(id: $office) { ... on Office { appointments(on: $on) { edges { node { reference } } } } }
}"""


@dataclass
class Captured:
    sql: str
    values: list[Any]


@contextmanager
def captured_statements() -> Iterator[list[Captured]]:
    """Every statement Tortoise runs meanwhile, with its parameters (from its DEBUG log)."""
    statements: list[Captured] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            args = record.args
            if isinstance(args, tuple) and len(args) == 2 and isinstance(args[0], str):
                statements.append(Captured(args[0], list(args[1] or [])))

    logger = logging.getLogger("tortoise.db_client")
    handler, level = Capture(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _ok(client: httpx.AsyncClient, query: str, token: str | None, **variables: Any) -> dict:
    body = await gql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


async def _run_hot_reads(client: httpx.AsyncClient) -> list[Captured]:
    """The statements of the reads that are checked, after making the data they read (the
    loaders of empty lists never run)."""
    email = await person_with_records(3, surname="Plans", now=datetime(2026, 11, 1, 2, tzinfo=UTC))
    account = await Account.get(email=email)
    first = await AppointmentRow.filter(applicant_id=account.person_id).order_by("id").first()
    await AppointmentRow.filter(id=first.id).update(status="RESCHEDULED")  # reads rescheduledTo
    helper = await sign_up(client)
    await DelegationRow.create(
        helper_id=pk_of(helper["account"]["id"]),
        dependant_id=account.person_id,
        relationship="CHILD",
        scopes=["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"],
        status="ACTIVE",
    )
    with captured_statements() as statements:
        await _hot_reads(client, email, helper["accessToken"], account.person_id)
    return statements


async def _hot_reads(client: httpx.AsyncClient, email: str, helper: str, person_id: int) -> None:
    person_token = await sign_in(client, email)
    person_gid = gid("Person", person_id)

    dashboard = (await _ok(client, DASHBOARD, person_token))["viewer"]["person"]
    await _ok(client, HELPER_READS, helper, person=person_gid)
    dependant = (await _ok(client, DEPENDANT_READS, person_token))["viewer"]
    assert dependant["helpers"] and dependant["actionsOnMyBehalf"]["edges"]

    node_ids = [
        person_gid,
        dashboard["applications"]["edges"][0]["node"]["id"],
        dashboard["documents"][0]["id"],
        dashboard["appointments"]["edges"][0]["node"]["id"],
        dashboard["permanentResidentCard"]["id"],
        dashboard["passports"][0]["id"],
        dependant["helpers"][0]["id"],
        dependant["actionsOnMyBehalf"]["edges"][0]["node"]["id"],
    ]
    for node_id in node_ids:
        assert (await _ok(client, NODE, person_token, id=node_id))["node"] is not None, node_id
    for node_id in node_ids[1:4]:  # the same records read by the helper (authorized, audited)
        await _ok(client, NODE, helper, id=node_id)

    today = beijing_today()
    slots = await _ok(
        client,
        SLOTS,
        None,
        office=await office_id(client, "BJ-HD"),
        service="VISA_EXTENSION",
        **{"from": today.isoformat(), "to": (today + timedelta(days=14)).isoformat()},
    )
    assert slots["availableSlots"]
    await _ok(client, NODE, None, id=slots["availableSlots"][0]["id"])
    await _ok(
        client,
        OFFICE_DAY,
        await officer_token(client),
        office=await office_id(client, "BJ-DC"),
        on=today.isoformat(),
    )


@pytest.fixture(scope="module")
async def hot_reads(app: Any) -> list[Captured]:
    """The distinct SELECTs the hot reads issue."""
    transport = httpx.ASGITransport(app=app, client=("10.250.1.1", 4000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        statements = await _run_hot_reads(client)
    distinct: dict[str, Captured] = {}
    for statement in statements:
        if statement.sql.lstrip().upper().startswith("SELECT"):
            distinct.setdefault(statement.sql, statement)
    return list(distinct.values())


@pytest.fixture(scope="module")
async def volume(test_settings: Any) -> AsyncIterator[Any]:
    """An asyncpg connection whose search path puts copies of the big tables, filled with
    PERSONS persons' records and indexed as the migrations index them, before public."""
    import asyncpg

    connection = await asyncpg.connect(
        test_settings.database_url.replace("postgres://", "postgresql://", 1)
    )
    schema = f"plans_{secrets.token_hex(4)}"
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        for table in bulk.TABLES:
            await connection.execute(
                f'CREATE UNLOGGED TABLE "{schema}"."{table}" '
                f'(LIKE public."{table}" INCLUDING DEFAULTS)'
            )
        await connection.execute(f'SET search_path = "{schema}", public')
        # Indexes are built after the load, which is faster than maintaining them row by row.
        indexes = await connection.fetch(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1)",
            list(bulk.TABLES),
        )
        await bulk.load(connection, PERSONS)  # and ANALYZE
        for row in indexes:
            definition, count = re.subn(r" ON public\.", f' ON "{schema}".', row["indexdef"])
            assert count == 1, row["indexdef"]
            await connection.execute(definition)
        yield connection
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


_INDEX_SCANS = ("Index Scan", "Index Only Scan", "Bitmap Index Scan")


async def seq_scans(connection: Any, statement: Captured) -> list[str]:
    """The big tables the statement's plan reads in full: a Seq Scan, or an index scanned
    without a condition (a whole index read for its order)."""
    text = await connection.fetchval(f"EXPLAIN (FORMAT JSON) {statement.sql}", *statement.values)
    plan = (json.loads(text) if isinstance(text, str) else text)[0]["Plan"]
    tables = {
        index["indexname"]: index["tablename"]
        for index in await connection.fetch(
            "SELECT indexname, tablename FROM pg_indexes WHERE schemaname = current_schema()"
        )
    }
    full = []
    for node in _nodes(plan):
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in bulk.TABLES:
            full.append(node["Relation Name"])
        elif node["Node Type"] in _INDEX_SCANS and "Index Cond" not in node:
            table = node.get("Relation Name") or tables.get(node.get("Index Name"))
            if table in bulk.TABLES:
                full.append(f"{table} (whole index {node['Index Name']})")
    return full


def _reads_from(statements: list[Captured], table: str, column: str) -> list[Captured]:
    pattern = re.compile(rf'FROM "{table}".*WHERE.*"{column}"', re.DOTALL)
    return [s for s in statements if pattern.search(s.sql)]


# The reads this test exists for: the statement filtering `table` by `column` must be among the
# captured ones, or the requests above no longer exercise it.
EXPECTED = [
    ("document", "person_id"),
    ("pr_card", "person_id"),
    ("passport", "person_id"),
    ("application", "applicant_id"),
    ("application_event", "application_id"),
    ("appointment", "applicant_id"),
    ("appointment", "rescheduled_from_id"),
    ("appointment", "office_id"),
    ("delegation", "helper_id"),
    ("delegation", "dependant_id"),
    ("audit_event", "subject_id"),
    ("slot", "office_id"),
    ("account_role", "account_id"),
]


async def test_hot_reads_use_indexes_at_volume(hot_reads, volume):
    for table, column in EXPECTED:
        assert _reads_from(hot_reads, table, column), f"no read of {table} by {column} captured"
    full_scans = {}
    for statement in hot_reads:
        scanned = await seq_scans(volume, statement)
        if scanned:
            full_scans[statement.sql] = scanned
    assert not full_scans, json.dumps(full_scans, indent=1)


async def test_the_plan_check_sees_a_missing_index(hot_reads, volume):
    """Without the documents' index, the dashboard's documents read is a Seq Scan: the check
    above would fail (the index is dropped inside a transaction that is rolled back)."""
    (documents, *_) = _reads_from(hot_reads, "document", "person_id")
    assert await seq_scans(volume, documents) == []
    transaction = volume.transaction()
    await transaction.start()
    try:
        schema = await volume.fetchval("SELECT current_schema()")
        assert schema.startswith("plans_"), schema
        await volume.execute(f'DROP INDEX "{schema}".ix_document_person')
        assert await seq_scans(volume, documents) == ["document"]
    finally:
        await transaction.rollback()
