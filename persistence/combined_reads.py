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

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

M = TypeVar("M", bound=Model)

# Loop turns a combined statement waits for further batches after the first one arrives. A
# DataLoader dispatches one turn after its first load(); fields resolved together reach their
# loaders within a few turns of each other (a field that checks the gate first comes a turn
# later: the dashboard's application events, two turns after the offices). Each turn costs
# no I/O, only the other requests' work that is ready meanwhile.
SETTLE_TURNS = 3
# Times a combined statement waits for its busy connection before it is sent regardless (an
# SQLite connection is shared by every request: under load it is always busy).
BUSY_WAITS = 2


# Conditions other than "one of these values": `field__gte=value` and the like.
_COMPARISONS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


@dataclass(frozen=True)
class Batch:
    """Rows of `model` meeting every condition (`field`: one of the values; `field__gte`
    and the like: compared with one value), in `order`, optionally one page of them."""

    model: type[Model]
    where: tuple[tuple[str, Any], ...]
    order: tuple[str, ...]
    offset: int = 0
    limit: int | None = None

    @property
    def columns(self) -> list[str]:
        return list(self.model._meta.fields_db_projection.values())

    @property
    def paged(self) -> bool:
        return self.limit is not None or self.offset > 0

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

    def db_value(self, field_name: str, value: Any) -> Any:
        """The value as Tortoise itself sends it for the field (an enum's value, a date)."""
        value = value.value if isinstance(value, Enum) else value
        return self.model._meta.fields_map[field_name].to_db_value(value, None)

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


class _Statement:
    """The SQL text and parameters of one statement, in the client's dialect."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.postgres = dialect == "postgres"
        self.params: list[Any] = []

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def condition(self, batch: Batch, key: str, value: Any) -> str:
        name, _, lookup = key.partition("__")
        column = _quote(batch.column(name))
        if lookup:
            return f"{column} {_COMPARISONS[lookup]} {self.param(batch.db_value(name, value))}"
        values = [batch.db_value(name, v) for v in value]
        if self.postgres:
            # One array parameter: the same text for any number of values.
            return f"{column} = ANY({self.param(values)})"
        return f"{column} IN ({', '.join(self.param(v) for v in values)})"

    def rows(self, batch: Batch, columns: str) -> str:
        """SELECT `columns` of the batch's rows (only its page, in order, when paged)."""
        # Identifiers come from the models' metadata; every value is a parameter.
        sql = f"SELECT {columns} FROM {_quote(batch.model._meta.db_table)}"  # noqa: S608
        if batch.where:
            sql += " WHERE " + " AND ".join(self.condition(batch, k, v) for k, v in batch.where)
        if batch.paged:
            sql += f" ORDER BY {batch.order_sql()}"
            if batch.limit is not None:
                sql += f" LIMIT {self.param(batch.limit)}"
            elif not self.postgres:
                sql += " LIMIT -1"  # SQLite takes an OFFSET only after a LIMIT
            sql += f" OFFSET {self.param(batch.offset)}"
        return sql


def _single_sql(batch: Batch, statement: _Statement) -> str:
    rows = statement.rows(batch, ", ".join(_quote(c) for c in batch.columns))
    return rows if batch.paged else f"{rows} ORDER BY {batch.order_sql()}"


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
        numbered = f"{part} AS part, row_number() OVER (ORDER BY {batch.order_sql()}) AS n"
        if batch.paged:
            # The page is cut where the table's index serves it, then numbered.
            page = statement.rows(batch, "*")
            branches.append(f"SELECT {numbered}, {select} FROM ({page}) AS page{part}")  # noqa: S608
        else:
            branches.append(statement.rows(batch, f"{numbered}, {select}"))
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
        # Where Tortoise itself would read the model from (a read replica's router included).
        client = batch.model._choose_db()
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
        for _ in range(BUSY_WAITS + 1):
            for _ in range(SETTLE_TURNS):
                await asyncio.sleep(0)
            lock = getattr(client, "_lock", None)
            if not isinstance(lock, asyncio.Lock) or not lock.locked():
                break
            # The connection is running a statement, which this one would wait for anyway:
            # keep collecting until it is done, and a few turns more for the reads its rows
            # lead to (a sibling list field read without this module, say).
            async with lock:
                pass
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
    model: type[M],
    where: Mapping[str, Any],
    order: Sequence[str] = (),
    *,
    offset: int = 0,
    limit: int | None = None,
) -> list[M]:
    """Rows of `model` meeting every condition of `where` (field name: one of these values;
    `field__gte`, `__gt`, `__lt`, `__lte`: compared with this value; no condition: every
    row), in `order` (field names, '-' for descending; the primary key when empty), from
    `offset`, at most `limit` of them."""
    conditions = tuple(
        (key, value if "__" in key else tuple(dict.fromkeys(value))) for key, value in where.items()
    )
    if any("__" not in key and not value for key, value in conditions) or limit == 0:
        return []
    batch = Batch(model, conditions, tuple(order), offset, limit)
    combiner = _combiner.get()
    if combiner is None:
        return (await _send(model._choose_db(), [batch]))[0]  # type: ignore[return-value]
    return await combiner.select(batch)  # type: ignore[return-value]
