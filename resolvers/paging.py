"""Cursors and page sizes shared by every connection, and the one spelling of opaque IDs."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from domain.messages import N_
from resolvers.outcomes import bad_input

if TYPE_CHECKING:
    from resolvers.context import Context

T = TypeVar("T")

DEFAULT_PAGE = 20


_OFFSET = re.compile(r"0|[1-9][0-9]{0,8}")
# A key cursor's moment in microseconds since 1970 (year 9999 has 18 digits), and its id, which
# the tables hold as a 32-bit integer: a larger one sent to PostgreSQL would fail the query.
_MICROS = re.compile(r"0|[1-9][0-9]{0,17}")
_PK_MAX = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def canonical_base64(text: str) -> str:
    """URL-safe base64 without padding: how IDs and cursors are spelled."""
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_canonical_base64(encoded: str, max_length: int = 200) -> str | None:
    """The ASCII text `encoded` spells, only when it is spelled exactly as
    `canonical_base64` would (no padding, no other alphabet, no stray or extra bits)."""
    if not isinstance(encoded, str) or not 0 < len(encoded) <= max_length:
        return None
    if not encoded.isascii():
        return None
    try:
        padded = encoded + "=" * (-len(encoded) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return text if canonical_base64(text) == encoded else None


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
        raise bad_input(N_("`after` is not a cursor this API issued."))
    return int(value) + 1


@dataclass(frozen=True)
class Position:
    """Where a page starts. A list whose items come and go while someone pages through it
    (the inbox as its notifications are read, a new one arriving) is paged by key: after the
    item with this `moment` and `pk`, wherever it now stands, so no item is skipped or shown
    twice. `offset` is for the other lists, and for cursors issued before keys were."""

    offset: int = 0
    moment: datetime | None = None
    pk: int = 0

    @property
    def keyed(self) -> bool:
        return self.moment is not None


def key_cursor(moment: datetime, pk: int) -> str:
    """The cursor of the item with this sort moment and primary key (exact to the
    microsecond: the item itself is found again)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return canonical_base64(f"k:{(moment - _EPOCH) // _MICROSECOND}:{pk}")


def cursor_position(cursor: str | None) -> Position:
    """The position `after` names: a key cursor, or an offset cursor (the item after it);
    anything not spelled exactly as we issue them is BAD_USER_INPUT."""
    if cursor is None:
        return Position()
    text = decode_canonical_base64(cursor, max_length=60) or ""
    if text.startswith("k:"):
        micros, _, pk = text[2:].partition(":")
        if _MICROS.fullmatch(micros) and _OFFSET.fullmatch(pk) and int(pk) <= _PK_MAX:
            try:
                moment = _EPOCH + int(micros) * _MICROSECOND
            except OverflowError:
                moment = None
            if moment is not None:
                return Position(moment=moment, pk=int(pk))
        raise bad_input(N_("`after` is not a cursor this API issued."))
    return Position(offset=cursor_offset(cursor))


def page_size(ctx: Context, first: int | None) -> int:
    """`first` defaults to 20 and is capped at the MAX_PAGE_SIZE setting (100); a negative
    value is refused."""
    if first is None:
        return min(DEFAULT_PAGE, ctx.settings.max_page_size)
    if first < 0:
        raise bad_input(N_("`first` must not be negative."))
    return min(first, ctx.settings.max_page_size)


def window(ctx: Context, first: int | None, after: str | None) -> tuple[int, int]:
    """(offset, size) of the page `first` and `after` ask for."""
    return cursor_offset(after), page_size(ctx, first)


def page(
    ctx: Context, items: Sequence[T], first: int | None, after: str | None
) -> tuple[list[tuple[str, T]], int, bool]:
    """(cursor, item) pairs of the page, the offset it starts at, and whether more follow."""
    start = cursor_offset(after)
    size = page_size(ctx, first)
    chosen = items[start : start + size]
    edges = [(offset_cursor(start + i), item) for i, item in enumerate(chosen)]
    return edges, start, start + size < len(items)
