"""Scheduled reminders: the extension window (EXTENSION_WINDOW_DAYS, then 14 and 3 days before
the extension deadline, never on or after it), documents ending in 30 and 7 days, appointments
the day before in the office's time zone; each exactly once, also with two schedulers at
once, and only to the person and the helpers whose scopes cover it."""

from __future__ import annotations

import asyncio
import secrets
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from persistence import reminders as reminder_store
from persistence.models import (
    Appointment,
    Delivery,
    Document,
    Office,
    PermanentResidentCard,
    ScheduledReminder,
)
from persistence.models import Notification as NotificationRow
from resolvers import reminders
from tests.conftest import gql
from tests.helpers import (
    SHANGHAI,
    Member,
    add_ok,
    beijing_today,
    book_open_slot,
    gid,
    member_with_person,
    minor_birth_date,
    move_application,
    new_member,
    pk_of,
    record_application,
    register_person,
)
from tests.test_notifications import about, helper_of


def at(day: date, hour: int, zone: ZoneInfo = SHANGHAI) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=zone)


async def residence_permit(member: Member, valid_until: date, kind: str = "RESIDENCE_PERMIT"):
    """A document of the person's, made in the database (as issueDocument would)."""
    return await Document.create(
        person_id=pk_of(member.person.id),
        kind=kind,
        category="WORK" if kind != "VISA" else "Z",
        number=f"RM{secrets.token_hex(5).upper()}",
        valid_from=valid_until - timedelta(days=365),
        valid_until=valid_until,
    )


async def household(client: httpx.AsyncClient) -> dict[str, Member]:
    person = await member_with_person(client)
    docs, _ = await helper_of(client, person, ["VIEW_DOCUMENTS"])
    book, _ = await helper_of(client, person, ["BOOK_APPOINTMENTS"])
    return {"person": person, "docs": docs, "book": book}


class Scene:
    """People, and the scheduler run with the clock at a given moment."""

    def __init__(self, client: httpx.AsyncClient, app: Any, clock: Any, people: dict) -> None:
        self.client, self.app, self.clock, self.people = client, app, clock, people

    async def counts(self, moment: datetime, kind: str, subject_id: str) -> dict[str, int]:
        """Run the scheduler with the clock at `moment`, then count each one's notifications
        of `kind` about `subject_id` (signing in again: earlier tokens expired with the jump)."""
        self.clock.pinned = moment
        await reminders.run_due(self.app.state.services)
        counts = {}
        for name, member in self.people.items():
            await member.refresh(self.client)
            counts[name] = len(await about(self.client, member.token, kind, subject_id))
        return counts


def doc_id(document: Document) -> str:
    return gid("Document", document.id)


async def test_the_extension_window_is_told_at_each_stage_once_and_never_on_the_deadline(
    client, app, clock
):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    permit = await residence_permit(people["person"], today + timedelta(days=120))
    deadline = today + timedelta(days=90)  # a residence permit: 30 days before it ends
    subject = doc_id(permit)
    kind = "EXTENSION_WINDOW_OPEN"

    nobody = {"person": 0, "docs": 0, "book": 0}
    assert await scene.counts(at(deadline - timedelta(days=61), 12), kind, subject) == nobody
    # The day the window opens, from REMINDER_HOUR (8 o'clock) on.
    assert await scene.counts(at(deadline - timedelta(days=60), 7), kind, subject) == nobody
    told = {"person": 1, "docs": 1, "book": 0}
    assert await scene.counts(at(deadline - timedelta(days=60), 9), kind, subject) == told
    assert await scene.counts(at(deadline - timedelta(days=40), 9), kind, subject) == told
    twice = {"person": 2, "docs": 2, "book": 0}
    assert await scene.counts(at(deadline - timedelta(days=14), 9), kind, subject) == twice
    thrice = {"person": 3, "docs": 3, "book": 0}
    assert await scene.counts(at(deadline - timedelta(days=3), 9), kind, subject) == thrice
    for days_before in (2, 1, 0):
        moment = at(deadline - timedelta(days=days_before), 9)
        assert await scene.counts(moment, kind, subject) == thrice
    assert await scene.counts(at(deadline + timedelta(days=1), 9), kind, subject) == thrice

    (latest, *_) = await about(client, people["person"].token, kind, subject)
    assert deadline.isoformat() in latest["body"] and permit.number in latest["body"]
    keys = await ScheduledReminder.filter(
        kind=kind, subject_type="Document", subject_id=permit.id
    ).values_list("due_on", flat=True)
    assert sorted(keys) == [deadline - timedelta(days=d) for d in (60, 14, 3)]


