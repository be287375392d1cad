"""The waitlist through HTTP: joining a full range (or being shown its free places), one entry
per applicant and service, positions in join order, a freed place held for the first in line
(not bookable by anyone else, not in Slot.remaining), accepting it, offers running out (the
test clock moved, never slept) and passing on, the night rule, declining, helpers with and
without BOOK_APPOINTMENTS, and who hears of an offer."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.booking import SERVICE_GROUPS
from domain.waitlist import OFFERED, WAITING
from domain.waitlist import active_key as waitlist_active_key
from persistence import waitlist as waitlist_store
from persistence.models import Appointment, Slot, WaitlistEntry
from resolvers import waitlist as waitlist_resolvers
from resolvers import waitlist_offers
from server import upkeep
from tests.conftest import gql
from tests.helpers import (
    ACTIONS,
    CANCEL,
    NOT_PERMITTED,
    RESCHEDULE,
    SHANGHAI,
    accepted_dependant,
    active_dependant,
    beijing,
    beijing_today,
    book,
    book_ok,
    gid,
    helper_in_database,
    mutate,
    new_applicant,
    open_slots,
    pk_of,
)
from tests.test_query_counts import statements
from tests.waitlist_lines import (
    PERSON_WAITLIST,
    SERVICE,
    Line,
    accept,
    add_place,
    entry,
    fresh_line,
    join,
    join_ok,
    leave,
    slot_counts,
    stored_entry,
)

INBOX = """{ viewer { notifications(first: 50) { edges { node {
  kind title body person { id } subject { __typename id } } } } } }"""

SLOTS_OF_DAY = """
query($office: ID!, $day: Date!) {
  availableSlots(officeId: $office, service: VISA_EXTENSION, from: $day, to: $day) { id remaining }
}"""


async def available_ids(client: httpx.AsyncClient, line: Line) -> list[str]:
    body = await gql(client, SLOTS_OF_DAY, {"office": line.office, "day": line.day.isoformat()})
    assert "errors" not in body, body
    return [s["id"] for s in body["data"]["availableSlots"]]


async def remaining_of(client: httpx.AsyncClient, slot_id: str) -> int:
    body = await gql(
        client, "query($id: ID!) { node(id: $id) { ... on Slot { remaining } } }", {"id": slot_id}
    )
    return body["data"]["node"]["remaining"]


async def booked_in_line(client: httpx.AsyncClient, line: Line, index: int = 0) -> tuple[Any, dict]:
    """A fresh applicant holding the one booked place added to the line's slot `index`."""
    holder = await new_applicant(client)
    await add_place(line.slots[index].id)
    appointment = await book_ok(client, holder, line.slot_id(index))
    return holder, appointment


async def inbox_kinds(client: httpx.AsyncClient, token: str) -> list[tuple[str, str | None]]:
    body = await gql(client, INBOX, token=token)
    assert "errors" not in body, body
    edges = body["data"]["viewer"]["notifications"]["edges"]
    return [(e["node"]["kind"], (e["node"]["subject"] or {}).get("id")) for e in edges]


# ---------------------------------------------------------------------------------- joining


