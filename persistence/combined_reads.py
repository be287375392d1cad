"""Reads that one request asks for at the same moment, sent to the database as one statement.

A GraphQL request resolves sibling fields together: a person's applications, documents,
appointments, PR card and passports are each asked for by their own DataLoader in the same
turn of the event loop, then the offices, events and accounts those rows point to in a later
one. Each batch is a plain "rows of one table whose columns take one of these values, in this
order" (`select`). Inside `combining()` (one HTTP request), the batches asked for through the
same connection before the loop has gone round twice more are sent together as one
`UNION ALL`: each table's columns sit in their own positions of a wide row, NULL elsewhere, so
every value keeps its own column type and comes back converted as an ordinary Tortoise query
would; a part tag and `row_number()` over the batch's own ORDER BY keep each batch's rows
apart and in the order the database itself sorts them (collation, NULLs) — nothing is sorted
in Python. Outside `combining()`, or alone, a batch is one plain SELECT.

The statement's shape depends on which tables are combined, not on how many values are asked
for (PostgreSQL gets each value list as one array parameter), so asyncpg's per-connection cache
of prepared statements keeps serving it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)

# Loop turns a combined statement waits for further batches after the first one arrives. A
# DataLoader dispatches one turn after its first load(); fields resolved together reach their
# loaders within a few turns of each other (a field that checks the gate first comes a turn
# later: the dashboard's application events, two turns after the offices). Each turn costs
# no I/O, only the other requests' work that is ready meanwhile.
SETTLE_TURNS = 3


@dataclass(frozen=True)
class Batch:
    """Rows of `model` whose columns each take one of the given values, in `order`."""

    model: type[Model]
    where: tuple[tuple[str, tuple[Any, ...]], ...]
    order: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return list(self.model._meta.fields_db_projection.values())

    def nulls(self, dialect: str) -> list[str]:
        """A NULL of each column's type: PostgreSQL types a UNION's columns pair by pair from
        the left, and a column that is NULL in the first two branches would become text."""
        if dialect != "postgres":
            return ["NULL"] * len(self.columns)
        fields = self.model._meta.fields_map
        return [
            f"CAST(NULL AS {fields[name].get_for_dialect(dialect, 'SQL_TYPE')})"
            for name in self.model._meta.fields_db_projection
        ]

    def column(self, field_name: str) -> str:
        return self.model._meta.fields_db_projection[field_name]

    def order_sql(self) -> str:
        order = self.order or (self.model._meta.pk_attr,)
        terms = []
        for name in order:
            descending = name.startswith("-")
            column = _quote(self.column(name.lstrip("-")))
            terms.append(f"{column} DESC" if descending else f"{column} ASC")
        return ", ".join(terms)

    def instance(self, values: Sequence[Any], offset: int) -> Model:
        """The model instance of one result row whose columns start at `offset`."""
        kwargs = {column: values[offset + i] for i, column in enumerate(self.columns)}
        return self.model._init_from_db(**kwargs)


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _db_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class _Statement:
    """The SQL text and parameters of one statement, in the client's dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.postgres = dialect == "postgres"
        self.params: list[Any] = []

    def condition(self, column: str, values: tuple[Any, ...]) -> str:
        if self.postgres:
            # One array parameter: the same text for any number of values.
            self.params.append([_db_value(v) for v in values])
            return f"{_quote(column)} = ANY(${len(self.params)})"
        self.params.extend(_db_value(v) for v in values)
        return f"{_quote(column)} IN ({', '.join('?' * len(values))})"

    def where(self, batch: Batch) -> str:
        table = _quote(batch.model._meta.db_table)
        if not batch.where:
            return f"FROM {table}"
        conditions = " AND ".join(self.condition(batch.column(f), v) for f, v in batch.where)
        return f"FROM {table} WHERE {conditions}"


def _single_sql(batch: Batch, statement: _Statement) -> str:
    columns = ", ".join(_quote(c) for c in batch.columns)
    return f"SELECT {columns} {statement.where(batch)} ORDER BY {batch.order_sql()}"


