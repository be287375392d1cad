"""One pooled PostgreSQL connection for all the statements of one request.

Tortoise's asyncpg client takes a connection from the pool for each statement and gives it
back after it, and asyncpg resets a connection it is given back (`RESET ALL`, `UNLISTEN *`,
`CLOSE ALL`, `pg_advisory_unlock_all()`): a second statement, and a round trip, for every
statement. A request instead routes its statements (through Tortoise's per-task connection
routing, the same a transaction uses) to a `RequestConnection`: it takes one connection from
the pool at its first statement, keeps it for the request, and gives it back (reset once) at
the end, so the next request finds it clean.

Requests hold at most all but one of the pool's connections at once (the others wait for
their first statement's turn): a statement that takes a connection of its own must always find
one (see `_holders`).

Transactions keep their meaning: `in_transaction()` begins on the request's connection and
routes the transaction's statements to it; statements from outside the transaction that run
while it is open (another task of the same request) take a connection of their own from the
pool, as before, so they neither see its uncommitted writes nor are rolled back with it. A
second transaction opened while one is open gets its own pooled connection, as before.
Statements after the request ended (a task it started) use the pool directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import (
    ConnectionWrapper,
    PoolConnectionWrapper,
    TransactionalDBClient,
    TransactionContext,
)
from tortoise.exceptions import TransactionManagementError


class RequestConnection(AsyncpgDBClient):
    """Tortoise's client for one request: every statement on the same pooled connection."""

    def __init__(self, pool_client: AsyncpgDBClient) -> None:
        # Like Tortoise's TransactionWrapper, a view of the pool client, not a new client:
        # no pool of its own, nothing to configure.
        self._parent = pool_client
        self.log = pool_client.log
        self.connection_name = pool_client.connection_name
        self.fetch_inserted = pool_client.fetch_inserted
        self._pool_init_lock = pool_client._pool_init_lock
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._ended = False
        self._transaction_open = False
        self._slots: asyncio.Semaphore | None = None

    @property
    def _pool(self) -> Any:  # type: ignore[override]
        return self._parent._pool

    @property
    def holds_connection(self) -> bool:
        return self._connection is not None

    def acquire_connection(self) -> Any:
        if self._ended or self._transaction_open:
            return self._parent.acquire_connection()
        return _Held(self)

    def _in_transaction(self) -> TransactionContext:
        return _RequestTransaction(self)

    async def hold(self) -> asyncpg.Connection:
        """The request's connection, taken from the pool at the first call."""
        if self._connection is None:
            slots = _holder_slots(self._parent)
            await slots.acquire()
            try:
                await PoolConnectionWrapper(self._parent, self._pool_init_lock).ensure_connection()
                self._connection = await self._parent._pool.acquire()
            except BaseException:
                slots.release()
                raise
            self._slots = slots
        return self._connection

    async def end(self) -> None:
        """Give the connection back to the pool (asyncpg resets it there); later statements
        use the pool directly."""
        self._ended = True
        async with self._lock:
            connection, self._connection = self._connection, None
            slots, self._slots = self._slots, None
            try:
                if connection is not None:
                    await self._parent._pool.release(connection)
            finally:
                if slots is not None:
                    slots.release()

    async def close(self) -> None:
        # The pool belongs to the pool client: closing a request closes nothing else.
        await self.end()


# Per pool: requests holding one of its connections. At most all but one, so that statements
# that take a connection of their own (outside a request's open transaction, a second
# transaction, background work) always find one: were every connection held by a request
# waiting for such a statement, none would ever be given back.
_holders: weakref.WeakKeyDictionary[AsyncpgDBClient, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _holder_slots(pool_client: AsyncpgDBClient) -> asyncio.Semaphore:
    slots = _holders.get(pool_client)
    if slots is None:
        slots = _holders[pool_client] = asyncio.Semaphore(max(1, pool_client.pool_maxsize - 1))
    return slots


class _Held(ConnectionWrapper):
    """One statement on the request's connection, one at a time (an asyncpg connection runs
    one statement at once; the request's tasks take turns)."""

    def __init__(self, request: RequestConnection) -> None:
        super().__init__(request._lock, request)
        self.request = request

    async def __aenter__(self) -> asyncpg.Connection:
        await self._lock.acquire()
        try:
            self.connection = await self.request.hold()
        except BaseException:
            self._lock.release()
            raise
        return self.connection


class _RequestTransaction(TransactionContext):
    """`in_transaction()` on the request's connection (see the module's docstring)."""

    def __init__(self, request: RequestConnection) -> None:
        self.request = request
        self.connection_name = request.connection_name
        self.token: Any = None
        self.pooled: TransactionContext | None = None

    async def __aenter__(self) -> TransactionalDBClient:
        request = self.request
        if request._ended or request._transaction_open:
            self.pooled = request._parent._in_transaction()
            return await self.pooled.__aenter__()
        request._transaction_open = True
        try:
            async with request._lock:  # after any statement still running on it
                await request.hold()
                self.client = TransactionWrapper(request)
                await self.client.begin()
        except BaseException:
            request._transaction_open = False
            raise
        self.token = connections.set(self.connection_name, self.client)
        return self.client

    async def __aexit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        if self.pooled is not None:
            await self.pooled.__aexit__(exc_type, exc_val, exc_tb)
            return
        try:
            if not self.client._finalized:
                if exc_type is None:
                    await self.client.commit()
                elif exc_type is not TransactionManagementError:
                    await self.client.rollback()
        finally:
            connections.reset(self.token)
            self.request._transaction_open = False


@contextlib.asynccontextmanager
async def one_connection() -> AsyncIterator[RequestConnection | None]:
    """Route this context's statements (and its tasks') to one pooled connection until the
    block ends; nothing to do (None) when the database is not PostgreSQL through asyncpg."""
    client = connections.get("default")
    if type(client) is not AsyncpgDBClient:
        yield None
        return
    request = RequestConnection(client)
    token = connections.set(client.connection_name, request)
    try:
        yield request
    finally:
        connections.reset(token)
        await request.end()
