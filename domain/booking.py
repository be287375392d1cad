"""Booking rules: when a slot may be booked, changed or cancelled, and what a change costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.calendar import WorkingCalendar

SERVICE_GROUPS: dict[str, str] = {
    "VISA_EXTENSION": "VISA",
    "VISA_RENEWAL": "VISA",
    "VISA_REISSUANCE": "VISA",
    "STAY_PERMIT_ISSUANCE": "VISA",
    "STAY_PERMIT_EXTENSION": "VISA",
    "STAY_PERMIT_RENEWAL": "VISA",
    "STAY_PERMIT_REISSUANCE": "VISA",
    "RESIDENCE_PERMIT_ISSUANCE": "RESIDENCE",
    "RESIDENCE_PERMIT_EXTENSION": "RESIDENCE",
    "RESIDENCE_PERMIT_RENEWAL": "RESIDENCE",
    "RESIDENCE_PERMIT_REISSUANCE": "RESIDENCE",
}

ACTIVE_STATUSES = frozenset({"BOOKED", "CHECKED_IN"})


@dataclass(frozen=True)
class BookingPolicy:
    """The policy in force (from settings): lead time, horizon, change window, reschedules."""

    min_lead: timedelta
    horizon_working_days: int
    change_window: timedelta
    reschedule_limit: int


def horizon_end(today: date, calendar: WorkingCalendar, policy: BookingPolicy) -> date:
    """The last day that can be booked: `horizon_working_days` working days after today."""
    return calendar.add_working_days(today, policy.horizon_working_days)


def slot_refusal(
    *,
    starts_at: datetime,
    local_day: date,
    now: datetime,
    today: date,
    calendar: WorkingCalendar,
    policy: BookingPolicy,
) -> str | None:
    """Why a slot cannot be booked now, or None when it can."""
    if starts_at < now + policy.min_lead:
        minutes = int(policy.min_lead.total_seconds() // 60)
        return f"This slot starts too soon: book at least {minutes} minutes ahead."
    if local_day > horizon_end(today, calendar, policy):
        return (
            f"This slot is beyond the booking horizon of {policy.horizon_working_days} "
            "working days."
        )
    return None


def eligibility_refusal(service: str, held_document_kinds: frozenset[str]) -> str | None:
    """Why the applicant may not book this service, or None.

    This is where per-service eligibility belongs (e.g. holding the document a service
    extends). None is in force yet: every applicant may book every service.
    """
    return None


def change_refusal(
    *, status: str, starts_at: datetime, now: datetime, policy: BookingPolicy
) -> str | None:
    """Why a booked appointment cannot be rescheduled now, or None."""
    if status != "BOOKED":
        return f"This appointment is {status.lower().replace('_', ' ')} and can no longer change."
    if now >= starts_at - policy.change_window:
        hours = int(policy.change_window.total_seconds() // 3600)
        return f"Appointments can be rescheduled until {hours} hours before they start."
    return None


def cancel_refusal(*, status: str, starts_at: datetime, now: datetime) -> str | None:
    """Why a booked appointment cannot be cancelled now, or None (allowed until it starts)."""
    if status != "BOOKED":
        return f"This appointment is {status.lower().replace('_', ' ')} and can no longer change."
    if now >= starts_at:
        return "This appointment has started; it can no longer be cancelled."
    return None


def reschedule_limit_reached(count: int, policy: BookingPolicy) -> bool:
    return count >= policy.reschedule_limit


def active_key(applicant_id: int, service: str) -> str:
    """The value whose uniqueness allows one active appointment per applicant and service."""
    return f"{applicant_id}:{service}"