def _combined_sql(batches: Sequence[Batch], statement: _Statement) -> tuple[str, list[int]]:
    """One UNION ALL of the batches, and where each batch's columns start in a row."""
    offsets, width, nulls = [], 2, []
    for batch in batches:
        offsets.append(width)
        width += len(batch.columns)
        nulls.extend(batch.nulls(statement.dialect))
    branches = []
    for part, (batch, offset) in enumerate(zip(batches, offsets, strict=True)):
        cells = list(nulls)
        for i, column in enumerate(batch.columns):
            cells[offset - 2 + i] = _quote(column)
        select = ", ".join(f"{cell} AS c{i}" for i, cell in enumerate(cells))
        branches.append(
            f"SELECT {part} AS part, row_number() OVER (ORDER BY {batch.order_sql()}) AS n, "
            f"{select} {statement.where(batch)}"
        )
    union = " UNION ALL ".join(branches)
    # Identifiers come from the models' metadata; every value is a parameter.
    return f"SELECT * FROM ({union}) AS combined ORDER BY part, n", offsets  # noqa: S608


async def _send(client: BaseDBAsyncClient, batches: Sequence[Batch]) -> list[list[Model]]:
    """Each batch's rows, from one statement on `client`."""
    statement = _Statement(client.capabilities.dialect)
    if len(batches) == 1:
        sql = _single_sql(batches[0], statement)
        _, rows = await client.execute_query(sql, statement.params)
        return [[batches[0].instance(row, 0) for row in rows]]
    sql, offsets = _combined_sql(batches, statement)
    _, rows = await client.execute_query(sql, statement.params)
    found: list[list[Model]] = [[] for _ in batches]
    for row in rows:
        part = row[0]
        found[part].append(batches[part].instance(row, offsets[part]))
    return found


class Combiner:
    """The batches of one request waiting to be sent, per connection they would run on (a
    transaction's reads stay in the transaction)."""

    def __init__(self) -> None:
        self._waiting: dict[BaseDBAsyncClient, list[tuple[Batch, asyncio.Future]]] = {}
        self._senders: set[asyncio.Task] = set()

    async def select(self, batch: Batch) -> list[Model]:
        client = connections.get("default")
        loop = asyncio.get_running_loop()
        waiting = self._waiting.get(client)
        if waiting is None:
            waiting = self._waiting[client] = []
            sender = loop.create_task(self._send_when_settled(client))
            self._senders.add(sender)
            sender.add_done_callback(self._senders.discard)
        future: asyncio.Future[list[Model]] = loop.create_future()
        waiting.append((batch, future))
        return await future

    async def _send_when_settled(self, client: BaseDBAsyncClient) -> None:
        for _ in range(SETTLE_TURNS):
            await asyncio.sleep(0)
        waiting = [w for w in self._waiting.pop(client) if not w[1].done()]
        if not waiting:
            return
        try:
            found = await _send(client, [batch for batch, _ in waiting])
        except BaseException as exc:
            for _, future in waiting:
                if not future.done():
                    future.set_exception(exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        for (_, future), rows in zip(waiting, found, strict=True):
            if not future.done():
                future.set_result(rows)


_combiner: ContextVar[Combiner | None] = ContextVar("combined_reads", default=None)


@contextlib.contextmanager
def combining() -> Iterator[Combiner]:
    """Combine the reads of this context (one request, and the tasks it starts)."""
    combiner = Combiner()
    token = _combiner.set(combiner)
    try:
        yield combiner
    finally:
        _combiner.reset(token)


async def select(
    model: type[M], where: Mapping[str, Sequence[Any]], order: Sequence[str] = ()
) -> list[M]:
    """Rows of `model` whose fields (`where`: field name -> values) each take one of the
    values (no condition: every row), in `order` (field names, '-' for descending; the
    primary key when empty)."""
    conditions = tuple((name, tuple(dict.fromkeys(values))) for name, values in where.items())
    if any(not values for _, values in conditions):
        return []
    batch = Batch(model, conditions, tuple(order))
    combiner = _combiner.get()
    if combiner is None:
        return (await _send(connections.get("default"), [batch]))[0]  # type: ignore[return-value]
    return await combiner.select(batch)  # type: ignore[return-value]
