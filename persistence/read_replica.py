"""Reading from a PostgreSQL streaming replica (DATABASE_REPLICA_URL): which reads go there,
read-your-writes, and the primary answering whenever the replica cannot.

Which reads: Tortoise's router (`ReadRouter`, named in the Tortoise configuration; the replica
is not one of Tortoise's databases, `configure()` opens it) sends a read to the replica only
when all of these hold, and otherwise to the primary:
- the model is public reference data (REPLICA_MODELS: offices, their hours, services and
  closures, the calendar, the service catalogue, guidance, slots); analysts' aggregates ask
  for the replica explicitly (`analytic()`). Accounts, roles, refresh tokens (sessions),
  delegations, persons and passports (identity links) are in ALWAYS_PRIMARY: never routed;
- the read belongs to an HTTP request that `decide()`d for the replica once its caller was
  known (start-up, upkeep, WebSocket subscriptions: the primary);
- it is not inside a transaction, and the request has not written yet (after a unit of work
  that wrote, the rest of the request reads the primary);
- the replica is up (see "Failure").

Read-your-writes: after a unit of work that wrote (the transaction got a transaction id), the
primary's WAL insert position at that moment (an LSN, at or past the commit record) is kept
for the account: in Redis with REDIS_URL, so the account's next request finds it whichever
process it reaches, else in this process. A request of that account reads the replica only once
the replica's replay position (`pg_last_wal_replay_lsn()`) has passed that LSN. Chosen over
"the primary for N seconds after a write" because it is exact both ways: a replica that lags
longer than N (paused, overloaded: exactly when it matters) never serves the writer stale
data, and the writer goes back to the replica as soon as it caught up (usually milliseconds).
It costs, with a replica only, one statement per unit of work (did it write?) and one more
after a write (the LSN); and while an account's write is not known to be replayed, a question
to the replica shared by all requests asking within a few ms (counted in none of them).

Public changes (an office closure) drop the cached public answers of every process. Before
that, `public_data_changed()` waits (DATABASE_REPLICA_WAIT_MS) for the replica to replay the
change, so no process refills its cache from a replica that lacks it; past the wait, this
process reads public data from the primary until the replica has replayed it.

Failure: the replica's clients (`ReplicaClient`, the pool; `ReplicaRequestConnection`, one
request's held connection) run a read on the primary instead when the replica raises a
connection error (or lacks a table or column the primary has: a migration not replayed yet);
the replica is then left alone for DATABASE_REPLICA_RETRY_SECONDS (reads are
routed straight to the primary), which is logged once and counted (replica_fallbacks_total,
replica_up), and tried again after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import Context, ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from prometheus_client import Counter, Gauge
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import DBConnectionError, OperationalError
from tortoise.models import Model

from persistence import statement_counter
from persistence.models import (
    Account,
    AccountRole,
    AccountToken,
    CalendarDay,
    CalendarYear,
    Delegation,
    Guidance,
    Office,
    OfficeClosure,
    OfficeHours,
    OfficeService,
    Passport,
    Person,
    RefreshToken,
    ServiceType,
    Slot,
)
from persistence.request_connection import RequestConnection
from settings import Settings

log = logging.getLogger(__name__)

PRIMARY = "default"
REPLICA = "replica"

# Public data, the same for every reader: what the replica serves.
REPLICA_MODELS: frozenset[type[Model]] = frozenset(
    {
        Office,
        OfficeHours,
        OfficeService,
        OfficeClosure,
        CalendarDay,
        CalendarYear,
        ServiceType,
        Guidance,
        Slot,
    }
)
# Who is signed in, with which rights, acting for whom: a replica that lags would let an ended
# session, a revoked delegation or a removed role act for a moment longer.
ALWAYS_PRIMARY: frozenset[type[Model]] = frozenset(
    {Account, AccountRole, RefreshToken, AccountToken, Delegation, Person, Passport}
)
assert REPLICA_MODELS.isdisjoint(ALWAYS_PRIMARY)

# What a replica that is down, restarting, unreachable or cancelling for recovery raises.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncio.TimeoutError,
    DBConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections
    asyncpg.exceptions.SerializationError,  # cancelled by a conflict with recovery
    asyncpg.exceptions.InterfaceError,  # the connection was closed under us
)

# What a replica that has not yet replayed a migration the primary already has raises (the
# primary's schema is the one the code expects): asyncpg's errors, as Tortoise wraps them.
SCHEMA_BEHIND: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.UndefinedTableError,
    asyncpg.exceptions.UndefinedColumnError,
    asyncpg.exceptions.UndefinedFunctionError,
)


def replica_cannot_answer(exc: BaseException) -> bool:
    """True for errors the primary does not share: the replica is down, unreachable, cancelled
    the read for its recovery, or is behind the primary's schema."""
    if isinstance(exc, CONNECTION_ERRORS):
        return True
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, SCHEMA_BEHIND)


