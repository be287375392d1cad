"""The number of SQL statements of a query does not grow with the number of items it lists
(in the style of Saleor's benchmarks: the same query with 1 item and with many)."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime, timedelta

from persistence.models import (
    Account,
    AccountRole,
    Application,
    ApplicationEvent,
    Appointment,
    Document,
    Office,
    Passport,
    PermanentResidentCard,
    Person,
    Slot,
)
from tests.conftest import sign_in

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
    assert one == many, (one, many)
    assert many <= 8


async def _person_with_records(count: int) -> str:
    """A person with `count` applications (3 events each), documents, appointments and
    passports; returns the e-mail of their account."""
    tag = secrets.token_hex(4)
    person = await Person.create(
        surname="Count",
        given_names=tag,
        surname_key="count",
        nationality="ITA",
        birth_date=date(1985, 3, 3),
        sex="F",
        subject=secrets.token_urlsafe(18),
    )
    offices = await Office.all().order_by("id").limit(5)
    for i in range(2 if count > 1 else 1):
        await Passport.create(
            person_id=person.id,
            number=f"Q{tag}{i}",
            issuing_country="ITA",
            valid_until=date(2031, 1, 1),
            bound_from=date(2020 + i, 1, 1),
            bound_until=None if i == (1 if count > 1 else 0) else date(2021, 1, 1),
            is_current=i == (1 if count > 1 else 0),
        )
    await PermanentResidentCard.create(
        person_id=person.id,
        number=f"ITA{tag[:4].upper()}{secrets.randbelow(10**8):08d}"[:15],
        issued_on=date(2024, 1, 1),
        valid_until=date(2034, 1, 1),
    )
    officer = await Account.get(email="officer@demo.test")
    now = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
    for i in range(count):
        office = offices[i % len(offices)]
        application = await Application.create(
            number=f"QC-{tag}-{i:04d}",
            applicant_id=person.id,
            service="VISA_EXTENSION",
            office_id=office.id,
            status="UNDER_REVIEW",
            submitted_at=now,
            accepted_on=date(2026, 11, 2),
            recorded_by_id=officer.id,
        )
        await ApplicationEvent.bulk_create(
            [
                ApplicationEvent(
                    application_id=application.id, status=s, at=now + timedelta(hours=h)
                )
                for h, s in enumerate(("SUBMITTED", "ACCEPTED", "UNDER_REVIEW"))
            ]
        )
        await Document.create(
            person_id=person.id,
            kind="VISA",
            category="M",
            number=f"QD{tag}{i:04d}",
            valid_from=date(2026, 1, 1),
            valid_until=date(2027, 1, 1) + timedelta(days=i),
            entries="MULTIPLE",
            duration_of_stay_days=30,
            issued_by_id=office.id,
        )
        slot = await Slot.filter(office_id=office.id).order_by("id").offset(i).first()
        assert slot is not None
        await Appointment.create(
            reference=f"QA{tag}{i:04d}"[:16],
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
    email = f"count-{tag}@example.test"
    account = await Account.create(
        email=email,
        display_name="Count",
        person_id=person.id,
        password_hash=(await Account.get(email="officer@demo.test")).password_hash,
    )
    await AccountRole.create(account_id=account.id, role="APPLICANT")
    return email


async def test_dashboard_statements_do_not_grow_with_records(client):
    one = await statements(client, DASHBOARD, await sign_in(client, await _person_with_records(1)))
    many = await statements(
        client, DASHBOARD, await sign_in(client, await _person_with_records(50))
    )
    assert one == many, (one, many)


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
    helper = await Account.create(
        email=f"helper-{tag}@example.test",
        display_name="Helper",
        password_hash=officer.password_hash,
    )
    await AccountRole.create(account_id=helper.id, role="APPLICANT")
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
    assert one == many, (one, many)
