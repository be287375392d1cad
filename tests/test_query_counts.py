"""The number of SQL statements of a query is exactly the one measured, and does not grow with
the number of items it lists (in the style of Saleor's benchmarks: the same query with 1 item
and with many). The counts come from X-SQL-Statements, counted per request
(persistence/statement_counter.py); a change of these numbers is a change to look at: a new
statement per request on purpose, or an N+1 slipped in.
"""

from __future__ import annotations

import asyncio
import secrets
from datetime import UTC, datetime

from persistence import statement_counter
from persistence.accounts import create_account
from persistence.demo.records import person_with_records
from persistence.models import Account, Office
from tests.conftest import sign_in

# Statements per request, measured on SQLite and PostgreSQL (the same on both). Reads asked
# for at the same moment go as one statement (persistence/combined_reads.py): the account with
# its roles; then the dashboard's five collections of the person; then what their rows point
# to (offices, booking accounts, application events, the catalogue).
DIRECTORY_STATEMENTS = 3  # with the catalogue cached
DASHBOARD_STATEMENTS = 3
APPLICANTS_STATEMENTS = 6
MY_APPOINTMENTS_STATEMENTS = 4
HELPERS_APPOINTMENTS_STATEMENTS = 6
LOOKUP_STATEMENTS = 5
OFFICE_QUEUE_STATEMENTS = 6
FOUND_PERSONS_STATEMENTS = 6

OFFICES = """
query Directory($first: Int) {
  offices(first: $first) {
    edges { distanceKm node {
      id code name address city phone timeZone location { latitude longitude }
      hours { weekday opens closes }
      services { code name processingWorkingDays }
      closures(from: "2026-12-01", to: "2027-01-31") { date reason }
      isOpen
    } }
  }
}"""

DASHBOARD = """
query Dashboard {
  viewer { person {
    surname givenNames grantedScopes
    applications(first: 100) { edges { node {
      number status submittedAt expectedDecisionOn office { code name }
      events { status at note }
    } } }
    documents { kind number validUntil daysRemaining extensionDeadline issuedBy { code } }
    appointments(first: 100) { edges { node {
      reference status startsAt office { code name } bookedBy { displayName kind }
    } } }
    permanentResidentCard { number validUntil }
    passports { number current boundFrom boundUntil }
  } }
}"""


async def statements(client, query: str, token: str, variables: dict | None = None) -> int:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert "errors" not in response.json(), response.json()
    return int(response.headers["x-sql-statements"])


async def test_office_directory_statements_do_not_grow_with_offices(client):
    token = await sign_in(client, "analyst@demo.test")
    await statements(client, OFFICES, token, {"first": 1})  # warms the catalogue cache
    one = await statements(client, OFFICES, token, {"first": 1})
    many = await statements(client, OFFICES, token, {"first": 24})
    assert one == many == DIRECTORY_STATEMENTS, (one, many)


async def _person_with_records(count: int) -> str:
    return await person_with_records(
        count, surname="Count", now=datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    )


async def test_dashboard_statements_do_not_grow_with_records(client):
    one = await statements(client, DASHBOARD, await sign_in(client, await _person_with_records(1)))
    many = await statements(
        client, DASHBOARD, await sign_in(client, await _person_with_records(50))
    )
    assert one == many == DASHBOARD_STATEMENTS, (one, many)


APPLICANTS = """
query Applicants {
  viewer { applicants {
    surname grantedScopes
    applications(first: 5) { edges { node { number status events { status } } } }
    appointments(first: 5) { edges { node { reference office { code } } } }
    documents { number }
    passports { number }
  } }
}"""


async def _helper_with_dependants(count: int) -> str:
    from persistence.models import Delegation

    officer = await Account.get(email="officer@demo.test")
    tag = secrets.token_hex(4)
    helper = await create_account(
        email=f"helper-{tag}@example.test",
        display_name="Helper",
        password_hash=officer.password_hash,
        roles=["APPLICANT"],
    )
    for _ in range(count):
        email = await _person_with_records(2)
        person_id = (await Account.get(email=email)).person_id
        await Delegation.create(
            helper_id=helper.id,
            dependant_id=person_id,
            relationship="CHILD",
            scopes=["BOOK_APPOINTMENTS", "VIEW_APPLICATIONS", "VIEW_DOCUMENTS"],
            status="ACTIVE",
        )
    return helper.email


async def test_dependants_lists_statements_do_not_grow_with_dependants(client):
    one = await statements(
        client, APPLICANTS, await sign_in(client, await _helper_with_dependants(1))
    )
    many = await statements(
        client, APPLICANTS, await sign_in(client, await _helper_with_dependants(5))
    )
    assert one == many == APPLICANTS_STATEMENTS, (one, many)


MY_APPOINTMENTS = """
query MyAppointment {
  bookingRules { horizonWorkingDays minLeadMinutes rescheduleLimit changeWindowHours slotMinutes }
  viewer { person { appointments(first: 100) { edges { node {
    reference status startsAt endsAt
    office { name address phone hours { weekday opens closes } }
    changeDeadline reschedulesLeft cancellable reschedulable
  } } } } }
}"""