async def test_joining_a_full_range_puts_applicants_in_line_in_join_order(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    people = [await new_applicant(client) for _ in range(3)]
    renewing = [await new_applicant(client) for _ in range(2)]
    before = await join_ok(
        client, renewing[0].token, line.input(renewing[0].person_id, "VISA_RENEWAL")
    )
    entries = [await join_ok(client, p.token, line.input(p.person_id)) for p in people]
    # A position counts the WAITING entries of the line (office and service group, whatever
    # their service) that joined before and wait for a day this one waits for: on a day
    # nobody else waits for, the renewal that joined first is ahead of the three extensions.
    assert before["position"] == 1
    start = entries[0]["position"]
    assert [e["position"] for e in entries] == [2, 3, 4]
    first = entries[0]
    assert first["status"] == "WAITING" and first["offer"] is None
    assert first["from"] == first["to"] == line.day.isoformat()
    assert first["office"]["code"] == line.code and first["service"] == SERVICE
    assert first["applicant"]["id"] == people[0].person_id
    assert datetime.fromisoformat(first["createdAt"]).utcoffset() == timedelta(hours=8)
    # A freed VISA place goes to the three extensions before a renewal that joined after
    # them: it is fifth.
    after = await join_ok(
        client, renewing[1].token, line.input(renewing[1].person_id, "VISA_RENEWAL")
    )
    assert after["position"] == 5
    # The person sees the entry in Person.waitlist and by node; the second leaving moves the
    # third up.
    body = await gql(client, PERSON_WAITLIST, {"id": people[0].person_id}, token=people[0].token)
    assert [e["id"] for e in body["data"]["node"]["waitlist"]] == [first["id"]]
    left = await leave(client, people[1].token, entries[1]["id"])
    assert left["__typename"] == "WaitlistLeft" and left["entry"]["status"] == "LEFT"
    assert left["entry"]["position"] is None
    third = await entry(client, people[2].token, entries[2]["id"])
    assert third is not None and third["position"] == start + 1


async def test_a_wait_whose_days_have_all_passed_ends_and_no_longer_blocks_joining(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    clock.pinned = beijing(beijing_today(), 10)
    line = await fresh_line(app, client, clock)
    person = await new_applicant(client)
    waited = await join_ok(client, person.token, line.input(person.person_id))
    # On the line's day the wait still stands; the day after, upkeep's round ends it.
    clock.pinned = beijing(line.day, 23, 30)
    await waitlist_store.end_past_ranges(clock.now())
    await person.sign_in_again(client)
    assert (await entry(client, person.token, waited["id"]))["status"] == "WAITING"
    clock.pinned = beijing(line.day + timedelta(days=1), 0, 10)
    assert await waitlist_store.end_past_ranges(clock.now()) >= 1
    await person.sign_in_again(client)
    ended = await entry(client, person.token, waited["id"])
    assert ended is not None and ended["status"] == "EXPIRED" and ended["position"] is None
    # Waiting again for days still to come is allowed (before, AlreadyWaiting for good).
    later = await fresh_line(app, client, clock)
    again = await join(client, person.token, later.input(person.person_id))
    assert again["__typename"] == "WaitlistJoined", again
    assert again["entry"]["position"] == 1


async def test_a_persons_waitlist_reads_every_position_in_one_statement(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """Person.waitlist with three WAITING entries takes as many statements as with one: the
    places in line come from one batch, not a count per entry. Their values stay right."""
    line = await fresh_line(app, client, clock)
    one, three = await new_applicant(client), await new_applicant(client)
    await join_ok(client, one.token, line.input(one.person_id))
    for service in ("VISA_EXTENSION", "VISA_RENEWAL", "VISA_REISSUANCE"):
        await join_ok(client, three.token, line.input(three.person_id, service))
    counted = [
        await statements(client, PERSON_WAITLIST, who.token, {"id": who.person_id})
        for who in (one, three)
    ]
    assert counted[0] == counted[1], counted
    body = await gql(client, PERSON_WAITLIST, {"id": three.person_id}, token=three.token)
    # Newest first; the first of the three is behind `one`, each next one behind it too.
    assert [e["position"] for e in body["data"]["node"]["waitlist"]] == [4, 3, 2]


async def test_a_range_with_a_free_place_answers_places_available(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    await add_place(line.slots[2].id)
    person = await new_applicant(client)
    result = await join(client, person.token, line.input(person.person_id))
    assert result["__typename"] == "PlacesAvailable", result
    assert result["code"] == "PLACES_AVAILABLE"
    assert [s["id"] for s in result["slots"]] == [line.slot_id(2)]
    assert result["slots"][0]["remaining"] == 1
    body = await gql(client, PERSON_WAITLIST, {"id": person.person_id}, token=person.token)
    assert body["data"]["node"]["waitlist"] == []


async def test_one_entry_per_applicant_and_service_and_none_with_a_booking(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    person = await new_applicant(client)
    first = await join_ok(client, person.token, line.input(person.person_id))
    other_day = await fresh_line(app, client, clock)
    again = await join(client, person.token, other_day.input(person.person_id))
    assert again["__typename"] == "AlreadyWaiting", again
    assert again["code"] == "ALREADY_WAITING"
    assert again["existingEntry"] == {"id": first["id"], "status": "WAITING"}
    # Another service of the group is another entry.
    assert (await join(client, person.token, line.input(person.person_id, "VISA_RENEWAL")))[
        "__typename"
    ] == "WaitlistJoined"
    # Someone holding a booking for the service is not put in line.
    booked = await new_applicant(client)
    (slot,) = await open_slots(client)
    appointment = await book_ok(client, booked, slot["id"])
    refused = await join(client, booked.token, line.input(booked.person_id))
    assert refused["__typename"] == "AlreadyBooked", refused
    assert refused["existing"] == {"id": appointment["id"]}


async def test_concurrent_joins_put_an_applicant_in_line_once(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """Joins racing at one office (one line lock) and at others (the unique key decides)."""
    lines = [await fresh_line(app, client, clock) for _ in range(3)]
    person = await new_applicant(client)
    results = await asyncio.gather(
        *(join(client, person.token, line.input(person.person_id)) for line in lines * 2)
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["AlreadyWaiting"] * 5 + ["WaitlistJoined"], results
    (joined,) = [r["entry"] for r in results if r["__typename"] == "WaitlistJoined"]
    assert all(
        r["existingEntry"]["id"] == joined["id"]
        for r in results
        if r["__typename"] == "AlreadyWaiting"
    )
    body = await gql(client, PERSON_WAITLIST, {"id": person.person_id}, token=person.token)
    assert [e["id"] for e in body["data"]["node"]["waitlist"]] == [joined["id"]]


async def test_a_join_racing_new_slots_waits_for_them_and_is_shown_their_places(
    app: Any, client: httpx.AsyncClient, clock: Any, backend: str, database_url: str
) -> None:
    """Slots made for an office (the upkeep's release_slots) while someone joins its full
    line: every line of the office is locked before the slots are made, so the join waits
    for them to commit and is shown the new place, rather than checking for places before
    they exist and joining after the release has looked for whom to offer them to (waiting
    beside a free place). Locks are PostgreSQL's; SQLite runs one writer at a time."""
    if backend != "postgres":
        pytest.skip("the line locks are PostgreSQL advisory locks; SQLite has one writer")
    import asyncpg

    line = await fresh_line(app, client, clock)
    person = await new_applicant(client)
    office_pk = pk_of(line.office)
    start = beijing(line.day, 7, 10)  # before the day's generated slots: a new time
    observer = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    seen: dict[str, Any] = {}

    async def generate(offices: list[int]) -> int:
        assert offices == [office_pk]
        await Slot.create(
            office_id=office_pk,
            service_group="VISA",
            starts_at=start,
            ends_at=start + timedelta(minutes=20),
            capacity=1,
        )
        # From outside the unit of work: each of the office's lines is taken already.
        seen["free"] = [
            await observer.fetchval(
                "SELECT pg_try_advisory_xact_lock($1, $2)",
                waitlist_store._LOCK_SPACE,
                waitlist_store._line_key(office_pk, group),
            )
            for group in sorted(set(SERVICE_GROUPS.values()))
        ]
        started.set()
        await asyncio.sleep(0.5)
        seen["done_before_commit"] = joining.done()
        return 1

    # The join is a request of its own: started here, outside the unit of work's context.
    started = asyncio.Event()

    async def join_when_started() -> dict:
        await started.wait()
        return await join(client, person.token, line.input(person.person_id))

    joining = asyncio.create_task(join_when_started())

    try:
        created = await waitlist_resolvers.release_slots(app.state.services, generate, [office_pk])
    finally:
        await observer.close()
    assert created == 1
    assert seen["free"] and not any(seen["free"])
    assert seen["done_before_commit"] is False
    result = await joining
    assert result["__typename"] == "PlacesAvailable", result
    new_slot = await Slot.get(office_id=office_pk, service_group="VISA", starts_at=start)
    assert gid("Slot", new_slot.id) in [s["id"] for s in result["slots"]]
    assert not await WaitlistEntry.filter(applicant_id=pk_of(person.person_id)).exists()


async def test_a_join_racing_a_booking_of_the_same_service_sees_it(
    app: Any, client: httpx.AsyncClient, clock: Any, backend: str, monkeypatch: Any
) -> None:
    """A booking elsewhere and a join for the same applicant and service, side by side: the
    join waits for the booking (the applicant's lock) and answers AlreadyBooked, instead of
    reading before the booking commits and leaving the applicant booked and waiting at once.
    Side by side on PostgreSQL only; SQLite runs one transaction at a time."""
    if backend != "postgres":
        pytest.skip("transactions run side by side on PostgreSQL only")
    line = await fresh_line(app, client, clock)
    person = await new_applicant(client)
    (elsewhere,) = await open_slots(client)
    original = waitlist_offers.before_booking
    reading, go = asyncio.Event(), asyncio.Event()

    async def paused_before_booking(*args: Any, **kwargs: Any) -> Any:
        found = await original(*args, **kwargs)  # the booking looked for an entry: none
        reading.set()
        await go.wait()
        return found

    monkeypatch.setattr(waitlist_offers, "before_booking", paused_before_booking)
    booking = asyncio.create_task(book(client, person.token, person.person_id, elsewhere["id"]))
    await reading.wait()
    joining = asyncio.create_task(join(client, person.token, line.input(person.person_id)))
    await asyncio.sleep(0.5)
    finished_early = joining.done()
    go.set()
    booked, joined = await booking, await joining
    assert not finished_early
    assert booked["__typename"] == "BookingConfirmed", booked
    assert joined["__typename"] == "AlreadyBooked", joined
    assert not await WaitlistEntry.filter(
        applicant_id=pk_of(person.person_id), status__in=[WAITING, OFFERED]
    ).exists()


async def test_accepting_an_offer_while_booked_ends_the_wait_and_passes_the_place_on(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """An applicant in line who holds a booking of the service (as a race before the
    applicants' lock could leave them) is answered AlreadyBooked on accepting, the wait
    ended and the held place passed to the next in line: not left held for nobody."""
    line = await fresh_line(app, client, clock)
    first, second = await new_applicant(client), await new_applicant(client)
    waiting = await join_ok(client, first.token, line.input(first.person_id))
    behind = await join_ok(client, second.token, line.input(second.person_id))
    (elsewhere,) = await open_slots(client)
    await book_ok(client, first, elsewhere["id"])  # ends the wait ...
    await WaitlistEntry.filter(id=pk_of(waiting["id"])).update(  # ... which the race kept
        status=WAITING,
        active_key=waitlist_active_key(pk_of(first.person_id), SERVICE),
        appointment_id=None,
        ended_at=None,
    )
    holder, appointment = await booked_in_line(client, line, 4)
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert (await stored_entry(waiting["id"])).status == "OFFERED"

    refused = await accept(client, first.token, waiting["id"])
    assert refused["__typename"] == "AlreadyBooked", refused
    assert (await stored_entry(waiting["id"])).status == "BOOKED"
    assert (await stored_entry(behind["id"])).status == "OFFERED"
    assert await slot_counts(line.slots[4].id) == (1, 0, 1)
    again = await accept(client, first.token, waiting["id"])  # the same answer
    assert again["__typename"] == "AlreadyBooked", again
    assert again["existing"]["id"] == refused["existing"]["id"]
    assert (await stored_entry(behind["id"])).status == "OFFERED"


async def test_ranges_offices_and_applicants_are_checked(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    person = await new_applicant(client)
    today = beijing_today(clock)
    services = app.state.services
    horizon = services.calendar.add_working_days(
        today, services.settings.booking_horizon_working_days
    )
    cases = {
        "to": line.input(person.person_id, first=line.day, last=line.day - timedelta(days=1)),
        "from": line.input(person.person_id, first=today - timedelta(days=1), last=line.day),
    }
    beyond = line.input(person.person_id, first=line.day, last=horizon + timedelta(days=1))
    for field, data in cases.items():
        result = await join(client, person.token, data)
        assert result == {
            "__typename": "ValidationError",
            "message": result["message"],
            "field": field,
        }, result
    result = await join(client, person.token, beyond)
    assert result["__typename"] == "ValidationError" and result["field"] == "to"
    assert horizon.isoformat() in result["message"]
    unknown = {**line.input(person.person_id), "officeId": "T2ZmaWNlOjk5OTk5OQ"}
    result = await join(client, person.token, unknown)
    assert result["__typename"] == "ValidationError" and result["field"] == "officeId"
    # Someone else's person, and nobody signed in.
    stranger = await new_applicant(client)
    result = await join(client, stranger.token, line.input(person.person_id))
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    body = await gql(
        client,
        "mutation($i: JoinWaitlistInput!) { joinWaitlist(input: $i) { __typename } }",
        {"i": line.input(person.person_id)},
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    body = await gql(client, PERSON_WAITLIST, {"id": person.person_id}, token=person.token)
    assert body["data"]["node"]["waitlist"] == []


async def test_days_the_office_is_closed_cannot_be_waited_for_and_do_not_block_open_ones(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """An entry for days without a single slot (closed) would never be offered a place and
    would hold the applicant's one entry of the service: a ValidationError, nothing kept,
    and the applicant waits for an open day at once."""
    from tests.conftest import sign_in

    closed_line = await fresh_line(app, client, clock)
    admin = await sign_in(client, "admin@demo.test")
    closed = await mutate(
        client,
        """mutation($input: AddOfficeClosureInput!) { addOfficeClosure(input: $input) {
          __typename ... on ValidationError { message } } }""",
        admin,
        input={
            "officeId": closed_line.office,
            "date": closed_line.day.isoformat(),
            "reason": "Closed for the waitlist test",
        },
    )
    assert closed["__typename"] == "OfficeClosureAdded", closed
    person = await new_applicant(client)
    refused = await join(client, person.token, closed_line.input(person.person_id))
    assert refused["__typename"] == "ValidationError", refused
    assert refused["field"] == "from"
    assert not await WaitlistEntry.filter(applicant_id=pk_of(person.person_id)).exists()
    open_line = await fresh_line(app, client, clock)
    joined = await join_ok(client, person.token, open_line.input(person.person_id))
    assert (await stored_entry(joined["id"])).status == WAITING
    # Waiting already: that is the answer, whatever days are asked.
    again = await join(client, person.token, closed_line.input(person.person_id))
    assert again["__typename"] == "AlreadyWaiting", again


async def test_joining_counts_as_a_booking_attempt_and_accepting_does_not(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    limit = app.state.services.settings.bookings_per_account
    backwards = line.input(person.person_id, first=line.day, last=line.day - timedelta(days=1))
    for _ in range(limit - 1):
        assert (await join(client, person.token, backwards))["__typename"] == "ValidationError"
    limited = await join(client, person.token, backwards)
    assert limited["__typename"] == "RateLimited" and limited["retryAfterSeconds"] > 0
    # The place freed is offered, and accepting it is not refused by the spent limit.
    assert (await mutate(client, CANCEL, holder.token, id=appointment["id"]))[
        "__typename"
    ] == "AppointmentCancelled"
    accepted = await accept(client, person.token, waiting["id"])
    assert accepted["__typename"] == "BookingConfirmed", accepted


# --------------------------------------------------------------------------------- offers


async def test_a_cancelled_place_is_held_for_the_first_in_line_and_booked_on_accepting(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 4)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    before = datetime.now(UTC)
    cancelled = await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert cancelled["__typename"] == "AppointmentCancelled"

    offered = await entry(client, first.token, one["id"])
    assert offered is not None and offered["status"] == "OFFERED"
    assert offered["position"] is None
    assert offered["offer"]["slot"]["id"] == line.slot_id(4)
    expires = datetime.fromisoformat(offered["offer"]["expiresAt"])
    assert expires.utcoffset() == timedelta(hours=8)  # the office's offset
    hold = timedelta(minutes=app.state.services.settings.waitlist_hold_minutes)
    night = not 8 <= before.astimezone(SHANGHAI).hour < 22
    if not night:
        assert before + hold - timedelta(seconds=5) <= expires <= datetime.now(UTC) + hold
    # The place is nobody else's: not shown, not counted, not bookable (not even by the next
    # in line), and the second still waits, now first.
    assert offered["offer"]["slot"]["remaining"] == 0
    assert await remaining_of(client, line.slot_id(4)) == 0
    assert line.slot_id(4) not in await available_ids(client, line)
    poller = await new_applicant(client)
    assert (await book(client, poller.token, poller.person_id, line.slot_id(4)))[
        "__typename"
    ] == "SlotUnavailable"
    assert (await book(client, second.token, second.person_id, line.slot_id(4)))[
        "__typename"
    ] == "SlotUnavailable"
    waiting = await entry(client, second.token, two["id"])
    assert waiting is not None and waiting["status"] == "WAITING"
    assert waiting["position"] == two["position"] - 1
    assert await slot_counts(line.slots[4].id) == (1, 0, 1)

    accepted = await accept(client, first.token, one["id"])
    assert accepted["__typename"] == "BookingConfirmed", accepted
    assert accepted["appointment"]["status"] == "BOOKED"
    assert accepted["appointment"]["applicant"]["id"] == first.person_id
    assert await slot_counts(line.slots[4].id) == (1, 1, 0)
    done = await entry(client, first.token, one["id"])
    assert done is not None and done["status"] == "BOOKED" and done["offer"] is None
    # Accepting again (a retry after a lost answer) answers the same booking, books nothing
    # more; once that booking is cancelled, the entry's place is no longer there to accept.
    again = await accept(client, first.token, one["id"])
    assert again["__typename"] == "BookingConfirmed", again
    assert again["appointment"]["id"] == accepted["appointment"]["id"]
    assert await slot_counts(line.slots[4].id) == (1, 1, 0)
    assert await Appointment.filter(applicant_id=pk_of(first.person_id)).count() == 1
    await mutate(client, CANCEL, first.token, id=accepted["appointment"]["id"])
    later = await accept(client, first.token, one["id"])
    assert later["__typename"] == "OfferExpired" and later["code"] == "OFFER_EXPIRED"


async def test_an_offer_that_runs_out_passes_to_the_next_in_line(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 1)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    clock.pinned = beijing(beijing_today(clock), 10)  # by day: the hold counts from the offer
    await holder.sign_in_again(client)
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    await first.sign_in_again(client)
    offered = await entry(client, first.token, one["id"])
    assert offered is not None and offered["status"] == "OFFERED"
    assert datetime.fromisoformat(offered["offer"]["expiresAt"]) == clock.pinned + timedelta(
        minutes=30
    )
    # A minute before it runs out nothing has moved; a minute after, a read of the line's
    # slots passes it on, whatever the expiry loop is doing.
    clock.pinned += timedelta(minutes=29)
    await available_ids(client, line)
    assert (await stored_entry(one["id"])).status == "OFFERED"
    clock.pinned += timedelta(minutes=2)
    assert line.slot_id(1) not in await available_ids(client, line)
    await first.sign_in_again(client)
    await second.sign_in_again(client)
    expired = await entry(client, first.token, one["id"])
    assert expired is not None and expired["status"] == "EXPIRED" and expired["offer"] is None
    passed = await entry(client, second.token, two["id"])
    assert passed is not None and passed["status"] == "OFFERED"
    assert passed["offer"]["slot"]["id"] == line.slot_id(1)
    assert datetime.fromisoformat(passed["offer"]["expiresAt"]) == clock.pinned + timedelta(
        minutes=30
    )
    late = await accept(client, first.token, one["id"])
    assert late["__typename"] == "OfferExpired", late
    assert "next in line" in late["message"]
    assert await slot_counts(line.slots[1].id) == (1, 0, 1)
    # With nobody left in line, the place runs out into a free one; the loop's round does it
    # without any read.
    clock.pinned += timedelta(minutes=31)
    assert await waitlist_resolvers.expire_run_out_offers(app.state.services) >= 1
    assert (await stored_entry(two["id"])).status == "EXPIRED"
    assert await slot_counts(line.slots[1].id) == (1, 0, 0)
    assert line.slot_id(1) in await available_ids(client, line)


async def test_an_entry_read_by_id_after_its_offer_ran_out_shows_it_passed_on(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """No read of the line's slots and no expiry round in between: the entry's own read ends
    the offer and passes the place to the next in line."""
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 1)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    clock.pinned = beijing(beijing_today(clock), 10)
    await holder.sign_in_again(client)
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert (await stored_entry(one["id"])).status == "OFFERED"
    clock.pinned += timedelta(minutes=31)
    await first.sign_in_again(client)
    assert (await stored_entry(one["id"])).status == "OFFERED"  # nothing has moved it yet
    read = await entry(client, first.token, one["id"])
    assert read is not None and read["status"] == "EXPIRED" and read["offer"] is None
    assert (await stored_entry(two["id"])).status == "OFFERED"
    await second.sign_in_again(client)
    passed = await entry(client, second.token, two["id"])
    assert passed is not None and passed["status"] == "OFFERED"
    assert passed["offer"]["slot"]["id"] == line.slot_id(1)


async def test_an_offer_made_at_night_is_held_from_eight_in_the_morning(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    clock.pinned = beijing(beijing_today(), 23)
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 2)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    offered = await entry(client, person.token, waiting["id"])
    assert offered is not None and offered["status"] == "OFFERED"
    morning = beijing(beijing_today(clock) + timedelta(days=1), 8, 30)
    assert datetime.fromisoformat(offered["offer"]["expiresAt"]) == morning
    # Still held at 08:29 the next morning, run out at 08:30.
    clock.pinned = morning - timedelta(minutes=1)
    await available_ids(client, line)
    assert (await stored_entry(waiting["id"])).status == "OFFERED"
    clock.pinned = morning
    await available_ids(client, line)
    assert (await stored_entry(waiting["id"])).status == "EXPIRED"
    assert await slot_counts(line.slots[2].id) == (1, 0, 0)


async def test_a_place_freed_at_night_for_an_early_slot_is_not_held_but_left_free(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """Freed at 23:00 for a slot whose last bookable moment comes before the hold would start
    (08:00): holding it would keep it from everyone all night, the applicant asleep, and
    then lose it. It is not offered; anyone may book it, and the line still waits."""
    line = await fresh_line(app, client, clock)
    lead = timedelta(minutes=app.state.services.settings.booking_min_lead_minutes)
    early = line.slots[0]
    assert early.starts_at - lead < beijing(line.day, 8), "the line's first slot is not early"
    clock.pinned = beijing(line.day - timedelta(days=1), 23)
    holder, appointment = await booked_in_line(client, line, 0)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert (await stored_entry(waiting["id"])).status == "WAITING"
    assert await slot_counts(early.id) == (1, 0, 0)
    assert line.slot_id(0) in await available_ids(client, line)
    clock.pinned = beijing(line.day, 3)
    night_owl = await new_applicant(client)
    await book_ok(client, night_owl, line.slot_id(0))
    assert (await stored_entry(waiting["id"])).status == "WAITING"


async def test_at_night_a_later_place_is_offered_past_one_too_early_to_offer(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """Places offered at night (new slots made after midnight) go to the line from the
    first one bookable once the hold starts at 08:00: a free place at exactly 08:00 + lead
    is passed over (it could be accepted no longer than an instant) and the next one is
    offered, not nothing at all."""
    line = await fresh_line(app, client, clock)
    lead = timedelta(minutes=app.state.services.settings.booking_min_lead_minutes)
    boundary = beijing(line.day, 8) + lead
    index = next(i for i, s in enumerate(line.slots) if s.starts_at == boundary)
    later = line.slots[index + 1]
    clock.pinned = beijing(line.day - timedelta(days=1), 23)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    await add_place(line.slots[index].id)
    await add_place(later.id)

    async def made_none(offices: list[int]) -> int:
        return 1  # as if slots were made: the line's free places are offered

    clock.pinned = beijing(line.day, 0, 30)
    await waitlist_resolvers.release_slots(app.state.services, made_none, [pk_of(line.office)])
    offered = await stored_entry(waiting["id"])
    assert offered.status == "OFFERED"
    assert offered.offer_slot_id == later.id


async def test_leaving_an_offered_entry_declines_it_and_the_next_in_line_gets_it(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 3)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    declined = await leave(client, first.token, one["id"])
    assert declined["__typename"] == "WaitlistLeft"
    assert declined["entry"]["status"] == "LEFT" and declined["entry"]["offer"] is None
    passed = await entry(client, second.token, two["id"])
    assert passed is not None and passed["status"] == "OFFERED"
    assert passed["offer"]["slot"]["id"] == line.slot_id(3)
    assert await slot_counts(line.slots[3].id) == (1, 0, 1)
    # Leaving twice changes nothing; nobody else may leave for them.
    assert (await leave(client, first.token, one["id"]))["entry"]["status"] == "LEFT"
    stranger = await new_applicant(client)
    assert (await leave(client, stranger.token, two["id"]))["__typename"] == "NotPermitted"
    assert (await accept(client, stranger.token, two["id"]))["__typename"] == "NotPermitted"
    # The last in line declining frees the place for everyone.
    await leave(client, second.token, two["id"])
    assert await slot_counts(line.slots[3].id) == (1, 0, 0)
    assert line.slot_id(3) in await available_ids(client, line)


async def test_a_place_left_by_rescheduling_is_offered_to_the_first_in_line(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 5)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    (elsewhere,) = await open_slots(client)
    moved = await mutate(
        client,
        RESCHEDULE,
        holder.token,
        input={"appointmentId": appointment["id"], "slotId": elsewhere["id"]},
    )
    assert moved["__typename"] == "AppointmentRescheduled", moved
    offered = await entry(client, person.token, waiting["id"])
    assert offered is not None and offered["status"] == "OFFERED"
    assert offered["offer"]["slot"]["id"] == line.slot_id(5)


async def test_booking_otherwise_ends_the_wait_and_passes_a_held_place_on(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 0)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    # The first, holding the offer, books another place on their own: the held one passes on.
    (elsewhere,) = await open_slots(client)
    booked = await book_ok(client, first, elsewhere["id"])
    done = await stored_entry(one["id"])
    assert done.status == "BOOKED" and done.appointment_id == pk_of(booked["id"])
    passed = await entry(client, second.token, two["id"])
    assert passed is not None and passed["status"] == "OFFERED"
    # The second books elsewhere too while holding it: the place is free again.
    (other,) = await open_slots(client)
    await book_ok(client, second, other["id"])
    assert (await stored_entry(two["id"])).status == "BOOKED"
    assert await slot_counts(line.slots[0].id) == (1, 0, 0)


async def test_booking_the_held_place_itself_accepts_the_offer(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    """The first in line books the very slot their offer holds (bookAppointment, not
    acceptWaitlistOffer): they get the held place, as accepting would give it, and the next
    in line keeps waiting (no place was freed)."""
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 0)
    first, second = await new_applicant(client), await new_applicant(client)
    one = await join_ok(client, first.token, line.input(first.person_id))
    two = await join_ok(client, second.token, line.input(second.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    offered = await entry(client, first.token, one["id"])
    assert offered is not None and offered["status"] == "OFFERED", offered

    booked = await book_ok(client, first, line.slot_id(0))

    done = await stored_entry(one["id"])
    assert done.status == "BOOKED" and done.appointment_id == pk_of(booked["id"])
    waiting = await entry(client, second.token, two["id"])
    assert waiting is not None and waiting["status"] == "WAITING", waiting
    assert await slot_counts(line.slots[0].id) == (1, 1, 0)


async def test_a_closure_returns_offers_to_the_line_and_new_slots_are_offered_first(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 6)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert (await stored_entry(waiting["id"])).status == "OFFERED"
    # The office closes that day: the offer goes back in line (its place kept), nothing held.
    from tests.conftest import sign_in

    admin = await sign_in(client, "admin@demo.test")
    closed = await mutate(
        client,
        """mutation($input: AddOfficeClosureInput!) { addOfficeClosure(input: $input) {
          __typename ... on ValidationError { message } } }""",
        admin,
        input={"officeId": line.office, "date": line.day.isoformat(), "reason": "Waitlist test"},
    )
    assert closed["__typename"] == "OfficeClosureAdded", closed
    back = await entry(client, person.token, waiting["id"])
    assert back is not None and back["status"] == "WAITING"
    assert back["position"] == waiting["position"]
    assert await slot_counts(line.slots[6].id) == (1, 0, 0)
    # They were told of the offer, so they are told it is gone.
    inbox = await gql(
        client,
        "{ viewer { notifications(first: 20) { edges { node { kind body subject { id } } } } } }",
        token=person.token,
    )
    withdrawn = [
        e["node"]
        for e in inbox["data"]["viewer"]["notifications"]["edges"]
        if e["node"]["kind"] == "WAITLIST_OFFER_WITHDRAWN"
    ]
    assert [n["subject"]["id"] for n in withdrawn] == [waiting["id"]], withdrawn
    assert "You keep your place in line" in withdrawn[0]["body"]
    # New slots in the range (here: the day's slots made again after the closure is taken
    # off in the data) are offered to the line in the unit of work that creates them.
    from persistence.models import OfficeClosure

    await OfficeClosure.filter(office__code=line.code, date=line.day).delete()
    ids = [s.id for s in line.slots]
    kept = set(await Appointment.filter(slot_id__in=ids).values_list("slot_id", flat=True))
    await Slot.filter(id__in=[i for i in ids if i not in kept]).delete()
    await upkeep(app.state.services)
    offered = await entry(client, person.token, waiting["id"])
    assert offered is not None and offered["status"] == "OFFERED", offered
    new_slot = await Slot.get(id=pk_of(offered["offer"]["slot"]["id"]))
    assert new_slot.starts_at.astimezone(SHANGHAI).date() == line.day
    assert new_slot.held == 1


# ------------------------------------------------------------------------ helpers and news


async def test_a_helper_with_book_appointments_waits_and_accepts_for_a_dependant(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 7)
    helper, dependant, delegation = await accepted_dependant(client)
    assert dependant.person is not None
    waiting = await join_ok(client, helper.token, line.input(dependant.person.id))
    # Joined under the gate, in the dependant's trail.
    body = await gql(client, ACTIONS, token=dependant.token)
    actions = [e["node"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    joined = [a for a in actions if a["action"] == "JOIN_WAITLIST"]
    assert joined and joined[0]["target"] == f"WaitlistEntry:{pk_of(waiting['id'])}"
    assert joined[0]["actor"]["kind"] == "HELPER"
    # A second helper who may only see documents neither sees nor acts on the entry.
    viewer_only, _ = await helper_in_database(
        client, dependant.person.id, ["VIEW_DOCUMENTS"], "FRIEND"
    )
    assert await entry(client, viewer_only, waiting["id"]) is None
    body = await gql(client, PERSON_WAITLIST, {"id": dependant.person.id}, token=viewer_only)
    assert body["data"]["node"]["waitlist"] is None
    assert (await join(client, viewer_only, line.input(dependant.person.id)))[
        "__typename"
    ] == "NotPermitted"
    # The offer reaches the dependant and the helper with the scope, not the other one.
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    news = ("WAITLIST_OFFER", waiting["id"])
    assert news in await inbox_kinds(client, dependant.token)
    assert news in await inbox_kinds(client, helper.token)
    assert news not in await inbox_kinds(client, viewer_only)
    assert (await accept(client, viewer_only, waiting["id"]))["__typename"] == "NotPermitted"
    accepted = await accept(client, helper.token, waiting["id"])
    assert accepted["__typename"] == "BookingConfirmed", accepted
    assert accepted["appointment"]["applicant"]["id"] == dependant.person.id
    body = await gql(client, ACTIONS, token=dependant.token)
    actions = [e["node"]["action"] for e in body["data"]["viewer"]["actionsOnMyBehalf"]["edges"]]
    assert "ACCEPT_WAITLIST_OFFER" in actions
    assert delegation["status"] == "ACTIVE"


async def test_a_helper_without_book_appointments_cannot_join(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    helper, child, _ = await active_dependant(client, ["VIEW_APPLICATIONS", "VIEW_DOCUMENTS"])
    result = await join(client, helper.token, line.input(child.id))
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}
    with_scope, minor, _ = await active_dependant(client)
    joined = await join_ok(client, with_scope.token, line.input(minor.id))
    assert joined["applicant"]["id"] == minor.id


async def test_the_offer_notification_names_the_place_and_the_hold(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 8)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    clock.pinned = beijing(beijing_today(clock), 11)
    await holder.sign_in_again(client)
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    await person.sign_in_again(client)
    body = await gql(client, INBOX, token=person.token)
    (news,) = [
        e["node"]
        for e in body["data"]["viewer"]["notifications"]["edges"]
        if e["node"]["kind"] == "WAITLIST_OFFER"
    ]
    assert news["person"]["id"] == person.person_id
    assert news["subject"] == {"__typename": "WaitlistEntry", "id": waiting["id"]}
    starts = line.slots[8].starts_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert starts in news["body"]
    assert (clock.pinned + timedelta(minutes=30)).astimezone(SHANGHAI).strftime("%H:%M") in news[
        "body"
    ]


# ------------------------------------------------------------------ the official calendar


async def _calendar_with_holiday(day: Any, name: str) -> Any:
    """The stored official calendar, with `day` made a public holiday (as a newly published
    year of chinese-calendar would)."""
    from domain.calendar import CalendarDay, DayKind, WorkingCalendar
    from persistence.models import CalendarDay as StoredDay
    from persistence.models import CalendarYear

    stored = [
        CalendarDay(day=d.day, kind=DayKind(d.kind), name=d.name, provisional=d.provisional)
        for d in await StoredDay.all()
    ]
    years = await CalendarYear.all().values_list("year", "provisional")
    return WorkingCalendar(
        [*stored, CalendarDay(day=day, kind=DayKind.HOLIDAY, name=name, provisional=False)],
        provisional_years=[y for y, provisional in years if provisional],
        years=[y for y, _ in years],
    )


async def test_a_day_the_calendar_makes_a_holiday_after_its_slots_were_made_closes(
    app: Any, client: httpx.AsyncClient, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = await fresh_line(app, client, clock)
    holder, appointment = await booked_in_line(client, line, 4)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, line.input(person.person_id))
    services = app.state.services
    monkeypatch.setattr(
        services, "calendar", await _calendar_with_holiday(line.day, "Test Festival")
    )
    today = beijing_today(clock)
    last = line.day + timedelta(days=30)
    office = [pk_of(line.office)]

    # Two processes' rounds at once: the day closes once, and the holder is told once.
    rounds = await asyncio.gather(
        *(waitlist_resolvers.close_public_holidays(services, today, last, office) for _ in "ab")
    )

    assert sorted(rounds) == [0, 1]
    body = await gql(
        client,
        "query($id: ID!) { node(id: $id) { ... on Appointment { status } } }",
        {"id": appointment["id"]},
        token=holder.token,
    )
    assert body["data"]["node"]["status"] == "CANCELLED_BY_OFFICE", body
    told = await inbox_kinds(client, holder.token)
    assert told.count(("APPOINTMENT_CANCELLED_BY_OFFICE", appointment["id"])) == 1, told
    # Why, in the reader's language (the service's reason, not an admin's typed one).
    for lang, words in (("ZH", "法定节假日"), ("EN", "a public holiday on the official calendar")):
        body = await gql(
            client, INBOX.replace(" body ", f" body(lang: {lang}) "), token=holder.token
        )
        [notice] = [
            e["node"]
            for e in body["data"]["viewer"]["notifications"]["edges"]
            if e["node"]["kind"] == "APPOINTMENT_CANCELLED_BY_OFFICE"
        ]
        assert words in notice["body"], notice
    assert not await Slot.filter(id__in=[s.id for s in line.slots], open=True).exists()
    # The freed place is not offered: the day is closed. The wait goes on for other days.
    assert (await stored_entry(waiting["id"])).status == "WAITING"
    # Once closed, a later round finds nothing more to do.
    assert await waitlist_resolvers.close_public_holidays(services, today, last, office) == 0


async def test_every_upkeep_round_closes_the_public_holidays_of_the_booking_horizon(
    app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server

    rounds: list[tuple[Any, Any]] = []

    async def record(services: Any, first: Any, last: Any, office_ids: Any = None) -> int:
        rounds.append((first, last))
        return 0

    monkeypatch.setattr(server.waitlist, "close_public_holidays", record)
    await upkeep(app.state.services)
    [(first, last)] = rounds
    assert first == beijing_today(app.state.services.clock)
    assert last > first


async def test_an_offer_run_out_at_another_office_ends_on_joining_and_does_not_block_it(
    app: Any, client: httpx.AsyncClient, clock: Any
) -> None:
    first_line = await fresh_line(app, client, clock)
    other_line = await fresh_line(app, client, clock)
    assert first_line.office != other_line.office
    clock.pinned = beijing(beijing_today(clock), 10)
    holder, appointment = await booked_in_line(client, first_line, 3)
    person = await new_applicant(client)
    waiting = await join_ok(client, person.token, first_line.input(person.person_id))
    await mutate(client, CANCEL, holder.token, id=appointment["id"])
    assert (await stored_entry(waiting["id"])).status == "OFFERED"

    hold = app.state.services.settings.waitlist_hold_minutes
    clock.pinned += timedelta(minutes=hold + 1)  # run out; the expiry loop has not come by
    await person.sign_in_again(client)
    answer = await join(client, person.token, other_line.input(person.person_id))

    assert answer["__typename"] == "WaitlistJoined", answer
    assert (await stored_entry(waiting["id"])).status == "EXPIRED"
    # The place it held is free again (nobody else waits for it).
    assert await slot_counts(first_line.slots[3].id) == (1, 0, 0)
