"""The waitlist is fair under a rush, on SQLite and PostgreSQL: with 50 entries waiting and
clients polling availableSlots and booking the day's slots as fast as they can (asyncio tasks
through the HTTP ASGI app, all at once), every freed place (cancelled, declined, run out) goes
to the first in line whose range holds it, never to a poller, and no place is sold twice.

The offers' order is read back from the WAITLIST_OFFER notifications (written in the offer's
own transaction, one per offer, under the line's lock): it must be the join order exactly."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest

from persistence.models import Appointment, Notification, Slot, WaitlistEntry
from tests.conftest import gql, sign_in
from tests.helpers import (
    BOOK,
    CANCEL,
    SLOTS,
    Applicant,
    beijing,
    beijing_today,
    book_ok,
    new_applicant,
    pk_of,
)
from tests.waitlist_lines import ACCEPT, ENTRY, JOIN, LEAVE, Line, add_place, fresh_line

WAITING = 50
HOLDERS = 10  # booked places that are cancelled during the rush
POLLERS = 6
OTHER_DAY_EVERY = 5  # every fifth entry waits for another day: never offered this day's places

_addresses = itertools.count(1)


@contextlib.asynccontextmanager
async def own_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own (per-address limits count each party apart)."""
    n = next(_addresses)
    transport = httpx.ASGITransport(app=app, client=(f"10.77.{n // 256 % 256}.{n % 256}", 4100))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", timeout=120
    ) as c:
        yield c


@dataclass
class Party:
    """Someone taking part, who signs in again when their access token runs out (the test
    clock jumps half an hour during the rush)."""

    client: httpx.AsyncClient
    who: Applicant

    async def call(self, document: str, **variables: Any) -> dict:
        for _ in range(3):
            response = await self.client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"authorization": f"Bearer {self.who.token}"},
            )
            if response.status_code == 401:  # the token ran out when the clock jumped
                self.who.token = await sign_in(self.client, self.who.email, self.who.password)
                continue
            body = response.json()
            assert response.status_code == 200 and "errors" not in body, body
            (value,) = body["data"].values()
            return value
        raise AssertionError("could not stay signed in")


@dataclass
class Rush:
    """What happened, as the clients saw it."""

    line: Line
    slot_ids: list[str]
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    attempts: Counter[str] = field(default_factory=Counter)
    polls: int = 0
    seen_free: list[str] = field(default_factory=list)  # the day's slots shown as bookable
    poller_bookings: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    pinned: bool = False


async def poller(party: Party, rush: Rush) -> None:
    """Read the day's free slots and book whatever is listed, and every slot of the day
    blindly too, as fast as the service answers."""
    line = rush.line
    variables = {
        "office": line.office,
        "service": "VISA_EXTENSION",
        "from": line.day.isoformat(),
        "to": line.day.isoformat(),
    }
    while not rush.stop.is_set():
        body = await gql(party.client, SLOTS, variables)
        assert "errors" not in body, body
        rush.polls += 1
        listed = [s["id"] for s in body["data"]["availableSlots"]]
        rush.seen_free.extend(listed)
        for slot_id in listed or [random.choice(rush.slot_ids)]:
            result = await party.call(
                BOOK,
                input={
                    "applicantId": party.who.person_id,
                    "slotId": slot_id,
                    "service": "VISA_EXTENSION",
                },
            )
            rush.attempts[result["__typename"]] += 1
            if result["__typename"] == "BookingConfirmed":
                rush.poller_bookings.append(slot_id)


async def waiter(party: Party, entry_id: str, behaviour: str, rush: Rush) -> None:
    """Watch one's own entry; when it is offered a place: accept it, decline it, or (only
    before the clock jumps) let it run out."""
    while not rush.stop.is_set():
        entry = await party.call(ENTRY, id=entry_id)
        if entry["status"] == "OFFERED":
            if behaviour == "ignore" and not rush.pinned:
                await asyncio.sleep(0.05)
                continue
            if behaviour == "decline":
                left = await party.call(LEAVE, id=entry_id)
                assert left["__typename"] == "WaitlistLeft", left
                return
            accepted = await party.call(ACCEPT, id=entry_id)
            if accepted["__typename"] == "BookingConfirmed":
                rush.accepted.append(entry_id)
                return
            assert accepted["__typename"] == "OfferExpired", accepted
        elif entry["status"] != "WAITING":
            return
        await asyncio.sleep(0.3)


@pytest.fixture
async def unlimited_booking_attempts(app: Any) -> AsyncIterator[None]:
    """Pollers are not slowed by the booking-attempt limit: the rush is as fast as it gets."""
    services = app.state.services
    before = services.settings
    services.settings = before.with_(bookings_per_account=1_000_000)
    try:
        yield
    finally:
        services.settings = before


