from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import WorkingCalendar, official_calendar
from domain.office_hours import (
    OpeningInterval,
    intervals_on,
    is_open,
    parse_hours,
    slot_windows,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = official_calendar([2026])

WEEKDAY_ROWS = [
    (weekday, opens, closes)
    for weekday in range(1, 6)
    for opens, closes in [("09:00", "12:00"), ("13:30", "17:00")]
]
HOURS = parse_hours([*WEEKDAY_ROWS, (6, "09:00", "12:00")])
REGULAR_WEEKDAY = [(time(9), time(12)), (time(13, 30), time(17))]
HALF_HOUR_STARTS = [
    *(time(9), time(9, 30), time(10), time(10, 30), time(11), time(11, 30)),
    *(time(13, 30), time(14), time(14, 30), time(15), time(15, 30), time(16), time(16, 30)),
]

MONDAY = date(2026, 3, 16)
ORDINARY_SATURDAY = date(2026, 3, 14)
ORDINARY_SUNDAY = date(2026, 3, 15)


def _starts(slots: list[tuple[datetime, datetime]]) -> list[time]:
    return [start.time() for start, _ in slots]


def _real_length(slot: tuple[datetime, datetime]) -> timedelta:
    start, end = slot
    return end.astimezone(UTC) - start.astimezone(UTC)


def test_parse_hours_sorts_intervals_by_weekday_and_time() -> None:
    hours = parse_hours([(2, "13:30", "17:00"), (1, "09:00", "12:00"), (2, "09:00", "12:00")])
    assert hours == [
        OpeningInterval(1, time(9), time(12)),
        OpeningInterval(2, time(9), time(12)),
        OpeningInterval(2, time(13, 30), time(17)),
    ]


def test_parse_hours_accepts_touching_intervals() -> None:
    assert len(parse_hours([(1, "09:00", "12:00"), (1, "12:00", "13:00")])) == 2


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(1, "9:00", "12:00")], "HH:MM"),
        ([(1, "09:00", "24:00")], "HH:MM"),
        ([(1, "09:60", "12:00")], "HH:MM"),
        ([(0, "09:00", "12:00")], "weekday"),
        ([(8, "09:00", "12:00")], "weekday"),
        ([(1, "12:00", "12:00")], "before"),
        ([(1, "13:00", "09:00")], "before"),
        ([(3, "09:00", "12:00"), (3, "11:30", "14:00")], "overlaps"),
    ],
)
def test_parse_hours_rejects_invalid_rows(rows: list[tuple[int, str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_hours(rows)


def test_weekday_intervals_exclude_the_lunch_break() -> None:
    assert intervals_on(MONDAY, HOURS, CALENDAR, set()) == REGULAR_WEEKDAY


def test_office_without_sunday_hours_has_no_intervals_on_sunday() -> None:
    assert intervals_on(ORDINARY_SUNDAY, HOURS, CALENDAR, set()) == []


def test_office_with_saturday_hours_is_open_on_an_ordinary_saturday() -> None:
    assert intervals_on(ORDINARY_SATURDAY, HOURS, CALENDAR, set()) == [(time(9), time(12))]


def test_national_day_has_no_intervals() -> None:
    assert intervals_on(date(2026, 10, 1), HOURS, CALENDAR, set()) == []


def test_saturday_inside_a_holiday_period_has_no_intervals() -> None:
    assert intervals_on(date(2026, 10, 3), HOURS, CALENDAR, set()) == []


def test_office_closure_has_no_intervals() -> None:
    assert intervals_on(MONDAY, HOURS, CALENDAR, {MONDAY}) == []


def test_adjusted_working_saturday_has_monday_hours() -> None:
    assert intervals_on(date(2026, 10, 10), HOURS, CALENDAR, set()) == REGULAR_WEEKDAY


def test_adjusted_working_sunday_has_monday_hours() -> None:
    assert intervals_on(date(2026, 1, 4), HOURS, CALENDAR, set()) == REGULAR_WEEKDAY


def test_closure_on_an_adjusted_working_day_wins() -> None:
    adjusted = date(2026, 10, 10)
    assert intervals_on(adjusted, HOURS, CALENDAR, {adjusted}) == []


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        (time(8, 59), False),
        (time(9), True),
        (time(11, 59), True),
        (time(12), False),
        (time(12, 30), False),
        (time(13, 30), True),
        (time(16, 59), True),
        (time(17), False),
    ],
)
def test_office_is_open_inside_an_interval_and_closed_at_its_end(
    local_time: time, expected: bool
) -> None:
    at = datetime.combine(MONDAY, local_time, tzinfo=SHANGHAI)
    assert is_open(at, SHANGHAI, HOURS, CALENDAR, set()) is expected


def test_is_open_converts_the_instant_to_the_office_time_zone() -> None:
    # 01:00 UTC is 09:00 in Shanghai; 09:30 UTC is 17:30 there.
    assert is_open(datetime(2026, 3, 16, 1, 0, tzinfo=UTC), SHANGHAI, HOURS, CALENDAR, set())
    assert not is_open(datetime(2026, 3, 16, 9, 30, tzinfo=UTC), SHANGHAI, HOURS, CALENDAR, set())
    # 20:00 UTC on Sunday is 04:00 on Monday in Shanghai: closed, although Monday has hours.
    assert not is_open(datetime(2026, 3, 15, 20, 0, tzinfo=UTC), SHANGHAI, HOURS, CALENDAR, set())


def test_office_is_closed_on_a_holiday_during_regular_hours() -> None:
    at = datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI)
    assert not is_open(at, SHANGHAI, HOURS, CALENDAR, set())


