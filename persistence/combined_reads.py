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
for (PostgreSQL gets each value list as one parameter: an array's text, cast to the column's
array type), so asyncpg's per-connection cache of prepared statements keeps serving it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from persistence.context_values import holding

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
class Shape:
    """What the SQL text of a batch depends on (its values are parameters): the same shapes
    make the same statement, built once."""

    model: type[Model]
    where: tuple[tuple[str, int], ...]  # condition, number of placeholders it takes
    order: tuple[str, ...]
    paged: bool
    limited: bool

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
        return _quote(self.model._meta.fields_db_projection[field_name])

    def order_sql(self) -> str:
        order = self.order or (self.model._meta.pk_attr,)
        terms = []
        for name in order:
            column = self.column(name.lstrip("-"))
            terms.append(f"{column} DESC" if name.startswith("-") else f"{column} ASC")
        return ", ".join(terms)


@dataclass(frozen=True)
class Batch:
    """Rows of `model` meeting every condition (`field`: one of the values; `field__gte`
    and the like: compared with one value), in `order`, optionally one page of them."""

    model: type[Model]
    where: tuple[tuple[str, Any], ...]
    order: tuple[str, ...]
    offset: int = 0
    limit: int | None = None

    def shape(self, postgres: bool) -> Shape:
        # PostgreSQL takes a value list as one array parameter; SQLite one "?" per value.
        where = tuple(
            (key, 1 if "__" in key or postgres else len(value)) for key, value in self.where
        )
        paged = self.limit is not None or self.offset > 0
        return Shape(self.model, where, self.order, paged, self.limit is not None)

    def params(self, postgres: bool) -> list[Any]:
        """The parameters, in the order of the placeholders of the shape's SQL."""
        params: list[Any] = []
        for key, value in self.where:
            name = key.partition("__")[0]
            if "__" in key:
                params.append(self.db_value(name, value))
            elif postgres:
                params.append(array_literal([self.db_value(name, v) for v in value]))
            else:
                params.extend(self.db_value(name, v) for v in value)
        if self.limit is not None or self.offset > 0:
            if self.limit is not None:
                params.append(self.limit)
            params.append(self.offset)
        return params

    def db_value(self, field_name: str, value: Any) -> Any:
        """The value as Tortoise itself sends it for the field (an enum's value, a date)."""
        value = value.value if isinstance(value, Enum) else value
        return self.model._meta.fields_map[field_name].to_db_value(value, None)

    def instance(self, values: Sequence[Any], offset: int) -> Model:
        """The model instance of one result row whose columns start at `offset`."""
        meta = self.model._meta
        kwargs = {
            column: values[offset + i]
            for i, column in enumerate(meta.fields_db_projection.values())
        }
        return self.model._init_from_db(**kwargs)


def array_literal(values: Sequence[Any]) -> str:
    """A PostgreSQL array as text ('{"1","2"}'), sent as a text parameter and cast to the
    column's array type in the statement: asyncpg knows no array type of its own and would
    look each one up (three statements) on every new connection."""
    items = []
    for value in values:
        if value is None:
            items.append("NULL")
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif hasattr(value, "isoformat"):
            text = value.isoformat()
        else:
            text = str(value)
        items.append('"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(items) + "}"


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class _Placeholders:
    """Numbers the parameters of one statement in the dialect's style."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"${self.count}" if self.postgres else "?"

    def condition(self, shape: Shape, key: str, placeholders: int) -> str:
        name, _, lookup = key.partition("__")
        column = shape.column(name)
        if lookup:
            return f"{column} {_COMPARISONS[lookup]} {self.next()}"
        if self.postgres:
            array_type = shape.model._meta.fields_map[name].get_for_dialect("postgres", "SQL_TYPE")
            return f"{column} = ANY(CAST({self.next()}::text AS {array_type}[]))"
        return f"{column} IN ({', '.join(self.next() for _ in range(placeholders))})"

    def rows(self, shape: Shape, columns: str) -> str:
        """SELECT `columns` of the batch's rows (only its page, in order, when paged)."""
        # Identifiers come from the models' metadata; every value is a parameter.
        sql = f"SELECT {columns} FROM {_quote(shape.model._meta.db_table)}"  # noqa: S608
        if shape.where:
            sql += " WHERE " + " AND ".join(self.condition(shape, k, n) for k, n in shape.where)
        if shape.paged:
            sql += f" ORDER BY {shape.order_sql()}"
            if shape.limited:
                sql += f" LIMIT {self.next()}"
            elif not self.postgres:
                sql += " LIMIT -1"  # SQLite takes an OFFSET only after a LIMIT
            sql += f" OFFSET {self.next()}"
        return sql


@functools.lru_cache(maxsize=1024)
def _sql(dialect: str, shapes: tuple[Shape, ...]) -> tuple[str, tuple[int, ...]]:
    """The statement of the batches of these shapes, and where each batch's columns start in
    a row: a plain SELECT for one batch, a UNION ALL for several."""
    placeholders = _Placeholders(dialect == "postgres")
    if len(shapes) == 1:
        shape = shapes[0]
        rows = placeholders.rows(shape, ", ".join(_quote(c) for c in shape.columns))
        return (rows if shape.paged else f"{rows} ORDER BY {shape.order_sql()}"), (0,)
    offsets, width, nulls = [], 2, []
    for shape in shapes:
        offsets.append(width)
        width += len(shape.columns)
        nulls.extend(shape.nulls(dialect))
    branches = []
    for part, (shape, offset) in enumerate(zip(shapes, offsets, strict=True)):
        cells = list(nulls)
        for i, column in enumerate(shape.columns):
            cells[offset - 2 + i] = _quote(column)
        select = ", ".join(f"{cell} AS c{i}" for i, cell in enumerate(cells))
        numbered = f"{part} AS part, row_number() OVER (ORDER BY {shape.order_sql()}) AS n"
        if shape.paged:
            # The page is cut where the table's index serves it, then numbered.
            page = placeholders.rows(shape, "*")
            branches.append(f"SELECT {numbered}, {select} FROM ({page}) AS page{part}")  # noqa: S608
        else:
            branches.append(placeholders.rows(shape, f"{numbered}, {select}"))
    union = " UNION ALL ".join(branches)
    # Identifiers come from the models' metadata; every value is a parameter.
    return f"SELECT * FROM ({union}) AS combined ORDER BY part, n", tuple(offsets)  # noqa: S608


async def _send(client: BaseDBAsyncClient, batches: Sequence[Batch]) -> list[list[Model]]:
    """Each batch's rows, from one statement on `client`."""
    dialect = client.capabilities.dialect
    postgres = dialect == "postgres"
    sql, offsets = _sql(dialect, tuple(batch.shape(postgres) for batch in batches))
    params = [param for batch in batches for param in batch.params(postgres)]
    _, rows = await client.execute_query(sql, params)
    if len(batches) == 1:
        return [[batches[0].instance(row, 0) for row in rows]]
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


def combining() -> contextlib.AbstractContextManager[Combiner]:
    """Combine the reads of this context (one request, and the tasks it starts)."""
    return holding(_combiner, Combiner())


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
