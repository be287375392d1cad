"""Running a migration scenario on a fresh database of its own (SQLite, or PostgreSQL in that
pass), in a fresh interpreter: Tortoise keeps one set of connections per process, and a
scenario migrates back and forth."""

from __future__ import annotations

import asyncio
import multiprocessing
import tempfile
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import _create_pg_database, _drop_pg_database, _postgres_url


def run_steps(steps: Callable[[], Awaitable[Any]]) -> Any:
    """Run a scenario's steps in this (worker) process, its connections closed even when a
    step fails: an open SQLite connection's thread would keep the worker, and the test
    waiting for it, alive."""

    async def run() -> Any:
        from tortoise import Tortoise

        try:
            return await steps()
        finally:
            await Tortoise.close_connections()

    return asyncio.run(run())


async def in_fresh_database(scenario: Callable[[str], Any], label: str) -> Any:
    """`scenario(database_url)`, a module-level function, run in a spawned process against a
    database made for it (dropped afterwards on PostgreSQL); what it returns."""
    base = _postgres_url()
    name = None
    if base is None:
        url = f"sqlite://{Path(tempfile.mkdtemp(prefix=f'{label}-')) / 'app.db'}"
    else:
        url, name = await _create_pg_database(base)
    try:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
            return await asyncio.wrap_future(pool.submit(scenario, url))
    finally:
        if base is not None and name is not None:
            await _drop_pg_database(base, name)


@dataclass(frozen=True)
class Inserted:
    id: int


async def insert_account(email: str) -> Inserted:
    """An account row as the schema before a migration holds it: the columns every version
    has, written in SQL (the model may know columns a later migration adds)."""
    from datetime import UTC, datetime

    from tortoise import connections

    client = connections.get("default")
    columns = 'INSERT INTO "account" ("email", "display_name", "password_hash", "created_at") '
    statement = (
        columns + 'VALUES (?, ?, ?, ?) RETURNING "id"'
        if client.capabilities.dialect == "sqlite"
        else columns + 'VALUES ($1, $2, $3, $4) RETURNING "id"'
    )
    rows = await client.execute_query_dict(statement, [email, "Helper", "-", datetime.now(UTC)])
    return Inserted(int(rows[0]["id"]))
