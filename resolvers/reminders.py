"""The reminder scheduler: appointment reminders the day before (office time), the extension
window of documents, and documents about to end; each made exactly once however many
processes run it (a unique key claimed in the reminder's own unit of work)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from domain.dates import local_day, zone
from domain.documents import EXTENSION_LEAD_DAYS, covers, extension_deadline
from domain.notifications import appointment_reminder_due, reminder_due
from persistence import reminders as store
from persistence.models import NotificationKind
from resolvers import rounds, unit_of_work
from resolvers.context import Context, Services
from resolvers.notices import place_facts
from resolvers.notifications import notify

log = logging.getLogger("reminders")

# Days before the extension deadline after the window's opening (EXTENSION_WINDOW_DAYS).
EXTENSION_FOLLOW_UPS = (14, 3)
# Days before a document's last valid day.
EXPIRY_REMINDERS = (30, 7)


@dataclass(frozen=True)
class Due:
    """A reminder that falls due: its key, whom it is about, and its facts."""

    kind: str
    subject_type: str
    subject_id: int
    due_on: date
    person_id: int
    facts: dict[str, str]
    # An appointment's start as scanned: a reminder is made only while it is still booked then.
    starts_at: datetime | None = None
    # When its mail would mislead, unsent: the appointment has begun, the last day to apply
    # or the document's last day has passed.
    mail_by: datetime | None = None

    @property
    def key(self) -> tuple[str, str, int, date]:
        return (self.kind, self.subject_type, self.subject_id, self.due_on)


def _after(day: date) -> datetime:
    """The start of the day after `day` in the home zone: when a last day has passed."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone(None))


def _reached(now: datetime, time_zone: str | None, due_on: date, hour: int) -> bool:
    """A reminder due on `due_on` is made from `hour` o'clock local time that day (or at once
    when the day has passed: a late reminder beats none)."""
    local = now.astimezone(zone(time_zone))
    return local.date() > due_on or local.hour >= hour


async def appointment_reminders(now: datetime, hour: int) -> list[Due]:
    """Appointments tomorrow in their office's zone (from `hour` o'clock today there)."""
    due = []
    for row in await store.booked_starting_between(now, now + timedelta(hours=60)):
        office = row.office
        due_on = appointment_reminder_due(
            local_day(row.starts_at, office.time_zone), local_day(now, office.time_zone)
        )
        if due_on is not None and _reached(now, office.time_zone, due_on, hour):
            facts = {"reference": row.reference, **place_facts(office, row.starts_at)}
            due.append(
                Due(
                    NotificationKind.APPOINTMENT_REMINDER,
                    "Appointment",
                    row.id,
                    due_on,
                    row.applicant_id,
                    facts,
                    starts_at=row.starts_at,
                    mail_by=row.starts_at,
                )
            )
    return due