HELPERS_APPOINTMENTS = """
query HelpersAppointments {
  viewer { applicants { appointments(first: 5) { edges { node {
    reference office { name } changeDeadline reschedulesLeft cancellable reschedulable
  } } } } }
}"""


async def _person_with_booked_appointments(count: int) -> str:
    """A person whose appointments are BOOKED (rescheduled 0, 1 or 2 times) and RESCHEDULED,
    so that every rule behind the change fields is consulted."""
    from persistence.models import Appointment

    email = await _person_with_records(count)
    person_id = (await Account.get(email=email)).person_id
    rows = await Appointment.filter(applicant_id=person_id).order_by("id")
    for i, row in enumerate(rows):
        status = "RESCHEDULED" if i % 4 == 3 else "BOOKED"
        await Appointment.filter(id=row.id).update(status=status, reschedule_count=i % 3)
    return email


async def test_my_appointment_screen_statements_do_not_grow_with_appointments(client):
    one = await statements(
        client, MY_APPOINTMENTS, await sign_in(client, await _person_with_booked_appointments(1))
    )
    many = await statements(
        client, MY_APPOINTMENTS, await sign_in(client, await _person_with_booked_appointments(40))
    )
    assert one == many == MY_APPOINTMENTS_STATEMENTS, (one, many)


async def test_a_helpers_change_fields_statements_do_not_grow_with_dependants(client):
    one = await statements(
        client, HELPERS_APPOINTMENTS, await sign_in(client, await _helper_with_dependants(1))
    )
    many = await statements(
        client, HELPERS_APPOINTMENTS, await sign_in(client, await _helper_with_dependants(5))
    )
    assert one == many == HELPERS_APPOINTMENTS_STATEMENTS, (one, many)


LOOKUP = """
query Lookup($number: String!) {
  applicationByNumber(number: $number) {
    number status submittedAt expectedDecisionOn office { code name }
    events { status at note actor { id displayName kind } }
  }
}"""


async def _application_with_events(actors: int) -> tuple[str, str]:
    """An application of a fresh applicant whose history has two events by each of `actors`
    distinct officers; returns the applicant's e-mail and the number."""
    from domain.application_numbers import format_application_number
    from persistence.models import Application, ApplicationEvent, Office

    email = await person_with_records(0, surname="Lookup", now=datetime(2026, 11, 1, tzinfo=UTC))
    applicant = await Account.get(email=email)
    office = await Office.get(code="BJ-DC")
    officers = []
    for _ in range(actors):
        officer = await create_account(
            email=f"counter-{secrets.token_hex(4)}@example.test",
            display_name="Counter officer",
            password_hash=applicant.password_hash,
            roles=["OFFICER"],
            office_id=office.id,
        )
        officers.append(officer)
    number = format_application_number("BJ-DC", 2098, secrets.randbelow(10**6))
    at = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
    application = await Application.create(
        number=number,
        applicant_id=applicant.person_id,
        service="VISA_EXTENSION",
        office_id=office.id,
        status="UNDER_REVIEW",
        submitted_at=at,
        recorded_by_id=officers[0].id,
    )
    await ApplicationEvent.bulk_create(
        [
            ApplicationEvent(
                application_id=application.id,
                status="UNDER_REVIEW",
                at=at.replace(hour=i % 20),
                actor_id=officer.id,
                actor_kind="OFFICER",
            )
            for i, officer in enumerate(officers * 2)
        ]
    )
    return email, number


async def test_application_by_number_statements_do_not_grow_with_events_and_actors(client):
    email, number = await _application_with_events(1)
    one = await statements(client, LOOKUP, await sign_in(client, email), {"number": number})
    email, number = await _application_with_events(12)
    many = await statements(client, LOOKUP, await sign_in(client, email), {"number": number})
    assert one == many == LOOKUP_STATEMENTS, (one, many)


OFFICE_QUEUE = """
query OfficeQueue($office: ID!, $on: Date!, $first: Int) {
  node(id: $office) { ... on Office {
    appointments(on: $on, first: $first) { edges { node {
      reference status startsAt service
      applicant { surname givenNames passports { number current } }
      bookedBy { displayName kind }
    } } }
    applications(status: MATERIALS_REQUESTED, first: $first) { edges { node {
      number status submittedAt expectedDecisionOn office { code }
      applicant { surname givenNames passports { number current } }
      events { status at note actor { displayName kind } }
    } } }
  } }
}"""


