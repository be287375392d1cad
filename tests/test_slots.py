"""availableSlots through HTTP, and how slots are generated from hours and the calendar.

Tests about fixed days pin the clock to a moment before them and generate those days' slots
themselves (generation is idempotent), so they pass whatever the real date is.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

from domain.calendar import known_year
from persistence import appointments as appointment_store
from persistence import calendar as calendar_store
from persistence.appointments import local_day_bounds
from persistence.models import Office, OfficeClosure, Slot
from schema.common import to_global_id
from tests.conftest import gql
from tests.helpers import (
    SHANGHAI,
    available,
    beijing,
    beijing_today,
    book_ok,
    fresh_slot,
    generate_day,
    new_applicant,
    office_id,
    remaining,
    working_day,
)

SLOTS = """
query($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: $service, from: $from, to: $to) { id startsAt }
}"""

STANDARD_WEEKDAY = [
    *(f"{h:02d}:{m:02d}" for h in range(9, 12) for m in (0, 30)),
    "13:30",
    *(f"{h:02d}:{m:02d}" for h in range(14, 17) for m in (0, 30)),
]
SATURDAY_MORNING = [f"{h:02d}:{m:02d}" for h in range(9, 12) for m in (0, 30)]


async def slots_query(client, office: str, service: str, start: str, end: str) -> dict:
    return await gql(
        client, SLOTS, {"office": office, "service": service, "from": start, "to": end}
    )


def by_day(slots: list[dict]) -> dict[date, list[str]]:
    """Local start times ("HH:MM") per local day."""
    days: dict[date, list[str]] = defaultdict(list)
    for s in slots:
        start = datetime.fromisoformat(s["startsAt"])
        days[start.date()].append(start.strftime("%H:%M"))
    return dict(days)


# ------------------------------------------------------------------------- the basic shape


async def test_available_slots_are_bookable_with_offsets_and_thirty_minutes(app, client, clock):
    first, last = beijing_today(clock), working_day(app, clock, 5)
    slots = await available(client, "BJ-DC", "VISA_EXTENSION", first, last)

    assert slots, "the server generates slots for the horizon at start"
    earliest = clock.now() + timedelta(minutes=120)
    starts = []
    for s in slots:
        assert s["startsAt"].endswith("+08:00"), s
        assert s["endsAt"].endswith("+08:00"), s
        start, end = datetime.fromisoformat(s["startsAt"]), datetime.fromisoformat(s["endsAt"])
        assert end - start == timedelta(minutes=30), s
        assert 1 <= s["remaining"] <= 6, s  # BJ-DC has 6 visa counters
        assert s["office"]["code"] == "BJ-DC"
        assert start >= earliest, s
        assert first <= start.date() <= last, s
        starts.append(start)
    assert starts == sorted(starts)
    assert len({s["id"] for s in slots}) == len(slots)


async def test_remaining_counts_down_and_a_full_slot_is_not_offered(app, client, clock):
    slot = await fresh_slot(app, client, clock, capacity=2)
    day = datetime.fromisoformat(slot["startsAt"]).date()
    office = slot["office"]["code"]

    def listed(slots: list[dict]) -> dict | None:
        return next((s for s in slots if s["id"] == slot["id"]), None)

    assert listed(await available(client, office, "VISA_EXTENSION", day, day))["remaining"] == 2
    await book_ok(client, await new_applicant(client), slot["id"])
    assert listed(await available(client, office, "VISA_EXTENSION", day, day))["remaining"] == 1
    await book_ok(client, await new_applicant(client), slot["id"])
    assert listed(await available(client, office, "VISA_EXTENSION", day, day)) is None
    assert await remaining(client, slot["id"]) == 0


async def test_a_service_the_office_does_not_offer_has_no_slots(app, client, clock):
    first, last = beijing_today(clock), working_day(app, clock, 10)
    assert await available(client, "BJ-SY", "RESIDENCE_PERMIT_EXTENSION", first, last) == []
    assert await available(client, "BJ-SY", "VISA_EXTENSION", first, last)


# -------------------------------------------------------------------------- bad arguments


async def test_a_range_of_more_than_31_days_is_bad_user_input(client):
    office = await office_id(client, "BJ-DC")
    body = await slots_query(client, office, "VISA_EXTENSION", "2026-12-01", "2027-01-02")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert body.get("data") is None
    # Exactly 31 days apart is allowed.
    body = await slots_query(client, office, "VISA_EXTENSION", "2026-12-01", "2027-01-01")
    assert "errors" not in body, body


async def test_to_before_from_is_bad_user_input(client):
    office = await office_id(client, "BJ-DC")
    body = await slots_query(client, office, "VISA_EXTENSION", "2026-12-10", "2026-12-09")
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    assert body.get("data") is None


async def test_an_unknown_office_is_bad_user_input(client):
    unknown_ids = (
        to_global_id("Office", 987654321),
        to_global_id("Office", 2**31),  # beyond the database column: still just unknown
        "garbage",
        to_global_id("Slot", 1),
    )
    for unknown in unknown_ids:
        body = await slots_query(client, unknown, "VISA_EXTENSION", "2026-12-01", "2026-12-02")
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", (unknown, body)
        assert body.get("data") is None


async def test_slot_nodes_beyond_the_database_range_are_null(client):
    body = await gql(
        client, "query($id: ID!) { node(id: $id) { id } }", {"id": to_global_id("Slot", 2**31)}
    )
    assert "errors" not in body, body
    assert body["data"] == {"node": None}


# ------------------------------------------------------------------ hours and the calendar


async def test_no_slots_on_sundays_or_during_the_lunch_break(app, client, clock):
    clock.pinned = beijing(date(2026, 11, 27), 10)  # a Friday
    await generate_day(app, "BJ-DC", date(2026, 11, 30), date(2026, 12, 6))
    slots = await available(
        client, "BJ-DC", "VISA_EXTENSION", date(2026, 11, 29), date(2026, 12, 6)
    )
    days = by_day(slots)
    assert date(2026, 11, 29) not in days and date(2026, 12, 6) not in days  # Sundays
    assert all(d.isoweekday() != 7 for d in days)
    office = await Office.get(code="BJ-DC")
    for d in (date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)):
        # Other tests book at BJ-DC, so a full slot may not be offered: compare the slots that
        # were generated, and what is offered must be among them.
        rows = await Slot.filter(
            office_id=office.id,
            service_group="VISA",
            starts_at__gte=beijing(d, 0),
            starts_at__lt=beijing(d + timedelta(days=1), 0),
        ).order_by("starts_at")
        generated = [r.starts_at.astimezone(SHANGHAI).strftime("%H:%M") for r in rows]
        assert generated == STANDARD_WEEKDAY, (d, generated)
        assert set(days[d]) <= set(STANDARD_WEEKDAY), (d, days.get(d))
    for s in slots:
        start = datetime.fromisoformat(s["startsAt"]).time()
        end = datetime.fromisoformat(s["endsAt"]).time()
        assert not time(12, 0) <= start < time(13, 30), s
        assert not time(12, 0) < end <= time(13, 30), s


async def test_no_slots_on_a_closure_day(app, client, clock):
    clock.pinned = beijing(date(2026, 11, 27), 10)
    first, last = date(2026, 12, 8), date(2026, 12, 10)
    await generate_day(app, "BJ-CY", first, last)
    await generate_day(app, "BJ-DC", first, last)
    chaoyang = by_day(await available(client, "BJ-CY", "VISA_EXTENSION", first, last))
    assert date(2026, 12, 9) not in chaoyang
    assert date(2026, 12, 8) in chaoyang and date(2026, 12, 10) in chaoyang
    assert date(2026, 12, 9) in by_day(
        await available(client, "BJ-DC", "VISA_EXTENSION", first, last)
    )
    office = await Office.get(code="BJ-CY")
    start = beijing(date(2026, 12, 9), 0)
    assert not await Slot.filter(
        office_id=office.id, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
    ).exists()


async def test_no_slots_on_public_holidays(app, client, clock):
    clock.pinned = beijing(date(2026, 9, 25), 8)  # Mid-autumn Festival, a Friday
    first, last = date(2026, 9, 25), date(2026, 10, 9)
    await generate_day(app, "BJ-DC", first, last)
    days = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", first, last))
    assert sorted(days) == [
        date(2026, 9, 28),
        date(2026, 9, 29),
        date(2026, 9, 30),
        date(2026, 10, 8),
        date(2026, 10, 9),
    ]
    for d in days:
        assert days[d] == STANDARD_WEEKDAY, d


async def test_an_adjusted_working_sunday_has_monday_hours(app, client, clock):
    sunday = date(2026, 9, 20)
    clock.pinned = beijing(date(2026, 9, 17), 10)
    await generate_day(app, "BJ-HD", sunday)
    await generate_day(app, "BJ-DC", sunday)
    for office in ("BJ-HD", "BJ-DC"):
        days = by_day(await available(client, office, "VISA_EXTENSION", sunday, sunday))
        assert days == {sunday: STANDARD_WEEKDAY}, (office, days)


async def test_an_adjusted_working_saturday_has_monday_hours(app, client, clock):
    saturday = date(2026, 10, 10)
    clock.pinned = beijing(date(2026, 10, 9), 10)
    await generate_day(app, "BJ-DC", saturday)
    await generate_day(app, "BJ-SY", saturday)
    # A Saturday office keeps its full weekday hours, not just the Saturday morning ...
    main = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", saturday, saturday))
    assert main == {saturday: STANDARD_WEEKDAY}
    # ... and an office closed on ordinary Saturdays opens.
    shunyi = by_day(await available(client, "BJ-SY", "VISA_EXTENSION", saturday, saturday))
    assert shunyi == {saturday: STANDARD_WEEKDAY}


# Ordinary Saturdays of 2026 (no adjusted working day among them), each with the Friday before.
SATURDAYS = (date(2026, 12, 5), date(2026, 12, 12), date(2026, 12, 19))


async def untouched(codes: tuple[str, ...], day: date) -> bool:
    """No place of these offices' slots that day is booked or held, and no closure: tests
    that book or close "any open slot" (days from the real date on) may have landed there."""
    start, end = local_day_bounds(day, SHANGHAI)
    offices = await Office.filter(code__in=codes).values_list("id", flat=True)
    slots = Slot.filter(office_id__in=offices, starts_at__gte=start, starts_at__lt=end)
    return not (
        await slots.filter(booked__gt=0).exists()
        or await slots.filter(held__gt=0).exists()
        or await OfficeClosure.filter(office_id__in=offices, date=day).exists()
    )


async def test_saturday_mornings_only_at_saturday_offices(app, client, clock):
    codes = ("BJ-DC", "BJ-SY", "BJ-CY")
    for saturday in SATURDAYS:
        clock.pinned = beijing(saturday - timedelta(days=8), 10)
        for code in codes:
            await generate_day(app, code, saturday)
        if await untouched(codes, saturday):
            break
    else:
        raise AssertionError(f"every Saturday of {SATURDAYS} was booked or closed by other tests")
    main = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", saturday, saturday))
    assert main == {saturday: SATURDAY_MORNING}
    residence = await available(client, "BJ-DC", "RESIDENCE_PERMIT_EXTENSION", saturday, saturday)
    assert by_day(residence) == {saturday: SATURDAY_MORNING}
    assert await available(client, "BJ-SY", "VISA_EXTENSION", saturday, saturday) == []
    chaoyang = by_day(await available(client, "BJ-CY", "VISA_EXTENSION", saturday, saturday))
    assert chaoyang == {saturday: SATURDAY_MORNING}


async def test_generating_slots_twice_creates_nothing_the_second_time(app):
    calendar = app.state.services.calendar
    office = await Office.get(code="SH-XH")  # visa services only, standard hours
    first, last = date(2026, 7, 6), date(2026, 7, 10)  # Monday to Friday, no holidays
    start, end = beijing(first, 0), beijing(last + timedelta(days=1), 0)

    created = await appointment_store.generate_slots(
        calendar, first, last, 30, office_ids=[office.id]
    )
    count = await Slot.filter(office_id=office.id, starts_at__gte=start, starts_at__lt=end).count()
    again = await appointment_store.generate_slots(
        calendar, first, last, 30, office_ids=[office.id]
    )

    assert created == 5 * 13  # 13 visa slots a day, no residence counters
    assert count == created
    assert again == 0
    assert (
        await Slot.filter(office_id=office.id, starts_at__gte=start, starts_at__lt=end).count()
        == count
    )


# ------------------------------------------------------------------ lead time and horizon


async def test_slots_within_the_minimum_lead_time_are_not_offered(app, client, clock):
    day = date(2026, 12, 1)  # a Tuesday
    clock.pinned = beijing(day, 9, 10)
    await generate_day(app, "BJ-DC", day)
    times = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", day, day))[day]
    assert times == STANDARD_WEEKDAY[STANDARD_WEEKDAY.index("11:30") :]

    clock.pinned = beijing(day, 10, 5)
    times = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", day, day))[day]
    assert times == STANDARD_WEEKDAY[STANDARD_WEEKDAY.index("13:30") :]

    clock.pinned = beijing(day, 15, 1)
    assert await available(client, "BJ-DC", "VISA_EXTENSION", day, day) == []


async def test_slots_beyond_the_horizon_are_not_offered(app, client, clock):
    clock.pinned = beijing(date(2026, 11, 27), 10)
    horizon = app.state.services.calendar.add_working_days(date(2026, 11, 27), 14)
    assert horizon == date(2026, 12, 17)
    await generate_day(app, "BJ-DC", date(2026, 12, 14), date(2026, 12, 22))
    office = await Office.get(code="BJ-DC")
    assert await Slot.filter(
        office_id=office.id, starts_at__gte=beijing(date(2026, 12, 18), 0)
    ).exists(), "slots exist past the horizon, yet must not be offered"

    days = by_day(
        await available(client, "BJ-DC", "VISA_EXTENSION", date(2026, 12, 14), date(2026, 12, 22))
    )
    assert max(days) == horizon
    assert (
        await available(client, "BJ-DC", "VISA_EXTENSION", date(2026, 12, 18), date(2026, 12, 22))
        == []
    )


async def test_times_are_returned_in_the_offices_offset_even_for_utc_clock(app, client, clock):
    # 23:30 UTC on 30 November is already 07:30 on 1 December in Beijing.
    clock.pinned = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    day = clock.now().astimezone(SHANGHAI).date()
    assert day == date(2026, 12, 1)
    await generate_day(app, "BJ-DC", day)
    times = by_day(await available(client, "BJ-DC", "VISA_EXTENSION", day, day))[day]
    # 07:30 + 2 h lead: the first slot offered is 09:30.
    assert times == STANDARD_WEEKDAY[1:]


async def test_slots_in_an_unpublished_year_are_provisional_and_skip_fixed_holidays(
    app, client, clock
):
    # Far enough ahead that chinese-calendar cannot know it, whatever today is.
    year = max(clock.now().year + 5, 2031)
    services = app.state.services
    await calendar_store.seed_years(range(year, year + 1))
    services.calendar = await calendar_store.load_calendar()
    assert not known_year(year)
    clock.pinned = beijing(date(year, 4, 27), 9)
    first, last = date(year, 4, 29), date(year, 5, 6)
    await generate_day(app, "BJ-DC", first, last)
    query = """query($office: ID!, $from: Date!, $to: Date!) {
      availableSlots(officeId: $office, service: VISA_EXTENSION, from: $from, to: $to) {
        startsAt provisionalCalendar } }"""
    body = await gql(
        client,
        query,
        {"office": await office_id(client, "BJ-DC"), "from": str(first), "to": str(last)},
    )
    slots = body["data"]["availableSlots"]
    days = {datetime.fromisoformat(s["startsAt"]).date() for s in slots}
    assert days, body
    # 1 and 2 May are statutory holidays every year; they stay closed without the notice.
    assert date(year, 5, 1) not in days and date(year, 5, 2) not in days
    assert all(s["provisionalCalendar"] is True for s in slots)


async def test_slots_in_a_published_year_are_not_provisional(app, client, clock):
    clock.pinned = beijing(date(2026, 11, 16), 9)
    day = date(2026, 11, 18)
    await generate_day(app, "BJ-DC", day)
    query = """query($office: ID!, $day: Date!) {
      availableSlots(officeId: $office, service: VISA_EXTENSION, from: $day, to: $day) {
        provisionalCalendar } }"""
    body = await gql(client, query, {"office": await office_id(client, "BJ-DC"), "day": str(day)})
    flags = {s["provisionalCalendar"] for s in body["data"]["availableSlots"]}
    assert flags == {False}
