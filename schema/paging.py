"""Cursor pagination shared by every connection (the rules live in resolvers.paging)."""

from __future__ import annotations

from resolvers.paging import (
    DEFAULT_PAGE,
    cursor_offset,
    offset_cursor,
    page,
    page_size,
    window,
)

__all__ = [
    "DEFAULT_PAGE",
    "cursor_offset",
    "offset_cursor",
    "page",
    "page_size",
    "window",
]
