"""Rows by primary key, as the DataLoaders batch them: one query, answers in the order asked."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from tortoise.models import Model

M = TypeVar("M", bound=Model)


async def rows_by_ids(model: type[M], ids: Sequence[int]) -> list[M | None]:
    """The rows of `model` with these primary keys, None where a key names no row."""
    rows = {row.pk: row for row in await model.filter(id__in=list(ids))}
    return [rows.get(i) for i in ids]


def loader_of(model: type[M]) -> Callable[[Sequence[int]], Awaitable[list[M | None]]]:
    """The batch function that loads rows of `model` by primary key."""
    return functools.partial(rows_by_ids, model)
