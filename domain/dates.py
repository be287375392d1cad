"""The days the service reasons about: far outside them, a date is a client's mistake."""

from __future__ import annotations

from datetime import date

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def out_of_range(*days: date | None) -> bool:
    """True when any given day lies outside EARLIEST..LATEST (None is ignored)."""
    return any(d is not None and not EARLIEST <= d <= LATEST for d in days)


RANGE_MESSAGE = f"Dates must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
