"""The days the service reasons about: far outside them, a date is a client's mistake."""

from __future__ import annotations

from datetime import date, datetime

EARLIEST = date(1900, 1, 1)
LATEST = date(2199, 12, 31)


def out_of_range(*days: date | datetime | None) -> bool:
    """True when any given day lies outside EARLIEST..LATEST (None is ignored). A moment
    counts by its own calendar day: inside the range, converting it to UTC or to any time
    zone cannot leave the years a datetime can hold."""
    return any(
        d is not None and not EARLIEST <= (d.date() if isinstance(d, datetime) else d) <= LATEST
        for d in days
    )


RANGE_MESSAGE = f"Dates must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