async def document_reminders(now: datetime, window_days: int, hour: int) -> list[Due]:
    """The extension window of visas and permits (window_days, then 14 and 3 days before the
    extension deadline, never on or after it; not while the person has an application in
    progress for a document covering that stay), and documents and PR cards ending in 30,
    then 7 days; days counted in the home zone."""
    today = local_day(now)
    horizon = max(window_days + max(EXTENSION_LEAD_DAYS.values()), max(EXPIRY_REMINDERS))
    due = []
    documents = await store.documents_ending_between(today, today + timedelta(days=horizon))
    # Someone who has applied (for an extension, or a permit covering the stay) is not told
    # to apply: the application in progress is their answer.
    applied = await store.kinds_applied_for({d.person_id for d in documents})
    for doc in documents:
        deadline = extension_deadline(doc.kind, doc.valid_until)
        base = {"reference": doc.number, "valid_until": doc.valid_until.isoformat()}
        stages = (window_days, *EXTENSION_FOLLOW_UPS)
        opened = reminder_due(deadline, stages, today)
        applying = any(covers(kind, doc.kind) for kind in applied.get(doc.person_id, ()))
        if opened is not None and not applying and _reached(now, None, opened, hour):
            facts = {**base, "deadline": deadline.isoformat(), "days": str((deadline - today).days)}
            due.append(
                Due(
                    NotificationKind.EXTENSION_WINDOW_OPEN,
                    "Document",
                    doc.id,
                    opened,
                    doc.person_id,
                    facts,
                    mail_by=_after(deadline),
                )
            )
        ending = reminder_due(doc.valid_until, EXPIRY_REMINDERS, today)
        if ending is not None and _reached(now, None, ending, hour):
            facts = {**base, "days": str((doc.valid_until - today).days)}
            kind = NotificationKind.DOCUMENT_EXPIRING
            due.append(
                Due(
                    kind,
                    "Document",
                    doc.id,
                    ending,
                    doc.person_id,
                    facts,
                    mail_by=_after(doc.valid_until),
                )
            )
    last = today + timedelta(days=max(EXPIRY_REMINDERS))
    for card in await store.cards_ending_between(today, last):
        ending = reminder_due(card.valid_until, EXPIRY_REMINDERS, today)
        if ending is not None and _reached(now, None, ending, hour):
            facts = {
                "reference": card.number,
                "valid_until": card.valid_until.isoformat(),
                "days": str((card.valid_until - today).days),
            }
            due.append(
                Due(
                    NotificationKind.DOCUMENT_EXPIRING,
                    "PermanentResidentCard",
                    card.id,
                    ending,
                    card.person_id,
                    facts,
                    mail_by=_after(card.valid_until),
                )
            )
    return due


def system_context(services: Services) -> Context:
    """The context the scheduler acts in: no account, no client."""
    return Context(
        services=services, account=None, roles=frozenset(), client_ip="", accept_language=None
    )


async def run_due(services: Services) -> int:
    """One round: make every reminder due now that no scheduler made yet; how many this one
    made. On PostgreSQL one scheduler scans at a time (an advisory lock); on both databases
    the unique key decides, in the reminder's own transaction, who makes it."""
    settings = services.settings
    async with store.scan_lock() as mine:
        if not mine:
            return 0
        now = services.clock.now()
        due = [
            *await appointment_reminders(now, settings.reminder_hour),
            *await document_reminders(now, settings.extension_window_days, settings.reminder_hour),
        ]
        made = await store.made([d.key for d in due])
        count = 0
        ctx = system_context(services)
        for reminder in due:
            if reminder.key in made:
                continue
            try:
                if await unit_of_work.run(ctx, _maker(reminder, now)):
                    count += 1
            except Exception:
                # Rolled back with its claim: made on a later round. The others go on, so
                # one reminder that keeps failing cannot hold up every reminder after it.
                log.exception("reminder %s could not be made", reminder.key)
    if count:
        log.info("reminders: %d made", count)
    return count


def _maker(reminder: Due, now: datetime) -> Callable[[], Awaitable[bool]]:
    async def make() -> bool:
        # The claim first: the transaction's first statement is a write (SQLite takes its
        # write lock there), and a reminder another scheduler made is left alone.
        if not await store.claim(*reminder.key, now):
            return False
        # The round makes reminders one by one after one scan: an appointment cancelled or
        # moved meanwhile (by its applicant, or by an office closure) gets none. The claim
        # stays, so no later round makes it either.
        if reminder.starts_at is not None and not await store.still_booked(
            reminder.subject_id, reminder.starts_at
        ):
            return False
        await notify(
            NotificationKind(reminder.kind),
            about_person_id=reminder.person_id,
            subject=(reminder.subject_type, reminder.subject_id),
            facts=reminder.facts,
            mail_by=reminder.mail_by,
        )
        return True

    return make


async def run_forever(services: Services) -> None:
    """Every REMINDER_EVERY_SECONDS, one round; a failed round is logged and retried."""
    seconds = services.settings.reminder_every_seconds
    await rounds.every(seconds, lambda: run_due(services), log, "a reminder round failed")
