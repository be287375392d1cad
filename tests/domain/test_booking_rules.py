"""The change rules of a booked appointment: deadline, reschedules left, cancel and reschedule."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.booking import (
    AppointmentFacts,
    BookingPolicy,
    cancel_refusal,
    change_deadline,
    change_options,
    reschedule_refusal,
    reschedules_left,
)

POLICY = BookingPolicy(
    min_lead=timedelta(minutes=120),
    horizon_working_days=14,
    change_window=timedelta(hours=24),
    reschedule_limit=2,
    slot_minutes=30,
)
START = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 09:00 in Beijing
DEADLINE = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def booked(count: int = 0, status: str = "BOOKED") -> AppointmentFacts:
    return AppointmentFacts(status=status, starts_at=START, reschedule_count=count)


def test_change_deadline_is_the_start_minus_the_change_window() -> None:
    assert change_deadline(START, POLICY) == DEADLINE
    wider = BookingPolicy(POLICY.min_lead, 14, timedelta(hours=48), 2, 30)
    assert change_deadline(START, wider) == START - timedelta(hours=48)


@pytest.mark.parametrize(("count", "left"), [(0, 2), (1, 1), (2, 0), (3, 0), (9, 0)])
def test_reschedules_left_is_the_limit_minus_the_count_never_below_zero(
    count: int, left: int
) -> None:
    assert reschedules_left(booked(count), POLICY) == left


@pytest.mark.parametrize(
    "status", ["CANCELLED", "CANCELLED_BY_OFFICE", "RESCHEDULED", "CHECKED_IN", "NO_SHOW"]
)
def test_an_appointment_that_is_not_booked_has_no_reschedules_left(status: str) -> None:
    assert reschedules_left(booked(0, status), POLICY) == 0


def test_rescheduling_is_allowed_until_just_before_the_deadline() -> None:
    assert reschedule_refusal(booked(), DEADLINE - timedelta(microseconds=1), POLICY) is None
    at_deadline = reschedule_refusal(booked(), DEADLINE, POLICY)
    assert at_deadline is not None
    assert at_deadline.limit_reached is False
    assert "24 hours" in at_deadline.message


def test_rescheduling_with_no_reschedules_left_is_the_limit_before_the_deadline() -> None:
    refusal = reschedule_refusal(booked(2), DEADLINE - timedelta(days=3), POLICY)
    assert refusal is not None
    assert refusal.limit_reached is True
    assert "2 times" in refusal.message


def test_past_the_deadline_the_closed_window_is_named_before_the_limit() -> None:
    refusal = reschedule_refusal(booked(2), DEADLINE + timedelta(hours=1), POLICY)
    assert refusal is not None and refusal.limit_reached is False


def test_an_appointment_that_is_not_booked_cannot_be_rescheduled_or_cancelled() -> None:
    early = START - timedelta(days=5)
    for status in ("CANCELLED", "RESCHEDULED", "CHECKED_IN"):
        refusal = reschedule_refusal(booked(0, status), early, POLICY)
        assert refusal is not None and refusal.limit_reached is False
        assert "can no longer change" in refusal.message
        assert cancel_refusal(booked(0, status), early) is not None


def test_cancelling_is_allowed_until_the_start_even_inside_the_change_window() -> None:
    assert cancel_refusal(booked(), DEADLINE + timedelta(hours=23)) is None
    assert cancel_refusal(booked(2), START - timedelta(microseconds=1)) is None
    assert cancel_refusal(booked(), START) == (
        "This appointment has started; it can no longer be cancelled."
    )


def test_options_agree_with_the_refusals_at_every_moment() -> None:
    moments = [
        DEADLINE - timedelta(days=2),
        DEADLINE - timedelta(microseconds=1),
        DEADLINE,
        START - timedelta(minutes=1),
        START,
        START + timedelta(hours=1),
    ]
    for status in ("BOOKED", "CANCELLED", "RESCHEDULED"):
        for count in (0, 1, 2):
            facts = booked(count, status)
            for now in moments:
                options = change_options(facts, now, POLICY)
                assert options.cancellable is (cancel_refusal(facts, now) is None)
                assert options.reschedulable is (reschedule_refusal(facts, now, POLICY) is None)
                assert options.reschedules_left == reschedules_left(facts, POLICY)


def test_options_of_a_fresh_booking() -> None:
    options = change_options(booked(), DEADLINE - timedelta(days=1), POLICY)
    assert options.deadline == DEADLINE
    assert (options.reschedules_left, options.cancellable, options.reschedulable) == (
        2,
        True,
        True,
    )


def test_the_deadline_stays_once_passed_and_only_cancelling_remains() -> None:
    options = change_options(booked(1), DEADLINE + timedelta(hours=2), POLICY)
    assert options.deadline == DEADLINE
    assert (options.reschedules_left, options.cancellable, options.reschedulable) == (
        1,
        True,
        False,
    )


def test_no_deadline_once_no_reschedule_can_happen_again() -> None:
    used_up = change_options(booked(2), DEADLINE - timedelta(days=1), POLICY)
    assert used_up.deadline is None
    assert used_up.cancellable is True
    assert used_up.reschedulable is False
    cancelled = change_options(booked(0, "CANCELLED"), DEADLINE - timedelta(days=1), POLICY)
    assert cancelled.deadline is None
    assert (cancelled.reschedules_left, cancelled.cancellable, cancelled.reschedulable) == (
        0,
        False,
        False,
    )
