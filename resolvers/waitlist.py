"""The waitlist as people use it: joining a line, leaving it (declining an offer), accepting an
offer, listing a person's entries; and the work outside requests: the expiry loop and the
offers of newly generated slots."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from domain.booking import SERVICE_GROUPS, eligibility_refusal, horizon_end
from domain.messages import N_, Message
from domain.waitlist import BOOKED, LEFT, OFFERED, WAITING, active_key, offer_open, range_refusal
from persistence import appointments as appointment_store
from persistence import offices as office_store
from persistence import waitlist as store
from persistence.models import Appointment, AppointmentStatus, Slot, WaitlistEntry
from resolvers import authorization as gate
from resolvers import notices, rounds, unit_of_work, waitlist_offers
from resolvers.appointments import (
    BOOK,
    bookable_slot,
    booking_policy,
    charge_booking_attempt,
    place_appointment,
    policy,
    shown_booked,
)
from resolvers.context import Context, Services
from resolvers.outcomes import (
    Refusal,
    RefusalKind,
    Replay,
    invalid,
    require_field_days_in_range,
)
from resolvers.reminders import system_context

log = logging.getLogger("waitlist")

# The most free slots a PlacesAvailable answer lists (the earliest ones).
MAX_PLACES_SHOWN = 50


def _already_waiting(entry: WaitlistEntry | None) -> Refusal:
    return Refusal(
        RefusalKind.ALREADY_WAITING,
        N_(
            "The applicant is already on the waitlist for this service. Leave that entry "
            "first to wait elsewhere."
        ),
        {"entry": entry},
    )


def _places_available(slots: Sequence[Slot]) -> Refusal:
    return Refusal(
        RefusalKind.PLACES_AVAILABLE,
        N_("There are free places in this range: book one of them instead."),
        {"slots": list(slots)},
    )


# Why an entry has no offer to accept, by its status.
_NO_OFFER: dict[str, Message] = {
    WAITING: N_("This entry has no offer yet: it is still waiting for a place."),
    "EXPIRED": N_("The offer ran out and the place passed to the next in line."),
    LEFT: N_("This entry has left the waitlist."),
    "BOOKED": N_("This entry's place is already booked."),
}


def _offer_expired(entry: WaitlistEntry) -> Refusal:
    return Refusal(RefusalKind.OFFER_EXPIRED, _NO_OFFER.get(entry.status, _NO_OFFER["EXPIRED"]))


async def join(
    ctx: Context,
    *,
    person_id: int | None,
    office_id: int | None,
    service: str,
    first: date,
    last: date,
) -> WaitlistEntry | Refusal:
    """Put the applicant in line for a place at the office for the service on one of the days
    first..last; refusals that follow the line's expired offers being ended are returned (so
    that ending them is kept)."""
    grant = await gate.require(ctx, person_id, BOOK)
    await charge_booking_attempt(ctx)
    require_field_days_in_range("from", first)
    require_field_days_in_range("to", last)
    office = await office_store.office(office_id) if office_id is not None else None
    if office is None:
        raise invalid(N_("No office has this ID."), "officeId")
    gate.require_office(ctx, grant, office.id)
    if service not in await ctx.loaders.office_services.load(office.id):
        raise invalid(N_("This office does not offer this service."), "service")
    p = policy(ctx)
    today = ctx.today(office)
    refusal = range_refusal(first, last, today, horizon_end(today, ctx.services.calendar, p))
    if refusal is not None:
        raise invalid(refusal.message, refusal.field)
    line = waitlist_offers.line_of(office.id, service)
    tz = ZoneInfo(office.time_zone)
    start = appointment_store.local_day_bounds(first, tz)[0]
    end = appointment_store.local_day_bounds(last, tz)[1]
    # The applicant's lock first (a booking of the service in flight commits before this
    # looks for it), then the line's before looking for free places: a place freed
    # meanwhile is offered to this entry, or seen here; never neither.
    await waitlist_offers.lock_applicant(grant.person_id, service)
    # The applicant's own entry in another line, whose offer has run out, ends too (its
    # place passed on): it no longer stands in the way. Locked with this line, in one order.
    lines = [line]
    mine = await store.in_line(grant.person_id, service)
    if (
        mine is not None
        and mine.status == OFFERED
        and not offer_open(mine.status, mine.offer_expires_at, ctx.now())
    ):
        lines.append(waitlist_offers.line_of(mine.office_id, service))
    await waitlist_offers.lock(lines)
    for each in sorted(set(lines)):
        await waitlist_offers.expire(ctx, each, p)
    existing = await appointment_store.active_appointment(grant.person_id, service)
    if existing is not None:
        return shown_booked(ctx, grant, existing)
    waiting = await store.in_line(grant.person_id, service)
    if waiting is not None:
        return gate.showing(
            ctx, _already_waiting(waiting), grant, "READ_WAITLIST", f"WaitlistEntry:{waiting.id}"
        )
    earliest = ctx.now() + p.min_lead
    free = await appointment_store.open_slots(office.id, line[1], start, end, earliest)
    if free:
        return _places_available(free[:MAX_PLACES_SHOWN])
    if not await appointment_store.has_opening(office.id, line[1], start, end, earliest):
        # An entry for days the office is closed would never be offered a place, and would
        # hold the applicant's one entry of the service meanwhile. Returned, not raised: the
        # line's run-out offers ended above stay ended.
        return invalid(
            N_(
                "The office has no appointments for this service on these days (closed, or "
                "past the last time that can be booked): choose days it is open."
            ),
            "from",
        )
    assert ctx.account is not None
    try:
        entry = await store.create_entry(
            applicant_id=grant.person_id,
            service=service,
            service_group=SERVICE_GROUPS[service],
            office_id=office.id,
            first_day=first,
            last_day=last,
            status=WAITING,
            active_key=active_key(grant.person_id, service),
            joined_by_id=ctx.account.id,
            joined_by_kind=grant.actor_kind,
            delegation_id=grant.delegation_id,
            created_at=ctx.now(),
        )
    except store.AlreadyInLine as exc:
        # A concurrent join won; read it after this transaction has rolled back.
        applicant_id = grant.person_id

        async def already_waiting() -> Refusal:
            return _already_waiting(await store.in_line(applicant_id, service))

        raise Replay(already_waiting) from exc
    gate.acted(ctx, grant, "JOIN_WAITLIST", f"WaitlistEntry:{entry.id}")
    return entry


async def _entry_for(ctx: Context, entry_id: int | None) -> tuple[WaitlistEntry, gate.Grant]:
    """The entry and the grant to act for its applicant (BOOK_APPOINTMENTS); NotPermitted
    for a missing entry and for anyone else's alike, and for an officer of another office."""
    entry, grant = await gate.require_row(ctx, entry_id, store.entry, BOOK)
    gate.require_office(ctx, grant, entry.office_id)
    return entry, grant


