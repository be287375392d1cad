"""Sample persons with many records, for statement-count tests and benchmarks."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from domain.persons import PersonFacts
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
    Slot,
)
from persistence.persons import create_person


async def person_with_records(count: int, *, surname: str, now: datetime) -> str:
    """A person with `count` applications (3 events each), documents and (cancelled)
    appointments, two passports and a PR card; returns the e-mail of their APPLICANT account,
    whose password is the demo officer's (the demo password)."""
    tag = secrets.token_hex(4)
    person = await create_person(
        PersonFacts(
            surname=surname,
            given_names=tag,
            nationality="ITA",
            birth_date=date(1985, 3, 3),
            sex="F",
            passport_number=f"Q{tag}1",
            passport_valid_until=date(2031, 1, 1),
        ),
        bound_from=date(2021, 1, 1),
    )
    offices = await Office.all().order_by("id").limit(5)
    await Passport.create(
        person_id=person.id,
        number=f"Q{tag}0",
        issuing_country="ITA",
        valid_until=date(2031, 1, 1),
        bound_from=date(2020, 1, 1),
        bound_until=date(2021, 1, 1),
        is_current=False,
    )
    await PermanentResidentCard.create(
        person_id=person.id,
        number=f"ITA{tag[:4].upper()}{secrets.randbelow(10**8):08d}"[:15],
        issued_on=date(2024, 1, 1),
        valid_until=date(2034, 1, 1),
    )
    officer = await Account.get(email="officer@demo.test")
    now = now.replace(microsecond=0)
    for i in range(count):
        office = offices[i % len(offices)]
        application = await Application.create(
            number=f"QC-{tag}-{i:04d}",
            applicant_id=person.id,
            service="VISA_EXTENSION",
            office_id=office.id,
            status="UNDER_REVIEW",
            submitted_at=now,
            accepted_on=now.date() + timedelta(days=1),
            recorded_by_id=officer.id,
        )
        await ApplicationEvent.bulk_create(
            [
                ApplicationEvent(
                    application_id=application.id,
                    status=s,
                    at=now + timedelta(hours=h),
                    actor_id=officer.id,
                    actor_kind="OFFICER",
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
        if slot is None:
            raise RuntimeError(f"office {office.code} has too few slots for {count} records")
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
    email = f"{surname.lower()}-{tag}@example.test"
    account = await Account.create(
        email=email, display_name=surname, person_id=person.id, password_hash=officer.password_hash
    )
    await AccountRole.create(account_id=account.id, role="APPLICANT")
    return email
