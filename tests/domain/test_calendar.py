import logging
from datetime import date, timedelta

import pytest

from domain.calendar import (
    CalendarDay,
    DayKind,
    WorkingCalendar,
    known_year,
    official_calendar,
    official_days,
)


def _by_date(days: list[CalendarDay]) -> dict[date, CalendarDay]:
    return {entry.day: entry for entry in days}


def test_national_day_2026_is_a_holiday() -> None:
    entry = _by_date(official_days(2026))[date(2026, 10, 1)]
    assert entry.kind is DayKind.HOLIDAY
    assert entry.name == "National Day"
    assert entry.provisional is False
    assert not official_calendar([2026]).is_working_day(date(2026, 10, 1))


def test_new_years_day_2026_is_a_holiday() -> None:
    entry = _by_date(official_days(2026))[date(2026, 1, 1)]
    assert (entry.kind, entry.name) == (DayKind.HOLIDAY, "New Year's Day")
    assert official_calendar([2026]).is_holiday(date(2026, 1, 1))


def test_2026_adjusted_working_sunday_after_new_year_is_a_working_day() -> None:
    # chinese_calendar lists Sunday 4 January 2026 as a working day in lieu of New Year.
    sunday = date(2026, 1, 4)
    assert sunday.isoweekday() == 7
    entry = _by_date(official_days(2026))[sunday]
    assert (entry.kind, entry.name) == (DayKind.ADJUSTED_WORKDAY, "New Year's Day")
    calendar = official_calendar([2026])
    assert calendar.is_adjusted_workday(sunday)
    assert calendar.is_working_day(sunday)


def test_2026_adjusted_workdays_are_the_published_weekends() -> None:
    adjusted = sorted(d.day for d in official_days(2026) if d.kind is DayKind.ADJUSTED_WORKDAY)
    assert adjusted == [
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]


def test_weekend_days_inside_a_holiday_period_are_listed_as_holidays() -> None:
    saturday = date(2026, 10, 3)
    assert _by_date(official_days(2026))[saturday].kind is DayKind.HOLIDAY


def test_ordinary_weekday_and_weekend_are_not_listed() -> None:
    listed = _by_date(official_days(2026))
    assert date(2026, 3, 16) not in listed
    assert date(2026, 3, 14) not in listed


def test_2026_is_known_and_2027_is_not() -> None:
    assert known_year(2026)
    assert not known_year(2027)


def test_2027_falls_back_to_provisional_fixed_date_holidays() -> None:
    days = official_days(2027)
    assert sorted(d.day for d in days) == [
        date(2027, 1, 1),
        date(2027, 5, 1),
        date(2027, 5, 2),
        date(2027, 10, 1),
        date(2027, 10, 2),
        date(2027, 10, 3),
    ]
    assert all(d.kind is DayKind.HOLIDAY and d.provisional for d in days)
    assert _by_date(days)[date(2027, 10, 1)].name == "National Day"


def test_official_days_never_raises_from_1900_to_2200() -> None:
    for year in range(1900, 2201):
        assert official_days(year), year


def test_unpublished_year_is_provisional_and_published_year_is_not() -> None:
    calendar = official_calendar([2026, 2027])
    assert calendar.is_provisional(date(2027, 6, 1))
    assert not calendar.is_provisional(date(2026, 6, 1))
    assert not calendar.is_working_day(date(2027, 1, 1))


def test_year_is_provisional_when_told_or_when_a_day_of_it_is_provisional() -> None:
    told = WorkingCalendar([], provisional_years=[2028])
    assert told.is_provisional(date(2028, 3, 3))
    marked = WorkingCalendar(
        [CalendarDay(date(2029, 1, 1), DayKind.HOLIDAY, "New Year's Day", provisional=True)]
    )
    assert marked.is_provisional(date(2029, 7, 7))
    # 2026 is not stored in this calendar: chinese-calendar publishes it, so not provisional.
    assert not marked.is_provisional(date(2026, 7, 7))


def test_later_entry_for_a_date_replaces_the_seeded_one() -> None:
    seeded = CalendarDay(date(2027, 10, 3), DayKind.HOLIDAY, "National Day", provisional=True)
    corrected = CalendarDay(date(2027, 10, 9), DayKind.ADJUSTED_WORKDAY, "National Day", False)
    spring = CalendarDay(date(2027, 2, 8), DayKind.HOLIDAY, "Spring Festival", provisional=False)
    calendar = WorkingCalendar([seeded, corrected, spring])
    assert calendar.is_working_day(date(2027, 10, 9))
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert calendar.day_on(date(2027, 2, 8)) == spring


def test_adjusted_workday_must_fall_on_a_weekend() -> None:
    with pytest.raises(ValueError, match="Saturday or Sunday"):
        CalendarDay(date(2026, 3, 16), DayKind.ADJUSTED_WORKDAY, "Nothing", provisional=False)


def test_ordinary_weekday_is_working_and_ordinary_weekend_is_not() -> None:
    calendar = WorkingCalendar([])
    assert calendar.is_working_day(date(2026, 3, 16))
    assert not calendar.is_working_day(date(2026, 3, 14))
    assert not calendar.is_working_day(date(2026, 3, 15))


def test_add_working_days_skips_the_national_day_week() -> None:
    calendar = official_calendar([2026])
    # Wednesday 30 September; 1-7 October are holidays; Thursday 8 October is next.
    assert calendar.add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)
    # Then Friday 9 October and the adjusted working Saturday 10 October.
    assert calendar.add_working_days(date(2026, 9, 30), 3) == date(2026, 10, 10)


