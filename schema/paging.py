"""Cursor pagination shared by every connection."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import TypeVar

from resolvers.outcomes import bad_input

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100


def offset_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def cursor_offset(cursor: str | None) -> int:
    """The offset after which a page starts; a cursor we did not issue is BAD_USER_INPUT."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise bad_input("`after` is not a cursor this API issued.") from exc
    kind, _, value = text.partition(":")
    if kind != "o" or not value.isdigit() or len(value) > 9:
        raise bad_input("`after` is not a cursor this API issued.")
    return int(value) + 1


def page_size(first: int | None) -> int:
    """`first` defaults to 20 and is capped at 100; a negative value is refused."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise bad_input("`first` must not be negative.")
    return min(first, MAX_PAGE)


def page(
    items: Sequence[T], first: int | None, after: str | None
) -> tuple[list[tuple[str, T]], bool, str | None]:
    """(cursor, item) pairs of the page, whether more follow, and the end cursor."""
    start = cursor_offset(after)
    size = page_size(first)
    chosen = items[start : start + size]
    edges = [(offset_cursor(start + i), item) for i, item in enumerate(chosen)]
    has_next = start + size < len(items)
    return edges, has_next, edges[-1][0] if edges else None
