"""Inserting a row whose uniqueness is the answer: a clash with a row already there (often a
concurrent request's) is a result, not an error, or the caller's own error."""

from __future__ import annotations

from typing import Any, TypeVar

from tortoise.exceptions import IntegrityError
from tortoise.models import Model

M = TypeVar("M", bound=Model)


async def create_unless_taken(model: type[M], **fields: Any) -> M | None:
    """The new row of `model`, or None when a unique constraint already holds its values."""
    try:
        return await model.create(**fields)
    except IntegrityError:
        return None


async def create_or_raise(
    model: type[M], key: str | tuple[str, ...], taken: type[Exception], **fields: Any
) -> M:
    """The new row of `model`; raises `taken` when the unique constraint on `key` already
    holds its values (other integrity errors propagate as they are). `key` is what the
    database's error names: a unique column, or for a unique index over several columns the
    texts each database names it by (PostgreSQL the index, SQLite its columns)."""
    try:
        return await model.create(**fields)
    except IntegrityError as exc:
        keys = (key,) if isinstance(key, str) else key
        if any(k in str(exc) for k in keys):
            raise taken from exc
        raise
