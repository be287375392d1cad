"""Aggregate statistics that never single out a person: counts rounded, periods in whole months.

The disclosure control is the one statistics offices publish tables with (e.g. HESA's rounding
methodology: 0, 1 and 2 become 0, every other count the nearest multiple of 5):

- every published count is rounded to the nearest multiple of a base (default 5, halves up),
  so 1 and 2 read 0 and 3 to 7 read 5; a total is rounded from its own exact count, never
  summed from rounded parts, so "all offices minus the other offices" yields only a band of
  possible values and not the one office's count;
- a period snaps outward to whole calendar months, so two questions that differ by a day
  (or overlap inside one month) are the same question and get the same answer: the
  differencing that remains needs whole months, which hold many records;
- rounding is deterministic: asking again gives the same figure, so repeated questions
  cannot average away the perturbation as they could with random rounding;
- a median (not a count) is withheld when fewer than MEDIAN_MIN_CASES cases are behind it,
  or when any month of the period holds 1 to MEDIAN_MIN_CASES - 1 of them: with a month of
  five cases published on its own, one of a single case would otherwise be read from the two
  months' median (six cases: 2 x median(both) - median(first) can be the lone case itself).
  Nested periods then differ by whole months of at least MEDIAN_MIN_CASES cases, never by one
  person.

Rounding makes small counts unreadable without a separate suppression rule: a published 0
means 0 to 2 and a 5 means 3 to 7, so no cell pins down one person.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime
from statistics import median

from domain.dates import HOME_ZONE

# A median over fewer cases than this would nearly be one person's figure: withheld (null).
MEDIAN_MIN_CASES = 5


def rounded(count: int, base: int) -> int:
    """`count` to the nearest multiple of `base`, halves up (base 5: 1-2 -> 0, 3-7 -> 5,
    8-12 -> 10). A base of 1 publishes exact counts."""
    if base <= 1:
        return count
    return (count + base // 2) // base * base


def whole_months(start: date, end: date) -> tuple[date, date]:
    """The period snapped outward: the first day of `start`'s month to the last of `end`'s."""
    last = calendar.monthrange(end.year, end.month)[1]
    return start.replace(day=1), end.replace(day=last)


def median_days(cases: Sequence[tuple[datetime, float]]) -> int | None:
    """Median days to decision of (decided at, days taken) cases; withheld when fewer than
    MEDIAN_MIN_CASES cases decided, or when a month (in China) holds fewer than that and not
    none (see the module's text)."""
    if len(cases) < MEDIAN_MIN_CASES:
        return None
    per_month = Counter(
        (local.year, local.month) for local in (at.astimezone(HOME_ZONE) for at, _ in cases)
    )
    if any(count < MEDIAN_MIN_CASES for count in per_month.values()):
        return None
    return round(median(days for _, days in cases))


def utilisation(booked: int, capacity: int, base: int) -> float | None:
    """Booked places over capacity, both rounded first so the ratio cannot reveal one
    booking more than the rounded counts would; null without (rounded) capacity."""
    places, room = rounded(booked, base), rounded(capacity, base)
    if room <= 0:
        return None
    return round(min(places, room) / room, 4)
