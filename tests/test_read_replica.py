"""Reads on a PostgreSQL streaming replica (persistence/read_replica.py, DATABASE_REPLICA_URL).

The first part needs no replica: the settings, the routing rules and the write marks, and that
without DATABASE_REPLICA_URL (SQLite or PostgreSQL) nothing reads anywhere but the primary.

The rest runs real server processes on a primary and a streaming replica this module starts
itself (tests/replica_cluster.py: initdb, pg_basebackup -R, other ports), in the PostgreSQL
pass (TEST_DATABASE_URL set). The replica's replay is paused to make it lag, so what a read
returns shows where it was read: the old value can only come from the replica, the new one only
from the primary. X-SQL-Replica-Statements (REPORT_SQL_STATEMENTS) counts each request's
statements on the replica. Where the PostgreSQL server binaries are missing these tests skip,
or fail under CI=true.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

import settings as settings_module
from persistence import read_replica, statement_counter
from persistence.models import (
    Account,
    AccountRole,
    Application,
    Appointment,
    Delegation,
    Office,
    Passport,
    Person,
    RefreshToken,
    Slot,
)
from tests import replica_cluster
from tests.conftest import DEMO_PASSWORD, SIGN_IN, gql, sign_in
from tests.helpers import (
    PASSWORD,
    accepted_dependant,
    free_port,
    new_member,
    person_node,
    revoke,
    running_servers,
)

# The streaming-replica tests start a PostgreSQL cluster of their own, in the PostgreSQL pass.
pytestmark = pytest.mark.postgres_pass

# ------------------------------------------------------------------------- without a replica


def test_the_replica_url_is_read_from_its_derived_variable_and_checked():
    loaded = settings_module.load(
        {
            "DATABASE_URL": "postgres://app@primary.example:5432/immigration",
            "DATABASE_REPLICA_URL": "postgres://app@replica.example:5433/immigration",
            "DATABASE_REPLICA_CONNECT_TIMEOUT_SECONDS": "3",
        }
    )
    assert settings_module.environment_name("database_replica_url") == "DATABASE_REPLICA_URL"
    assert loaded.database_replica_url == "postgres://app@replica.example:5433/immigration"
    config = loaded.tortoise_config()
    # Tortoise knows one database (transactions need not name theirs) and the router.
    assert list(config["connections"]) == ["default"]
    assert config["routers"] == ["persistence.read_replica.ReadRouter"]
    replica = loaded.replica_connection()
    assert replica is not None
    assert replica["credentials"]["host"] == "replica.example"
    assert replica["credentials"]["port"] == 5433
    assert replica["credentials"]["timeout"] == 3
    with pytest.raises(settings_module.ConfigurationError, match="DATABASE_REPLICA_URL"):
        settings_module.load({"DATABASE_REPLICA_URL": "mysql://replica.example/immigration"})


def test_without_a_replica_or_on_sqlite_everything_stays_on_the_primary():
    assert "routers" not in settings_module.Settings().tortoise_config()
    on_sqlite = settings_module.load(
        {"DATABASE_REPLICA_URL": "postgres://app@replica.example:5433/immigration"}
    )
    assert on_sqlite.is_sqlite
    # An SQLite database has no replica: the setting is ignored (the start logs it).
    assert on_sqlite.replica_connection() is None
    assert "routers" not in on_sqlite.tortoise_config()


def test_who_may_act_is_never_read_from_the_replica():
    identity = {Account, AccountRole, RefreshToken, Delegation, Person, Passport}
    assert identity <= read_replica.ALWAYS_PRIMARY
    assert read_replica.ALWAYS_PRIMARY.isdisjoint(read_replica.REPLICA_MODELS)
    router = read_replica.ReadRouter()
    # Outside a request that chose the replica, nothing goes there.
    for model in (*identity, Office, Slot, Application, Appointment):
        assert router.db_for_read(model) is None
        assert router.db_for_write(model) is None


async def test_the_router_sends_only_public_models_of_a_replica_request(app):
    """A request that chose the replica: public models go there, everything else (and all of
    it inside a transaction) stays on the primary."""
    router = read_replica.ReadRouter()
    reads = read_replica.RequestReads(replica=True)
    token = read_replica._request.set(reads)
    saved = read_replica._state
    read_replica._state = _StubState()  # type: ignore[assignment]
    try:
        assert router.db_for_read(Office) == read_replica.REPLICA
        assert router.db_for_read(Slot) == read_replica.REPLICA
        for model in (*read_replica.ALWAYS_PRIMARY, Application, Appointment):
            assert router.db_for_read(model) is None, model
        if app.state.services.settings.is_sqlite:
            return
        from tortoise.transactions import in_transaction

        async with in_transaction():
            assert router.db_for_read(Office) is None
        reads.replica = False  # after a write
        assert router.db_for_read(Office) is None
    finally:
        read_replica._state = saved
        read_replica._request.reset(token)


class _StubState:
    def usable(self) -> bool:
        return True


def _raised_from(cause: BaseException, wrapper: type[Exception]) -> Exception:
    try:
        raise wrapper(cause) from cause
    except wrapper as exc:
        return exc


def test_only_what_the_primary_would_not_share_falls_back_to_it():
    import asyncpg
    from tortoise.exceptions import IntegrityError, OperationalError

    cannot = read_replica.replica_cannot_answer
    assert cannot(ConnectionRefusedError())
    assert cannot(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert cannot(asyncpg.exceptions.SerializationError("conflict with recovery"))
    # A migration the primary has and the replica has not replayed yet.
    missing = asyncpg.exceptions.UndefinedColumnError("column does not exist")
    assert cannot(_raised_from(missing, OperationalError))
    # The primary would fail the same way: the error is the answer.
    assert not cannot(_raised_from(asyncpg.exceptions.PostgresSyntaxError("x"), OperationalError))
    assert not cannot(_raised_from(asyncpg.exceptions.UniqueViolationError("x"), IntegrityError))
    assert not cannot(ValueError("bad value"))


def test_wal_positions_order_as_numbers():
    assert read_replica.lsn_value("0/16B3748") == 0x16B3748
    assert read_replica.lsn_value("1/0") > read_replica.lsn_value("0/FFFFFFFF")
    assert read_replica.lsn_value("16/B374D848") == (0x16 << 32) | 0xB374D848


async def test_write_marks_keep_the_later_position_and_expire():
    marks = read_replica.MemoryWriteMarks(keep_s=60)
    await marks.put(7, 500)
    await marks.put(7, 300)  # an older write recorded late
    assert await marks.get(7) == 500
    assert await marks.get(8) is None
    short = read_replica.MemoryWriteMarks(keep_s=0)
    await short.put(7, 500)
    assert await short.get(7) is None


async def test_redis_write_marks_are_shared_and_keep_the_later_position():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        pytest.skip("TEST_REDIS_URL is not set")
    prefix = f"test-{secrets.token_hex(4)}:wrote:"
    one = read_replica.RedisWriteMarks(url, prefix, keep_s=60)
    other = read_replica.RedisWriteMarks(url, prefix, keep_s=60)
    try:
        await one.put(7, (5 << 32) | 10)
        await other.put(7, (4 << 32) | 99)  # older, from another process
        assert await other.get(7) == (5 << 32) | 10
        await other.put(7, (5 << 32) | 11)
        assert await one.get(7) == (5 << 32) | 11
        assert await one.get(8) is None
    finally:
        await one.close()
        await other.close()


def test_statements_are_counted_per_connection():
    with statement_counter.counting() as count:
        count.total, count.by_connection = 3, {"default": 1, "replica": 2}
        statement_counter.discount("replica")
        statement_counter.discount("nowhere")  # nothing counted there: nothing taken back
    assert count.total == 2
    assert count.by_connection == {"default": 1, "replica": 1}


async def test_without_a_replica_requests_report_no_replica_reads(client, backend):
    assert not read_replica.configured()
    response = await client.post("/graphql", json={"query": "{ services { code } }"})
    assert response.status_code == 200
    assert "x-sql-replica-statements" not in response.headers


# ------------------------------------------------------------------- a real streaming replica


def _cluster_unavailable() -> str | None:
    if not os.environ.get("TEST_DATABASE_URL"):
        return "the replica tests run in the PostgreSQL pass (TEST_DATABASE_URL set)"
    reason = replica_cluster.missing_reason()
    if reason is not None and os.environ.get("CI"):
        pytest.fail(f"CI must run the read-replica tests: {reason}")
    return reason


@pytest.fixture(scope="module")
def cluster() -> Iterator[replica_cluster.ReplicaCluster]:
    reason = _cluster_unavailable()
    if reason is not None:
        pytest.skip(reason)
    with replica_cluster.running_cluster() as running:
        yield running


RETRY_SECONDS = 1
WAIT_MS = 300


def _server_env(
    cluster: replica_cluster.ReplicaCluster, database: str, **extra: str
) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": cluster.primary.url(database),
        "DATABASE_REPLICA_URL": cluster.replica.url(database),
        "DATABASE_REPLICA_RETRY_SECONDS": str(RETRY_SECONDS),
        "DATABASE_REPLICA_WAIT_MS": str(WAIT_MS),
        "APP_ENV": "development",
        "KEY_ENCRYPTION_KEY": "test-key-encryption-key",
        "DATA_DIR": str(cluster.root / f"data-{database}"),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "REPORT_SQL_STATEMENTS": "1",
        # Every public read reaches the database (no shared answers hiding where it read).
        "PUBLIC_CACHE_SECONDS": "0",
        "STATISTICS_ROUNDING_BASE": "1",
        "BOOKINGS_PER_ACCOUNT": "1000",
        **extra,
    }


@pytest.fixture(scope="module")
async def servers(cluster: replica_cluster.ReplicaCluster) -> AsyncIterator[list[str]]:
    """Two server processes sharing Redis (read-your-writes marks travel between them) when
    TEST_REDIS_URL is set, else one; both on the cluster's primary and replica."""
    database = f"replica_{secrets.token_hex(4)}"
    await cluster.create_database(database)
    redis = os.environ.get("TEST_REDIS_URL")
    env = _server_env(cluster, database, **({"REDIS_URL": redis} if redis else {}))
    async with running_servers(2 if redis else 1, env, ready_attempts=1200) as ports:
        bases = [f"http://127.0.0.1:{port}" for port in ports]
        # The demo data loaded by the first start is on the replica before any test reads.
        await cluster.caught_up()
        yield bases


