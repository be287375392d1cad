"""China's official working-day calendar: public holidays and adjusted working weekends."""

import functools
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar

_SATURDAY = 5

log = logging.getLogger(__name__)


class DayKind(StrEnum):
    HOLIDAY = "HOLIDAY"
    ADJUSTED_WORKDAY = "ADJUSTED_WORKDAY"


@dataclass(frozen=True)
class CalendarDay:
    """A date the official calendar treats differently from an ordinary Mon–Fri/Sat–Sun week."""

    day: date
    kind: DayKind
    name: str
    provisional: bool

    def __post_init__(self) -> None:
        if self.kind is DayKind.ADJUSTED_WORKDAY and not _is_weekend(self.day):
            raise ValueError(
                f"{self.day} is not a Saturday or Sunday, so it cannot be an adjusted working day"
            )


# Statutory holidays that fall on the same Gregorian date every year. The lunar ones
# (Spring Festival, Tomb-sweeping, Dragon Boat, Mid-autumn) and the State Council's
# bridging arrangements are only known once the yearly notice is published.
_FIXED_DATE_HOLIDAYS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "New Year's Day"),
    (5, 1, "Labour Day"),
    (5, 2, "Labour Day"),
    (10, 1, "National Day"),
    (10, 2, "National Day"),
    (10, 3, "National Day"),
)


def _is_weekend(d: date) -> bool:
    return d.weekday() >= _SATURDAY


def known_year(year: int) -> bool:
    """Whether the chinese_calendar package has the published schedule for `year`."""
    try:
        chinese_calendar.get_holiday_detail(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _days_of(year: int) -> Iterable[date]:
    first = date(year, 1, 1)
    return (first + timedelta(days=i) for i in range((date(year + 1, 1, 1) - first).days))


def _published_day(d: date) -> CalendarDay | None:
    is_rest_day, name = chinese_calendar.get_holiday_detail(d)
    if name is None:
        return None
    if is_rest_day:
        return CalendarDay(day=d, kind=DayKind.HOLIDAY, name=name, provisional=False)
    if _is_weekend(d):
        return CalendarDay(day=d, kind=DayKind.ADJUSTED_WORKDAY, name=name, provisional=False)
    return None


def _provisional_days(year: int) -> list[CalendarDay]:
    return [
        CalendarDay(day=date(year, month, day), kind=DayKind.HOLIDAY, name=name, provisional=True)
        for month, day, name in _FIXED_DATE_HOLIDAYS
    ]


def official_days(year: int) -> list[CalendarDay]:
    """Holidays and adjusted working weekends of `year`, provisional when not yet published."""
    if not known_year(year):
        return _provisional_days(year)
    return [entry for d in _days_of(year) if (entry := _published_day(d)) is not None]


@functools.cache
def _published_year(year: int) -> Mapping[date, CalendarDay]:
    """A published year by date: some 20 ms to compute, so kept (the package has few years)."""
    return {entry.day: entry for entry in official_days(year)}


@functools.lru_cache(maxsize=256)
def _official_year(year: int) -> tuple[Mapping[date, CalendarDay], bool]:
    """`official_days(year)` by date, and whether they are provisional."""
    if known_year(year):
        return _published_year(year), False
    return {entry.day: entry for entry in _provisional_days(year)}, True


class WorkingCalendar:
    """Answers working-day questions from stored calendar days (seeded, then admin-corrected).

    The years of `days`, `provisional_years` and `years` are the stored ones: there `days` is
    the whole answer. A date of any other year (a past year never seeded, or a year the server
    ran into after start-up) is answered from `official_days`: chinese-calendar's schedule when
    it has the year, else the provisional fixed-date holidays (logged once per year).
    """

    def __init__(
        self,
        days: Iterable[CalendarDay],
        provisional_years: Iterable[int] = (),
        years: Iterable[int] = (),
    ) -> None:
        # Later entries win, so an admin correction appended after the seed replaces it.
        self._days: dict[date, CalendarDay] = {entry.day: entry for entry in days}
        self._provisional_years: frozenset[int] = frozenset(provisional_years) | {
            entry.day.year for entry in self._days.values() if entry.provisional
        }
        self._stored_years: frozenset[int] = (
            frozenset(years)
            | self._provisional_years
            | {entry.day.year for entry in self._days.values()}
        )
        self._reported_years: set[int] = set()

    def _unstored_year(self, year: int) -> tuple[Mapping[date, CalendarDay], bool]:
        days, provisional = _official_year(year)
        if year not in self._reported_years:
            self._reported_years.add(year)
            if provisional:
                log.warning(
                    "calendar %s is neither stored nor published in chinese-calendar: only "
                    "fixed-date statutory holidays are closed (provisional); add closures for "
                    "the rest",
                    year,
                )
            else:
                log.info("calendar %s is not stored: answered from chinese-calendar", year)
        return days, provisional

    def day_on(self, d: date) -> CalendarDay | None:
        if d.year in self._stored_years:
            return self._days.get(d)
        return self._unstored_year(d.year)[0].get(d)

    def is_holiday(self, d: date) -> bool:
        entry = self.day_on(d)
        return entry is not None and entry.kind is DayKind.HOLIDAY

    def is_adjusted_workday(self, d: date) -> bool:
        entry = self.day_on(d)
        return entry is not None and entry.kind is DayKind.ADJUSTED_WORKDAY

    def is_working_day(self, d: date) -> bool:
        entry = self.day_on(d)
        if entry is None:
            return not _is_weekend(d)
        return entry.kind is DayKind.ADJUSTED_WORKDAY

    def is_provisional(self, d: date) -> bool:
        """True when the year of `d` is covered only by the fixed-date fallback so far."""
        if d.year in self._stored_years:
            return d.year in self._provisional_years
        return self._unstored_year(d.year)[1]

    def add_working_days(self, start: date, n: int) -> date:
        """The date of the n-th working day after `start`, not counting `start` itself."""
        if n < 0:
            raise ValueError("the number of working days to add must not be negative")
        current = start
        remaining = n
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in the half-open range (a, b]; 0 when b is not after a."""
        return sum(
            1
            for offset in range(1, (b - a).days + 1)
            if self.is_working_day(a + timedelta(days=offset))
        )


def official_calendar(years: Iterable[int]) -> WorkingCalendar:
    """A calendar seeded from `official_days` for each year, unpublished years provisional."""
    wanted = sorted(set(years))
    return WorkingCalendar(
        (entry for year in wanted for entry in official_days(year)),
        provisional_years=(year for year in wanted if not known_year(year)),
        years=wanted,
    )