async def test_a_document_ending_is_told_30_and_7_days_before(client, app, clock):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    visa = await residence_permit(people["person"], today + timedelta(days=45), kind="VISA")
    subject, kind = doc_id(visa), "DOCUMENT_EXPIRING"
    end = visa.valid_until
    none = {"person": 0, "docs": 0, "book": 0}
    assert await scene.counts(at(end - timedelta(days=31), 9), kind, subject) == none
    once = {"person": 1, "docs": 1, "book": 0}
    assert await scene.counts(at(end - timedelta(days=30), 9), kind, subject) == once
    twice = {"person": 2, "docs": 2, "book": 0}
    assert await scene.counts(at(end - timedelta(days=7), 9), kind, subject) == twice
    assert await scene.counts(at(end, 9), kind, subject) == twice
    (latest, *_) = await about(client, people["person"].token, kind, subject)
    assert "7 days" in latest["body"]


async def test_a_permit_issued_inside_the_window_is_told_once_at_once_not_stage_by_stage(
    client, app, clock
):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    # The deadline is 20 days away: the 60-day stage has passed, the 14-day one has not.
    permit = await residence_permit(people["person"], today + timedelta(days=50))
    subject, kind = doc_id(permit), "EXTENSION_WINDOW_OPEN"
    once = {"person": 1, "docs": 1, "book": 0}
    assert await scene.counts(at(today, 10), kind, subject) == once
    assert await scene.counts(at(today + timedelta(days=2), 10), kind, subject) == once


@pytest.mark.parametrize("kind_ending", ["RESIDENCE_PERMIT", "VISA"])
async def test_a_document_covered_by_a_later_one_is_not_reminded(client, app, clock, kind_ending):
    """A later-ending permit replaces a permit (a renewal, an extension) and covers the stay
    a visa granted: the earlier document's ending is no call to extend it."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    old = await residence_permit(people["person"], today + timedelta(days=40), kind=kind_ending)
    await residence_permit(people["person"], today + timedelta(days=40 + 365))
    none = {"person": 0, "docs": 0, "book": 0}
    for kind in ("EXTENSION_WINDOW_OPEN", "DOCUMENT_EXPIRING"):
        moment = at(today + timedelta(days=10), 10)
        assert await scene.counts(moment, kind, doc_id(old)) == none


async def test_no_call_to_apply_while_an_extension_is_in_progress(client, app, clock):
    """Someone whose extension application is in progress is not told to apply for one
    (the document's ending is still told); once the application is withdrawn, the next
    stage of the window is told again."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    permit = await residence_permit(people["person"], today + timedelta(days=120))
    deadline = today + timedelta(days=90)  # a residence permit: 30 days before it ends
    application = await record_application(
        client, people["person"].person.id, "RESIDENCE_PERMIT_EXTENSION"
    )
    subject, kind = doc_id(permit), "EXTENSION_WINDOW_OPEN"
    none = {"person": 0, "docs": 0, "book": 0}
    for days_before in (60, 14):
        assert (
            await scene.counts(at(deadline - timedelta(days=days_before), 9), kind, subject) == none
        )
    await move_application(client, application["id"], "WITHDRAWN")
    told = {"person": 1, "docs": 1, "book": 0}
    assert await scene.counts(at(deadline - timedelta(days=3), 9), kind, subject) == told
    ending = await scene.counts(
        at(permit.valid_until - timedelta(days=30), 9), "DOCUMENT_EXPIRING", subject
    )
    assert ending == told


async def test_a_reissuance_in_progress_is_no_answer_to_a_stay_that_is_ending(client, app, clock):
    """Someone who lost their residence permit and applied for its reissuance gets a document
    that ends on the same day: they still have to extend, and are still told so."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    permit = await residence_permit(people["person"], today + timedelta(days=120))
    deadline = today + timedelta(days=90)
    await record_application(client, people["person"].person.id, "RESIDENCE_PERMIT_REISSUANCE")
    told = {"person": 1, "docs": 1, "book": 0}
    opening = at(deadline - timedelta(days=60), 9)
    assert await scene.counts(opening, "EXTENSION_WINDOW_OPEN", doc_id(permit)) == told


async def test_the_permit_of_an_approved_application_is_reminded_once_issued(client, app, clock):
    """An APPROVED application is in progress until its document is issued; then that
    permit's own extension window is told, whether or not the office has moved the
    application on to READY_FOR_COLLECTION yet."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    application = await record_application(
        client, people["person"].person.id, "RESIDENCE_PERMIT_EXTENSION"
    )
    await move_application(client, application["id"], "ACCEPTED", "UNDER_REVIEW", "APPROVED")
    permit = await residence_permit(people["person"], today + timedelta(days=120))
    await Document.filter(id=permit.id).update(application_id=pk_of(application["id"]))
    deadline = today + timedelta(days=90)  # a residence permit: 30 days before it ends
    told = {"person": 1, "docs": 1, "book": 0}
    moment = at(deadline - timedelta(days=60), 9)
    assert await scene.counts(moment, "EXTENSION_WINDOW_OPEN", doc_id(permit)) == told


