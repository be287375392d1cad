"""Counting the SQL statements a request runs (tests and benchmarks; off in normal serving)."""

from __future__ import annotations

import contextvars
import logging

_counter: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar(
    "sql_statements", default=None
)


class _CountingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        holder = _counter.get()
        if holder is not None:
            holder[0] += 1


_HANDLER = _CountingHandler()


def enable() -> None:
    """Count statements from now on (Tortoise logs each one at DEBUG on its client logger)."""
    logger = logging.getLogger("tortoise.db_client")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def start() -> list[int]:
    """Begin counting for the current task and the tasks it starts."""
    holder = [0]
    _counter.set(holder)
    return holder
