"""Cursor pagination shared by every connection."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypeVar

from resolvers.outcomes import bad_input
from schema.common import canonical_base64, decode_canonical_base64

T = TypeVar("T")

DEFAULT_PAGE = 20
MAX_PAGE = 100


_OFFSET = re.compile(r"0|[1-9][0-9]{0,8}")


def offset_cursor(offset: int) -> str:
    return canonical_base64(f"o:{offset}")


def cursor_offset(cursor: str | None) -> int:
    """The offset after which a page starts; a cursor not spelled exactly as we issue them
    (ASCII digits, no leading zeros, canonical base64) is BAD_USER_INPUT."""
    if cursor is None:
        return 0
    text = decode_canonical_base64(cursor, max_length=40)
    kind, _, value = (text or "").partition(":")
    if kind != "o" or not _OFFSET.fullmatch(value):
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
) -> tuple[list[tuple[str, T]], int, bool]:
    """(cursor, item) pairs of the page, the offset it starts at, and whether more follow."""
    start = cursor_offset(after)
    size = page_size(first)
    chosen = items[start : start + size]
    edges = [(offset_cursor(start + i), item) for i, item in enumerate(chosen)]
    return edges, start, start + size < len(items)
