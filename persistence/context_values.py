"""A context variable holding a value for the length of a block: the tasks and DataLoader
batches started inside see it (each has a copy of the context), and whatever was there before
comes back when the block ends, also after an error."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")


@contextlib.contextmanager
def holding(variable: ContextVar[T | None], value: T) -> Iterator[T]:
    """`variable` holds `value` in the block, which gets `value`."""
    token = variable.set(value)
    try:
        yield value
    finally:
        variable.reset(token)
