"""The waitlist's rules without a database: ranges that may be waited for, who is next in line,
and until when an offer holds its place (the night rule)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.waitlist import (
    BOOKED,
    EXPIRED,
    OFFERED,
    WAITING,
    Candidate,
    active_key,
    hold_starts,
    next_in_line,
    offer_expires,
    offer_open,
    range_refusal,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
URUMQI = ZoneInfo("Asia/Urumqi")
BERLIN = ZoneInfo("Europe/Berlin")
HOLD = timedelta(minutes=30)
FAR = datetime(2030, 1, 1, tzinfo=UTC)  # a slot far ahead: the cap plays no part


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = SHANGHAI) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)


DAY = date(2026, 12, 3)


def test_an_offer_by_day_holds_from_the_moment_it_is_made() -> None:
    made = local(DAY, 14, 10)
    assert hold_starts(made, SHANGHAI) == made
    assert offer_expires(made, SHANGHAI, HOLD, FAR) == local(DAY, 14, 40)


@pytest.mark.parametrize(
    ("hour", "minute", "morning"),
    [
        (22, 0, DAY + timedelta(days=1)),  # 22:00 itself is night
        (23, 59, DAY + timedelta(days=1)),
        (0, 0, DAY),
        (3, 30, DAY),
        (7, 59, DAY),
    ],
)
def test_an_offer_made_at_night_is_held_from_eight_in_the_morning(
    hour: int, minute: int, morning: date
) -> None:
    made = local(DAY, hour, minute)
    assert hold_starts(made, SHANGHAI) == local(morning, 8)
    assert offer_expires(made, SHANGHAI, HOLD, FAR) == local(morning, 8, 30)


@pytest.mark.parametrize(("hour", "minute"), [(8, 0), (12, 0), (21, 59)])
def test_day_starts_at_eight_and_ends_before_ten_in_the_evening(hour: int, minute: int) -> None:
    made = local(DAY, hour, minute)
    assert hold_starts(made, SHANGHAI) == made


def test_the_night_is_the_offices_own_not_beijings() -> None:
    # 23:00 in Beijing is 21:00 in Urumqi's zone: still day there.
    made = local(DAY, 23, 0)
    assert hold_starts(made, URUMQI) == made
    assert hold_starts(made, SHANGHAI) == local(DAY + timedelta(days=1), 8)


def test_the_morning_is_eight_oclock_local_time_across_a_clock_change() -> None:
    # Berlin moves its clocks back on 25 October 2026: the morning after is still 08:00 local.
    made = local(date(2026, 10, 24), 23, 0, BERLIN)
    assert hold_starts(made, BERLIN) == local(date(2026, 10, 25), 8, 0, BERLIN)
    assert hold_starts(made, BERLIN).astimezone(UTC) - made.astimezone(UTC) == timedelta(hours=10)


def test_the_hold_time_is_the_configured_one() -> None:
    made = local(DAY, 10, 0)
    assert offer_expires(made, SHANGHAI, timedelta(minutes=5), FAR) == local(DAY, 10, 5)
    assert offer_expires(made, SHANGHAI, timedelta(hours=2), FAR) == local(DAY, 12, 0)


def test_an_offer_never_outlives_the_last_moment_its_slot_may_be_booked() -> None:
    made = local(DAY, 23, 0)
    last_bookable = local(DAY + timedelta(days=1), 7, 0)  # a 09:00 slot, 2 hours' lead
    assert offer_expires(made, SHANGHAI, HOLD, last_bookable) == last_bookable
    by_day = local(DAY, 10, 0)
    assert offer_expires(by_day, SHANGHAI, HOLD, local(DAY, 10, 10)) == local(DAY, 10, 10)


def test_an_offer_is_open_only_while_offered_and_before_it_runs_out() -> None:
    ends = local(DAY, 10, 30)
    assert offer_open(OFFERED, ends, local(DAY, 10, 29))
    assert not offer_open(OFFERED, ends, ends)
    assert not offer_open(OFFERED, None, local(DAY, 10, 0))
    for status in (WAITING, BOOKED, EXPIRED):
        assert not offer_open(status, ends, local(DAY, 10, 0))


def test_the_first_to_join_whose_range_holds_the_day_is_next() -> None:
    line = [
        Candidate(7, date(2026, 12, 1), date(2026, 12, 2)),  # joined first, range too early
        Candidate(9, date(2026, 12, 1), date(2026, 12, 10)),
        Candidate(8, date(2026, 12, 3), date(2026, 12, 3)),  # joined before 9: next
        Candidate(12, date(2026, 12, 3), date(2026, 12, 9)),
    ]
    assert next_in_line(line, date(2026, 12, 3)) == line[2]
    assert next_in_line(line, date(2026, 12, 2)) == line[0]
    assert next_in_line(line, date(2026, 12, 10)) == line[1]
    assert next_in_line(line, date(2026, 12, 11)) is None
    assert next_in_line([], date(2026, 12, 3)) is None


def test_a_range_holds_its_first_and_last_day() -> None:
    entry = Candidate(1, date(2026, 12, 3), date(2026, 12, 5))
    assert entry.holds(date(2026, 12, 3)) and entry.holds(date(2026, 12, 5))
    assert not entry.holds(date(2026, 12, 2)) and not entry.holds(date(2026, 12, 6))


def test_ranges_must_be_in_order_not_past_and_within_the_horizon() -> None:
    today, last = date(2026, 12, 1), date(2026, 12, 18)
    assert range_refusal(today, last, today, last) is None
    assert range_refusal(date(2026, 12, 5), date(2026, 12, 5), today, last) is None
    backwards = range_refusal(date(2026, 12, 5), date(2026, 12, 4), today, last)
    assert backwards is not None and backwards.field == "to"
    past = range_refusal(date(2026, 11, 30), date(2026, 12, 4), today, last)
    assert past is not None and past.field == "from"
    beyond = range_refusal(date(2026, 12, 10), date(2026, 12, 19), today, last)
    assert beyond is not None and beyond.field == "to"
    assert "2026-12-18" in beyond.message


def test_one_key_per_applicant_and_service() -> None:
    assert active_key(4, "VISA_EXTENSION") == active_key(4, "VISA_EXTENSION")
    assert active_key(4, "VISA_EXTENSION") != active_key(4, "VISA_RENEWAL")
    assert active_key(4, "VISA_EXTENSION") != active_key(5, "VISA_EXTENSION")
