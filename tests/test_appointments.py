"""Booking, cancelling, rescheduling, checking in and closing days, through HTTP.

Each test books for applicants it creates itself (officer registerPerson, then a new account
linked with linkIdentity), so "one active appointment per applicant and service" never
collides across tests. Tests that need fixed days pin the clock and generate the slots of
those days themselves; everything else books from the slots the server generated for the
real booking horizon.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import re
import secrets
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from tortoise.transactions import in_transaction

from domain.booking import active_key
from domain.identifiers import random_reference
from domain.persons import PersonFacts
from persistence import appointments as appointment_store
from persistence.accounts import create_account
from persistence.models import Account, Delegation, Slot
from persistence.models import Appointment as AppointmentRow
from persistence.persons import create_person
from schema.common import to_global_id
from tests import helpers
from tests.conftest import gql, sign_in, sign_up, unique_email
from tests.helpers import (
    BOOKING_OFFICES,
    CHECK_IN,
    NOT_PERMITTED,
    PASSWORD,
    available,
    beijing,
    beijing_today,
    fresh_slot,
    generate_day,
    new_applicant,
    office_id,
    pick_slots,
    pk_of,
    remaining,
)

REFERENCE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}[0-9A-HJKMNP-TV-Z*~$=U]$")
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = CROCKFORD + "*~$=U"

# ------------------------------------------------------------------------ GraphQL documents

APPOINTMENT_FIELDS = """
  id reference status service startsAt endsAt rescheduleCount
  applicant { id }
  office { id code }
  bookedBy { id kind displayName }
  rescheduledFrom { id }
  rescheduledTo { id }
