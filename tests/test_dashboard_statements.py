"""What PostgreSQL itself receives from a request, counted on the wire (tests/pg_wire.py: every
Query and Execute message, one line each in PostgreSQL's statement log): the signed-in
dashboard takes at most 6 statements whatever the list sizes, all on one connection, and the
connection is reset once, after the last of them, not after every statement. Below it, the
request connection's own guarantees: without a request scope each statement takes and resets
a pooled connection (what the counting would show if the scope stopped working); inside one,
one connection, transactions that begin, commit and roll back on it, and statements outside
an open transaction that neither see it nor join it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.transactions import in_transaction

from persistence.audit import write_audit
from persistence.combined_reads import select
from persistence.database import request_scope
from persistence.demo.records import person_with_records
from persistence.models import Account, AuditEvent, Office, Person
from tests.conftest import DEMO_PASSWORD, SIGN_IN, _postgres_url
from tests.helpers import ROOT, free_port, server_command, server_environment, wait_ready
from tests.pg_wire import Statement, StatementProxy, statement_proxy
from tests.test_query_counts import DASHBOARD

pytestmark = pytest.mark.skipif(
    _postgres_url() is None,
    reason="counts the statements PostgreSQL receives over its wire protocol: set "
    "TEST_DATABASE_URL to run this module (SQLite's counts: tests/test_query_counts.py)",
)

MAX_DASHBOARD_STATEMENTS = 6


@pytest.fixture
async def wire(test_settings: Any) -> AsyncIterator[StatementProxy]:
    async with statement_proxy(test_settings.database_url) as proxy:
        yield proxy


@contextlib.asynccontextmanager
async def routed_through(
    proxy: StatementProxy, test_settings: Any, pool_size: int = 5
) -> AsyncIterator[None]:
    """This test's statements (Tortoise's "default") through the proxy, to the same database."""
    parts = urlsplit(test_settings.database_url)
    client = AsyncpgDBClient(
        connection_name="default",
        host="127.0.0.1",
        port=proxy.port,
        user=parts.username or "postgres",
        password=parts.password,
        database=parts.path.lstrip("/"),
        minsize=1,
        maxsize=pool_size,
    )
    await client.create_connection(with_db=True)
    token = connections.set("default", client)
    try:
        yield
    finally:
        connections.reset(token)
        await client.close()


@contextlib.asynccontextmanager
async def running_server(env: dict[str, str]) -> AsyncIterator[int]:
    """One server process; stopped while this loop keeps running (the proxy in it must carry
    the server's last statements, or its shutdown would wait for them)."""
    port = free_port()
    process = subprocess.Popen(server_command(port), cwd=ROOT, env=env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process, 900)
        yield port
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise


def describe(sent: list[Statement]) -> str:
    return "\n".join(f"  conn {s.connection} {'Q' if s.simple else 'E'} {s.sql[:90]}" for s in sent)


# ------------------------------------------------------------------ through HTTP, a real server
#
# The server process also runs background work (upkeep, reminders, mail) on other pooled
# connections, at any moment. So a request's statements are told apart by connection: every
# use of a pooled connection ends with its reset, and a request's use is the one holding its
# first statement. That all the request's statements are there, and no reset between them, is
# checked against the server's own count of them (X-SQL-Statements, per request): a statement
# on another connection, or a reset in between, would leave it short of the count.

ACCOUNT_WITH_ROLES = 'string_agg("role"'  # every signed-in request's first statement
NEW_REFRESH_TOKEN = 'INSERT INTO "refresh_token"'  # a sign-in's


def uses(sent: list[Statement]) -> list[list[Statement]]:
    """Each connection's statements cut after each reset: one holder's use of it each."""
    done: list[list[Statement]] = []
    current: dict[int, list[Statement]] = {}
    for statement in sent:
        use = current.setdefault(statement.connection, [])
        use.append(statement)
        if statement.is_reset:
            done.append(current.pop(statement.connection))
    return done + [use for use in current.values() if use]


def request_use(sent: list[Statement], marker: str) -> list[Statement]:
    """The request's statements: the use of a connection that ran the one with `marker`."""
    found = [use for use in uses(sent) if any(marker in s.sql for s in use)]
    assert len(found) == 1, describe(sent)
    use = found[0]
    assert use[-1].is_reset and not any(s.is_reset for s in use[:-1]), describe(use)
    return use


async def post(
    http: httpx.AsyncClient, proxy: StatementProxy, body: dict, token: str | None = None
) -> tuple[dict, int, list[Statement]]:
    """The answer, X-SQL-Statements, and what PostgreSQL received meanwhile."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    mark = len(proxy.sent)
    response = await http.post("/graphql", json=body, headers=headers)
    # The request gives its connection back (reset) before it answers: all of it is in.
    sent = proxy.sent[mark:]
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "errors" not in answer, answer
    return answer, int(response.headers["x-sql-statements"]), sent


async def dashboard(
    http: httpx.AsyncClient, proxy: StatementProxy, token: str, records: int
) -> tuple[list[Statement], int]:
    """The dashboard's statements as PostgreSQL received them, and the server's count."""
    answer, reported, sent = await post(http, proxy, {"query": DASHBOARD}, token)
    person = answer["data"]["viewer"]["person"]
    for field in ("applications", "appointments"):
        assert len(person[field]["edges"]) == records
    assert len(person["documents"]) == records
    assert all(len(e["node"]["events"]) == 3 for e in person["applications"]["edges"])
    return request_use(sent, ACCOUNT_WITH_ROLES), reported


async def test_the_dashboard_takes_at_most_six_statements_whatever_the_list_sizes(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    now = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    emails = {n: await person_with_records(n, surname="Wire", now=now) for n in (1, 20)}
    env = server_environment(
        test_settings,
        DATABASE_URL=wire.url(test_settings.database_url),
        REPORT_SQL_STATEMENTS="1",
    )
    async with (
        running_server(env) as port,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http,
    ):
        tokens, sign_ins = {}, []
        for n, email in emails.items():
            variables = {"email": email, "password": DEMO_PASSWORD}
            answer, reported, sent = await post(
                http, wire, {"query": SIGN_IN, "variables": variables}
            )
            tokens[n] = answer["data"]["signIn"]["accessToken"]
            sign_ins.append((request_use(sent, NEW_REFRESH_TOKEN), reported))
        # The service catalogue is kept for a minute: the first request reads it.
        await dashboard(http, wire, tokens[1], 1)
        seen = {n: [await dashboard(http, wire, tokens[n], n) for _ in range(2)] for n in (1, 20)}

    for n, runs in seen.items():
        for use, reported in runs:
            print(f"dashboard, {n} of each: {len(use)} statements\n{describe(use)}")
            assert len(use) <= MAX_DASHBOARD_STATEMENTS, describe(use)
            assert reported == len(use) - 1, (reported, describe(use))  # all but the reset
            # A read-only request opens no transaction.
            assert not any(s.sql.strip().upper() in ("BEGIN;", "COMMIT;") for s in use)
    counts = {n: {len(use) for use, _ in runs} for n, runs in seen.items()}
    assert counts[1] == counts[20] and len(counts[1]) == 1, counts

    # A mutation (sign-in: its unit of work, then its answer's reads) runs on one connection
    # too, its BEGIN and COMMIT included, reset once at the end of the request.
    for use, reported in sign_ins:
        print(f"sign-in: {len(use)} statements\n{describe(use)}")
        sqls = [s.sql.strip().upper() for s in use]
        assert sqls.count("BEGIN;") == sqls.count("COMMIT;") == 1, describe(use)
        assert reported == len(use) - 3, (reported, describe(use))  # not BEGIN, COMMIT, reset


# ---------------------------------------------------------- the request connection, in process


def assert_one_connection_reset_once_at_the_end(sent: list[Statement]) -> None:
    assert len({s.connection for s in sent}) == 1, describe(sent)
    assert [s.is_reset for s in sent] == [False] * (len(sent) - 1) + [True], describe(sent)


async def test_without_a_request_scope_each_statement_resets_its_pooled_connection(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    async with routed_through(wire, test_settings):
        mark = len(wire.sent)
        for code in ("BJ-DC", "SH-PD", "GZ-TH"):
            assert await Office.filter(code=code).first()
        sent = wire.sent[mark:]
    assert [s.is_reset for s in sent] == [False, True] * 3, describe(sent)


async def test_a_request_scope_runs_on_one_connection_and_resets_it_once_at_the_end(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    async with routed_through(wire, test_settings):
        mark = len(wire.sent)
        async with request_scope():
            # Concurrent tasks of the request take turns on its connection.
            await asyncio.gather(
                Office.filter(code="BJ-DC").first(),
                Office.filter(code="SH-PD").first(),
                select(Office, {"code": ["GZ-TH", "SH-CN"]}),
                select(Office, {"id": [1, 2, 3]}),
            )
            assert await Office.filter(code="BJ-HD").count() == 1
            during = wire.sent[mark:]
        after = wire.sent[mark:]
    assert len(during) == 4, describe(during)  # the two combined reads are one statement
    assert not any(s.is_reset for s in during), describe(during)
    assert after[: len(during)] == during and len(after) == len(during) + 1
    assert_one_connection_reset_once_at_the_end(after)


async def test_a_transaction_begins_and_commits_on_the_request_connection(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    office = await Office.get(code="BJ-FT")
    async with routed_through(wire, test_settings):
        mark = len(wire.sent)
        async with request_scope():
            await Office.get(id=office.id)
            async with in_transaction():
                await Office.filter(id=office.id).update(phone="+86 10 1111 1111")
                assert (await Office.get(id=office.id)).phone == "+86 10 1111 1111"
            with contextlib.suppress(RuntimeError):
                async with in_transaction():
                    await Office.filter(id=office.id).update(phone="+86 10 2222 2222")
                    raise RuntimeError("refused")
        sent = wire.sent[mark:]
    assert_one_connection_reset_once_at_the_end(sent)
    sqls = [s.sql.strip().upper() for s in sent]
    assert sqls.count("BEGIN;") == 2 and sqls.count("COMMIT;") == 1, describe(sent)
    assert sqls.count("ROLLBACK;") == 1, describe(sent)
    assert (await Office.get(id=office.id)).phone == "+86 10 1111 1111"
    await Office.filter(id=office.id).update(phone=office.phone)


async def test_statements_outside_an_open_transaction_neither_see_nor_join_it(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    office = await Office.get(code="SH-JA")
    async with routed_through(wire, test_settings):
        async with request_scope():
            await Office.get(id=office.id)
            written, finish = asyncio.Event(), asyncio.Event()

            async def change() -> None:
                async with in_transaction():
                    await Office.filter(id=office.id).update(phone="+86 21 3333 3333")
                    written.set()
                    await finish.wait()

            task = asyncio.create_task(change())
            await written.wait()
            mark = len(wire.sent)
            assert (await Office.get(id=office.id)).phone == office.phone
            outside = wire.sent[mark:]
            finish.set()
            await task
            assert (await Office.get(id=office.id)).phone == "+86 21 3333 3333"
            inside = [s for s in wire.sent if s.sql.strip().upper() == "COMMIT;"][-1]
    # The outside read took another pooled connection (reset after it, as before).
    assert [s.is_reset for s in outside] == [False, True], describe(outside)
    assert outside[0].connection != inside.connection
    await Office.filter(id=office.id).update(phone=office.phone)


async def test_a_task_that_outlives_its_request_uses_the_pool(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    async with routed_through(wire, test_settings):
        go = asyncio.Event()

        async def later() -> str:
            await go.wait()
            office = await Office.get(code="BJ-DC")
            return office.code

        async with request_scope():
            await Office.get(code="BJ-DC")
            task = asyncio.create_task(later())
        go.set()
        assert await task == "BJ-DC"


async def test_a_new_connection_looks_up_no_types(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    """Value lists and the audit INSERT's columns go as text cast to arrays in the statement:
    asyncpg would otherwise look up each array type (three statements: jit off, the lookup,
    jit back) on every new connection, inside whichever request first used it."""
    email = await person_with_records(0, surname="Wire", now=datetime(2026, 11, 1, tzinfo=UTC))
    account = await Account.get(email=email)
    events = [
        AuditEvent(
            at=datetime.now(UTC),
            actor_id=account.id,
            actor_kind="OFFICER",
            subject_id=account.person_id,
            action=action,
            target='a "quoted" \\ target, with {braces}',
        )
        for action in ("READ_DOCUMENTS", "READ_PASSPORTS")
    ]
    async with routed_through(wire, test_settings):
        mark = len(wire.sent)
        async with request_scope():
            await asyncio.gather(
                select(Office, {"id": [1, 2]}),
                select(Person, {"id": [account.person_id]}, ("-created_at",)),
            )
            await write_audit(events)
        sent = wire.sent[mark:]
    assert len(sent) == 3, describe(sent)  # the combined read, the INSERT, the reset
    assert_one_connection_reset_once_at_the_end(sent)
    written = await AuditEvent.filter(subject_id=account.person_id).order_by("id")
    assert [(e.action, e.target) for e in written] == [(e.action, e.target) for e in events]


async def test_requests_holding_every_pooled_connection_cannot_starve_their_own_statements(
    app: Any, test_settings: Any, wire: StatementProxy
) -> None:
    """Statements a request runs outside its open transaction take another pooled connection.
    If requests could hold every connection of the pool, each would wait for another's:
    requests hold all but one, so such statements always find one."""
    office = await Office.get(code="GZ-TH")

    async def request() -> str | None:
        async with request_scope():
            await Office.get(id=office.id)  # holds a connection
            in_transaction_now = asyncio.Event()
            done = asyncio.Event()

            async def change() -> None:
                async with in_transaction():
                    await Office.filter(id=office.id).update(phone=office.phone)
                    in_transaction_now.set()
                    await done.wait()

            task = asyncio.create_task(change())
            await in_transaction_now.wait()
            try:
                # Outside the open transaction: another pooled connection.
                return (await Office.get(id=office.id)).phone
            finally:
                done.set()
                await task

    async with routed_through(wire, test_settings, pool_size=3):
        phones = await asyncio.wait_for(asyncio.gather(*(request() for _ in range(6))), 30)
    assert phones == [office.phone] * 6