def test_is_open_refuses_a_naive_datetime() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(datetime(2026, 3, 16, 10), SHANGHAI, HOURS, WorkingCalendar([]), set())


def test_slots_fill_each_interval_and_skip_the_lunch_break() -> None:
    slots = slot_windows(MONDAY, REGULAR_WEEKDAY, 30, SHANGHAI)
    assert _starts(slots) == HALF_HOUR_STARTS
    assert slots[-1][1] == datetime(2026, 3, 16, 17, 0, tzinfo=SHANGHAI)
    lunch_start = datetime(2026, 3, 16, 12, 0, tzinfo=SHANGHAI)
    lunch_end = datetime(2026, 3, 16, 13, 30, tzinfo=SHANGHAI)
    assert all(end <= lunch_start or start >= lunch_end for start, end in slots)
    assert all(start.tzinfo is SHANGHAI for start, _ in slots)


def test_slot_remainder_shorter_than_a_slot_is_dropped() -> None:
    slots = slot_windows(MONDAY, REGULAR_WEEKDAY, 45, SHANGHAI)
    assert _starts(slots) == [
        *(time(9), time(9, 45), time(10, 30), time(11, 15)),
        *(time(13, 30), time(14, 15), time(15), time(15, 45)),
    ]
    assert slots[-1][1].time() == time(16, 30)


def test_sunday_and_closure_give_no_slots() -> None:
    for day, closed in [(ORDINARY_SUNDAY, set()), (MONDAY, {MONDAY})]:
        intervals = intervals_on(day, HOURS, CALENDAR, closed)
        assert slot_windows(day, intervals, 30, SHANGHAI) == []


def test_slot_length_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        slot_windows(MONDAY, REGULAR_WEEKDAY, 0, SHANGHAI)


@pytest.mark.parametrize(
    ("day", "utc_offset"),
    [(date(2026, 3, 29), timedelta(hours=2)), (date(2026, 10, 25), timedelta(hours=1))],
)
def test_slots_on_dst_change_days_keep_wall_clock_times_and_real_length(
    day: date, utc_offset: timedelta
) -> None:
    slots = slot_windows(day, REGULAR_WEEKDAY, 30, BERLIN)
    assert _starts(slots) == HALF_HOUR_STARTS
    assert all(_real_length(slot) == timedelta(minutes=30) for slot in slots)
    assert all(start.utcoffset() == utc_offset for start, _ in slots)
    assert slots[0][0].astimezone(UTC) == datetime.combine(day, time(9), tzinfo=UTC) - utc_offset


def test_slots_touching_the_spring_gap_are_skipped() -> None:
    # Berlin, 29 March 2026: clocks jump from 02:00 to 03:00, so 02:00-02:59 do not exist.
    slots = slot_windows(date(2026, 3, 29), [(time(1), time(4))], 30, BERLIN)
    assert _starts(slots) == [time(1), time(3), time(3, 30)]
    assert all(_real_length(slot) == timedelta(minutes=30) for slot in slots)


def test_slots_touching_the_repeated_autumn_hour_are_skipped() -> None:
    # Berlin, 25 October 2026: clocks go back from 03:00 to 02:00, so 02:00-02:59 repeat.
    slots = slot_windows(date(2026, 10, 25), [(time(1), time(4))], 30, BERLIN)
    assert _starts(slots) == [time(1), time(3), time(3, 30)]
    assert all(_real_length(slot) == timedelta(minutes=30) for slot in slots)


def test_hour_long_slots_on_an_ordinary_berlin_day_are_an_hour_long() -> None:
    slots = slot_windows(date(2026, 3, 30), [(time(9), time(12))], 60, BERLIN)
    assert [_real_length(slot) for slot in slots] == [timedelta(hours=1)] * 3