"""

BOOK = f"""
mutation($input: BookAppointmentInput!) {{
  bookAppointment(input: $input) {{
    __typename
    ... on BookingConfirmed {{ appointment {{ {APPOINTMENT_FIELDS} }} }}
    ... on SlotUnavailable {{ message }}
    ... on AlreadyBooked {{ message existing {{ id reference status }} }}
    ... on NotPermitted {{ message }}
    ... on ValidationError {{ message field }}
    ... on RateLimited {{ message retryAfterSeconds }}
  }}
}}"""

CANCEL = f"""
mutation($id: ID!) {{
  cancelAppointment(id: $id) {{
    __typename
    ... on AppointmentCancelled {{ appointment {{ {APPOINTMENT_FIELDS} }} }}
    ... on ChangeWindowClosed {{ message }}
    ... on NotPermitted {{ message }}
  }}
}}"""

RESCHEDULE = f"""
mutation($input: RescheduleAppointmentInput!) {{
  rescheduleAppointment(input: $input) {{
    __typename
    ... on AppointmentRescheduled {{
      appointment {{ {APPOINTMENT_FIELDS} }}
      previous {{ {APPOINTMENT_FIELDS} }}
    }}
    ... on SlotUnavailable {{ message }}
    ... on ChangeWindowClosed {{ message }}
    ... on RescheduleLimitReached {{ message }}
    ... on NotPermitted {{ message }}
    ... on ValidationError {{ message field }}
  }}
}}"""

ADD_CLOSURE = """
mutation($input: AddOfficeClosureInput!) {
  addOfficeClosure(input: $input) {
    __typename
    ... on OfficeClosureAdded { closure { date reason } cancelledAppointments }
    ... on ValidationError { message field }
    ... on NotPermitted { message }
  }
}"""

APPOINTMENT_NODE = (
    f"query($id: ID!) {{ node(id: $id) {{ id ... on Appointment {{ {APPOINTMENT_FIELDS} }} }} }}"
)
MY_APPOINTMENTS = """
{ viewer { person { id appointments(first: 100) {
    edges { node { id reference status service } } } } } }"""
PERSON_APPOINTMENTS = """
query($id: ID!) { node(id: $id) { ... on Person { id appointments(first: 100) {
    edges { node { id reference status service bookedBy { kind } } } } } } }"""

# ------------------------------------------------------------------------------- helpers

# Bookings answered with every appointment field (the shared helpers ask for fewer).
book = partial(helpers.book, document=BOOK)
book_ok = partial(helpers.book_ok, document=BOOK)


async def stranger_token(client: httpx.AsyncClient) -> str:
    """A signed-up account with no person and no delegations."""
    return (await sign_up(client))["accessToken"]


async def booked_in_db(slot_id: str) -> int:
    return (await Slot.get(id=pk_of(slot_id))).booked


async def cancel(client: httpx.AsyncClient, token: str | None, appointment_id: str) -> dict:
    body = await gql(client, CANCEL, {"id": appointment_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["cancelAppointment"]


async def reschedule(
    client: httpx.AsyncClient,
    token: str,
    appointment_id: str,
    slot_id: str,
    key: str | None = None,
) -> dict:
    data: dict[str, Any] = {"appointmentId": appointment_id, "slotId": slot_id}
    if key is not None:
        data["idempotencyKey"] = key
    body = await gql(client, RESCHEDULE, {"input": data}, token=token)
    assert "errors" not in body, body
    return body["data"]["rescheduleAppointment"]


async def appointment_as(client: httpx.AsyncClient, token: str, appointment_id: str) -> dict:
    body = await gql(client, APPOINTMENT_NODE, {"id": appointment_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["node"]


async def check_in(client: httpx.AsyncClient, token: str, appointment_id: str) -> dict:
    body = await gql(client, CHECK_IN, {"id": appointment_id}, token=token)
    assert "errors" not in body, body
    return body["data"]["checkInAppointment"]


async def add_closure(client: httpx.AsyncClient, token: str, office: str, day: date) -> dict:
    body = await gql(
        client,
        ADD_CLOSURE,
        {"input": {"officeId": office, "date": day.isoformat(), "reason": "Test closure"}},
        token=token,
    )
    assert "errors" not in body, body
    return body["data"]["addOfficeClosure"]


def check_symbol_ok(reference: str) -> bool:
    body, check = reference.replace("-", "")[:8], reference[-1]
    value = 0
    for char in body:
        value = value * 32 + CROCKFORD.index(char)
    return CHECK_SYMBOLS[value % 37] == check


def slot_at(slots: list[dict], hour: int, minute: int = 0) -> dict:
    for s in slots:
        start = datetime.fromisoformat(s["startsAt"])
        if (start.hour, start.minute) == (hour, minute):
            return s
    raise AssertionError(f"no slot at {hour:02d}:{minute:02d} in {[s['startsAt'] for s in slots]}")


# ------------------------------------------------------------------------------- booking


async def test_booking_is_confirmed_with_a_reference_and_takes_a_place(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    booked_before = await booked_in_db(slot["id"])

    appointment = await book_ok(client, who, slot["id"])

    assert REFERENCE.fullmatch(appointment["reference"]), appointment["reference"]
    assert check_symbol_ok(appointment["reference"]), appointment["reference"]
    assert appointment["status"] == "BOOKED"
    assert appointment["service"] == "VISA_EXTENSION"
    assert appointment["bookedBy"]["kind"] == "SELF"
    assert appointment["applicant"]["id"] == who.person_id
    assert appointment["startsAt"] == slot["startsAt"]
    assert appointment["endsAt"] == slot["endsAt"]
    assert appointment["office"]["code"] == slot["office"]["code"]
    assert appointment["rescheduleCount"] == 0
    assert appointment["rescheduledFrom"] is None and appointment["rescheduledTo"] is None
    assert await remaining(client, slot["id"]) == before - 1
    assert await booked_in_db(slot["id"]) == booked_before + 1


async def test_booked_appointment_is_listed_for_the_person_and_hidden_from_others(
    app, client, clock
):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])

    body = await gql(client, MY_APPOINTMENTS, token=who.token)
    person = body["data"]["viewer"]["person"]
    assert person["id"] == who.person_id
    nodes = [e["node"] for e in person["appointments"]["edges"]]
    assert nodes == [
        {
            "id": appointment["id"],
            "reference": appointment["reference"],
            "status": "BOOKED",
            "service": "VISA_EXTENSION",
        }
    ]
    assert (await appointment_as(client, who.token, appointment["id"]))["id"] == appointment["id"]
    # Someone else cannot see it: exactly like a missing object.
    other = await stranger_token(client)
    assert (await appointment_as(client, other, appointment["id"])) is None


async def test_second_booking_for_the_same_service_is_already_booked_naming_it(app, client, clock):
    who = await new_applicant(client)
    first_slot, second_slot = await pick_slots(app, client, clock, count=2)
    first = await book_ok(client, who, first_slot["id"])
    before = await remaining(client, second_slot["id"])

    again = await book(client, who.token, who.person_id, second_slot["id"])

    assert again["__typename"] == "AlreadyBooked", again
    assert again["existing"] == {
        "id": first["id"],
        "reference": first["reference"],
        "status": "BOOKED",
    }
    assert first["reference"] in again["message"]
    assert await remaining(client, second_slot["id"]) == before
    # The same slot again is refused the same way.
    same = await book(client, who.token, who.person_id, first_slot["id"])
    assert same["__typename"] == "AlreadyBooked", same
    assert same["existing"]["id"] == first["id"]


async def test_a_different_service_can_be_booked_alongside(app, client, clock):
    who = await new_applicant(client)
    office = random.choice(BOOKING_OFFICES)
    visa_a, visa_b = await pick_slots(app, client, clock, "VISA_EXTENSION", 2, office=office)
    (residence,) = await pick_slots(app, client, clock, "RESIDENCE_PERMIT_EXTENSION", office=office)

    extension = await book_ok(client, who, visa_a["id"], "VISA_EXTENSION")
    renewal = await book_ok(client, who, visa_b["id"], "VISA_RENEWAL")
    permit = await book_ok(client, who, residence["id"], "RESIDENCE_PERMIT_EXTENSION")

    assert len({extension["id"], renewal["id"], permit["id"]}) == 3
    assert [renewal["service"], permit["service"]] == ["VISA_RENEWAL", "RESIDENCE_PERMIT_EXTENSION"]
    body = await gql(client, MY_APPOINTMENTS, token=who.token)
    statuses = {
        e["node"]["service"]: e["node"]["status"]
        for e in body["data"]["viewer"]["person"]["appointments"]["edges"]
    }
    assert statuses == {
        "VISA_EXTENSION": "BOOKED",
        "VISA_RENEWAL": "BOOKED",
        "RESIDENCE_PERMIT_EXTENSION": "BOOKED",
    }
    # Latest first.
    body = await gql(
        client,
        "{ viewer { person { appointments { edges { node { startsAt } } } } } }",
        token=who.token,
    )
    starts = [
        datetime.fromisoformat(e["node"]["startsAt"])
        for e in body["data"]["viewer"]["person"]["appointments"]["edges"]
    ]
    assert starts == sorted(starts, reverse=True)


async def test_a_slot_of_the_other_service_group_is_validation_error(app, client, clock):
    who = await new_applicant(client)
    (residence,) = await pick_slots(app, client, clock, "RESIDENCE_PERMIT_EXTENSION")
    before = await remaining(client, residence["id"])
    result = await book(client, who.token, who.person_id, residence["id"], "VISA_EXTENSION")
    assert result["__typename"] == "ValidationError", result
    assert await remaining(client, residence["id"]) == before


async def test_an_unknown_slot_is_slot_unavailable(client):
    who = await new_applicant(client)
    for slot_id in (to_global_id("Slot", 987654321), "not-a-slot-id"):
        result = await book(client, who.token, who.person_id, slot_id)
        assert result["__typename"] == "SlotUnavailable", result


async def test_a_slot_closed_while_its_booking_runs_is_said_to_be_closed_not_full(
    app, client, clock, monkeypatch
):
    """A closure that lands between reading the slot and taking its place: the booking is
    refused, and the message says the slot is closed (it had places left)."""
    from resolvers import appointments as resolver

    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    original = resolver.bookable_slot
    before = await booked_in_db(slot["id"])

    async def closed_meanwhile(*args: Any, **kwargs: Any) -> Any:
        read = await original(*args, **kwargs)
        await Slot.filter(id=read.id).update(open=False)
        return read

    monkeypatch.setattr(resolver, "bookable_slot", closed_meanwhile)
    result = await book(client, who.token, who.person_id, slot["id"])
    assert result["__typename"] == "SlotUnavailable", result
    assert "closed" in result["message"] and "fully booked" not in result["message"]
    assert await booked_in_db(slot["id"]) == before


async def test_a_slot_within_the_minimum_lead_time_cannot_be_booked(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    starts = datetime.fromisoformat(slot["startsAt"])
    clock.pinned = (starts - timedelta(minutes=119)).astimezone(UTC)
    await who.sign_in_again(client)
    before = await booked_in_db(slot["id"])
    result = await book(client, who.token, who.person_id, slot["id"])
    assert result["__typename"] == "SlotUnavailable", result
    assert "at least 120 minutes ahead" in result["message"], result
    assert await booked_in_db(slot["id"]) == before
    # Once it has started, that is what the answer says (no lead time would help).
    clock.pinned = (starts + timedelta(minutes=1)).astimezone(UTC)
    await who.sign_in_again(client)
    result = await book(client, who.token, who.person_id, slot["id"])
    assert result["__typename"] == "SlotUnavailable", result
    assert result["message"] == "This slot has already started: choose a later time.", result
    # Two hours and a minute ahead is fine.
    clock.pinned = (starts - timedelta(minutes=121)).astimezone(UTC)
    await who.sign_in_again(client)
    assert (await book(client, who.token, who.person_id, slot["id"]))[
        "__typename"
    ] == "BookingConfirmed"


async def test_a_slot_beyond_the_horizon_cannot_be_booked(app, client, clock):
    # Pinned to Monday 2026-11-02: the horizon ends 14 working days later, on Friday
    # 2026-11-20 (November 2026 has no holidays); the Monday after is beyond it.
    clock.pinned = beijing(date(2026, 11, 2), 9)
    last = app.state.services.calendar.add_working_days(date(2026, 11, 2), 14)
    assert last == date(2026, 11, 20)
    await generate_day(app, "SH-JA", last, last + timedelta(days=3))
    who = await new_applicant(client)
    office = await office_id(client, "SH-JA")
    inside = await available(client, "SH-JA", "VISA_EXTENSION", last, last)
    assert inside, "the last day of the horizon has slots"
    beyond = await Slot.filter(
        office_id=pk_of(office),
        service_group="VISA",
        starts_at__gte=beijing(last + timedelta(days=3), 0),
        starts_at__lt=beijing(last + timedelta(days=4), 0),
    ).first()
    assert beyond is not None
    result = await book(client, who.token, who.person_id, to_global_id("Slot", beyond.id))
    assert result["__typename"] == "SlotUnavailable", result
    assert (await Slot.get(id=beyond.id)).booked == 0
    assert (await book_ok(client, who, inside[0]["id"]))["status"] == "BOOKED"


# --------------------------------------------------------------------------- idempotency


async def test_same_idempotency_key_and_input_returns_the_same_booking(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    key = secrets.token_hex(16)

    first = await book(client, who.token, who.person_id, slot["id"], key=key)
    second = await book(client, who.token, who.person_id, slot["id"], key=key)

    assert first["__typename"] == "BookingConfirmed", first
    assert second["__typename"] == "BookingConfirmed", second
    assert second["appointment"]["id"] == first["appointment"]["id"]
    assert second["appointment"]["reference"] == first["appointment"]["reference"]
    assert await remaining(client, slot["id"]) == before - 1
    body = await gql(client, MY_APPOINTMENTS, token=who.token)
    assert len(body["data"]["viewer"]["person"]["appointments"]["edges"]) == 1


async def test_same_idempotency_key_with_another_slot_is_validation_error(app, client, clock):
    who = await new_applicant(client)
    slot_a, slot_b = await pick_slots(app, client, clock, count=2)
    key = secrets.token_hex(16)
    first = await book(client, who.token, who.person_id, slot_a["id"], key=key)
    assert first["__typename"] == "BookingConfirmed", first
    before_b = await remaining(client, slot_b["id"])

    other = await book(client, who.token, who.person_id, slot_b["id"], key=key)

    assert other["__typename"] == "ValidationError", other
    assert other["field"] == "idempotencyKey"
    assert await remaining(client, slot_b["id"]) == before_b


async def test_an_idempotency_key_belongs_to_one_account(app, client, clock):
    first, second = await new_applicant(client), await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    key = secrets.token_hex(16)
    a = await book(client, first.token, first.person_id, slot["id"], key=key)
    b = await book(client, second.token, second.person_id, slot["id"], key=key)
    assert a["__typename"] == b["__typename"] == "BookingConfirmed", (a, b)
    assert a["appointment"]["id"] != b["appointment"]["id"]
    assert b["appointment"]["applicant"]["id"] == second.person_id


async def test_an_idempotency_key_longer_than_100_characters_is_validation_error(
    app, client, clock
):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await booked_in_db(slot["id"])
    result = await book(client, who.token, who.person_id, slot["id"], key="k" * 101)
    assert result["__typename"] == "ValidationError", result
    assert result["field"] == "idempotencyKey"
    assert await booked_in_db(slot["id"]) == before


async def test_concurrent_retries_with_one_idempotency_key_book_once(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await booked_in_db(slot["id"])
    key = secrets.token_hex(16)
    results = await asyncio.gather(
        *(book(client, who.token, who.person_id, slot["id"], key=key) for _ in range(5))
    )
    assert {r["__typename"] for r in results} == {"BookingConfirmed"}, results
    assert len({r["appointment"]["id"] for r in results}) == 1
    assert await booked_in_db(slot["id"]) == before + 1
    assert await AppointmentRow.filter(applicant_id=pk_of(who.person_id)).count() == 1


async def test_concurrent_double_booking_without_a_key_books_once(app, client, clock):
    who = await new_applicant(client)
    slot_a, slot_b = await pick_slots(app, client, clock, count=2)
    before = {s["id"]: await booked_in_db(s["id"]) for s in (slot_a, slot_b)}
    results = await asyncio.gather(
        book(client, who.token, who.person_id, slot_a["id"]),
        book(client, who.token, who.person_id, slot_b["id"]),
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["AlreadyBooked", "BookingConfirmed"], results
    winner = next(r for r in results if r["__typename"] == "BookingConfirmed")
    loser = next(r for r in results if r["__typename"] == "AlreadyBooked")
    after = {s["id"]: await booked_in_db(s["id"]) for s in (slot_a, slot_b)}
    assert sum(after.values()) == sum(before.values()) + 1
    # The applicant may see the appointment that won, so AlreadyBooked names it.
    assert loser["existing"] is not None, loser
    assert loser["existing"]["id"] == winner["appointment"]["id"]


# ------------------------------------------------------------------------- authorization


async def test_stranger_booking_for_a_person_is_not_permitted_like_an_unknown_id(
    app, client, clock
):
    who = await new_applicant(client)
    other_applicant = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    stranger = await stranger_token(client)

    as_stranger = await book(client, stranger, who.person_id, slot["id"])
    as_other_applicant = await book(client, other_applicant.token, who.person_id, slot["id"])
    analyst = await sign_in(client, "analyst@demo.test")
    as_analyst = await book(client, analyst, who.person_id, slot["id"])
    garbage = await book(client, stranger, "garbage", slot["id"])
    unknown = await book(client, stranger, to_global_id("Person", 987654321), slot["id"])

    for result in (as_stranger, as_other_applicant, as_analyst, garbage, unknown):
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert await remaining(client, slot["id"]) == before


async def test_anonymous_booking_is_unauthenticated(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    body = await gql(
        client,
        BOOK,
        {
            "input": {
                "applicantId": who.person_id,
                "slotId": slot["id"],
                "service": "VISA_EXTENSION",
            }
        },
    )
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert body.get("data") is None or body["data"].get("bookAppointment") is None
    assert await remaining(client, slot["id"]) == before


async def test_a_helper_needs_an_active_delegation_with_book_appointments(app, client, clock):
    dependant = await new_applicant(client)
    helper = await sign_up(client)
    helper_pk = pk_of(helper["account"]["id"])
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    delegation = await Delegation.create(
        helper_id=helper_pk,
        dependant_id=pk_of(dependant.person_id),
        relationship="FRIEND",
        scopes=["VIEW_APPLICATIONS", "VIEW_DOCUMENTS"],
        status="ACTIVE",
    )
    without_scope = await book(client, helper["accessToken"], dependant.person_id, slot["id"])
    listed = await gql(
        client, PERSON_APPOINTMENTS, {"id": dependant.person_id}, token=helper["accessToken"]
    )
    assert listed["data"]["node"]["appointments"] is None

    await Delegation.filter(id=delegation.id).update(
        scopes=["BOOK_APPOINTMENTS"], valid_until=beijing_today(clock) - timedelta(days=2)
    )
    expired = await book(client, helper["accessToken"], dependant.person_id, slot["id"])
    await Delegation.filter(id=delegation.id).update(valid_until=None, status="REVOKED")
    revoked = await book(client, helper["accessToken"], dependant.person_id, slot["id"])

    for result in (without_scope, expired, revoked):
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert await remaining(client, slot["id"]) == before

    await Delegation.filter(id=delegation.id).update(status="ACTIVE")
    allowed = await book(client, helper["accessToken"], dependant.person_id, slot["id"])
    assert allowed["__typename"] == "BookingConfirmed", allowed
    assert allowed["appointment"]["bookedBy"]["kind"] == "HELPER"


async def test_a_delegation_valid_until_yesterday_in_beijing_no_longer_books(app, client, clock):
    # 07:00 in Beijing on 2026-11-18 is still 2026-11-17 in UTC; the delegation was valid
    # until 2026-11-17 (a calendar day, Beijing's like every other day of the service).
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "SH-JA", date(2026, 11, 19))
    dependant = await new_applicant(client)
    helper = await sign_up(client)
    await Delegation.create(
        helper_id=pk_of(helper["account"]["id"]),
        dependant_id=pk_of(dependant.person_id),
        relationship="FRIEND",
        scopes=["BOOK_APPOINTMENTS"],
        status="ACTIVE",
        valid_until=date(2026, 11, 17),
    )
    slot = slot_at(
        await available(client, "SH-JA", "VISA_EXTENSION", date(2026, 11, 19), date(2026, 11, 19)),
        14,
    )
    clock.pinned = beijing(date(2026, 11, 18), 7)
    token = await sign_in(client, helper["account"]["email"], PASSWORD)

    result = await book(client, token, dependant.person_id, slot["id"])

    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert await booked_in_db(slot["id"]) == 0


async def test_ids_beyond_the_database_range_are_refused_like_unknown_ones(app, client, clock):
    # A global ID may carry any number of up to 18 digits; one the database column cannot
    # hold is still just an unknown object, never an internal error.
    huge = 2**31
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])
    officer = await sign_in(client, "officer@demo.test")

    no_slot = await book(
        client, who.token, who.person_id, to_global_id("Slot", huge), "VISA_RENEWAL"
    )
    no_person = await book(
        client, who.token, to_global_id("Person", huge), slot["id"], "VISA_RENEWAL"
    )
    no_cancel = await cancel(client, who.token, to_global_id("Appointment", huge))
    no_move = await reschedule(client, who.token, to_global_id("Appointment", huge), slot["id"])
    no_target = await reschedule(client, who.token, appointment["id"], to_global_id("Slot", huge))
    no_check_in = await check_in(client, officer, to_global_id("Appointment", huge))

    assert no_slot["__typename"] == "SlotUnavailable", no_slot
    assert no_target["__typename"] == "SlotUnavailable", no_target
    for result in (no_person, no_cancel, no_move, no_check_in):
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"


# ---------------------------------------------------------------------------- cancelling


async def test_cancel_frees_the_place_and_cancelling_twice_frees_it_once(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    before = await remaining(client, slot["id"])
    appointment = await book_ok(client, who, slot["id"])
    assert await remaining(client, slot["id"]) == before - 1

    first = await cancel(client, who.token, appointment["id"])
    assert first["__typename"] == "AppointmentCancelled", first
    assert first["appointment"]["id"] == appointment["id"]
    assert first["appointment"]["status"] == "CANCELLED"
    assert await remaining(client, slot["id"]) == before

    second = await cancel(client, who.token, appointment["id"])
    assert second["__typename"] == "AppointmentCancelled", second
    assert second["appointment"]["status"] == "CANCELLED"
    assert await remaining(client, slot["id"]) == before

    # The service can be booked again once the appointment is cancelled.
    again = await book_ok(client, who, slot["id"])
    assert again["id"] != appointment["id"]


async def test_stranger_cannot_cancel(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])
    before = await remaining(client, slot["id"])
    stranger = await stranger_token(client)

    refused = await cancel(client, stranger, appointment["id"])
    unknown = await cancel(client, stranger, to_global_id("Appointment", 987654321))

    assert refused == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, refused
    assert unknown == refused
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"
    assert await remaining(client, slot["id"]) == before


async def test_an_officer_books_and_changes_appointments_at_their_own_office_only(
    app, client, clock
):
    """Officers act for people at their office (admins everywhere): an officer of another
    office is answered NotPermitted for booking, cancelling and moving there, and nothing
    changes; the office's own officer cancels."""
    who = await new_applicant(client)
    first, second = await pick_slots(app, client, clock, count=2)
    appointment = await book_ok(client, who, first["id"])
    row = await AppointmentRow.get(id=pk_of(appointment["id"])).prefetch_related("office")
    other_code = "SH-PD" if row.office.code != "SH-PD" else "BJ-DC"
    elsewhere = await helpers.other_office_officer(app, client, other_code)
    before = await remaining(client, second["id"])

    refused = [
        await helpers.book(client, elsewhere, who.person_id, second["id"], "VISA_RENEWAL"),
        # Refused before anything is looked up: not AlreadyBooked showing the appointment.
        await helpers.book(client, elsewhere, who.person_id, second["id"], "VISA_EXTENSION"),
        await cancel(client, elsewhere, appointment["id"]),
        await reschedule(client, elsewhere, appointment["id"], second["id"]),
    ]
    assert [r["__typename"] for r in refused] == ["NotPermitted"] * 4, refused
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"
    assert await remaining(client, second["id"]) == before

    at_the_office = await helpers.other_office_officer(app, client, row.office.code)
    cancelled = await cancel(client, at_the_office, appointment["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled


async def test_concurrent_cancels_free_the_place_once(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])
    booked = await booked_in_db(slot["id"])
    results = await asyncio.gather(
        *(cancel(client, who.token, appointment["id"]) for _ in range(4))
    )
    assert {r["__typename"] for r in results} == {"AppointmentCancelled"}, results
    assert {r["appointment"]["status"] for r in results} == {"CANCELLED"}
    assert await booked_in_db(slot["id"]) == booked - 1


async def test_anonymous_cancel_is_unauthenticated(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])
    body = await gql(client, CANCEL, {"id": appointment["id"]})
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", body
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"