async def test_a_reissued_document_ending_the_same_day_is_reminded_once(client, app, clock):
    """A lost permit reissued with the same end: one reminder per recipient, of the document
    now held, not one for each."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    lost = await residence_permit(people["person"], today + timedelta(days=30))
    held = await residence_permit(people["person"], today + timedelta(days=30))
    told = {"person": 1, "docs": 1, "book": 0}
    none = {"person": 0, "docs": 0, "book": 0}
    moment = at(today, 10)
    assert await scene.counts(moment, "DOCUMENT_EXPIRING", doc_id(held)) == told
    assert await scene.counts(moment, "DOCUMENT_EXPIRING", doc_id(lost)) == none


async def test_a_superseded_document_is_not_reminded_even_when_it_ends_later(client, app, clock):
    """A reissue shorter than the permit it replaced (issueDocument marked the old one
    superseded): the old one's printed end is no end of a stay, and is not told."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    replaced = await residence_permit(people["person"], today + timedelta(days=60))
    held = await residence_permit(people["person"], today + timedelta(days=30))
    await Document.filter(id=replaced.id).update(superseded_by_id=held.id, superseded_on=today)
    told = {"person": 1, "docs": 1, "book": 0}
    none = {"person": 0, "docs": 0, "book": 0}
    assert await scene.counts(at(today, 10), "DOCUMENT_EXPIRING", doc_id(held)) == told
    ending = at(today + timedelta(days=30), 10)
    assert await scene.counts(ending, "DOCUMENT_EXPIRING", doc_id(replaced)) == none


async def test_a_pr_card_ending_is_told_as_document_expiring(client, app, clock):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    today = beijing_today()
    card = await PermanentResidentCard.create(
        person_id=pk_of(people["person"].person.id),
        number=f"ZZZ{secrets.randbelow(10**12):012d}",
        issued_on=today - timedelta(days=3000),
        valid_until=today + timedelta(days=30),
    )
    subject = gid("PermanentResidentCard", card.id)
    told = {"person": 1, "docs": 1, "book": 0}
    assert await scene.counts(at(today, 10), "DOCUMENT_EXPIRING", subject) == told


