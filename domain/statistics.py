"""Aggregate statistics that never expose a person: small counts are suppressed."""

from __future__ import annotations

from statistics import median

# Policy: a count below this is withheld (null), so no one can be singled out.
MIN_REPORTED_COUNT = 5


def suppressed(count: int) -> int | None:
    return count if count >= MIN_REPORTED_COUNT else None


def median_days(durations: list[float]) -> int | None:
    """Median days to decision, withheld when fewer than MIN_REPORTED_COUNT cases decided."""
    if len(durations) < MIN_REPORTED_COUNT:
        return None
    return round(median(durations))


def utilisation(booked: int, capacity: int) -> float | None:
    if capacity <= 0:
        return None
    return round(booked / capacity, 4)