async def test_an_appointment_that_has_started_cannot_be_cancelled(app, client, clock):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    appointment = await book_ok(client, who, slot["id"])
    booked = await booked_in_db(slot["id"])
    clock.pinned = (datetime.fromisoformat(slot["startsAt"]) + timedelta(minutes=5)).astimezone(UTC)
    await who.sign_in_again(client)
    result = await cancel(client, who.token, appointment["id"])
    assert result["__typename"] == "ChangeWindowClosed", result
    assert await booked_in_db(slot["id"]) == booked


# -------------------------------------------------------------------------- rescheduling


async def test_reschedule_moves_to_the_new_slot_and_links_both(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    appointment = await book_ok(client, who, old_slot["id"])
    old_before = await remaining(client, old_slot["id"])
    new_before = await remaining(client, new_slot["id"])

    result = await reschedule(client, who.token, appointment["id"], new_slot["id"])

    assert result["__typename"] == "AppointmentRescheduled", result
    new, previous = result["appointment"], result["previous"]
    assert previous["id"] == appointment["id"]
    assert previous["status"] == "RESCHEDULED"
    assert new["id"] != previous["id"]
    assert new["status"] == "BOOKED"
    assert new["startsAt"] == new_slot["startsAt"]
    assert new["service"] == appointment["service"]
    assert new["rescheduledFrom"] == {"id": previous["id"]}
    assert previous["rescheduledTo"] == {"id": new["id"]}
    assert new["rescheduleCount"] == 1
    assert REFERENCE.fullmatch(new["reference"])
    assert await remaining(client, old_slot["id"]) == old_before + 1
    assert await remaining(client, new_slot["id"]) == new_before - 1
    # Reading them again tells the same story.
    old_now = await appointment_as(client, who.token, appointment["id"])
    assert old_now["status"] == "RESCHEDULED"
    assert old_now["rescheduledTo"] == {"id": new["id"]}


async def test_a_third_reschedule_reaches_the_limit(app, client, clock):
    who = await new_applicant(client)
    a, b, c, d = await pick_slots(app, client, clock, count=4)
    current = await book_ok(client, who, a["id"])
    for expected_count, target in ((1, b), (2, c)):
        result = await reschedule(client, who.token, current["id"], target["id"])
        assert result["__typename"] == "AppointmentRescheduled", result
        current = result["appointment"]
        assert current["rescheduleCount"] == expected_count
    before_c, before_d = await remaining(client, c["id"]), await remaining(client, d["id"])

    third = await reschedule(client, who.token, current["id"], d["id"])

    assert third["__typename"] == "RescheduleLimitReached", third
    assert third["message"]
    assert (await appointment_as(client, who.token, current["id"]))["status"] == "BOOKED"
    assert await remaining(client, c["id"]) == before_c
    assert await remaining(client, d["id"]) == before_d


async def test_reschedule_within_24_hours_of_the_start_is_change_window_closed(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    appointment = await book_ok(client, who, old_slot["id"])
    old_booked, new_booked = await booked_in_db(old_slot["id"]), await booked_in_db(new_slot["id"])
    starts = datetime.fromisoformat(appointment["startsAt"])
    clock.pinned = (starts - timedelta(hours=23)).astimezone(UTC)
    await who.sign_in_again(client)

    result = await reschedule(client, who.token, appointment["id"], new_slot["id"])

    assert result["__typename"] == "ChangeWindowClosed", result
    assert result["message"]
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"
    assert await booked_in_db(old_slot["id"]) == old_booked
    assert await booked_in_db(new_slot["id"]) == new_booked


async def test_reschedule_into_a_full_slot_is_slot_unavailable_and_changes_nothing(
    app, client, clock
):
    who = await new_applicant(client)
    someone_else = await new_applicant(client)
    (old_slot,) = await pick_slots(app, client, clock)
    full = await fresh_slot(app, client, clock, capacity=1)
    await book_ok(client, someone_else, full["id"])
    assert await remaining(client, full["id"]) == 0
    appointment = await book_ok(client, who, old_slot["id"])
    old_remaining = await remaining(client, old_slot["id"])
    old_booked = await booked_in_db(old_slot["id"])

    result = await reschedule(client, who.token, appointment["id"], full["id"])

    assert result["__typename"] == "SlotUnavailable", result
    still = await appointment_as(client, who.token, appointment["id"])
    assert still["status"] == "BOOKED"
    assert still["rescheduleCount"] == 0 and still["rescheduledTo"] is None
    assert await remaining(client, old_slot["id"]) == old_remaining
    assert await booked_in_db(old_slot["id"]) == old_booked
    assert await booked_in_db(full["id"]) == 1
    assert await AppointmentRow.filter(applicant_id=pk_of(who.person_id)).count() == 1


async def test_stranger_cannot_reschedule(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    appointment = await book_ok(client, who, old_slot["id"])
    stranger = await stranger_token(client)
    result = await reschedule(client, stranger, appointment["id"], new_slot["id"])
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"


async def test_concurrent_reschedules_of_one_appointment_move_it_once(app, client, clock):
    who = await new_applicant(client)
    old_slot, x, y = await pick_slots(app, client, clock, count=3)
    appointment = await book_ok(client, who, old_slot["id"])
    before = {s["id"]: await booked_in_db(s["id"]) for s in (old_slot, x, y)}
    results = await asyncio.gather(
        reschedule(client, who.token, appointment["id"], x["id"]),
        reschedule(client, who.token, appointment["id"], y["id"]),
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds[0] == "AppointmentRescheduled" and kinds[1] != "AppointmentRescheduled", results
    after = {s["id"]: await booked_in_db(s["id"]) for s in (old_slot, x, y)}
    assert after[old_slot["id"]] == before[old_slot["id"]] - 1
    assert after[x["id"]] + after[y["id"]] == before[x["id"]] + before[y["id"]] + 1
    rows = await AppointmentRow.filter(applicant_id=pk_of(who.person_id)).order_by("id")
    assert [r.status for r in rows] == ["RESCHEDULED", "BOOKED"]


async def test_reschedule_to_the_same_slot_or_another_service_group_is_validation_error(
    app, client, clock
):
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    (residence,) = await pick_slots(app, client, clock, "RESIDENCE_PERMIT_EXTENSION")
    appointment = await book_ok(client, who, slot["id"])
    same = await reschedule(client, who.token, appointment["id"], slot["id"])
    assert same["__typename"] == "ValidationError", same
    other_group = await reschedule(client, who.token, appointment["id"], residence["id"])
    assert other_group["__typename"] == "ValidationError", other_group
    still = await appointment_as(client, who.token, appointment["id"])
    assert (still["status"], still["rescheduleCount"]) == ("BOOKED", 0)


async def test_reschedule_retried_with_the_same_idempotency_key_moves_once(app, client, clock):
    who = await new_applicant(client)
    old_slot, new_slot = await pick_slots(app, client, clock, count=2)
    appointment = await book_ok(client, who, old_slot["id"])
    key = secrets.token_hex(16)
    first = await reschedule(client, who.token, appointment["id"], new_slot["id"], key=key)
    assert first["__typename"] == "AppointmentRescheduled", first
    booked = await booked_in_db(new_slot["id"]), await booked_in_db(old_slot["id"])

    body = await gql(
        client,
        RESCHEDULE,
        {
            "input": {
                "appointmentId": appointment["id"],
                "slotId": new_slot["id"],
                "idempotencyKey": key,
            }
        },
        token=who.token,
    )

    assert "errors" not in body, body
    retry = body["data"]["rescheduleAppointment"]
    assert retry["__typename"] == "AppointmentRescheduled", retry
    assert retry["appointment"]["id"] == first["appointment"]["id"]
    assert retry["previous"]["id"] == appointment["id"]
    assert (await booked_in_db(new_slot["id"]), await booked_in_db(old_slot["id"])) == booked


# ------------------------------------------------------------------------------- helpers


async def test_helper_books_for_the_child_dependant(app, client, clock):
    token = await sign_in(client, "helper@demo.test")
    body = await gql(client, "{ viewer { applicants { id surname grantedScopes } } }", token=token)
    applicants = body["data"]["viewer"]["applicants"]
    child = next(a for a in applicants if "VIEW_DOCUMENTS" in a["grantedScopes"])
    assert "BOOK_APPOINTMENTS" in child["grantedScopes"]
    listed = await gql(client, PERSON_APPOINTMENTS, {"id": child["id"]}, token=token)
    active = {
        e["node"]["service"]
        for e in listed["data"]["node"]["appointments"]["edges"]
        if e["node"]["status"] in ("BOOKED", "CHECKED_IN")
    }
    service = next(
        s
        for s in (
            "VISA_REISSUANCE",
            "STAY_PERMIT_REISSUANCE",
            "STAY_PERMIT_RENEWAL",
            "VISA_RENEWAL",
        )
        if s not in active
    )
    (slot,) = await pick_slots(app, client, clock, service)
    before = await remaining(client, slot["id"])

    result = await book(client, token, child["id"], slot["id"], service)

    assert result["__typename"] == "BookingConfirmed", result
    appointment = result["appointment"]
    assert appointment["bookedBy"]["kind"] == "HELPER"
    assert appointment["bookedBy"]["displayName"] == "Wang Fang"
    assert appointment["applicant"]["id"] == child["id"]
    assert await remaining(client, slot["id"]) == before - 1
    listed = await gql(client, PERSON_APPOINTMENTS, {"id": child["id"]}, token=token)
    assert appointment["id"] in {
        e["node"]["id"] for e in listed["data"]["node"]["appointments"]["edges"]
    }
    # The helper may cancel it too (and this leaves the child free for other tests).
    cancelled = await cancel(client, token, appointment["id"])
    assert cancelled["__typename"] == "AppointmentCancelled", cancelled
    assert await remaining(client, slot["id"]) == before


# ---------------------------------------------------------------------------- check-in
# These tests use days in November 2026, with the clock pinned before them, so they never
# touch the slots other tests book from.


async def test_officer_checks_in_an_appointment_of_the_office_on_its_day(app, client, clock):
    day = date(2026, 11, 18)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "BJ-DC", day)
    who = await new_applicant(client)
    slots = await available(client, "BJ-DC", "VISA_EXTENSION", day, day)
    appointment = await book_ok(client, who, slot_at(slots, 10)["id"])

    clock.pinned = beijing(day, 8)
    officer = await sign_in(client, "officer@demo.test")
    result = await check_in(client, officer, appointment["id"])

    assert result["__typename"] == "AppointmentCheckedIn", result
    assert result["appointment"] == {"id": appointment["id"], "status": "CHECKED_IN"}
    await who.sign_in_again(client)
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "CHECKED_IN"
    # Checking in twice is refused.
    again = await check_in(client, officer, appointment["id"])
    assert again["__typename"] == "ValidationError", again


async def test_a_check_in_racing_a_cancellation_never_reports_a_cancelled_appointment(
    app, client, clock
):
    """Check-in and cancellation at the same moment: exactly one of them happens, and each
    answers what happened: AppointmentCheckedIn only with a CHECKED_IN appointment,
    AppointmentCancelled only with a CANCELLED one (the loser a typed refusal)."""
    day = date(2026, 11, 23)
    clock.pinned = beijing(date(2026, 11, 20), 9)
    await generate_day(app, "BJ-DC", day)
    slots = await available(client, "BJ-DC", "STAY_PERMIT_EXTENSION", day, day)
    people = [await new_applicant(client) for _ in range(6)]
    booked = [
        await book_ok(client, who, slot_at(slots, 14)["id"], "STAY_PERMIT_EXTENSION")
        if i % 2
        else await book_ok(client, who, slot_at(slots, 15)["id"], "STAY_PERMIT_EXTENSION")
        for i, who in enumerate(people)
    ]
    clock.pinned = beijing(day, 8)
    officer = await sign_in(client, "officer@demo.test")
    for who in people:
        await who.sign_in_again(client)
    outcomes = await asyncio.gather(
        *(
            coroutine
            for who, appointment in zip(people, booked, strict=True)
            for coroutine in (
                check_in(client, officer, appointment["id"]),
                cancel(client, who.token, appointment["id"]),
            )
        )
    )
    for i, (who, appointment) in enumerate(zip(people, booked, strict=True)):
        checked_in, cancelled = outcomes[2 * i], outcomes[2 * i + 1]
        won = (
            checked_in["__typename"] == "AppointmentCheckedIn",
            cancelled["__typename"] == "AppointmentCancelled",
        )
        assert won in ((True, False), (False, True)), (checked_in, cancelled)
        status = (await appointment_as(client, who.token, appointment["id"]))["status"]
        if won[0]:
            assert checked_in["appointment"]["status"] == status == "CHECKED_IN"
            assert cancelled["__typename"] == "ChangeWindowClosed", cancelled
        else:
            assert checked_in["__typename"] == "ValidationError", checked_in
            assert status == "CANCELLED"


async def test_check_in_follows_the_offices_day_not_utc(app, client, clock):
    day = date(2026, 11, 18)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "BJ-DC", day)
    who = await new_applicant(client)
    slots = await available(client, "BJ-DC", "VISA_EXTENSION", day, day)
    appointment = await book_ok(client, who, slot_at(slots, 9, 30)["id"])
    clock.pinned = beijing(day, 7, 30)  # 23:30 UTC on the day before
    officer = await sign_in(client, "officer@demo.test")
    result = await check_in(client, officer, appointment["id"])
    assert result["__typename"] == "AppointmentCheckedIn", result


async def test_check_in_by_another_offices_officer_or_an_applicant_is_not_permitted(
    app, client, clock
):
    day = date(2026, 11, 18)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "BJ-HD", day)
    await generate_day(app, "BJ-DC", day)
    who = await new_applicant(client)
    elsewhere = await book_ok(
        client, who, slot_at(await available(client, "BJ-HD", "VISA_EXTENSION", day, day), 11)["id"]
    )
    here = await book_ok(
        client,
        who,
        slot_at(await available(client, "BJ-DC", "RESIDENCE_PERMIT_EXTENSION", day, day), 11)["id"],
        "RESIDENCE_PERMIT_EXTENSION",
    )

    clock.pinned = beijing(day, 8)
    officer = await sign_in(client, "officer@demo.test")  # officer of BJ-DC
    await who.sign_in_again(client)
    other_office = await check_in(client, officer, elsewhere["id"])
    by_applicant = await check_in(client, who.token, here["id"])
    unknown = await check_in(client, officer, to_global_id("Appointment", 987654321))

    for result in (other_office, by_applicant, unknown):
        assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    assert (await appointment_as(client, who.token, elsewhere["id"]))["status"] == "BOOKED"
    assert (await appointment_as(client, who.token, here["id"]))["status"] == "BOOKED"


async def test_check_in_on_another_day_is_validation_error(app, client, clock):
    day = date(2026, 11, 18)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "BJ-DC", day)
    who = await new_applicant(client)
    slots = await available(client, "BJ-DC", "VISA_EXTENSION", day, day)
    appointment = await book_ok(client, who, slot_at(slots, 14)["id"])

    for moment in (beijing(day - timedelta(days=1), 8), beijing(day - timedelta(days=1), 16)):
        clock.pinned = moment
        officer = await sign_in(client, "officer@demo.test")
        result = await check_in(client, officer, appointment["id"])
        assert result["__typename"] == "ValidationError", result
    await who.sign_in_again(client)
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"


