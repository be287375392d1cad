"""Cursor pagination shared by every connection (the rules live in resolvers.paging)."""

from __future__ import annotations

from resolvers.paging import (
    DEFAULT_PAGE,
    Position,
    cursor_offset,
    cursor_position,
    key_cursor,
    offset_cursor,
    page,
    page_size,
    window,
)

__all__ = [
    "DEFAULT_PAGE",
    "Position",
    "cursor_offset",
    "cursor_position",
    "key_cursor",
    "offset_cursor",
    "page",
    "page_size",
    "window",
]