async def _office_queue(app, office_code: str, day, count: int) -> str:
    """`count` fresh persons of one surname and birth date, each with an appointment
    (cancelled, so no place is taken) at the office on `day` and an application waiting for
    materials there, with 3 events; returns the surname."""
    from datetime import date, timedelta

    from domain.persons import PersonFacts
    from persistence.models import Application, Appointment, Office, Slot
    from persistence.persons import create_person
    from persistence.records import add_event
    from tests.helpers import beijing, generate_day

    await generate_day(app, office_code, day)
    office = await Office.get(code=office_code)
    officer = await Account.get(email="officer@demo.test")
    slots = (
        await Slot.filter(office_id=office.id, starts_at__gte=beijing(day, 0))
        .order_by("starts_at", "id")
        .limit(count)
    )
    assert len(slots) == count
    surname = f"Queue{secrets.token_hex(4)}"
    for i, slot in enumerate(slots):
        tag = secrets.token_hex(4)
        person = await create_person(
            PersonFacts(
                surname=surname,
                given_names=tag,
                nationality="NZL",
                birth_date=date(1980, 1, 2),
                sex="M",
                passport_number=f"NZ{tag.upper()}",
                passport_valid_until=date(2032, 1, 1),
            ),
            bound_from=date(2022, 1, 1),
        )
        await Appointment.create(
            reference=f"QQ{tag}"[:16],
            applicant_id=person.id,
            service="VISA_RENEWAL",
            office_id=office.id,
            slot_id=slot.id,
            starts_at=slot.starts_at,
            ends_at=slot.ends_at,
            status="CANCELLED",
            booked_by_id=officer.id,
            booked_by_kind="OFFICER",
        )
        submitted = beijing(day - timedelta(days=20), 9) + timedelta(minutes=i)
        application = await Application.create(
            number=f"{office_code}-2097-{i:06d}",
            applicant_id=person.id,
            service="VISA_EXTENSION",
            office_id=office.id,
            status="MATERIALS_REQUESTED",
            submitted_at=submitted,
            accepted_on=submitted.date(),
            recorded_by_id=officer.id,
        )
        for h, status in enumerate(("SUBMITTED", "ACCEPTED", "MATERIALS_REQUESTED")):
            await add_event(
                application.id,
                status,
                submitted + timedelta(hours=h),
                None,
                actor_id=officer.id,
                actor_kind="OFFICER",
            )
    return surname


async def test_office_queue_statements_do_not_grow_with_appointments_and_applications(app, client):
    from datetime import date

    from tests.conftest import gql
    from tests.helpers import office_id, other_office_officer

    day = date(2027, 4, 14)  # a Wednesday no other test uses, at an office no other test books
    surname = await _office_queue(app, "TJ-HP", day, 12)
    officer = await other_office_officer(app, client, "TJ-HP")
    variables = {"office": await office_id(client, "TJ-HP"), "on": day.isoformat()}
    await statements(client, OFFICE_QUEUE, officer, {**variables, "first": 1})  # warms caches
    one = await statements(client, OFFICE_QUEUE, officer, {**variables, "first": 1})
    many = await statements(client, OFFICE_QUEUE, officer, {**variables, "first": 12})
    assert one == many == OFFICE_QUEUE_STATEMENTS, (one, many)
    body = await gql(client, OFFICE_QUEUE, {**variables, "first": 12}, token=officer)
    office = body["data"]["node"]
    assert len(office["appointments"]["edges"]) == 12
    assert len(office["applications"]["edges"]) == 12

    search = {"surname": surname, "birthDate": "1980-01-02"}
    one = await statements(client, FOUND_PERSONS, officer, {"search": search, "first": 1})
    many = await statements(client, FOUND_PERSONS, officer, {"search": search, "first": 12})
    assert one == many == FOUND_PERSONS_STATEMENTS, (one, many)
    body = await gql(client, FOUND_PERSONS, {"search": search, "first": 12}, token=officer)
    assert len(body["data"]["persons"]["edges"]) == 12


FOUND_PERSONS = """
query Found($search: PersonSearchInput!, $first: Int) {
  persons(search: $search, first: $first) { edges { node {
    surname givenNames birthDate grantedScopes passports { number current }
    applications(first: 5) { edges { node { number status events { status actor { kind } } } } }
    appointments(first: 5) { edges { node { reference office { code } } } }
    documents { number }
  } } }
}"""


async def test_counting_sees_each_statement_sent(app):
    with statement_counter.counting() as outer:
        await Office.filter(code="BJ-DC").first()
        with statement_counter.counting() as inner:
            assert await Office.filter(code="BJ-DC").exists()
            assert await Office.all().count() > 1
        await Office.filter(code="BJ-DC").update(phone=(await Office.get(code="BJ-DC")).phone)
    assert inner.total == 2
    assert outer.total == 3  # the inner block's statements are its own


async def test_concurrent_counts_stay_apart(app):
    async def run(queries: int) -> int:
        with statement_counter.counting() as count:
            for _ in range(queries):
                await Office.filter(code="BJ-DC").first()
                await asyncio.sleep(0)
        return count.total

    assert await asyncio.gather(*(run(n) for n in (1, 4, 2, 7, 3))) == [1, 4, 2, 7, 3]


async def test_concurrent_requests_each_report_their_own_statements(client):
    """Counting is per request: requests running at the same time do not add to each other's
    count or reset it."""
    officer = await sign_in(client, "analyst@demo.test")
    person = await sign_in(client, await _person_with_records(3))
    await statements(client, OFFICES, officer, {"first": 3})  # warms the catalogue cache
    requests = [(OFFICES, officer, {"first": 3}), (DASHBOARD, person, None)] * 4
    counts = await asyncio.gather(*(statements(client, *request) for request in requests))
    assert counts == [DIRECTORY_STATEMENTS, DASHBOARD_STATEMENTS] * 4