async def test_every_freed_place_goes_to_the_first_in_line_never_to_a_poller(
    app: Any, client: httpx.AsyncClient, clock: Any, unlimited_booking_attempts: None
) -> None:
    # By day (an offer made at night is held until the morning), the clock standing still
    # until it jumps past the holds.
    clock.pinned = beijing(beijing_today(), 10)
    line = await fresh_line(app, client, clock, min_slots=HOLDERS)
    other_day = await fresh_line(app, client, clock)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(own_client(app)) for _ in range(12)]

        async def party(i: int) -> Party:
            c = clients[i % len(clients)]
            return Party(c, await new_applicant(c))

        # The booked places that will be freed, one per slot of the day.
        holders = [await party(i) for i in range(HOLDERS)]
        appointments = []
        for i, holder in enumerate(holders):
            await add_place(line.slots[i].id)
            appointments.append(await book_ok(holder.client, holder.who, line.slot_id(i)))
        # Fifty in line, in a known join order.
        waiting = [await party(i) for i in range(WAITING)]
        entries: list[str] = []
        same_day: list[str] = []
        for i, p in enumerate(waiting):
            wanted = other_day if i % OTHER_DAY_EVERY == OTHER_DAY_EVERY - 1 else line
            result = await p.call(JOIN, input=wanted.input(p.who.person_id))
            assert result["__typename"] == "WaitlistJoined", result
            entries.append(result["entry"]["id"])
            if wanted is line:
                same_day.append(result["entry"]["id"])
        pollers = [await party(i) for i in range(POLLERS)]

        # Pollers also book blindly the slots whose places will be freed, listed or not.
        rush = Rush(line, [line.slot_id(i) for i in range(HOLDERS)])
        behaviours = itertools.cycle(["accept", "decline", "ignore", "accept"])
        by_entry = dict(zip(entries, waiting, strict=True))
        tasks = [asyncio.create_task(poller(p, rush)) for p in pollers]
        tasks += [
            asyncio.create_task(waiter(by_entry[e], e, next(behaviours), rush)) for e in same_day
        ]
        # The rush: places freed one after another while everyone polls and books.
        for holder, appointment in zip(holders, appointments, strict=True):
            cancelled = await holder.call(CANCEL, id=appointment["id"])
            assert cancelled["__typename"] == "AppointmentCancelled", cancelled
            await asyncio.sleep(0.25)
        # Offers left to run out: the clock jumps past their hold while the rush goes on;
        # the pollers' own reads and bookings pass them on.
        for _ in range(600):
            held = await WaitlistEntry.filter(
                id__in=[pk_of(e) for e in same_day], status="OFFERED"
            ).count()
            if len(rush.accepted) + held >= HOLDERS:
                break
            await asyncio.sleep(0.05)
        clock.pinned += timedelta(minutes=31)
        rush.pinned = True
        for _ in range(1200):
            if len(rush.accepted) >= HOLDERS:
                break
            await asyncio.sleep(0.05)
        rush.stop.set()
        await asyncio.gather(*tasks)

    # Nothing went to a poller, and none of the day's places was ever shown free.
    assert rush.poller_bookings == []
    assert rush.seen_free == []
    assert rush.attempts["SlotUnavailable"] >= 5 * POLLERS, rush.attempts
    assert set(rush.attempts) == {"SlotUnavailable"}, rush.attempts
    assert len(rush.accepted) == HOLDERS

    # Offers went out in join order exactly: to a prefix of the day's line, each once, and
    # never to someone waiting for another day.
    ids = {pk_of(e) for e in entries}
    rows = await Notification.filter(
        kind="WAITLIST_OFFER", subject_type="WaitlistEntry", subject_id__in=list(ids)
    ).order_by("id")
    offered = [row.subject_id for row in rows]
    day_order = [pk_of(e) for e in same_day]
    assert offered == day_order[: len(offered)], (offered, day_order)
    assert len(offered) > HOLDERS  # declines and run-out offers passed places on
    stored = {e.id: e for e in await WaitlistEntry.filter(id__in=list(ids))}
    assert {stored[i].status for i in day_order[len(offered) :]} <= {"WAITING"}
    assert all(stored[pk_of(e)].status == "WAITING" for e in entries if e not in same_day)
    statuses = Counter(stored[i].status for i in offered)
    assert statuses["BOOKED"] == HOLDERS and statuses["EXPIRED"] >= 1 and statuses["LEFT"] >= 1

    # No place sold twice: each slot's bookings within its capacity, counters as stored.
    for slot in await Slot.filter(id__in=[s.id for s in line.slots]):
        active = await Appointment.filter(slot_id=slot.id, status="BOOKED").count()
        assert active <= slot.capacity, slot.id
        assert (slot.booked, slot.held) == (active, 0), slot.id
    booked_by = set(
        await Appointment.filter(
            slot_id__in=[s.id for s in line.slots], status="BOOKED"
        ).values_list("applicant_id", flat=True)
    )
    winners = {stored[pk_of(e)].applicant_id for e in rush.accepted}
    assert booked_by == winners
    assert not booked_by & {pk_of(p.who.person_id) for p in pollers}