@pytest.fixture
async def replica(
    cluster: replica_cluster.ReplicaCluster, servers: list[str]
) -> AsyncIterator[replica_cluster.ReplicaCluster]:
    """The cluster, left streaming and caught up after the test whatever it did."""
    yield cluster
    if not cluster.is_running(cluster.replica):
        cluster.start_server(cluster.replica)
        cluster.wait_streaming()
    with contextlib.suppress(Exception):
        await cluster.resume_replay()
    await cluster.caught_up()
    await asyncio.sleep(RETRY_SECONDS + 0.2)  # the servers try the replica again


@contextlib.asynccontextmanager
async def http(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        yield c


async def post(
    c: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None
) -> tuple[dict, int]:
    """The body of a GraphQL POST and how many of its statements ran on the replica."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await c.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body, int(response.headers["x-sql-replica-statements"])


SLOT = "query($id: ID!) { node(id: $id) { ... on Slot { remaining startsAt } } }"
VIEWER_PERSON = "{ viewer { person { id } } }"
OFFICES = """query($service: ServiceCode!) {
  offices(first: 100, filter: {service: $service}) { edges { node { id code } } } }"""
SLOTS = """query($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: $service, from: $from, to: $to) { id remaining } }"""
BOOK = """mutation($input: BookAppointmentInput!) {
  bookAppointment(input: $input) { __typename ... on BookingConfirmed { appointment { id } } } }"""
STATISTICS = """query($from: Date!, $to: Date!, $office: ID) {
  statistics(from: $from, to: $to, officeId: $office) { appointmentsBooked } }"""
CLOSURES = """query($from: Date!, $to: Date!) {
  offices(first: 1) { edges { node { id closures(from: $from, to: $to) { date reason } } } } }"""
ADD_CLOSURE = """mutation($input: AddOfficeClosureInput!) {
  addOfficeClosure(input: $input) { __typename } }"""
SIGN_OUT = """mutation($token: String!) { signOut(refreshToken: $token) { __typename } }"""
# (The service catalogue is kept in each process for a minute: offices are read every time.)
ME = "{ viewer { account { email } } offices(first: 1) { edges { node { code } } } }"
PERSON_AND_DIRECTORY = """query($id: ID!) {
  node(id: $id) { id }
  offices(first: 2) { edges { node { code } } } }"""
DIRECTORY = "{ offices(first: 5) { edges { node { code isOpen hours { weekday } } } } }"


async def open_slot(c: httpx.AsyncClient, service: str = "VISA_EXTENSION") -> dict:
    """An open slot with at least two places left, three or more days ahead."""
    offices, _ = await post(c, OFFICES, {"service": service})
    start = date.today() + timedelta(days=3)
    for edge in offices["data"]["offices"]["edges"]:
        body, _ = await post(
            c,
            SLOTS,
            {
                "office": edge["node"]["id"],
                "service": service,
                "from": start.isoformat(),
                "to": (start + timedelta(days=14)).isoformat(),
            },
        )
        slots = [s for s in body["data"]["availableSlots"] if s["remaining"] >= 2]
        if slots:
            return {**slots[len(slots) // 2], "office": edge["node"]["id"]}
    raise AssertionError("no open slot with two places")


async def remaining(
    c: httpx.AsyncClient, slot_id: str, token: str | None = None
) -> tuple[int, int]:
    body, on_replica = await post(c, SLOT, {"id": slot_id}, token)
    return body["data"]["node"]["remaining"], on_replica


async def eventually(check: Any, timeout_s: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_public_reads_come_from_the_replica_and_a_writer_reads_its_own_write(
    replica, servers
):
    """Replay paused: the booking is on the primary only. The booker reads it at once (the
    primary), anonymous and other signed-in readers see the replica's old count; once the
    replica replays past the booking, everyone reads the replica and sees it."""
    first, last = servers[0], servers[-1]
    async with http(first) as c, http(last) as other_process:
        applicant = await sign_in(c, "applicant@demo.test", DEMO_PASSWORD)
        bystander = await sign_in(c, "pr@demo.test", DEMO_PASSWORD)
        analyst = await sign_in(c, "analyst@demo.test", DEMO_PASSWORD)
        person = (await post(c, VIEWER_PERSON, token=applicant))[0]["data"]["viewer"]["person"]
        slot = await open_slot(c)
        before, on_replica = await remaining(c, slot["id"])
        assert on_replica >= 1  # an anonymous public read: on the replica
        day = (await _starts(c, slot["id"]))[:10]
        # Statistics count whole months: the month of the slot, at its office.
        period = {"from": day, "to": day, "office": slot["office"]}
        stats, _ = await post(c, STATISTICS, period, analyst)
        booked_before = stats["data"]["statistics"]["appointmentsBooked"]
        await replica.caught_up()  # sign-ins replayed: nobody has a write pending

        await replica.pause_replay()
        booked = await post(
            c,
            BOOK,
            {
                "input": {
                    "applicantId": person["id"],
                    "slotId": slot["id"],
                    "service": "VISA_EXTENSION",
                }
            },
            applicant,
        )
        assert booked[0]["data"]["bookAppointment"]["__typename"] == "BookingConfirmed"

        # The writer, right after its write, on the primary: in this process and the other.
        assert await remaining(c, slot["id"], applicant) == (before - 1, 0)
        assert await remaining(other_process, slot["id"], applicant) == (before - 1, 0)
        # Everyone else reads the lagging replica, which has not applied the booking.
        old, on_replica = await remaining(c, slot["id"])
        assert (old, on_replica > 0) == (before, True)
        old, on_replica = await remaining(other_process, slot["id"], bystander)
        assert (old, on_replica > 0) == (before, True)
        # Analysts' statistics too: every aggregate on the replica.
        stats, on_replica = await post(c, STATISTICS, period, analyst)
        assert stats["data"]["statistics"]["appointmentsBooked"] == booked_before
        assert on_replica >= 4
        # However long the replica lags, the writer keeps reading the primary.
        await asyncio.sleep(1.5)
        assert await remaining(c, slot["id"], applicant) == (before - 1, 0)

        await replica.resume_replay()

        async def replayed() -> bool:
            return (await remaining(c, slot["id"]))[0] == before - 1

        await eventually(replayed)
        # Caught up past the write: the writer is back on the replica, which now has it.
        value, on_replica = await remaining(c, slot["id"], applicant)
        assert (value, on_replica > 0) == (before - 1, True)
        stats, _ = await post(c, STATISTICS, period, analyst)
        assert stats["data"]["statistics"]["appointmentsBooked"] == booked_before + 1


async def _starts(c: httpx.AsyncClient, slot_id: str) -> str:
    body, _ = await post(c, SLOT, {"id": slot_id})
    return body["data"]["node"]["startsAt"]


async def test_sessions_accounts_and_delegations_are_read_from_the_primary(replica, servers):
    """Replay paused: an account the replica has never seen signs in and is known, a sign-out
    ends its session at once, and a revoked delegation stops its helper at once, although the
    same requests read their public fields from the replica."""
    async with http(servers[0]) as c, http(servers[-1]) as other_process:
        helper, dependant, delegation = await accepted_dependant(c)
        assert dependant.person is not None
        await replica.caught_up()
        seen, _ = await post(c, PERSON_AND_DIRECTORY, {"id": dependant.person.id}, helper.token)
        assert seen["data"]["node"] == {"id": dependant.person.id}

        await replica.pause_replay()
        # A new account: its row, roles and refresh token exist on the primary only.
        member = await new_member(c)
        body, on_replica = await post(other_process, ME, token=member.token)
        assert body["data"]["viewer"]["account"]["email"] == member.email
        assert on_replica > 0  # its public reads did go to the replica
        signed = await gql(c, SIGN_IN, {"email": member.email, "password": PASSWORD})
        session = signed["data"]["signIn"]
        assert session["__typename"] == "AuthSession"

        # The dependant revokes; the helper (no write of its own) is refused at once.
        revoked = await revoke(c, dependant.token, delegation["id"])
        assert revoked["__typename"] == "DelegationRevoked", revoked
        body, on_replica = await post(
            other_process, PERSON_AND_DIRECTORY, {"id": dependant.person.id}, helper.token
        )
        assert body["data"]["node"] is None
        assert on_replica > 0
        assert await person_node(c, helper.token, dependant.person.id) is None

        # A sign-out ends the session in every process at once.
        out = await gql(c, SIGN_OUT, {"token": session["refreshToken"]})
        assert out["data"]["signOut"]["__typename"] == "SignedOut"
        for process in (c, other_process):
            refused = await process.post(
                "/graphql",
                json={"query": ME},
                headers={"authorization": f"Bearer {session['accessToken']}"},
            )
            assert refused.status_code == 401, refused.text


async def test_a_public_change_is_not_served_stale_while_the_replica_lags(replica, servers):
    """An admin closes an office while the replica does not replay: the change's wait runs
    out, and this process reads public data from the primary (everyone sees the closure)
    until the replica has replayed it, then from the replica again."""
    async with http(servers[0]) as c:
        admin = await sign_in(c, "admin@demo.test", DEMO_PASSWORD)
        day = date.today() + timedelta(days=200 + secrets.randbelow(100))
        window = {"from": day.isoformat(), "to": day.isoformat()}
        body, on_replica = await post(c, CLOSURES, window)
        office = body["data"]["offices"]["edges"][0]["node"]
        assert office["closures"] == [] and on_replica > 0
        await replica.caught_up()

        await replica.pause_replay()
        added = await post(
            c,
            ADD_CLOSURE,
            {"input": {"officeId": office["id"], "date": day.isoformat(), "reason": "Repairs"}},
            admin,
        )
        assert added[0]["data"]["addOfficeClosure"]["__typename"] == "OfficeClosureAdded"
        body, on_replica = await post(c, CLOSURES, window)
        assert body["data"]["offices"]["edges"][0]["node"]["closures"] == [
            {"date": day.isoformat(), "reason": "Repairs"}
        ]
        assert on_replica == 0
        metrics = (await c.get("/metrics")).text
        assert 'replica_public_change_waits_total{outcome="timed_out"}' in metrics

        await replica.resume_replay()
        await replica.caught_up()

        async def back_on_replica() -> bool:
            body, on_replica = await post(c, CLOSURES, window)
            closures = body["data"]["offices"]["edges"][0]["node"]["closures"]
            return on_replica > 0 and len(closures) == 1

        await eventually(back_on_replica)


async def test_the_service_keeps_answering_when_the_replica_stops(replica, servers):
    """Readers keep going while the replica is stopped under them: every answer is complete,
    from the primary once the replica is gone; after it is back, reads return to it."""
    base = servers[0]
    stop = asyncio.Event()
    answers: list[tuple[int, bool, int]] = []
    failures: list[dict] = []

    async def reader() -> None:
        async with http(base) as c:
            while not stop.is_set():
                response = await c.post("/graphql", json={"query": DIRECTORY})
                body = response.json()
                if "errors" in body:
                    failures.append(body)
                answers.append(
                    (
                        response.status_code,
                        "errors" not in body and len(body["data"]["offices"]["edges"]) == 5,
                        int(response.headers["x-sql-replica-statements"]),
                    )
                )

    readers = [asyncio.create_task(reader()) for _ in range(8)]
    try:

        async def answering() -> bool:
            return len(answers) >= 16

        await eventually(answering)
        served_by_replica = len(answers)
        await asyncio.to_thread(replica.stop_server, replica.replica, "immediate")
        stopped_at = len(answers)
        await asyncio.sleep(2)
    finally:
        stop.set()
        await asyncio.gather(*readers)
    assert served_by_replica > 0
    assert all(status == 200 and complete for status, complete, _ in answers), failures
    assert any(on_replica > 0 for _, _, on_replica in answers[:served_by_replica])
    assert all(on_replica == 0 for _, _, on_replica in answers[stopped_at + 8 :])
    async with http(base) as c:
        metrics = (await c.get("/metrics")).text
        assert "replica_up 0.0" in metrics
        fallbacks = _metric(metrics, "replica_fallbacks_total")
        assert fallbacks >= 1

        await asyncio.to_thread(replica.start_server, replica.replica)
        await asyncio.to_thread(replica.wait_streaming)

        async def back_on_replica() -> bool:
            response = await c.post("/graphql", json={"query": DIRECTORY})
            return int(response.headers["x-sql-replica-statements"]) > 0

        await eventually(back_on_replica)
        assert "replica_up 1.0" in (await c.get("/metrics")).text


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    raise AssertionError(f"no {name} in /metrics")


async def test_a_server_starts_and_answers_with_its_replica_unreachable(cluster):
    """DATABASE_REPLICA_URL names a port nobody listens on: the server starts, is ready, and
    answers public reads and sign-ins from the primary."""
    database = f"replica_{secrets.token_hex(4)}"
    await cluster.create_database(database)
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/{database}"
    env = _server_env(cluster, database, DATABASE_REPLICA_URL=nowhere)
    async with (
        running_servers(1, env, ready_attempts=1200) as (port,),
        http(f"http://127.0.0.1:{port}") as c,
    ):
        assert (await c.get("/ready")).status_code == 200
        body, on_replica = await post(c, DIRECTORY)
        assert len(body["data"]["offices"]["edges"]) == 5 and on_replica == 0
        token = await sign_in(c, "applicant@demo.test", DEMO_PASSWORD)
        body, on_replica = await post(c, ME, token=token)
        assert body["data"]["viewer"]["account"]["email"] == "applicant@demo.test"
        assert on_replica == 0
        assert _metric((await c.get("/metrics")).text, "replica_fallbacks_total") >= 1