# ------------------------------------------------------------------------------ closures


async def test_admin_closure_cancels_that_days_bookings(app, client, clock):
    day, next_day = date(2026, 11, 19), date(2026, 11, 20)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "GZ-TH", day, next_day)
    office = await office_id(client, "GZ-TH")
    visa = await available(client, "GZ-TH", "VISA_EXTENSION", day, day)
    residence = await available(client, "GZ-TH", "RESIDENCE_PERMIT_EXTENSION", day, day)
    a, b, c, d, e = [await new_applicant(client) for _ in range(5)]
    booked = [
        await book_ok(client, a, slot_at(visa, 9)["id"]),
        await book_ok(client, b, slot_at(visa, 9)["id"]),
        await book_ok(client, c, slot_at(residence, 15)["id"], "RESIDENCE_PERMIT_EXTENSION"),
    ]
    withdrawn = await book_ok(client, d, slot_at(visa, 10)["id"])
    assert (await cancel(client, d.token, withdrawn["id"]))["__typename"] == "AppointmentCancelled"
    next_day_slot = slot_at(
        await available(client, "GZ-TH", "VISA_EXTENSION", next_day, next_day), 9
    )
    kept = await book_ok(client, e, next_day_slot["id"])
    touched = [slot_at(visa, 9)["id"], slot_at(residence, 15)["id"], slot_at(visa, 10)["id"]]

    directory = """{ offices(first: 100) { edges { node { code
        closures(from: "2026-11-19", to: "2026-11-19") { date } } } } }"""

    async def listed_closures() -> list[dict]:
        body = await gql(client, directory)  # anonymous: a public, cacheable read
        edges = body["data"]["offices"]["edges"]
        return next(e["node"]["closures"] for e in edges if e["node"]["code"] == "GZ-TH")

    assert await listed_closures() == []
    admin = await sign_in(client, "admin@demo.test")
    result = await add_closure(client, admin, office, day)

    assert result["__typename"] == "OfficeClosureAdded", result
    assert result["closure"] == {"date": day.isoformat(), "reason": "Test closure"}
    assert result["cancelledAppointments"] == len(booked)
    for who, appointment in zip((a, b, c), booked, strict=True):
        seen = await appointment_as(client, who.token, appointment["id"])
        assert seen["status"] == "CANCELLED_BY_OFFICE", seen
    assert (await appointment_as(client, d.token, withdrawn["id"]))["status"] == "CANCELLED"
    assert (await appointment_as(client, e.token, kept["id"]))["status"] == "BOOKED"
    # The day offers nothing any more; the next day still does.
    assert await available(client, "GZ-TH", "VISA_EXTENSION", day, day) == []
    assert await available(client, "GZ-TH", "RESIDENCE_PERMIT_EXTENSION", day, day) == []
    assert await available(client, "GZ-TH", "VISA_EXTENSION", next_day, next_day)
    for slot_id in touched:
        assert await remaining(client, slot_id) == 0
        assert await booked_in_db(slot_id) == 0  # each place freed exactly once
    # A closed day's slot cannot be booked, and the cancelled applicant may book elsewhere.
    refused = await book(client, a.token, a.person_id, slot_at(visa, 11)["id"])
    assert refused["__typename"] == "SlotUnavailable", refused
    assert (await book_ok(client, a, next_day_slot["id"]))["status"] == "BOOKED"
    # The closure is listed for the office.
    body = await gql(
        client,
        'query($id: ID!) { node(id: $id) { ... on Office { closures(from: "2026-11-19", '
        'to: "2026-11-19") { date reason } } } }',
        {"id": office},
    )
    assert body["data"]["node"]["closures"] == [{"date": "2026-11-19", "reason": "Test closure"}]
    assert await listed_closures() == [{"date": "2026-11-19"}]  # not a stale cached answer

    again = await add_closure(client, admin, office, day)
    assert again["__typename"] == "ValidationError", again


