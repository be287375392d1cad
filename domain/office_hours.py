"""When a service centre is open on a given day, and the appointment slots that fit its hours."""

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from domain.calendar import WorkingCalendar

MONDAY = 1
SUNDAY = 7

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True)
class OpeningInterval:
    """One opening period on a weekday (1 = Monday … 7 = Sunday), open on [opens, closes)."""

    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not MONDAY <= self.weekday <= SUNDAY:
            raise ValueError(f"weekday must be 1 (Monday) to 7 (Sunday), got {self.weekday}")
        if self.opens >= self.closes:
            raise ValueError(
                f"weekday {self.weekday}: opening time {self.opens:%H:%M} must be before "
                f"closing time {self.closes:%H:%M}"
            )


def _parse_time(text: str) -> time:
    match = _HH_MM.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"time {text!r} is not in HH:MM format (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def _check_no_overlap(intervals: Sequence[OpeningInterval]) -> None:
    for earlier, later in pairwise(intervals):
        if earlier.weekday == later.weekday and later.opens < earlier.closes:
            raise ValueError(
                f"weekday {later.weekday}: {earlier.opens:%H:%M}–{earlier.closes:%H:%M} overlaps "
                f"{later.opens:%H:%M}–{later.closes:%H:%M}"
            )


def parse_hours(rows: Iterable[tuple[int, str, str]]) -> list[OpeningInterval]:
    """Validate (weekday, "HH:MM", "HH:MM") rows into intervals sorted by weekday and time."""
    intervals = sorted(
        (
            OpeningInterval(weekday, _parse_time(opens), _parse_time(closes))
            for weekday, opens, closes in rows
        ),
        key=lambda interval: (interval.weekday, interval.opens),
    )
    _check_no_overlap(intervals)
    return intervals


def _hours_of(weekday: int, hours: Sequence[OpeningInterval]) -> list[tuple[time, time]]:
    return sorted(
        (interval.opens, interval.closes) for interval in hours if interval.weekday == weekday
    )


def intervals_on(
    day: date,
    hours: Sequence[OpeningInterval],
    calendar: WorkingCalendar,
    closed_dates: Collection[date],
) -> list[tuple[time, time]]:
    """The office's opening intervals on `day`, after holidays, closures and adjusted workdays."""
    if day in closed_dates or calendar.is_holiday(day):
        return []
    if calendar.is_adjusted_workday(day):
        # Policy: an adjusted working weekend is an ordinary working day by State Council
        # notice, so the centre keeps its regular weekday hours rather than its (usually
        # absent or short) weekend hours. Monday stands for "a regular weekday" because the
        # notices do not say which weekday the swapped day replaces.
        return _hours_of(MONDAY, hours)
    return _hours_of(day.isoweekday(), hours)


def is_open(
    at: datetime,
    tz: ZoneInfo,
    hours: Sequence[OpeningInterval],
    calendar: WorkingCalendar,
    closed_dates: Collection[date],
) -> bool:
    """Whether the office in time zone `tz` is open at the aware instant `at`."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("the instant must be timezone-aware")
    local = at.astimezone(tz)
    wall_clock = local.time()
    return any(
        opens <= wall_clock < closes
        for opens, closes in intervals_on(local.date(), hours, calendar, closed_dates)
    )


def _denotes_one_instant(wall_clock: datetime, tz: ZoneInfo) -> bool:
    # A wall-clock time in a DST gap (does not exist) or in a repeated hour (exists twice)
    # gets a different UTC offset depending on `fold`; an ordinary one does not.
    first = wall_clock.replace(tzinfo=tz, fold=0)
    second = wall_clock.replace(tzinfo=tz, fold=1)
    return first.utcoffset() == second.utcoffset()


def _elapsed(start: datetime, end: datetime) -> timedelta:
    # Subtracting aware datetimes that share a tzinfo ignores their offsets in Python,
    # so compare in UTC to get the real elapsed time.
    return end.astimezone(UTC) - start.astimezone(UTC)


def _slots_in(
    day: date, opens: time, closes: time, length: timedelta, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    slots: list[tuple[datetime, datetime]] = []
    start = datetime.combine(day, opens)
    last_end = datetime.combine(day, closes)
    while start + length <= last_end:
        end = start + length
        if _denotes_one_instant(start, tz) and _denotes_one_instant(end, tz):
            window = (start.replace(tzinfo=tz), end.replace(tzinfo=tz))
            if _elapsed(*window) == length:
                slots.append(window)
        start = end
    return slots


def slot_windows(
    day: date,
    intervals: Sequence[tuple[time, time]],
    slot_minutes: int,
    tz: ZoneInfo,
) -> list[tuple[datetime, datetime]]:
    """Consecutive slots of `slot_minutes` lying wholly inside each opening interval of `day`.

    Slots follow the wall clock from each opening time (09:00, 09:30, ... every day of the
    year) and are aware datetimes in `tz`. A remainder shorter than a slot is dropped, so no
    slot straddles a lunch break. On a daylight-saving change, a slot whose start or end is a
    wall-clock time that does not exist (spring gap) or exists twice (autumn repeat), or
    whose real duration is not `slot_minutes`, is skipped: nobody can be told unambiguously
    when to come, and capacity per slot assumes its full length.
    """
    if slot_minutes <= 0:
        raise ValueError("slot length must be a positive number of minutes")
    length = timedelta(minutes=slot_minutes)
    return [
        slot for opens, closes in intervals for slot in _slots_in(day, opens, closes, length, tz)
    ]
