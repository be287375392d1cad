"""Opening and closing the database: migrations on start, WAL for SQLite, readiness, and what
one request's SQL goes through."""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import AsyncIterator

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

from persistence import read_replica
from persistence.combined_reads import combining
from persistence.request_connection import one_connection
from settings import Settings

log = logging.getLogger(__name__)


async def apply_migrations(settings: Settings) -> None:
    """Bring the schema up to date with Tortoise's built-in migrations."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    await migrate(config=settings.tortoise_config())
    await Tortoise.close_connections()


async def open_database(settings: Settings, *, run_migrations: bool = True) -> None:
    """Migrate, then initialise Tortoise for this process (global fallback for requests)."""
    if run_migrations:
        await apply_migrations(settings)
    await Tortoise.init(config=settings.tortoise_config(), _enable_global_fallback=True)
    read_replica.configure(settings)


@contextlib.asynccontextmanager
async def request_scope() -> AsyncIterator[None]:
    """One request's SQL: reads asked for at the same moment sent as one statement
    (persistence/combined_reads.py), all of it on one pooled connection on PostgreSQL, reset
    once when the request gives it back (persistence/request_connection.py); its public reads
    on the read replica, when there is one, once the caller is known (read_replica.py)."""
    with combining():
        async with one_connection(), read_replica.request_reads():
            yield


async def close_database() -> None:
    await read_replica.close()
    await Tortoise.close_connections()


async def database_ready() -> bool:
    """True when a trivial query succeeds."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not ready", which is what /ready reports
        log.exception("readiness check failed")
        return False
    return True


@contextlib.asynccontextmanager
async def startup_lock(settings: Settings) -> AsyncIterator[None]:
    """Let one process at a time migrate and seed: an advisory lock on PostgreSQL, a file lock
    next to an SQLite database."""
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        with open(settings.data_dir / ".startup.lock", "w") as handle:  # noqa: ASYNC230 (tiny, once)
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    import asyncpg

    url = settings.database_url.replace("postgres://", "postgresql://", 1)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SELECT pg_advisory_lock(727274)")
        yield
    finally:
        await connection.execute("SELECT pg_advisory_unlock(727274)")
        await connection.close()
