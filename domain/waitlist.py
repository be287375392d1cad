"""Waitlist rules: which ranges of days may be waited for, who is next in line for a freed
place, and until when an offer holds it (the night rule)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.messages import N_, Message

WAITING = "WAITING"
OFFERED = "OFFERED"
BOOKED = "BOOKED"
EXPIRED = "EXPIRED"
LEFT = "LEFT"

# An entry is in line (and blocks a second one for the same applicant and service) while it
# waits or holds an offer.
IN_LINE = frozenset({WAITING, OFFERED})

# Offers made at night are held from the morning: nobody should lose a place while asleep.
NIGHT_STARTS = time(22, 0)
NIGHT_ENDS = time(8, 0)


def active_key(applicant_id: int, service: str) -> str:
    """The value whose uniqueness allows one entry in line per applicant and service."""
    return f"{applicant_id}:{service}"


@dataclass(frozen=True)
class RangeRefusal:
    """Why a range of days cannot be waited for, and the input field at fault."""

    message: Message
    field: str


def range_refusal(first: date, last: date, today: date, last_bookable: date) -> RangeRefusal | None:
    """Why the days first..last (office time) cannot be waited for, or None: the range must
    be in order, not start in the past and not end beyond the booking horizon."""
    if last < first:
        return RangeRefusal(N_("`to` must not be before `from`."), "to")
    if first < today:
        return RangeRefusal(N_("The range of days cannot start in the past."), "from")
    if last > last_bookable:
        return RangeRefusal(
            N_(
                "The range of days reaches beyond the booking horizon: the last day that can "
                "be booked is %(day)s.",
                day=last_bookable.isoformat(),
            ),
            "to",
        )
    return None


def hold_starts(offered_at: datetime, tz: ZoneInfo) -> datetime:
    """When the hold of an offer made at `offered_at` starts counting: at once by day; at
    08:00 office time for an offer made between 22:00 and 08:00."""
    local = offered_at.astimezone(tz)
    if NIGHT_ENDS <= local.time() < NIGHT_STARTS:
        return offered_at
    morning = local.date() if local.time() < NIGHT_ENDS else local.date() + timedelta(days=1)
    # In UTC, so that adding the hold counts real minutes even across a clock change.
    return datetime.combine(morning, NIGHT_ENDS, tzinfo=tz).astimezone(UTC)


def offer_expires(
    offered_at: datetime, tz: ZoneInfo, hold: timedelta, last_bookable_at: datetime
) -> datetime:
    """When an offer made at `offered_at` runs out: the hold time after it starts (see
    `hold_starts`), but never after the last moment its slot may still be booked (its start
    minus the booking lead time), when accepting it could not succeed any more."""
    return min(hold_starts(offered_at, tz) + hold, max(offered_at, last_bookable_at))


def offer_possible(offered_at: datetime, tz: ZoneInfo, last_bookable_at: datetime) -> bool:
    """Whether a place may be offered at `offered_at`: its hold must start (see `hold_starts`)
    before the last moment the slot may be booked. A place freed at night for a slot early
    next morning is not offered (the hold would only keep it from everyone until it can no
    longer be booked, the applicant asleep); it stays free for anyone to book."""
    return hold_starts(offered_at, tz) < last_bookable_at


def offer_open(status: str, expires_at: datetime | None, now: datetime) -> bool:
    """Whether an offer may be accepted now: the entry holds one that has not run out."""
    return status == OFFERED and expires_at is not None and now < expires_at


@dataclass(frozen=True)
class Candidate:
    """A WAITING entry as the line sees it: its join order (id) and range of days."""

    entry_id: int
    first_day: date
    last_day: date

    def holds(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def next_in_line(candidates: Iterable[Candidate], day: date) -> Candidate | None:
    """Who is offered a place freed on `day`: the first WAITING entry to have joined (lowest
    id) whose range holds the day; None when nobody waits for it."""
    fitting = [c for c in candidates if c.holds(day)]
    return min(fitting, key=lambda c: c.entry_id) if fitting else None
