"""Offers to the waitlist: a freed place is held, in the unit of work that frees it, for the
first WAITING entry whose range holds it, and they hear of it; an offer that runs out or is
declined passes to the next in line. Used by every path that frees, books or closes places.

Every function here runs inside a unit of work whose lines are locked first (`lock`), before
any slot or entry row is touched (see persistence/waitlist.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.booking import SERVICE_GROUPS, BookingPolicy, horizon_end
from domain.waitlist import (
    BOOKED,
    EXPIRED,
    OFFERED,
    WAITING,
    Candidate,
    hold_starts,
    next_in_line,
    offer_open,
    offer_possible,
)
from domain.waitlist import offer_expires as expiry_of_offer
from persistence import appointments as slot_store
from persistence import offices as office_store
from persistence import waitlist as store
from persistence.models import Appointment, NotificationKind, Office, Slot, WaitlistEntry
from resolvers.context import Context
from resolvers.notices import local_time, place_facts
from resolvers.notifications import notify

Line = tuple[int, str]


def line_of(office_id: int, service: str) -> Line:
    """The line (office, service group) an entry or appointment for `service` stands in."""
    return office_id, SERVICE_GROUPS[service]


async def write_first() -> None:
    """As the first statement of a unit of work that will write: SQLite's writer lock now
    (see persistence/waitlist.py)."""
    await store.write_first()


async def lock(lines: Iterable[Line]) -> None:
    """Take these lines' locks for the rest of the unit of work, before touching their slots
    or entries."""
    await store.lock_lines(lines)


async def lock_applicant(person_id: int, service: str) -> None:
    """The applicant's lock for the service (persistence/waitlist.py), before any line's."""
    await store.lock_applicant(person_id, service)


def hold_time(ctx: Context) -> timedelta:
    return timedelta(minutes=ctx.settings.waitlist_hold_minutes)


async def _bookable_window(
    ctx: Context, slot: Slot, policy: BookingPolicy
) -> tuple[Office, datetime] | None:
    """The slot's office and the last moment the slot may be booked, when an offer of it made
    now could be accepted (open, within the horizon, and bookable still once the offer's hold
    starts: a place freed at night for an early-morning slot, which the applicant could take
    only before 08:00, is not held through the night for them; it stays free); else None."""
    if not slot.open:
        return None
    office = await office_store.office(slot.office_id)
    assert office is not None
    last_bookable_at = slot.starts_at - policy.min_lead
    if not offer_possible(ctx.now(), ZoneInfo(office.time_zone), last_bookable_at):
        return None
    day = slot.starts_at.astimezone(ZoneInfo(office.time_zone)).date()
    if day > horizon_end(ctx.today(office), ctx.services.calendar, policy):
        return None
    return office, last_bookable_at


async def offer_freed(
    ctx: Context, slot_id: int, policy: BookingPolicy, line: Line | None = None
) -> WaitlistEntry | None:
    """A place of the slot (of `line`, when the caller knows it) was freed in this unit of
    work: hold it for the first WAITING entry of the slot's line whose range holds the slot's
    day, and tell them. None when nobody waits for it, or it cannot be booked any more: the
    place stays free."""
    if line is not None and not await store.anyone_waiting(*line):
        return None  # the common case, in one statement
    slot = await slot_store.slot(slot_id)
    if slot is None:
        return None
    window = await _bookable_window(ctx, slot, policy)
    if window is None:
        return None
    office, last_bookable_at = window
    day = slot.starts_at.astimezone(ZoneInfo(office.time_zone)).date()
    while True:
        rows = await store.waiting_for_day(slot.office_id, slot.service_group, day)
        chosen = next_in_line((Candidate(r.id, r.first_day, r.last_day) for r in rows), day)
        if chosen is None:
            return None
        entry = next(r for r in rows if r.id == chosen.entry_id)
        if await _offer(ctx, entry, slot, office, last_bookable_at):
            return entry
        if not await _has_free_place(slot.id):
            return None


async def _has_free_place(slot_id: int) -> bool:
    slot = await slot_store.slot(slot_id)
    return slot is not None and slot.open and slot.booked + slot.held < slot.capacity


async def _offer(
    ctx: Context, entry: WaitlistEntry, slot: Slot, office: Office, last_bookable_at: datetime
) -> bool:
    """Hold a place of the slot for the entry and tell its applicant (and their helpers);
    False, holding nothing, when the slot has no free place or the entry stopped waiting."""
    if not await store.hold_place(slot.id):
        return False
    now = ctx.now()
    expires = expiry_of_offer(now, ZoneInfo(office.time_zone), hold_time(ctx), last_bookable_at)
    if not await store.claim_for_offer(entry.id, slot.id, now, expires):
        await store.release_hold(slot.id)
        return False
    entry.status, entry.offer_slot_id = OFFERED, slot.id
    entry.offered_at, entry.offer_expires_at = now, expires
    await notify(
        NotificationKind.WAITLIST_OFFER,
        about_person_id=entry.applicant_id,
        subject=("WaitlistEntry", entry.id),
        facts={
            **place_facts(office, slot.starts_at),
            "expires": local_time(expires, office.time_zone),
        },
        mail_by=expires,
    )
    return True


async def pass_on(ctx: Context, slot_id: int, policy: BookingPolicy) -> WaitlistEntry | None:
    """An offer on the slot ended without a booking: its held place goes to the next in
    line, or becomes free when nobody waits for it."""
    await store.release_hold(slot_id)
    return await offer_freed(ctx, slot_id, policy)


async def expire(ctx: Context, line: Line, policy: BookingPolicy) -> int:
    """End the line's offers that have run out (EXPIRED) and pass their places on; how many
    ended. The line must be locked."""
    now = ctx.now()
    ended = 0
    for row in await store.run_out(*line, now):
        if await store.end_offer(row.id, EXPIRED, now) and row.offer_slot_id is not None:
            ended += 1
            await pass_on(ctx, row.offer_slot_id, policy)
    return ended


async def due(lines: Iterable[Line], now: datetime) -> list[Line]:
    """Those of the lines with an offer that has run out and is still held."""
    return [line for line in sorted(set(lines)) if await store.has_run_out(*line, now)]


async def expire_due(ctx: Context, lines: Iterable[Line], policy: BookingPolicy) -> int:
    """Lazily, before slots of these lines are read or booked: end the offers that have run
    out, so that what is shown and booked never waits for the expiry loop. Nothing is locked
    when no offer has run out."""
    due_now = await due(lines, ctx.now())
    if not due_now:
        return 0
    await lock(due_now)
    return sum([await expire(ctx, line, policy) for line in due_now])


async def offer_free_places(ctx: Context, line: Line, policy: BookingPolicy) -> int:
    """Give free places of the line to the WAITING entries, in join order, each the earliest
    free place its range holds (after new slots, or offers returned by a closure); how many
    were offered. The line must be locked."""
    office_id, group = line
    office = await office_store.office(office_id)
    if office is None:
        return 0
    tz = ZoneInfo(office.time_zone)
    offered = 0
    for entry in await store.waiting_in_line(office_id, group):
        start = slot_store.local_day_bounds(entry.first_day, tz)[0]
        end = slot_store.local_day_bounds(entry.last_day, tz)[1]
        # The earliest place an offer made now could be accepted for: starting strictly
        # after the hold's start plus the lead (see _bookable_window), so that the one found
        # is never refused there while a later one would have done.
        earliest = hold_starts(ctx.now(), tz) + policy.min_lead + timedelta(microseconds=1)
        slot = await store.first_free_place(office_id, group, start, end, earliest)
        window = await _bookable_window(ctx, slot, policy) if slot is not None else None
        if slot is not None and window is not None:
            offered += await _offer(ctx, entry, slot, office, window[1])
    return offered


async def after_closure(
    ctx: Context, office_id: int, start: datetime, end: datetime, policy: BookingPolicy
) -> None:
    """The office closed [start, end): offers held in its slots go back in line (their place
    in line kept) and the line's free places are offered again. The office's lines must be
    locked before the slots were closed."""
    returned = await store.offers_between(office_id, start, end)
    await store.back_in_line([r.id for r in returned])
    office = await office_store.office(office_id) if returned else None
    for row in returned:
        if row.offer_slot_id is not None:
            await store.release_hold(row.offer_slot_id)
            slot = await slot_store.slot(row.offer_slot_id)
            assert office is not None and slot is not None
            # The offer they were told of is gone: told too (WAITLIST_OFFER_WITHDRAWN).
            await notify(
                NotificationKind.WAITLIST_OFFER_WITHDRAWN,
                about_person_id=row.applicant_id,
                subject=("WaitlistEntry", row.id),
                facts=place_facts(office, slot.starts_at),
            )
    for line in sorted({(office_id, r.service_group) for r in returned}):
        await offer_free_places(ctx, line, policy)


def office_lines(office_id: int) -> list[Line]:
    """Every line of an office (one per service group)."""
    return [(office_id, group) for group in sorted(set(SERVICE_GROUPS.values()))]


async def before_booking(
    ctx: Context, slot: Slot, applicant_id: int, service: str, policy: BookingPolicy
) -> WaitlistEntry | None:
    """Before a place of the slot is booked for the applicant: lock the slot's line when one
    of its offers has run out (and end those), and the line of the applicant's own entry for
    the service, if any; that entry, read again under its lock."""
    now = ctx.now()
    slot_line = (slot.office_id, slot.service_group)
    run_out = await store.has_run_out(*slot_line, now)
    mine = await store.in_line(applicant_id, service)
    lines = ([slot_line] if run_out else []) + ([line_of(mine.office_id, service)] if mine else [])
    await lock(lines)
    if run_out:
        await expire(ctx, slot_line, policy)
    return await store.in_line(applicant_id, service) if mine is not None else None


def holds_for(mine: WaitlistEntry | None, slot: Slot, now: datetime) -> bool:
    """Whether the applicant's own entry (read under its line's lock) holds a place in
    `slot` for them: then booking that slot is taking the held place (accepting the offer),
    not looking for a free one."""
    return (
        mine is not None
        and mine.offer_slot_id == slot.id
        and offer_open(mine.status, mine.offer_expires_at, now)
    )


async def held_place(slot_id: int) -> bool:
    """Turn the slot's held place into a booked one (place_appointment's `take`)."""
    return await store.hold_to_booking(slot_id)


async def take_held(ctx: Context, mine: WaitlistEntry, appointment: Appointment) -> bool:
    """The applicant booked the place their offer held: the entry is over (BOOKED)."""
    return await store.end_offer(mine.id, BOOKED, ctx.now(), appointment_id=appointment.id)


async def after_booking(
    ctx: Context, mine: WaitlistEntry | None, appointment: Appointment, policy: BookingPolicy
) -> None:
    """The applicant booked the service: their entry in line is over (BOOKED), and a place
    it held passes to the next in line."""
    if mine is None:
        return
    now = ctx.now()
    if mine.status == WAITING:
        await store.end_waiting(mine.id, BOOKED, now, appointment_id=appointment.id)
    elif mine.status == OFFERED and await store.end_offer(
        mine.id, BOOKED, now, appointment_id=appointment.id
    ):
        assert mine.offer_slot_id is not None
        await pass_on(ctx, mine.offer_slot_id, policy)