# Metrics of this process; resolvers/metrics.py registers them with the service's registry.
FALLBACKS = Counter(
    "replica_fallbacks_total",
    "Reads the primary answered because the read replica raised a connection error.",
    registry=None,
)
REPLICA_UP = Gauge(
    "replica_up",
    "1 while the read replica is used, 0 while it is left alone after an error (or unset).",
    registry=None,
)
ROUTED = Counter(
    "replica_routed_requests_total",
    "HTTP requests by where their public reads went: replica, or primary (and why: "
    "read_your_writes, public_change, replica_down).",
    ["target"],
    registry=None,
)
PUBLIC_CHANGE_WAITS = Counter(
    "replica_public_change_waits_total",
    "Public changes waited for on the replica before dropping cached answers, by outcome.",
    ["outcome"],
    registry=None,
)
METRICS = (FALLBACKS, REPLICA_UP, ROUTED, PUBLIC_CHANGE_WAITS)


def lsn_value(text: str) -> int:
    """A WAL position as PostgreSQL prints it ('16/B374D848') as a number that orders."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


# ---------------------------------------------------------------------------- read-your-writes


class WriteMarks(Protocol):
    """The last write of each account, as a WAL position, for a limited time."""

    async def get(self, account_id: int) -> int | None: ...

    async def put(self, account_id: int, lsn: int) -> None: ...

    async def close(self) -> None: ...


class MemoryWriteMarks:
    """This process's marks: enough for one server process."""

    def __init__(self, keep_s: int) -> None:
        self._keep_s = keep_s
        self._marks: dict[int, tuple[int, float]] = {}  # account -> (lsn, forget at)
        self._next_purge = 0.0

    async def get(self, account_id: int) -> int | None:
        mark = self._marks.get(account_id)
        if mark is None or mark[1] <= time.monotonic():
            return None
        return mark[0]

    async def put(self, account_id: int, lsn: int) -> None:
        now = time.monotonic()
        known = self._marks.get(account_id)
        self._marks[account_id] = (max(lsn, known[0] if known else 0), now + self._keep_s)
        if now >= self._next_purge:
            self._marks = {a: m for a, m in self._marks.items() if m[1] > now}
            self._next_purge = now + 60

    async def close(self) -> None:
        self._marks.clear()


