"""Opening and closing the database: migrations on start, WAL for SQLite, readiness."""

from __future__ import annotations

import logging

from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate

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


async def close_database() -> None:
    await Tortoise.close_connections()


async def database_ready() -> bool:
    """True when a trivial query succeeds."""
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception:  # any failure means "not ready", which is what /ready reports
        log.exception("readiness check failed")
        return False
    return True
