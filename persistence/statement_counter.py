"""Counting the SQL statements each request runs (tests and benchmarks; off in normal serving).

Every statement Tortoise sends goes through one of its client's `execute_*` methods, so those
are wrapped (on the client classes: a transaction gets a new client object each time). The
count belongs to whoever opened `counting()`: a context variable carries it into the tasks and
DataLoader batches a request starts, so concurrent requests never mix their counts, and work
outside any request (start-up, upkeep, the event listener) is not counted.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from persistence.context_values import holding

# Tortoise's whole interface for sending SQL (tortoise/backends/base/client.py).
STATEMENT_METHODS = (
    "execute_insert",
    "execute_query",
    "execute_query_dict",
    "execute_query_dict_with_affected",
    "execute_many",
    "execute_script",
)
_BACKENDS = ("tortoise.backends.sqlite.client", "tortoise.backends.asyncpg.client")
_WRAPPED = "_counts_statements"


@dataclass
class StatementCount:
    """The statements run so far under one `counting()`, in all and per connection name
    ("default": the primary; "replica": the read replica, see persistence/read_replica.py)."""

    total: int = 0
    by_connection: dict[str, int] = field(default_factory=dict)


_current: ContextVar[StatementCount | None] = ContextVar("sql_statement_count", default=None)
# The statements themselves, (SQL, parameters), while `capturing()` (the query-plan tests).
_captured: ContextVar[list[tuple[str, list[Any]]] | None] = ContextVar(
    "sql_statements_captured", default=None
)
# Set while a statement is being sent, so a method calling another (execute_query_dict calling
# execute_query, a subclass calling its parent) counts one statement, not two.
_sending: ContextVar[bool] = ContextVar("sql_statement_sending", default=False)


def _counted(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(method)
    async def send(self: BaseDBAsyncClient, *args: Any, **kwargs: Any) -> Any:
        if _sending.get():
            return await method(self, *args, **kwargs)
        count = _current.get()
        if count is not None:
            count.total += 1
            name = getattr(self, "connection_name", None) or "default"
            count.by_connection[name] = count.by_connection.get(name, 0) + 1
        captured = _captured.get()
        if captured is not None and args and isinstance(args[0], str):
            values = args[1] if len(args) > 1 else kwargs.get("values")
            captured.append((args[0], list(values) if isinstance(values, list | tuple) else []))
        token = _sending.set(True)
        try:
            return await method(self, *args, **kwargs)
        finally:
            _sending.reset(token)

    setattr(send, _WRAPPED, True)
    return send


def _client_classes() -> list[type[BaseDBAsyncClient]]:
    for module in _BACKENDS:
        with contextlib.suppress(ImportError):  # a driver that is not installed
            importlib.import_module(module)
    found: list[type[BaseDBAsyncClient]] = []
    pending: list[type[BaseDBAsyncClient]] = [BaseDBAsyncClient]
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def enable() -> None:
    """Count statements from now on (idempotent). Fails loudly, instead of counting nothing,
    when Tortoise no longer sends SQL through the methods wrapped here."""
    missing = [name for name in STATEMENT_METHODS if not hasattr(BaseDBAsyncClient, name)]
    if missing:
        raise RuntimeError(f"Tortoise's client has no {', '.join(missing)}: cannot count SQL")
    for cls in _client_classes():
        for name in STATEMENT_METHODS:
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, _WRAPPED, False):
                setattr(cls, name, _counted(method))


def discount(connection_name: str) -> None:
    """Take back one statement counted on `connection_name` that never reached its server
    (a replica that was down: the primary then runs it, counted there)."""
    count = _current.get()
    if count is not None and count.by_connection.get(connection_name, 0) > 0:
        count.total -= 1
        count.by_connection[connection_name] -= 1


def capturing() -> contextlib.AbstractContextManager[list[tuple[str, list[Any]]]]:
    """The statements (SQL, parameters) sent in this context and the tasks it starts, in
    order; `enable()` must have been called."""
    return holding(_captured, [])


def counting() -> contextlib.AbstractContextManager[StatementCount]:
    """Count the statements run in this context (and the tasks it starts) until the block ends."""
    return holding(_current, StatementCount())