async def test_an_appointment_is_reminded_the_day_before_in_the_offices_time_zone(
    client, app, clock
):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    person = people["person"]
    booked = await book_open_slot(client, person.token, person.person.id)
    row = await Appointment.get(id=pk_of(booked["id"]))
    office = await Office.get(id=row.office_id)
    original_zone = office.time_zone
    # The office moves to Los Angeles (as a centre abroad would be): its days are not
    # Beijing's, and its reminder comes on the day before in its own zone.
    los_angeles = ZoneInfo("America/Los_Angeles")
    await Office.filter(id=office.id).update(time_zone="America/Los_Angeles")
    try:
        local_day = row.starts_at.astimezone(los_angeles).date()
        subject, kind = booked["id"], "APPOINTMENT_REMINDER"
        none = {"person": 0, "docs": 0, "book": 0}
        two_days = at(local_day - timedelta(days=2), 20, los_angeles)
        assert await scene.counts(two_days, kind, subject) == none
        told = {"person": 1, "docs": 0, "book": 1}
        day_before = at(local_day - timedelta(days=1), 9, los_angeles)
        assert await scene.counts(day_before, kind, subject) == told
        later = at(local_day - timedelta(days=1), 23, los_angeles)
        assert await scene.counts(later, kind, subject) == told
    finally:
        await Office.filter(id=office.id).update(time_zone=original_zone)
    (seen,) = await about(client, person.token, kind, subject)
    assert booked["reference"] in seen["body"]


async def test_a_cancelled_appointment_is_not_reminded(client, app, clock):
    people = await household(client)
    scene = Scene(client, app, clock, people)
    person = people["person"]
    booked = await book_open_slot(client, person.token, person.person.id)
    row = await Appointment.get(id=pk_of(booked["id"]))
    await gql(
        client,
        "mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }",
        {"id": booked["id"]},
        token=person.token,
    )
    day_before = at(row.starts_at.astimezone(SHANGHAI).date() - timedelta(days=1), 10)
    none = {"person": 0, "docs": 0, "book": 0}
    assert await scene.counts(day_before, "APPOINTMENT_REMINDER", booked["id"]) == none


async def test_an_appointment_cancelled_while_the_round_runs_is_not_reminded(
    client, app, clock, monkeypatch
):
    """A round scans the booked appointments once, then makes their reminders one by one: an
    appointment its applicant cancels in between (or an office closure cancels) gets no
    reminder, and no later round makes one either."""
    people = await household(client)
    scene = Scene(client, app, clock, people)
    person = people["person"]
    booked = await book_open_slot(client, person.token, person.person.id)
    row = await Appointment.get(id=pk_of(booked["id"]))
    scanned = reminder_store.made

    async def scanned_then_cancelled(keys):  # type: ignore[no-untyped-def]
        found = await scanned(keys)
        await person.refresh(client)  # the clock jumped to the day before
        answer = await gql(
            client,
            "mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }",
            {"id": booked["id"]},
            token=person.token,
        )
        assert answer["data"]["cancelAppointment"]["__typename"] == "AppointmentCancelled"
        return found

    monkeypatch.setattr(reminder_store, "made", scanned_then_cancelled)
    day_before = at(row.starts_at.astimezone(SHANGHAI).date() - timedelta(days=1), 10)
    none = {"person": 0, "docs": 0, "book": 0}
    assert await scene.counts(day_before, "APPOINTMENT_REMINDER", booked["id"]) == none
    monkeypatch.setattr(reminder_store, "made", scanned)
    assert await scene.counts(day_before, "APPOINTMENT_REMINDER", booked["id"]) == none