# Keep the later of two positions (two processes may record one account's writes at once):
# fixed-width hexadecimal text compares as the numbers do.
_PUT_LATER = """
local known = redis.call('GET', KEYS[1])
if (not known) or known < ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


class RedisWriteMarks:
    """One expiring key per account that wrote, shared by every process of the deployment."""

    def __init__(self, url: str, prefix: str, keep_s: int) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._prefix = prefix
        self._keep_s = keep_s
        self._put = self._redis.register_script(_PUT_LATER)

    async def get(self, account_id: int) -> int | None:
        value = await self._redis.get(f"{self._prefix}{account_id}")
        return int(value, 16) if value else None

    async def put(self, account_id: int, lsn: int) -> None:
        await self._put(keys=[f"{self._prefix}{account_id}"], args=[f"{lsn:016x}", self._keep_s])

    async def close(self) -> None:
        await self._redis.aclose()


# -------------------------------------------------------------------------------- the replica


class ReplicaState:
    """This process's view of the replica: up or left alone, how far it has replayed, and the
    position public reads must wait for."""

    # A known replay position younger than this is not asked for again.
    FRESH_S = 0.005

    def __init__(self, settings: Settings, client: BaseDBAsyncClient, marks: WriteMarks) -> None:
        self.client = client
        self.marks = marks
        self.retry_s = settings.database_replica_retry_seconds
        self.wait_s = settings.database_replica_wait_ms / 1000
        self.down_until = 0.0
        self.replayed = 0
        self._replayed_at = 0.0
        self._asking: asyncio.Task[None] | None = None
        self._chores: set[asyncio.Task[None]] = set()
        # Public changes the replica had not replayed when their wait ran out.
        self.floor = 0
        REPLICA_UP.set(1)

    def usable(self) -> bool:
        if self.down_until and time.monotonic() >= self.down_until:
            self.down_until = 0.0
            REPLICA_UP.set(1)
            log.info("trying the read replica again")
        return not self.down_until

    def failed(self, exc: BaseException) -> None:
        """The replica could not answer (replica_cannot_answer): leave it alone for a while."""
        FALLBACKS.inc()
        if self.down_until:
            return
        self.down_until = time.monotonic() + self.retry_s
        REPLICA_UP.set(0)
        log.warning(
            "read replica unavailable (%s: %s): reading from the primary for %d s",
            type(exc).__name__,
            " ".join(str(exc).split()) or "-",
            self.retry_s,
        )
        # Its pooled connections may all be dead (a restart): reconnect them on next use.
        pool = getattr(self.client, "_pool", None)
        if pool is not None:
            task = asyncio.get_running_loop().create_task(pool.expire_connections())
            self._chores.add(task)
            task.add_done_callback(self._chores.discard)

    async def replayed_past(self, lsn: int) -> bool:
        """True once the replica has replayed the WAL up to `lsn` (asks it at most every few
        ms, one question at a time for all requests; a stale answer only says "not yet")."""
        if self.replayed >= lsn:
            return True
        if not self.usable():
            return False
        if time.monotonic() - self._replayed_at >= self.FRESH_S:
            if self._asking is None or self._asking.done():
                # Shared by every request waiting for it, so counted in none (a context of
                # its own: no request's statement count, no request's connections).
                self._asking = asyncio.create_task(self._ask_replayed(), context=Context())
            await asyncio.shield(self._asking)
        return self.replayed >= lsn

    async def _ask_replayed(self) -> None:
        try:
            # Straight on the replica, never the primary's answer (the fallback's).
            _, rows = await AsyncpgDBClient.execute_query(
                self.client, "SELECT pg_last_wal_replay_lsn()::text AS lsn"
            )
        except Exception as exc:  # whatever it is, the replica cannot say: use the primary
            self.failed(exc)
            return
        self._replayed_at = time.monotonic()
        if rows and rows[0]["lsn"]:
            self.replayed = max(self.replayed, lsn_value(rows[0]["lsn"]))

    async def wait_replayed(self, lsn: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not await self.replayed_past(lsn):
            if not self.usable() or time.monotonic() >= deadline:
                return False
            await asyncio.sleep(self.FRESH_S)
        return True

    async def may_read(self, account_id: int | None) -> str:
        """Where a request of `account_id` (None: anonymous) reads public data: "replica", or
        the reason it reads the primary."""
        if not self.usable():
            return "replica_down"
        if self.floor and not await self.replayed_past(self.floor):
            return "public_change"
        if account_id is not None:
            try:
                mark = await self.marks.get(account_id)
            except Exception:  # Redis unreachable: the write may be unknown, the primary is safe
                log.warning("read-your-writes marks unavailable", exc_info=True)
                return "read_your_writes"
            if mark is not None and not await self.replayed_past(mark):
                return "read_your_writes"
        return "replica"

    async def close(self) -> None:
        if self._asking is not None:
            self._asking.cancel()
            with contextlib.suppress(BaseException):
                await self._asking
        await self.marks.close()
        await self.client.close()
        REPLICA_UP.set(0)


_state: ReplicaState | None = None


def configure(settings: Settings) -> None:
    """Use the replica of the settings in this process (after Tortoise.init); nothing to do
    without one."""
    global _state
    if settings.database_replica_url and settings.is_sqlite:
        log.warning("DATABASE_REPLICA_URL is ignored: an SQLite database has no replicas")
    connection = settings.replica_connection()
    if connection is None:
        _state = None
        return
    client = ReplicaClient(**connection["credentials"], connection_name=REPLICA)
    keep_s = settings.database_replica_read_your_writes_seconds
    marks: WriteMarks = (
        RedisWriteMarks(settings.redis_url, f"{settings.redis_namespace}:wrote:", keep_s)
        if settings.redis_url
        else MemoryWriteMarks(keep_s)
    )
    _state = ReplicaState(settings, client, marks)


async def close() -> None:
    global _state
    state, _state = _state, None
    if state is not None:
        await state.close()


def configured() -> bool:
    return _state is not None


# ----------------------------------------------------------------------------- one request


@dataclass
class RequestReads:
    """Where one HTTP request reads public data; the primary until `decide()` says otherwise."""

    replica: bool = False


_request: ContextVar[RequestReads | None] = ContextVar("replica_reads", default=None)


@contextlib.asynccontextmanager
async def request_reads() -> AsyncIterator[RequestReads | None]:
    """One request's replica reads, on one held replica connection (like the primary's, see
    persistence/request_connection.py); None without a replica."""
    state = _state
    if state is None:
        yield None
        return
    reads = RequestReads()
    token = _request.set(reads)
    held = ReplicaRequestConnection(state.client)  # type: ignore[arg-type]
    connection_token = connections.set(REPLICA, held)
    try:
        yield reads
    finally:
        connections.reset(connection_token)
        _request.reset(token)
        await held.give_back()


async def decide(account_id: int | None) -> bool:
    """Once the caller is known (after authentication, which reads the primary): may this
    request's public reads go to the replica?"""
    reads, state = _request.get(), _state
    if reads is None or state is None:
        return False
    target = await state.may_read(account_id)
    ROUTED.labels(target).inc()
    reads.replica = target == "replica"
    return reads.replica