async def test_a_closure_sent_twice_at_once_is_added_once_and_answered_as_a_repeat(
    app, client, clock
):
    """A double click: both requests race (PostgreSQL runs them side by side); one adds the
    closure, the other is the ValidationError of a day closed already, never a server error."""
    clock.pinned = beijing(date(2026, 11, 16), 9)
    admin = await sign_in(client, "admin@demo.test")
    office = await office_id(client, "BJ-HD")
    day = date(2026, 11, 27)
    results = await asyncio.gather(*(add_closure(client, admin, office, day) for _ in range(2)))
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["OfficeClosureAdded", "ValidationError"], results
    (repeat,) = [r for r in results if r["__typename"] == "ValidationError"]
    assert repeat["message"] == "The office is already closed on that day.", repeat


async def test_officer_cannot_add_a_closure(app, client, clock):
    clock.pinned = beijing(date(2026, 11, 16), 9)
    officer = await sign_in(client, "officer@demo.test")
    own_office = await office_id(client, "BJ-DC")
    result = await add_closure(client, officer, own_office, date(2026, 11, 24))
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result
    body = await gql(
        client,
        'query($id: ID!) { node(id: $id) { ... on Office { closures(from: "2026-11-24", '
        'to: "2026-11-24") { date } } } }',
        {"id": own_office},
    )
    assert body["data"]["node"]["closures"] == []


