"""Booking, cancelling, rescheduling and checking in appointments; listing open slots."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import orjson

from domain.booking import (
    SERVICE_GROUPS,
    AppointmentFacts,
    BookingPolicy,
    ChangeOptions,
    active_key,
    cancel_refusal,
    change_options,
    eligibility_refusal,
    horizon_end,
    reschedule_refusal,
    slot_refusal,
)
from domain.identifiers import random_reference
from domain.messages import N_, N_plural
from persistence import appointments as store
from persistence import idempotency
from persistence import offices as office_store
from persistence.models import (
    Appointment,
    AppointmentStatus,
    IdempotencyRecord,
    Office,
    Role,
    Slot,
)
from persistence.rate_limits import Quota
from resolvers import authorization as gate
from resolvers import notices, unit_of_work, waitlist_offers
from resolvers.authorization import ActorKind, Grant, is_staff, staff_office_ok
from resolvers.context import Context
from resolvers.outcomes import (
    Refusal,
    RefusalKind,
    Replay,
    bad_input,
    invalid,
    not_permitted,
    rate_limited,
    require_days_in_range,
    require_field_days_in_range,
    unauthenticated,
)
from resolvers.paging import window
from settings import Settings

BOOK = "BOOK_APPOINTMENTS"
MAX_RANGE_DAYS = 31
# For the cost estimate only: the opening hours of a long day at an office, in slots of
# SLOT_MINUTES (an office's real week is data; the estimate is made before any is read).
OPEN_HOURS_ESTIMATE = 12


def slots_estimate(start: date | None, end: date | None, s: Settings) -> int:
    """How many slots `available_slots` may answer for the days `start` to `end`, before the
    database is asked: every day a long opening day of slots, over the longest range allowed
    when the days are not known (yet) or out of bounds."""
    days = MAX_RANGE_DAYS + 1
    if start is not None and end is not None and 0 <= (end - start).days <= MAX_RANGE_DAYS:
        days = (end - start).days + 1
    return days * (OPEN_HOURS_ESTIMATE * 60 // max(s.slot_minutes, 1))


def policy(ctx: Context) -> BookingPolicy:
    return booking_policy(ctx.settings)


def booking_policy(s: Settings) -> BookingPolicy:
    return BookingPolicy(
        min_lead=timedelta(minutes=s.booking_min_lead_minutes),
        horizon_working_days=s.booking_horizon_working_days,
        change_window=timedelta(hours=s.change_window_hours),
        reschedule_limit=s.reschedule_limit,
        slot_minutes=s.slot_minutes,
    )


def facts_of(appointment: Appointment) -> AppointmentFacts:
    return AppointmentFacts(
        status=appointment.status,
        starts_at=appointment.starts_at,
        reschedule_count=appointment.reschedule_count,
    )


async def options_for_viewer(ctx: Context, appointment: Appointment) -> ChangeOptions:
    """What the viewer may do with the appointment now: the rules `cancel` and `reschedule`
    enforce, and nothing at all for a viewer who may not act for the applicant."""
    options = change_options(facts_of(appointment), ctx.now(), policy(ctx))
    grant = await ctx.authorizer.may_act_for(appointment.applicant_id, BOOK)
    if grant is None or not gate.acts_at(ctx, grant, appointment.office_id):
        return ChangeOptions(options.deadline, options.reschedules_left, False, False)
    return options


async def available_slots(
    ctx: Context, office_id: int | None, service: str, start: date, end: date
) -> list[Slot]:
    require_days_in_range(start, end)
    if end < start:
        raise bad_input(N_("`to` must not be before `from`."))
    if (end - start).days > MAX_RANGE_DAYS:
        raise bad_input(
            N_plural(
                "Ask for at most %(count)s day of slots at a time.",
                "Ask for at most %(count)s days of slots at a time.",
                MAX_RANGE_DAYS,
            )
        )
    office = await office_store.office(office_id) if office_id is not None else None
    if office is None:
        raise bad_input(N_("No office has this ID."))
    offered = await ctx.loaders.office_services.load(office.id)
    if service not in offered:
        return []
    tz = ZoneInfo(office.time_zone)
    p = policy(ctx)
    last = min(end, horizon_end(ctx.today(office), ctx.services.calendar, p))
    if last < start:
        return []
    range_start, _ = store.local_day_bounds(start, tz)
    _, range_end = store.local_day_bounds(last, tz)
    await _expire_offers_before_reading(ctx, waitlist_offers.line_of(office.id, service), p)
    return await store.open_slots(
        office.id, SERVICE_GROUPS[service], range_start, range_end, ctx.now() + p.min_lead
    )


async def _expire_offers_before_reading(
    ctx: Context, line: waitlist_offers.Line, p: BookingPolicy
) -> None:
    """Waitlist offers of the line that ran out pass on (or free their places) before its
    slots are shown, whatever the expiry loop's timing: in a unit of work of its own, as
    this is a read."""

    if not await waitlist_offers.due([line], ctx.now()):
        return  # the common case: no transaction at all

    async def work() -> int:
        await waitlist_offers.write_first()
        return await waitlist_offers.expire_due(ctx, [line], p)

    await unit_of_work.run(ctx, work)


async def charge_booking_attempt(ctx: Context) -> None:
    """Count one booking attempt of the signed-in account (RateLimited past the limit)."""
    assert ctx.account is not None
    s = ctx.settings
    # Checked and counted in one step, so concurrent attempts cannot outrun the limit.
    reservation = await ctx.services.limiter.reserve(
        [Quota(f"booking:acct:{ctx.account.id}", s.bookings_per_account, s.booking_window_s)]
    )
    if reservation.retry_after is not None:
        raise rate_limited(reservation.retry_after)


def _request_hash(**values: object) -> str:
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def _as_is(appointment: Appointment) -> Appointment:
    return appointment


async def _with_previous(appointment: Appointment) -> tuple[Appointment, Appointment]:
    previous = await store.appointment(appointment.rescheduled_from_id or 0)
    assert previous is not None
    return appointment, previous


async def _claim_key(
    ctx: Context,
    operation: str,
    key: str | None,
    request_hash: str,
    outcome: Callable[[Appointment], Awaitable[object]] = _as_is,
) -> IdempotencyRecord | None:
    """Reserve the idempotency key inside the transaction, or replay what it already gave."""
    if key is None:
        return None
    assert ctx.account is not None
    if not 1 <= len(key) <= 100:
        raise invalid(N_("An idempotency key has 1 to 100 characters."), "idempotencyKey")
    account_id = ctx.account.id

    async def replay() -> object:
        record = await idempotency.find(account_id, operation, key)
        if record is None or record.request_hash != request_hash:
            return invalid(
                N_("This idempotency key was already used with different input."),
                "idempotencyKey",
            )
        found = await store.appointment(record.outcome["appointment"])
        assert found is not None
        return await outcome(found)

    existing = await idempotency.find(account_id, operation, key)
    if existing is not None:
        raise Replay(replay)
    if not await idempotency.remember(account_id, operation, key, request_hash, {}):
        raise Replay(replay)
    return await idempotency.find(account_id, operation, key)


async def _remember_outcome(record: IdempotencyRecord | None, appointment: Appointment) -> None:
    if record is not None:
        record.outcome = {"appointment": appointment.id}
        await record.save(update_fields=["outcome"])


async def bookable_slot(ctx: Context, slot_id: int | None, service: str) -> Slot:
    """The slot, when the booking rules let it be booked now for the service (whether a place
    is left is decided when taking it); else the refusal."""
    slot = await store.slot(slot_id) if slot_id is not None else None
    if slot is None or not slot.open:
        raise _closed()
    if slot.service_group != SERVICE_GROUPS[service]:
        raise invalid(N_("This slot is not for this service."), "slotId")
    offered = await ctx.loaders.office_services.load(slot.office_id)
    if service not in offered:
        raise invalid(N_("This office does not offer this service."), "service")
    office = await office_store.office(slot.office_id)
    assert office is not None
    tz = ZoneInfo(office.time_zone)
    reason = slot_refusal(
        starts_at=slot.starts_at,
        local_day=slot.starts_at.astimezone(tz).date(),
        now=ctx.now(),
        today=ctx.today(office),
        calendar=ctx.services.calendar,
        policy=policy(ctx),
    )
    if reason:
        raise Refusal(RefusalKind.SLOT_UNAVAILABLE, reason)
    return slot


def already_booked(existing: Appointment | None) -> Refusal:
    if existing is None:
        message = N_("An appointment for this service is already booked.")
    elif existing.status == AppointmentStatus.CHECKED_IN:
        message = N_(
            "You are checked in for an appointment for this service (%(reference)s): it is "
            "being handled at the office.",
            reference=existing.reference,
        )
    else:
        message = N_(
            "An appointment for this service is already booked (%(reference)s). "
            "Cancel or reschedule it instead.",
            reference=existing.reference,
        )
    return Refusal(RefusalKind.ALREADY_BOOKED, message, {"appointment": existing})


def shown_booked(ctx: Context, grant: Grant, existing: Appointment | None) -> Refusal:
    """AlreadyBooked naming the applicant's existing appointment, its read in their trail
    (it shows the appointment to whoever acts for them)."""
    refusal = already_booked(existing)
    if existing is None:
        return refusal
    return gate.showing(ctx, refusal, grant, "READ_APPOINTMENTS", existing.reference)


def _closed() -> Refusal:
    return Refusal(RefusalKind.SLOT_UNAVAILABLE, N_("This slot does not exist or is closed."))


def _full() -> Refusal:
    return Refusal(
        RefusalKind.SLOT_UNAVAILABLE, N_("This slot is fully booked. Choose another time.")
    )


async def place_appointment(
    ctx: Context,
    grant: Grant,
    slot: Slot,
    service: str,
    take: Callable[[int], Awaitable[bool]] = store.take_place,
    **extra: object,
) -> Appointment:
    """Take a place in the slot (with `take`: a free place, or a waitlist offer's held one)
    and create the appointment; raises to roll back on failure."""
    assert ctx.account is not None
    if not await take(slot.id):
        now = await store.slot(slot.id)
        if now is None or not now.open:
            # Closed (an office closure) since it was read: say so, not that it is full.
            raise _closed()
        raise _full()
    try:
        return await store.create_appointment(
            reference=random_reference(),
            applicant_id=grant.person_id,
            service=service,
            office_id=slot.office_id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            status=AppointmentStatus.BOOKED,
            active_key=active_key(grant.person_id, service),
            booked_by_id=ctx.account.id,
            booked_by_kind=grant.actor_kind,
            delegation_id=grant.delegation_id,
            **extra,
        )
    except store.ActiveAppointmentExists as exc:
        # A concurrent booking won; read it after this transaction has rolled back.
        applicant_id = grant.person_id

        async def booked_meanwhile() -> Refusal:
            existing = await store.active_appointment(applicant_id, service)
            return shown_booked(ctx, grant, existing)

        raise Replay(booked_meanwhile) from exc


async def book(
    ctx: Context,
    *,
    person_id: int | None,
    slot_id: int | None,
    service: str,
    idempotency_key: str | None,
) -> Appointment:
    grant = await gate.require(ctx, person_id, BOOK)
    # Authorization first: an officer of another office is refused before anything is
    # counted or shown (a slot that does not exist is answered below, as for anyone).
    if grant.actor_kind is ActorKind.OFFICER and slot_id is not None:
        target = await store.slot(slot_id)
        if target is not None:
            gate.require_office(ctx, grant, target.office_id)
    # A retry with a used key replays its outcome before anything is counted: a client
    # retrying over a bad connection is not rate-limited out of its own booking.
    record = await _claim_key(
        ctx,
        "bookAppointment",
        idempotency_key,
        _request_hash(applicant=person_id, slot=slot_id, service=service),
    )
    await charge_booking_attempt(ctx)
    # Before looking for the applicant's booking or entry in line: a join for the same
    # service waits for this booking to commit and then sees it (AlreadyBooked).
    await waitlist_offers.lock_applicant(grant.person_id, service)
    existing = await store.active_appointment(grant.person_id, service)
    if existing is not None:
        raise shown_booked(ctx, grant, existing)
    reason = eligibility_refusal(service, frozenset())
    if reason:
        raise invalid(reason, "service")
    slot = await bookable_slot(ctx, slot_id, service)
    p = policy(ctx)
    waiting = await waitlist_offers.before_booking(ctx, slot, grant.person_id, service, p)
    if waiting is not None and waitlist_offers.holds_for(waiting, slot, ctx.now()):
        # The place held for this applicant: booking it accepts the offer (the held place
        # is theirs, not a free one, which there may be none of).
        appointment = await place_appointment(
            ctx, grant, slot, service, take=waitlist_offers.held_place
        )
        if not await waitlist_offers.take_held(ctx, waiting, appointment):
            raise _full()  # cannot happen under the line's lock: nothing is written
    else:
        appointment = await place_appointment(ctx, grant, slot, service)
        await waitlist_offers.after_booking(ctx, waiting, appointment, p)
    await notices.appointment_booked(appointment)
    await _remember_outcome(record, appointment)
    gate.acted(ctx, grant, "BOOK_APPOINTMENT", appointment.reference)
    return appointment


async def _owned_appointment(ctx: Context, appointment_id: int | None) -> tuple[Appointment, Grant]:
    """The appointment and the grant to change it: the person's own, a helper's with
    BOOK_APPOINTMENTS, an admin's, or an officer's of its office."""
    appointment, grant = await gate.require_row(ctx, appointment_id, store.appointment, BOOK)
    gate.require_office(ctx, grant, appointment.office_id)
    return appointment, grant


async def cancel(ctx: Context, appointment_id: int | None) -> Appointment:
    appointment, grant = await _owned_appointment(ctx, appointment_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        return appointment  # cancelling twice changes nothing and frees nothing twice
    reason = cancel_refusal(facts_of(appointment), ctx.now())
    if reason:
        raise Refusal(RefusalKind.CHANGE_WINDOW_CLOSED, reason)
    # The line first: the freed place is offered to the waitlist before anyone else sees it.
    line = waitlist_offers.line_of(appointment.office_id, appointment.service)
    await waitlist_offers.lock([line])
    if not await store.change_status(
        appointment.id, AppointmentStatus.BOOKED, AppointmentStatus.CANCELLED
    ):
        # It changed since it was read: cancelled meanwhile is the same answer (nothing freed
        # twice); checked in or moved meanwhile is no longer the caller's to cancel.
        now = await store.appointment(appointment.id)
        assert now is not None
        if now.status == AppointmentStatus.CANCELLED:
            return now
        changed = cancel_refusal(facts_of(now), ctx.now())  # not BOOKED: always a reason
        assert changed is not None
        raise Refusal(RefusalKind.CHANGE_WINDOW_CLOSED, changed)
    await store.free_place(appointment.slot_id)
    await waitlist_offers.offer_freed(ctx, appointment.slot_id, policy(ctx), line)
    gate.acted(ctx, grant, "CANCEL_APPOINTMENT", appointment.reference)
    if grant.actor_kind in gate.STAFF_KINDS:
        # The applicant did not do it: they hear it, as from a closure.
        await notices.office_closed([appointment.id], STAFF_CANCELLED)
    refreshed = await store.appointment(appointment.id)
    assert refreshed is not None
    return refreshed


# The reason an applicant is told when an officer or an admin cancels their appointment.
STAFF_CANCELLED = N_("an officer of the office cancelled it; call the office for details")


async def reschedule(
    ctx: Context, *, appointment_id: int | None, slot_id: int | None, idempotency_key: str | None
) -> tuple[Appointment, Appointment]:
    old, grant = await _owned_appointment(ctx, appointment_id)
    record = await _claim_key(  # a replay first, uncounted (see `book`)
        ctx,
        "rescheduleAppointment",
        idempotency_key,
        _request_hash(appointment=appointment_id, slot=slot_id),
        _with_previous,
    )
    await charge_booking_attempt(ctx)
    refusal = reschedule_refusal(facts_of(old), ctx.now(), policy(ctx))
    if refusal is not None:
        kind = (
            RefusalKind.RESCHEDULE_LIMIT_REACHED
            if refusal.limit_reached
            else RefusalKind.CHANGE_WINDOW_CLOSED
        )
        raise Refusal(kind, refusal.message)
    if slot_id == old.slot_id:
        raise invalid(N_("Choose a different slot."), "slotId")
    slot = await bookable_slot(ctx, slot_id, old.service)
    gate.require_office(ctx, grant, slot.office_id)
    p = policy(ctx)
    # Both lines first: the place left is offered to the waitlist in this unit of work, and
    # offers of the new slot's line that ran out end before it is booked.
    old_line = waitlist_offers.line_of(old.office_id, old.service)
    await waitlist_offers.lock([old_line, (slot.office_id, slot.service_group)])
    await waitlist_offers.expire_due(ctx, [(slot.office_id, slot.service_group)], p)
    if not await store.change_status(
        old.id, AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULED
    ):
        raise Refusal(
            RefusalKind.CHANGE_WINDOW_CLOSED, N_("This appointment changed meanwhile; reload it.")
        )
    await store.free_place(old.slot_id)
    new = await place_appointment(
        ctx,
        grant,
        slot,
        old.service,
        reschedule_count=old.reschedule_count + 1,
        rescheduled_from_id=old.id,
    )
    await waitlist_offers.offer_freed(ctx, old.slot_id, p, old_line)
    await _remember_outcome(record, new)
    await notices.appointment_changed(new, old)
    gate.acted(ctx, grant, "RESCHEDULE_APPOINTMENT", f"{old.reference}->{new.reference}")
    previous = await store.appointment(old.id)
    assert previous is not None
    return new, previous


async def check_in(ctx: Context, appointment_id: int | None) -> Appointment:
    if ctx.account is None:
        raise unauthenticated()
    appointment = await store.appointment(appointment_id) if appointment_id is not None else None
    if appointment is None or not staff_office_ok(ctx, appointment.office_id):
        raise not_permitted()
    if appointment.status != AppointmentStatus.BOOKED:
        raise invalid(
            N_(
                "Only a booked appointment can be checked in; this one is %(status)s.",
                status=appointment.status,
            )
        )
    office = await office_store.office(appointment.office_id)
    assert office is not None
    tz = ZoneInfo(office.time_zone)
    if appointment.starts_at.astimezone(tz).date() != ctx.today(office):
        raise invalid(N_("Appointments are checked in on their day only."))
    if not await store.change_status(
        appointment.id, AppointmentStatus.BOOKED, AppointmentStatus.CHECKED_IN
    ):
        # Cancelled, moved or checked in by someone else since it was read.
        now = await store.appointment(appointment.id)
        raise invalid(
            N_(
                "Only a booked appointment can be checked in; this one is %(status)s.",
                status=now.status if now is not None else appointment.status,
            )
        )
    gate.staff_write(ctx, appointment.applicant_id, "CHECK_IN_APPOINTMENT", appointment.reference)
    refreshed = await store.appointment(appointment.id)
    assert refreshed is not None
    return refreshed


@dataclass(frozen=True)
class ClosureAdded:
    day: date
    reason: str
    cancelled: int


async def add_closure(ctx: Context, office_id: int | None, day: date, reason: str) -> ClosureAdded:
    if ctx.account is None:
        raise unauthenticated()
    if not ctx.has_role(Role.ADMIN):
        raise not_permitted()
    office = await office_store.office(office_id) if office_id is not None else None
    if office is None:
        raise not_permitted()
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= 400:
        raise invalid(N_("Give a reason of 1 to 400 characters."), "reason")
    tz = ZoneInfo(office.time_zone)
    require_field_days_in_range("date", day)
    if day < ctx.today(office):
        raise invalid(N_("A closure cannot be added in the past."), "date")
    # The office's lines first: offers held in the closed slots go back in line. Taken
    # before looking for the day's closure, so that a closure added twice at once (a double
    # click) waits here for the first and is answered as a repeat.
    await waitlist_offers.lock(waitlist_offers.office_lines(office.id))
    if await office_store.closure_on(office.id, day) is not None:
        raise invalid(N_("The office is already closed on that day."), "date")
    await office_store.add_closure(office.id, day, reason)
    start, end = store.local_day_bounds(day, tz)
    cancelled = await store.close_day(office.id, start, end, ctx.now())
    await waitlist_offers.after_closure(ctx, office.id, start, end, policy(ctx))
    await notices.office_closed(cancelled, reason)
    ctx.after_commit(ctx.services.public_data_changed)
    return ClosureAdded(day=day, reason=reason, cancelled=len(cancelled))


# ---------------------------------------------------------------- reading appointments


async def appointments_of(
    ctx: Context, person_id: int, offset: int, size: int
) -> list[Appointment] | None:
    """A page of the person's appointments (one row more than `size`), latest first; None
    without BOOK_APPOINTMENTS."""
    if await gate.read(ctx, person_id, BOOK, "READ_APPOINTMENTS") is None:
        return None
    return await ctx.loaders.appointment_pages.load((person_id, offset, size + 1))


async def office_day(
    ctx: Context, office: Office, day: date, first: int | None, after: str | None
) -> tuple[list[Appointment], int, int] | None:
    """The appointments of a day at the office as (rows, offset, size), for its officers and
    admins (each one listed recorded in its applicant's trail); None for everyone else."""
    if not staff_office_ok(ctx, office.id):
        return None
    require_days_in_range(day)
    start, end = store.local_day_bounds(day, ZoneInfo(office.time_zone))
    offset, size = window(ctx, first, after)
    rows = await store.office_appointments(office.id, start, end, offset, size + 1)
    for row in rows[:size]:  # the row read ahead is not shown, so not read
        await gate.read(ctx, row.applicant_id, None, "READ_APPOINTMENTS", row.reference)
    return rows, offset, size


def booked_by_another_helper(ctx: Context, row: Appointment) -> bool:
    """True when the viewer reaches the appointment as a helper and another helper booked it:
    the person and staff see every booker, a helper only itself."""
    account = ctx.account
    if account is None or account.person_id == row.applicant_id or is_staff(ctx):
        return False
    return row.booked_by_kind == ActorKind.HELPER and row.booked_by_id != account.id