def test_add_zero_working_days_returns_the_start_even_on_a_holiday() -> None:
    calendar = official_calendar([2026])
    assert calendar.add_working_days(date(2026, 10, 1), 0) == date(2026, 10, 1)


def test_add_working_days_from_a_holiday_counts_from_the_next_working_day() -> None:
    calendar = official_calendar([2026])
    assert calendar.add_working_days(date(2026, 10, 2), 1) == date(2026, 10, 8)


def test_add_negative_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        WorkingCalendar([]).add_working_days(date(2026, 1, 5), -1)


def test_fifteen_working_day_decision_spans_the_spring_festival() -> None:
    calendar = official_calendar([2026])
    # Friday 6 Feb 2026 + 15 working days: 9-13 Feb (5), Sat 14 Feb adjusted (6),
    # 15-23 Feb holiday, 24-27 Feb (10), Sat 28 Feb adjusted (11), 2-5 Mar (15).
    assert calendar.add_working_days(date(2026, 2, 6), 15) == date(2026, 3, 5)


def test_working_days_between_counts_the_half_open_range() -> None:
    calendar = official_calendar([2026])
    assert calendar.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert calendar.working_days_between(date(2026, 3, 16), date(2026, 3, 23)) == 5
    assert calendar.working_days_between(date(2026, 3, 16), date(2026, 3, 16)) == 0
    assert calendar.working_days_between(date(2026, 3, 23), date(2026, 3, 16)) == 0


def test_working_days_between_inverts_add_working_days() -> None:
    calendar = official_calendar([2026, 2027])
    start = date(2026, 12, 20)
    for n in range(0, 40):
        assert calendar.working_days_between(start, calendar.add_working_days(start, n)) == n


def test_booking_horizon_into_unpublished_january_closes_new_years_day() -> None:
    calendar = official_calendar([2026, 2027])
    # Thursday 31 December 2026 + 1 working day skips provisional 1 January 2027 (Friday).
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar.is_provisional(date(2027, 1, 4))
    assert calendar.add_working_days(date(2026, 12, 31), 1) - date(2026, 12, 31) == timedelta(4)


# ------------------------------------------------- years the calendar was not seeded with


def _first_unpublished_year() -> int:
    return next(year for year in range(2027, 2300) if not known_year(year))


def test_far_years_not_stored_close_new_year_labour_day_and_national_day() -> None:
    calendar = official_calendar([2026])  # as a server seeded around 2026 holds it
    for year in (2029, 2030):
        for day in (date(year, 1, 1), date(year, 5, 1), date(year, 10, 1), date(year, 10, 3)):
            assert calendar.is_holiday(day), day
            assert not calendar.is_working_day(day), day
    assert date(2029, 10, 1).weekday() == 0 and date(2030, 5, 1).weekday() == 2  # weekdays
    assert calendar.day_on(date(2029, 10, 1)).name == "National Day"


def test_published_past_year_not_stored_follows_chinese_calendar() -> None:
    calendar = official_calendar([2026])
    assert not calendar.is_working_day(date(2023, 10, 2))  # Monday of the National Day week
    assert not calendar.is_working_day(date(2023, 9, 29))  # Mid-autumn Festival, a Friday
    assert calendar.is_adjusted_workday(date(2023, 10, 7))  # the Saturday worked in lieu
    assert calendar.is_working_day(date(2023, 10, 7))
    assert not calendar.is_provisional(date(2023, 10, 2))
    assert calendar.working_days_between(date(2023, 9, 28), date(2023, 10, 9)) == 3


def test_unpublished_year_not_stored_closes_exactly_the_fixed_date_holidays(caplog) -> None:
    year = _first_unpublished_year()
    calendar = WorkingCalendar([], years=[2026])
    days = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]  # 31 Dec is no holiday
    with caplog.at_level(logging.WARNING, logger="domain.calendar"):
        holidays = {d for d in days if calendar.is_holiday(d)}
        assert not any(calendar.is_adjusted_workday(d) for d in days)
        assert calendar.is_provisional(date(year, 6, 1))
    assert holidays == {d.day for d in official_days(year)}
    assert {(d.month, d.day) for d in holidays} == {
        (1, 1),
        (5, 1),
        (5, 2),
        (10, 1),
        (10, 2),
        (10, 3),
    }
    warnings = [r.getMessage() for r in caplog.records if str(year) in r.getMessage()]
    assert len(warnings) == 1 and "provisional" in warnings[0], caplog.records


def test_stored_years_are_answered_from_the_stored_days_only() -> None:
    # An admin-corrected stored year is the whole answer: nothing is added from the package.
    calendar = WorkingCalendar(
        [CalendarDay(date(2026, 1, 1), DayKind.HOLIDAY, "New Year's Day", provisional=False)],
        years=[2026],
    )
    assert calendar.is_working_day(date(2026, 10, 1))  # Thursday, not in the stored days
    assert not calendar.is_working_day(date(2025, 10, 1))  # 2025 is not stored


def test_calendar_running_into_a_year_it_does_not_store_keeps_new_years_day() -> None:
    calendar = official_calendar([2026])
    # Thursday 31 December 2026 + 1 working day: Friday 1 January 2027 is closed.
    assert calendar.add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar.is_provisional(date(2027, 1, 4)) is not known_year(2027)