async def test_admin_closure_in_the_past_or_of_an_unknown_office_is_refused(client, clock):
    clock.pinned = beijing(date(2026, 11, 16), 9)
    admin = await sign_in(client, "admin@demo.test")
    past = await add_closure(client, admin, await office_id(client, "BJ-HD"), date(2026, 11, 13))
    assert past["__typename"] == "ValidationError", past
    unknown = await add_closure(
        client, admin, to_global_id("Office", 987654321), date(2026, 11, 30)
    )
    assert unknown == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, unknown


async def test_applicant_cannot_add_a_closure(client, clock):
    who = await new_applicant(client)
    result = await add_closure(
        client, who.token, await office_id(client, "BJ-HD"), date(2026, 12, 30)
    )
    assert result == {"__typename": "NotPermitted", "message": NOT_PERMITTED}, result


# ------------------------------------------------------------------------------- no-shows


async def test_a_booked_appointment_becomes_no_show_after_its_day(app, client, clock):
    day = date(2026, 11, 18)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "SH-CN", day)
    who = await new_applicant(client)
    slots = await available(client, "SH-CN", "STAY_PERMIT_EXTENSION", day, day)
    appointment = await book_ok(client, who, slot_at(slots, 10)["id"], "STAY_PERMIT_EXTENSION")

    # Later that day the appointment is over, but its day is not.
    await appointment_store.mark_no_shows(beijing(day, 23, 30))
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "BOOKED"

    assert await appointment_store.mark_no_shows(beijing(day + timedelta(days=1), 0, 1)) >= 1
    assert (await appointment_as(client, who.token, appointment["id"]))["status"] == "NO_SHOW"
    # A no-show no longer blocks booking the service again.
    again = await available(client, "SH-CN", "STAY_PERMIT_EXTENSION", day, day)
    assert (await book_ok(client, who, slot_at(again, 11)["id"], "STAY_PERMIT_EXTENSION"))[
        "status"
    ] == "BOOKED"


