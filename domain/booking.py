"""Booking rules: when a slot may be booked, changed or cancelled, and what a change costs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.calendar import WorkingCalendar
from domain.messages import N_, Message, N_plural

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
    """The policy in force (from settings): lead time, horizon, change window, reschedules,
    and the length of the slots offices are divided into."""

    min_lead: timedelta
    horizon_working_days: int
    change_window: timedelta
    reschedule_limit: int
    slot_minutes: int


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
) -> Message | None:
    """Why a slot cannot be booked now, or None when it can."""
    if starts_at <= now:
        return N_("This slot has already started: choose a later time.")
    if starts_at < now + policy.min_lead:
        minutes = int(policy.min_lead.total_seconds() // 60)
        return N_plural(
            "This slot starts too soon: book at least %(count)s minute ahead.",
            "This slot starts too soon: book at least %(count)s minutes ahead.",
            minutes,
        )
    if local_day > horizon_end(today, calendar, policy):
        return N_plural(
            "This slot is beyond the booking horizon of %(count)s working day.",
            "This slot is beyond the booking horizon of %(count)s working days.",
            policy.horizon_working_days,
        )
    return None


def eligibility_refusal(service: str, held_document_kinds: frozenset[str]) -> Message | None:
    """Why the applicant may not book this service, or None.

    This is where per-service eligibility belongs (e.g. holding the document a service
    extends). None is in force yet: every applicant may book every service.
    """
    return None


@dataclass(frozen=True)
class AppointmentFacts:
    """What the change rules look at in an appointment."""

    status: str
    starts_at: datetime
    reschedule_count: int


@dataclass(frozen=True)
class RescheduleRefusal:
    """Why an appointment cannot be rescheduled now: the window closed, or the limit is used."""

    limit_reached: bool
    message: Message


def change_deadline(starts_at: datetime, policy: BookingPolicy) -> datetime:
    """The last moment an appointment starting at `starts_at` may be rescheduled."""
    return starts_at - policy.change_window


def reschedules_left(facts: AppointmentFacts, policy: BookingPolicy) -> int:
    """How many more times the appointment may be rescheduled; 0 unless it is BOOKED."""
    if facts.status != "BOOKED":
        return 0
    return max(0, policy.reschedule_limit - facts.reschedule_count)


# Each status in words of its own, so that every language can say it its way.
_NO_LONGER_CHANGES = {
    "CANCELLED": N_("This appointment is cancelled and can no longer change."),
    "CANCELLED_BY_OFFICE": N_(
        "This appointment was cancelled by the office and can no longer change."
    ),
    "RESCHEDULED": N_("This appointment was rescheduled and can no longer change."),
    "CHECKED_IN": N_("This appointment is checked in and can no longer change."),
    "COMPLETED": N_("This appointment is completed and can no longer change."),
    "NO_SHOW": N_("This appointment was missed (no-show) and can no longer change."),
}


def _no_longer_changes(status: str) -> Message:
    return _NO_LONGER_CHANGES.get(status) or N_(
        "This appointment is %(status)s and can no longer change.", status=status
    )


def reschedule_refusal(
    facts: AppointmentFacts, now: datetime, policy: BookingPolicy
) -> RescheduleRefusal | None:
    """Why the appointment cannot be moved to another slot now, or None when it can: only a
    BOOKED appointment, before its change deadline, with reschedules left."""
    if facts.status != "BOOKED":
        return RescheduleRefusal(False, _no_longer_changes(facts.status))
    if now >= change_deadline(facts.starts_at, policy):
        hours = int(policy.change_window.total_seconds() // 3600)
        return RescheduleRefusal(
            False,
            N_plural(
                "Appointments can be rescheduled until %(count)s hour before they start.",
                "Appointments can be rescheduled until %(count)s hours before they start.",
                hours,
            ),
        )
    if reschedules_left(facts, policy) == 0:
        return RescheduleRefusal(
            True,
            N_plural(
                "This appointment has been rescheduled %(count)s time, the most allowed. "
                "Cancel it and book again.",
                "This appointment has been rescheduled %(count)s times, the most allowed. "
                "Cancel it and book again.",
                policy.reschedule_limit,
            ),
        )
    return None


def cancel_refusal(facts: AppointmentFacts, now: datetime) -> Message | None:
    """Why the appointment cannot be cancelled now, or None: a BOOKED appointment may be
    cancelled until it starts (the change window limits rescheduling only)."""
    if facts.status != "BOOKED":
        return _no_longer_changes(facts.status)
    if now >= facts.starts_at:
        return N_("This appointment has started; it can no longer be cancelled.")
    return None


@dataclass(frozen=True)
class ChangeOptions:
    """What the applicant side may still do with an appointment, as of one moment."""

    deadline: datetime | None
    reschedules_left: int
    cancellable: bool
    reschedulable: bool


def change_options(facts: AppointmentFacts, now: datetime, policy: BookingPolicy) -> ChangeOptions:
    """The answers of `cancel_refusal` and `reschedule_refusal` for a screen. The deadline is
    the rescheduling deadline, and None once no reschedule can ever happen again (not BOOKED,
    or no reschedules left); it stays set after it has passed."""
    left = reschedules_left(facts, policy)
    return ChangeOptions(
        deadline=change_deadline(facts.starts_at, policy) if left > 0 else None,
        reschedules_left=left,
        cancellable=cancel_refusal(facts, now) is None,
        reschedulable=reschedule_refusal(facts, now, policy) is None,
    )


def active_key(applicant_id: int, service: str) -> str:
    """The value whose uniqueness allows one active appointment per applicant and service."""
    return f"{applicant_id}:{service}"
