"""Inserting a row whose uniqueness is the answer: a clash with a row already there (often a
concurrent request's) is a result, not an error."""

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