async def test_a_check_in_stops_holding_the_booking_once_its_day_has_ended(app, client, clock):
    """A visit that led to no application that day (materials missing, say) does not lock the
    applicant out of the service: the day after, the applicant books it again, and an officer
    can still record the application from the checked-in appointment."""
    day, later = date(2026, 11, 17), date(2026, 11, 19)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "SH-JA", day)
    await generate_day(app, "SH-JA", later)
    who = await new_applicant(client)
    visit = await book_ok(
        client, who, slot_at(await available(client, "SH-JA", "VISA_EXTENSION", day, day), 10)["id"]
    )
    clock.pinned = beijing(day, 9)
    admin = await sign_in(client, "admin@demo.test")
    assert (await check_in(client, admin, visit["id"]))["__typename"] == "AppointmentCheckedIn"
    next_visit = slot_at(await available(client, "SH-JA", "VISA_EXTENSION", later, later), 10)
    await who.sign_in_again(client)
    same_day = await book(client, who.token, who.person_id, next_visit["id"])
    assert same_day["__typename"] == "AlreadyBooked", same_day  # the visit holds it that day
    assert same_day["existing"]["id"] == visit["id"]
    # Not "cancel or reschedule it": a checked-in appointment is neither.
    assert "checked in" in same_day["message"] and "Cancel" not in same_day["message"]

    clock.pinned = beijing(day + timedelta(days=1), 9)
    assert await appointment_store.release_past_check_ins(clock.now()) >= 1
    await who.sign_in_again(client)
    again = await book_ok(client, who, next_visit["id"])
    assert again["status"] == "BOOKED"
    assert (await appointment_as(client, who.token, visit["id"]))["status"] == "CHECKED_IN"
    admin = await sign_in(client, "admin@demo.test")
    recorded = await helpers.record_application(
        client,
        who.person_id,
        "VISA_EXTENSION",
        admin,
        appointmentId=visit["id"],
        officeId=await office_id(client, "SH-JA"),
    )
    assert recorded["status"] == "SUBMITTED"
    assert (await appointment_as(client, who.token, visit["id"]))["status"] == "COMPLETED"


# ------------------------------------------------------------------------------ rate limit


async def test_the_twenty_first_booking_attempt_in_a_minute_is_rate_limited(app, client, clock):
    who = await new_applicant(client)
    missing = to_global_id("Slot", 987654321)
    for attempt in range(20):
        result = await book(client, who.token, who.person_id, missing)
        assert result["__typename"] == "SlotUnavailable", (attempt, result)

    limited = await book(client, who.token, who.person_id, missing)

    assert limited["__typename"] == "RateLimited", limited
    assert 1 <= limited["retryAfterSeconds"] <= 60
    # A real slot is refused too, and no place is taken.
    (slot,) = await pick_slots(app, client, clock)
    before = await booked_in_db(slot["id"])
    result = await book(client, who.token, who.person_id, slot["id"])
    assert result["__typename"] == "RateLimited", result
    assert await booked_in_db(slot["id"]) == before


async def test_a_retry_with_its_idempotency_key_is_replayed_even_past_the_attempt_limit(
    app, client, clock
):
    """A client retrying a booking that went through (its answer lost on a bad connection)
    gets the booking back, not RateLimited, however many attempts the account made since."""
    who = await new_applicant(client)
    (slot,) = await pick_slots(app, client, clock)
    key = secrets.token_hex(16)
    first = await book(client, who.token, who.person_id, slot["id"], key=key)
    assert first["__typename"] == "BookingConfirmed", first
    missing = to_global_id("Slot", 987654321)
    limit = app.state.services.settings.bookings_per_account
    for _ in range(limit - 1):
        await book(client, who.token, who.person_id, missing)
    assert (await book(client, who.token, who.person_id, missing))["__typename"] == "RateLimited"

    retried = await book(client, who.token, who.person_id, slot["id"], key=key)
    assert retried["__typename"] == "BookingConfirmed", retried
    assert retried["appointment"]["id"] == first["appointment"]["id"]
    # A new key is a new attempt, and still limited.
    other = await book(client, who.token, who.person_id, slot["id"], key=secrets.token_hex(16))
    assert other["__typename"] == "RateLimited", other


