"""Counting the SQL statements a request runs (tests and benchmarks; off in normal serving).

The count is process-wide: it is exact when one request runs at a time, which is how the
tests and the benchmark's single counting request use it.
"""

from __future__ import annotations

import logging

_count = [0]


class _CountingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        _count[0] += 1


_HANDLER = _CountingHandler()


def enable() -> None:
    """Count statements from now on (Tortoise logs each one at DEBUG on its client logger)."""
    logger = logging.getLogger("tortoise.db_client")
    if _HANDLER not in logger.handlers:
        logger.addHandler(_HANDLER)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False


def start() -> list[int]:
    """Reset the count; the returned holder shows it as it grows."""
    _count[0] = 0
    return _count