async def _locked(ctx: Context, entry: WaitlistEntry) -> WaitlistEntry:
    """The entry read again under its line's lock, its line's run-out offers ended first."""
    line = (entry.office_id, entry.service_group)
    await waitlist_offers.lock([line])
    await waitlist_offers.expire(ctx, line, policy(ctx))
    fresh = await store.entry(entry.id)
    assert fresh is not None
    return fresh


async def leave(ctx: Context, entry_id: int | None) -> WaitlistEntry:
    """Leave the line: a WAITING entry stops waiting; an OFFERED one declines its offer and
    the place passes to the next in line. An entry already out of line stays as it is."""
    entry, grant = await _entry_for(ctx, entry_id)
    entry = await _locked(ctx, entry)
    now = ctx.now()
    if entry.status == WAITING:
        await store.end_waiting(entry.id, LEFT, now)
    elif entry.status == OFFERED and await store.end_offer(entry.id, LEFT, now):
        assert entry.offer_slot_id is not None
        await waitlist_offers.pass_on(ctx, entry.offer_slot_id, policy(ctx))
    else:
        return entry
    gate.acted(ctx, grant, "LEAVE_WAITLIST", f"WaitlistEntry:{entry.id}")
    left = await store.entry(entry.id)
    assert left is not None
    return left