@pytest.mark.parametrize("bypass_lock", [False, True], ids=["advisory-lock", "unique-key-alone"])
async def test_two_schedulers_at_once_make_each_reminder_once(
    client, clock, app, monkeypatch, bypass_lock
):
    """Several schedulers running the same round at the same moment (as several server
    processes do) make each reminder once: on PostgreSQL one of them holds the scan's
    advisory lock; without it (`unique-key-alone`, and always on SQLite) the reminder's
    unique key, claimed in the reminder's own transaction, decides."""
    helper = await new_member(client)
    today = beijing_today()
    permits = []
    for _ in range(8):
        child = await register_person(client, birth_date=minor_birth_date())
        await add_ok(client, helper.token, child, scopes=["VIEW_DOCUMENTS"])
        permits.append(
            await Document.create(
                person_id=pk_of(child.id),
                kind="RESIDENCE_PERMIT",
                category="FAMILY_REUNION",
                number=f"RM{secrets.token_hex(5).upper()}",
                valid_from=today - timedelta(days=300),
                valid_until=today + timedelta(days=70),
            )
        )
    if bypass_lock:
        import contextlib

        @contextlib.asynccontextmanager
        async def always_mine():
            yield True

        monkeypatch.setattr(reminder_store, "scan_lock", always_mine)
    clock.pinned = at(today, 10)
    services = app.state.services
    made = await asyncio.gather(*(reminders.run_due(services) for _ in range(4)))
    helper_pk = pk_of(helper.account_id)
    for permit in permits:
        keys = await ScheduledReminder.filter(
            kind="EXTENSION_WINDOW_OPEN", subject_type="Document", subject_id=permit.id
        ).count()
        assert keys == 1
        rows = await NotificationRow.filter(
            kind="EXTENSION_WINDOW_OPEN", subject_type="Document", subject_id=permit.id
        ).values_list("account_id", "person_id")
        assert rows == [(helper_pk, permit.person_id)]
    assert sum(made) >= len(permits)  # other documents of the session may be due too
    again = await asyncio.gather(*(reminders.run_due(services) for _ in range(2)))
    assert sum(again) == 0


async def test_the_claim_is_one_statement_that_tells_who_won(app):
    """The unique key itself: the first claim wins, every later one (same key) loses, each in
    one statement (no read before the write, no failed insert to recover from)."""
    from tortoise.transactions import in_transaction

    from persistence.statement_counter import counting

    day = date(2031, 1, 2)
    subject_id = secrets.randbelow(10**8) + 10**9
    now = datetime.now(SHANGHAI)
    async with in_transaction():
        with counting() as winning:
            first = await reminder_store.claim(
                "DOCUMENT_EXPIRING", "Document", subject_id, day, now
            )
    async with in_transaction():
        with counting() as losing:
            second = await reminder_store.claim(
                "DOCUMENT_EXPIRING", "Document", subject_id, day, now
            )
    assert (winning.total, losing.total) == (1, 1)
    other_day = await reminder_store.claim(
        "DOCUMENT_EXPIRING", "Document", subject_id, day + timedelta(days=1), now
    )
    assert (first, second, other_day) == (True, False, True)
    made = await reminder_store.made(
        [("DOCUMENT_EXPIRING", "Document", subject_id, day), ("X", "Document", subject_id, day)]
    )
    assert made == {("DOCUMENT_EXPIRING", "Document", subject_id, day)}


async def test_a_reminder_is_mailed_in_the_language_each_recipient_chose(client, app, clock):
    """The person reads Chinese, the helper who books for them Japanese: each mail is written
    in its recipient's language when the round makes it, whatever the scheduler's own."""
    people = await household(client)
    person, helper = people["person"], people["book"]
    for member, language in ((person, "ZH"), (helper, "JA")):
        chosen = await gql(
            client,
            "mutation($l: Language!) { setPreferences(language: $l) { __typename } }",
            {"l": language},
            token=member.token,
        )
        assert chosen["data"]["setPreferences"]["__typename"] == "PreferencesSaved", chosen
    booked = await book_open_slot(client, person.token, person.person.id)
    row = await Appointment.get(id=pk_of(booked["id"]))
    clock.pinned = at(row.starts_at.astimezone(SHANGHAI).date() - timedelta(days=1), 10)
    await reminders.run_due(app.state.services)
    mails = {
        mail.account_id: mail
        for mail in await Delivery.filter(
            kind="APPOINTMENT_REMINDER",
            account_id__in=[pk_of(person.account_id), pk_of(helper.account_id)],
        )
    }
    to_person, to_helper = mails[pk_of(person.account_id)], mails[pk_of(helper.account_id)]
    assert to_person.subject == f"明天有预约（{booked['reference']}）"
    assert to_helper.subject == f"明日のご予約（{booked['reference']}）"
    assert "Appointment tomorrow" not in to_person.body + to_helper.body
