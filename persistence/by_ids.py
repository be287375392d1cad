"""Rows by primary key, and groups of rows by the key they belong to, as the DataLoaders batch
them: one query (combined with the request's other reads of the moment, see
persistence/combined_reads.py), answers in the order asked."""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from tortoise.models import Model

from persistence.combined_reads import select

M = TypeVar("M", bound=Model)


async def rows_by_ids(model: type[M], ids: Sequence[int]) -> list[M | None]:
    """The rows of `model` with these primary keys, None where a key names no row."""
    rows = {row.pk: row for row in await select(model, {model._meta.pk_attr: ids})}
    return [rows.get(i) for i in ids]


def loader_of(model: type[M]) -> Callable[[Sequence[int]], Awaitable[list[M | None]]]:
    """The batch function that loads rows of `model` by primary key."""
    return functools.partial(rows_by_ids, model)


async def rows_grouped_by(
    model: type[M], key: str, order: tuple[str, ...], ids: Sequence[int]
) -> list[list[M]]:
    """For each of `ids`, the rows of `model` whose `key` is that id, in `order`."""
    grouped: dict[int, list[M]] = defaultdict(list)
    for row in await select(model, {key: ids}, order):
        grouped[getattr(row, key)].append(row)
    return [grouped[i] for i in ids]


def groups_of(
    model: type[M], key: str, *order: str
) -> Callable[[Sequence[int]], Awaitable[list[list[M]]]]:
    """The batch function that loads, per id, the rows of `model` whose `key` is that id."""
    return functools.partial(rows_grouped_by, model, key, order)