async def accept(ctx: Context, entry_id: int | None) -> Appointment | Refusal:
    """Book the place an offer holds, with every booking rule (but not counted as a booking
    attempt: the place is the applicant's already). An offer that ran out answers
    OfferExpired, and its place has passed on. An applicant who holds a booking of the
    service already is answered AlreadyBooked, their wait ended by it and the held place
    passed on (not left held for someone who cannot take it)."""
    entry, grant = await _entry_for(ctx, entry_id)
    await waitlist_offers.lock_applicant(entry.applicant_id, entry.service)
    entry = await _locked(ctx, entry)
    if entry.status == BOOKED:
        # Asked again (a retry after a lost answer): the same answer while the booking holds.
        return await _answered_again(ctx, grant, entry)
    if not offer_open(entry.status, entry.offer_expires_at, ctx.now()):
        return _offer_expired(entry)
    existing = await appointment_store.active_appointment(entry.applicant_id, entry.service)
    if existing is not None:
        await waitlist_offers.after_booking(ctx, entry, existing, policy(ctx))
        return shown_booked(ctx, grant, existing)
    reason = eligibility_refusal(entry.service, frozenset())
    if reason:
        raise invalid(reason, "id")
    slot = await bookable_slot(ctx, entry.offer_slot_id, entry.service)
    appointment = await place_appointment(
        ctx, grant, slot, entry.service, take=store.hold_to_booking
    )
    if not await store.end_offer(entry.id, BOOKED, ctx.now(), appointment_id=appointment.id):
        raise _offer_expired(entry)
    await notices.appointment_booked(appointment)
    gate.acted(ctx, grant, "ACCEPT_WAITLIST_OFFER", appointment.reference)
    return appointment


async def _answered_again(
    ctx: Context, grant: gate.Grant, entry: WaitlistEntry
) -> Appointment | Refusal:
    """The answer to accepting an offer whose entry is BOOKED already, as the first accept
    gave it while its booking holds: the booking (BookingConfirmed) when it took the offered
    place, AlreadyBooked naming it when the applicant's own booking ended the wait. A booking
    since cancelled or moved answers, as before, that the entry's place was booked."""
    booked = (
        await appointment_store.appointment(entry.appointment_id)
        if entry.appointment_id is not None
        else None
    )
    if booked is None or booked.status != AppointmentStatus.BOOKED:
        return _offer_expired(entry)
    if booked.slot_id != entry.offer_slot_id:
        return shown_booked(ctx, grant, booked)
    gate.acted(ctx, grant, "READ_APPOINTMENTS", booked.reference)
    return booked


# ------------------------------------------------------------------------------- reading


async def entries_of(ctx: Context, person_id: int) -> list[WaitlistEntry] | None:
    """The person's waitlist entries, newest first; None without BOOK_APPOINTMENTS. Offers
    that ran out are ended first, so none is shown as still held."""
    if await gate.read(ctx, person_id, BOOK, "READ_WAITLIST") is None:
        return None
    rows = await store.entries_of(person_id)
    now = ctx.now()
    stale = {
        (r.office_id, r.service_group)
        for r in rows
        if r.status == OFFERED and not offer_open(r.status, r.offer_expires_at, now)
    }
    if stale:
        await _expire_lines(ctx, stale)
        rows = await store.entries_of(person_id)
    return rows


async def current(ctx: Context, row: WaitlistEntry) -> WaitlistEntry:
    """The entry as it stands now: an offer that ran out is ended first (and its place passed
    on), so a read by ID never shows a held place that is gone."""
    if row.status != OFFERED or offer_open(row.status, row.offer_expires_at, ctx.now()):
        return row
    await _expire_lines(ctx, {(row.office_id, row.service_group)})
    return await store.entry(row.id) or row


async def _expire_lines(ctx: Context, lines: set[waitlist_offers.Line]) -> None:
    async def work() -> int:
        await store.write_first()
        return await waitlist_offers.expire_due(ctx, lines, policy(ctx))

    await unit_of_work.run(ctx, work)


async def position(ctx: Context, entry: WaitlistEntry) -> int | None:
    """The entry's place in line (1 = next), or None unless it is WAITING; the entries of a
    list in one statement."""
    return await ctx.loaders.waitlist_position.load(entry)


async def offered_slot(entry: WaitlistEntry) -> Slot | None:
    """The slot whose place the entry's offer holds, while it is OFFERED."""
    if entry.status != OFFERED or entry.offer_slot_id is None:
        return None
    return await appointment_store.slot(entry.offer_slot_id)


# ------------------------------------------------------------------- outside requests