# ------------------------------------------------------------------------------ concurrency


async def _applicants_in_the_database(app: Any, n: int) -> tuple[list[tuple[str, int]], str]:
    """n persons with linked APPLICANT accounts, written straight to the database: their
    (e-mail, person id) and the password they share."""
    password = "rush-hour-pass-2026"
    hashed = app.state.services.hasher.hash(password)
    made: list[tuple[str, int]] = []
    for i in range(n):
        person = await create_person(
            PersonFacts(
                surname="Rush",
                given_names=f"Number {i}",
                nationality="GBR",
                birth_date=date(1990, 1, 1) + timedelta(days=i),
                sex="X",
                passport_number=f"R{secrets.token_hex(4).upper()}",
                passport_valid_until=date(2033, 1, 1),
            ),
            bound_from=date(2026, 1, 1),
        )
        account = await create_account(
            email=unique_email(),
            display_name=f"Rush {i}",
            password_hash=hashed,
            roles=["APPLICANT"],
            person_id=person.id,
        )
        made.append((account.email, person.id))
    return made, password


async def test_fifty_concurrent_bookings_for_five_places(app, client, clock):
    made, password = await _applicants_in_the_database(app, 50)
    tokens = await asyncio.gather(*(sign_in(client, email, password) for email, _ in made))
    slot = await fresh_slot(app, client, clock, capacity=5)

    results = await asyncio.gather(
        *(
            book(client, token, to_global_id("Person", person_id), slot["id"])
            for token, (_, person_id) in zip(tokens, made, strict=True)
        )
    )

    kinds = [r["__typename"] for r in results]
    assert kinds.count("BookingConfirmed") == 5, kinds
    assert kinds.count("SlotUnavailable") == 45, kinds
    row = await Slot.get(id=pk_of(slot["id"]))
    assert (row.capacity, row.booked) == (5, 5)
    assert await AppointmentRow.filter(slot_id=row.id, status="BOOKED").count() == 5
    assert await remaining(client, slot["id"]) == 0
    confirmed = {r["appointment"]["reference"] for r in results if "appointment" in r}
    assert len(confirmed) == 5


async def test_a_booking_in_flight_while_a_closure_is_added_is_cancelled_too(app, client, clock):
    """A booking whose transaction has taken a place but not yet committed when an admin
    closes the day must end up cancelled by the office (or refused), never BOOKED on a day
    the office is closed."""
    day = date(2026, 11, 25)
    clock.pinned = beijing(date(2026, 11, 16), 9)
    await generate_day(app, "SH-CN", day)
    slot = slot_at(await available(client, "SH-CN", "VISA_EXTENSION", day, day), 10)
    who = await new_applicant(client)
    admin = await sign_in(client, "admin@demo.test")
    office = await office_id(client, "SH-CN")
    outside = contextvars.copy_context()  # the closure request must not join the transaction

    async with in_transaction():
        assert await appointment_store.take_place(pk_of(slot["id"]))
        row = await Slot.get(id=pk_of(slot["id"]))
        person = pk_of(who.person_id)
        account = await Account.get(person_id=person)
        booked = await appointment_store.create_appointment(
            reference=random_reference(),
            applicant_id=person,
            service="VISA_EXTENSION",
            office_id=row.office_id,
            slot_id=row.id,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            status="BOOKED",
            active_key=active_key(person, "VISA_EXTENSION"),
            booked_by_id=account.id,
            booked_by_kind="SELF",
        )
        closing = asyncio.create_task(add_closure(client, admin, office, day), context=outside)
        await asyncio.sleep(0.5)  # the closure runs as far as it can meanwhile
    closure = await closing

    assert closure["__typename"] == "OfficeClosureAdded", closure
    status = (await AppointmentRow.get(id=booked.id)).status
    row = await Slot.get(id=pk_of(slot["id"]))
    assert not row.open
    assert status == "CANCELLED_BY_OFFICE", status
    assert closure["cancelledAppointments"] == 1
    assert row.booked == 0


# ------------------------------------------------------------------- closures, once


async def test_a_closure_tells_only_those_it_cancelled(app, client, clock, monkeypatch) -> None:
    """A day the official calendar made a holiday was closed by upkeep (its applicant told);
    the admin then records the same closure: it cancels nothing, and tells no one again."""
    from resolvers import waitlist as waitlist_resolvers
    from tests.test_waitlist import _calendar_with_holiday, inbox_kinds

    day = date(2026, 10, 14)
    clock.pinned = beijing(date(2026, 10, 12), 9)
    await generate_day(app, "BJ-FT", day)
    who = await new_applicant(client)
    slots = await available(client, "BJ-FT", "VISA_EXTENSION", day, day)
    appointment = await book_ok(client, who, slot_at(slots, 10)["id"])
    services = app.state.services
    monkeypatch.setattr(services, "calendar", await _calendar_with_holiday(day, "Test Festival"))
    office = await office_id(client, "BJ-FT")
    closed = await waitlist_resolvers.close_public_holidays(
        services, date(2026, 10, 12), day, [pk_of(office)]
    )
    assert closed == 1
    await who.sign_in_again(client)
    told = await inbox_kinds(client, who.token)
    assert told.count(("APPOINTMENT_CANCELLED_BY_OFFICE", appointment["id"])) == 1, told

    admin = await sign_in(client, "admin@demo.test")
    result = await add_closure(client, admin, office, day)
    assert result["__typename"] == "OfficeClosureAdded", result
    assert result["cancelledAppointments"] == 0
    told = await inbox_kinds(client, who.token)
    assert told.count(("APPOINTMENT_CANCELLED_BY_OFFICE", appointment["id"])) == 1, told


async def test_closing_today_leaves_an_appointment_already_started_to_its_day(
    app, client, clock
) -> None:
    """The office closes at noon: the 09:00 appointment (missed, or attended) is not the
    office's to cancel; the 15:00 one is, and only its applicant is told."""
    from tests.test_waitlist import inbox_kinds

    day = date(2026, 10, 13)
    clock.pinned = beijing(date(2026, 10, 12), 9)
    await generate_day(app, "SH-JA", day)
    missed, coming = await new_applicant(client), await new_applicant(client)
    slots = await available(client, "SH-JA", "VISA_EXTENSION", day, day)
    morning = await book_ok(client, missed, slot_at(slots, 9)["id"])
    afternoon = await book_ok(client, coming, slot_at(slots, 15)["id"])

    clock.pinned = beijing(day, 12)
    admin = await sign_in(client, "admin@demo.test")
    result = await add_closure(client, admin, await office_id(client, "SH-JA"), day)
    assert result["__typename"] == "OfficeClosureAdded", result
    assert result["cancelledAppointments"] == 1

    await missed.sign_in_again(client)
    await coming.sign_in_again(client)
    later = await appointment_as(client, coming.token, afternoon["id"])
    assert later["status"] == "CANCELLED_BY_OFFICE"
    assert ("APPOINTMENT_CANCELLED_BY_OFFICE", afternoon["id"]) in await inbox_kinds(
        client, coming.token
    )
    started = await appointment_as(client, missed.token, morning["id"])
    assert started["status"] == "BOOKED", started
    assert ("APPOINTMENT_CANCELLED_BY_OFFICE", morning["id"]) not in await inbox_kinds(
        client, missed.token
    )