def replica_allowed() -> bool:
    """True when a read made now may go to the replica (see the module's docstring)."""
    reads, state = _request.get(), _state
    if reads is None or not reads.replica or state is None or not state.usable():
        return False
    # A transaction's reads belong to the transaction, on the primary.
    return not isinstance(connections.get(PRIMARY), TransactionalDBClient)


def analytic() -> BaseDBAsyncClient:
    """The connection analysts' aggregates read from: the replica when allowed now."""
    return connections.get(REPLICA if replica_allowed() else PRIMARY)


class ReadRouter:
    """Tortoise's router (configured in Settings.tortoise_config when there is a replica)."""

    def db_for_read(self, model: type[Model]) -> str | None:
        if model in ALWAYS_PRIMARY or model not in REPLICA_MODELS:
            return None
        return REPLICA if replica_allowed() else None

    def db_for_write(self, model: type[Model]) -> str | None:
        return None


# ------------------------------------------------------------------------------------ writes


async def transaction_wrote() -> bool:
    """Inside a transaction: has it written anything (a transaction id was assigned)? Always
    False without a replica, and then nothing is sent."""
    if _state is None:
        return False
    _, rows = await connections.get(PRIMARY).execute_query(
        "SELECT pg_current_xact_id_if_assigned() IS NOT NULL AS wrote"
    )
    return bool(rows and rows[0]["wrote"])


async def wrote(account_id: int | None) -> None:
    """After the commit of a transaction that wrote: the rest of this request, and the
    account's requests until the replica has replayed this point, read from the primary."""
    reads, state = _request.get(), _state
    if reads is not None:
        reads.replica = False
    if state is None or account_id is None:
        return
    lsn = await _primary_position()
    try:
        await state.marks.put(account_id, lsn)
    except Exception:  # Redis unreachable: this process at least keeps reading the primary
        log.warning("read-your-writes mark not recorded", exc_info=True)


async def _primary_position() -> int:
    # The insert position is at or past every record already written, this commit included.
    _, rows = await connections.get(PRIMARY).execute_query(
        "SELECT pg_current_wal_insert_lsn()::text AS lsn"
    )
    return lsn_value(rows[0]["lsn"])


async def public_data_changed() -> None:
    """After public data changed and before cached public answers are dropped: wait for the
    replica to replay the change (bounded); past the wait, read public data from the primary
    in this process until the replica has it."""
    state = _state
    if state is None:
        return
    lsn = await _primary_position()
    # A replica that is down now replays the change only after it is back: until then (the
    # floor) this process does not read public data from it.
    if state.usable() and await state.wait_replayed(lsn, state.wait_s):
        PUBLIC_CHANGE_WAITS.labels("replayed").inc()
        return
    PUBLIC_CHANGE_WAITS.labels("timed_out").inc()
    state.floor = max(state.floor, lsn)
    log.warning(
        "the read replica has not replayed a public change within %d ms: public reads of this "
        "process use the primary until it has",
        round(state.wait_s * 1000),
    )


# ---------------------------------------------------------------------- the replica's clients


class _FallsBackToPrimary:
    """Reads on the replica that the primary answers instead when the replica cannot."""

    connection_name: str

    async def execute_query(self, query: str, values: list | None = None) -> Any:
        return await self._read(super().execute_query, "execute_query", query, values)  # type: ignore[misc]

    async def execute_query_dict(self, query: str, values: list | None = None) -> Any:
        return await self._read(super().execute_query_dict, "execute_query_dict", query, values)  # type: ignore[misc]

    async def _read(
        self, on_replica: Callable[..., Awaitable[Any]], method: str, *args: Any
    ) -> Any:
        state = _state
        if state is None or state.usable():
            try:
                return await on_replica(*args)
            except Exception as exc:
                if not replica_cannot_answer(exc):
                    raise
                if state is not None:
                    state.failed(exc)
                # It never ran: counted again below where it does.
                statement_counter.discount(self.connection_name)
        return await getattr(connections.get(PRIMARY), method)(*args)


class ReplicaClient(_FallsBackToPrimary, AsyncpgDBClient):
    """Tortoise's client of the replica: its pool, opened at the first read."""


class ReplicaRequestConnection(_FallsBackToPrimary, RequestConnection):
    """One request's replica statements on one held connection of the replica's pool."""

    async def give_back(self) -> None:
        """End of the request: the connection goes back to the pool; one the replica broke
        (it went down meanwhile) is discarded by the pool, no error for the request."""
        try:
            await self.end()
        except Exception:  # the request is answered; the pool replaces a broken connection
            log.debug("replica connection given back broken", exc_info=True)