async def expire_run_out_offers(services: Services) -> int:
    """One round of the expiry loop: end every offer that ran out and pass its place on, one
    line per unit of work; a line another process (or a request) is working on is left to
    it (its lock is tried, not waited for). How many offers ended."""
    ctx = system_context(services)
    p = booking_policy(services.settings)
    ended = 0
    for line in await store.lines_run_out(services.clock.now()):

        async def work(line: waitlist_offers.Line = line) -> int:
            await store.write_first()
            if not await store.try_lock_line(*line):
                return 0
            return await waitlist_offers.expire(ctx, line, p)

        result = await unit_of_work.run(ctx, work)
        ended += result if isinstance(result, int) else 0
    if ended:
        log.info("waitlist: %d offers ran out and passed on", ended)
    return ended


async def run_forever(services: Services) -> None:
    """Every WAITLIST_EVERY_SECONDS, one expiry round; a failed round is logged and retried."""
    seconds = services.settings.waitlist_every_seconds
    await rounds.every(
        seconds, lambda: expire_run_out_offers(services), log, "a waitlist expiry round failed"
    )


async def release_slots(
    services: Services,
    generate: Callable[[list[int]], Awaitable[int]],
    office_ids: Sequence[int] | None = None,
) -> int:
    """Create slots with `generate` (given the offices to make them for), one office per
    unit of work, and in that unit of work offer their places to those waiting for them (in
    join order); how many slots were created. Office by office, so that no transaction
    holds SQLite's one writer for long (another process starting meanwhile waits for it)."""
    ctx = system_context(services)
    p = booking_policy(services.settings)
    created = 0
    for office_id in office_ids or await appointment_store.office_ids():

        async def work(office_id: int = office_id) -> int:
            await store.write_first()
            # Every line of the office locked before its slots are made: a join waits for
            # this unit of work and then sees the new places (PLACES_AVAILABLE), or joined
            # before it and is among those waiting below. Without it, a join checking for
            # places before they commit and a lookup of who waits before the join commits
            # would leave the joiner waiting beside free places.
            await waitlist_offers.lock(waitlist_offers.office_lines(office_id))
            made = await generate([office_id])
            if made:
                lines = await store.lines_waiting([office_id])
                for line in lines:
                    await waitlist_offers.offer_free_places(ctx, line, p)
            return made

        result = await unit_of_work.run(ctx, work)
        assert isinstance(result, int)
        created += result
    return created


# Why upkeep cancels appointments on a day the official calendar made a holiday.
PUBLIC_HOLIDAY = N_("a public holiday on the official calendar")


async def close_public_holidays(
    services: Services, first: date, last: date, office_ids: Sequence[int] | None = None
) -> int:
    """Close, as an admin's closure would, the open slots of days first..last that the
    official calendar holds as public holidays: slots are made ahead from the calendar known
    then (a year chinese-calendar did not know yet has only its fixed-date holidays), and a
    calendar published later must not leave people booked at a closed centre. Their
    appointments are cancelled by the office, with notice; offers held there go back in
    line. One office-day per unit of work (every office's, or `office_ids`'); how many
    appointments were cancelled."""
    calendar = services.calendar
    holidays = [
        first + timedelta(days=n)
        for n in range((last - first).days + 1)
        if calendar.is_holiday(first + timedelta(days=n))
    ]
    if not holidays:
        return 0
    ctx = system_context(services)
    p = booking_policy(services.settings)
    cancelled = 0
    for office_id, tz, day in await appointment_store.open_slots_on(holidays, office_ids):

        async def work(office_id: int = office_id, tz: ZoneInfo = tz, day: date = day) -> int:
            await store.write_first()
            await waitlist_offers.lock(waitlist_offers.office_lines(office_id))
            start, end = appointment_store.local_day_bounds(day, tz)
            cancelled = await appointment_store.close_day(office_id, start, end, ctx.now())
            await waitlist_offers.after_closure(ctx, office_id, start, end, p)
            # Only those this round cancelled: another process's round, or an admin's
            # closure, that closed the day first told theirs.
            await notices.office_closed(cancelled, PUBLIC_HOLIDAY)
            ctx.after_commit(services.public_data_changed)
            return len(cancelled)

        result = await unit_of_work.run(ctx, work)
        assert isinstance(result, int)
        log.info("closed the slots of %s at office %d, a public holiday", day, office_id)
        cancelled += result
    return cancelled
