"""Queries of the reminder scheduler: what may fall due, and claiming a reminder exactly once
(a unique key, inserted with ON CONFLICT DO NOTHING on both databases), with a PostgreSQL
advisory lock so that one scheduler at a time scans."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

from tortoise import connections

from domain.applications import OPEN_STATUSES
from domain.documents import covers, kind_for_service, lengthens_stay
from persistence.models import (
    Application,
    Appointment,
    AppointmentStatus,
    Document,
    PermanentResidentCard,
    ScheduledReminder,
)

# The advisory lock key of the reminder scan (any constant shared by all processes).
SCAN_LOCK = 727275
# Ids per statement: a national scan finds ~200,000 documents ending soon, and asyncpg sends at
# most 32,767 parameters a statement (SQLite allows 32,766), so their ids go in parts.
IDS_PER_STATEMENT = 10_000


def _parts(ids: set[int]) -> list[list[int]]:
    ordered = sorted(ids)
    return [ordered[i : i + IDS_PER_STATEMENT] for i in range(0, len(ordered), IDS_PER_STATEMENT)]


async def booked_starting_between(start: datetime, end: datetime) -> list[Appointment]:
    """BOOKED appointments starting in [start, end), with their offices."""
    return (
        await Appointment.filter(
            status=AppointmentStatus.BOOKED, starts_at__gte=start, starts_at__lt=end
        )
        .prefetch_related("office")
        .order_by("starts_at", "id")
    )


async def still_booked(appointment_id: int, starts_at: datetime) -> bool:
    """Whether the appointment is still BOOKED at `starts_at`, read in the caller's transaction
    under a row lock (PostgreSQL; SQLite's writer already holds the database): a cancellation
    or a move committed since the scan is seen, and one coming later waits for this."""
    row = (
        await Appointment.filter(id=appointment_id)
        .select_for_update()
        .only("id", "status", "starts_at")
        .first()
    )
    return row is not None and row.status == AppointmentStatus.BOOKED and row.starts_at == starts_at


async def documents_ending_between(first: date, last: date) -> list[Document]:
    """Documents whose validity ends between the days, not replaced (superseded: the
    replacement is the one to be reminded of), unless the same person holds a
    document covering the same stay (of the same kind, or a permit over a visa: see
    domain.documents.covers) that ends later (a renewal, an extension, a permit replacing a
    visa), or on the same day and issued after it (a reissue replaced a lost one: one
    reminder, of the document held)."""
    rows = await Document.filter(
        valid_until__gte=first, valid_until__lte=last, superseded_by_id__isnull=True
    ).order_by("id")
    if not rows:
        return []
    held: dict[int, list[tuple[str, date, int]]] = {}
    for part in _parts({r.person_id for r in rows}):
        for person_id, kind, valid_until, pk in await Document.filter(
            person_id__in=part, valid_until__gte=first, superseded_by_id__isnull=True
        ).values_list("person_id", "kind", "valid_until", "id"):
            held.setdefault(person_id, []).append((kind, valid_until, pk))
    return [
        r
        for r in rows
        if not any(
            covers(kind, r.kind) and (valid_until, pk) > (r.valid_until, r.id)
            for kind, valid_until, pk in held[r.person_id]
        )
    ]


async def kinds_applied_for(person_ids: set[int]) -> dict[int, set[str]]:
    """Per person, the kinds of document their applications in progress (open, or approved
    and not yet issued) will yield, of the applications that lengthen a stay (a reissuance
    does not: domain.documents.lengthens_stay)."""
    found: dict[int, set[str]] = {}
    for part in _parts(person_ids):
        rows = await Application.filter(
            applicant_id__in=part, status__in=[*OPEN_STATUSES, "APPROVED"]
        ).values_list("id", "applicant_id", "service", "status")
        approved = [pk for pk, _, _, status in rows if status == "APPROVED"]
        issued = set(
            await Document.filter(application_id__in=approved).values_list(
                "application_id", flat=True
            )
            if approved
            else []
        )
        for pk, person_id, service, _ in rows:
            if pk not in issued and lengthens_stay(service):
                found.setdefault(person_id, set()).add(kind_for_service(service))
    return found


async def cards_ending_between(first: date, last: date) -> list[PermanentResidentCard]:
    """PR cards ending between the days, unless the person holds one that ends later, or on
    the same day and issued after it (a reissued card)."""
    rows = await PermanentResidentCard.filter(
        valid_until__gte=first, valid_until__lte=last
    ).order_by("id")
    if not rows:
        return []
    later = []
    for part in _parts({r.person_id for r in rows}):
        later += await PermanentResidentCard.filter(
            person_id__in=part, valid_until__gte=first
        ).values_list("person_id", "valid_until", "id")
    latest: dict[int, tuple[date, int]] = {}
    for person_id, valid_until, pk in later:
        latest[person_id] = max(latest.get(person_id, (valid_until, pk)), (valid_until, pk))
    return [r for r in rows if latest[r.person_id] == (r.valid_until, r.id)]


async def made(keys: list[tuple[str, str, int, date]]) -> set[tuple[str, str, int, date]]:
    """Which of the (kind, subject type, subject id, due day) keys were made already."""
    if not keys:
        return set()
    days = sorted({k[3] for k in keys})
    rows: set[tuple[str, str, int, date]] = set()
    for part in _parts({k[2] for k in keys}):
        rows.update(
            await ScheduledReminder.filter(subject_id__in=part, due_on__in=days).values_list(
                "kind", "subject_type", "subject_id", "due_on"
            )
        )
    return rows & set(keys)


async def claim(kind: str, subject_type: str, subject_id: int, due_on: date, now: datetime) -> bool:
    """Make the reminder's key, in the caller's transaction; False when it exists (another
    scheduler, or an earlier round, made it). One statement that cannot fail on a clash, so a
    PostgreSQL transaction stays usable and SQLite takes its write lock before reading."""
    client = connections.get("default")
    if client.capabilities.dialect == "postgres":
        # As a SELECT, so that the count is of rows made (Tortoise reads an INSERT's status
        # word, whose second field is an OID, not a count).
        _, rows = await client.execute_query(
            "WITH made AS (INSERT INTO scheduled_reminder "
            "(kind, subject_type, subject_id, due_on, created_at) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT DO NOTHING RETURNING 1) SELECT count(*) AS n FROM made",
            [kind, subject_type, subject_id, due_on, now.astimezone(UTC)],
        )
        return rows[0]["n"] == 1
    count, _ = await client.execute_query(
        "INSERT INTO scheduled_reminder (kind, subject_type, subject_id, due_on, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [kind, subject_type, subject_id, due_on, now.astimezone(UTC)],
    )
    return count == 1


@contextlib.asynccontextmanager
async def scan_lock() -> AsyncIterator[bool]:
    """On PostgreSQL, try the scan's advisory lock for the duration (True: this process scans,
    False: another scheduler is scanning now); SQLite has one writer at a time and answers
    True (the unique key alone keeps reminders single)."""
    client = connections.get("default")
    if client.capabilities.dialect != "postgres":
        yield True
        return
    async with client.acquire_connection() as connection:  # type: ignore[attr-defined]
        got = await connection.fetchval("SELECT pg_try_advisory_lock($1)", SCAN_LOCK)
        try:
            yield bool(got)
        finally:
            if got:
                await connection.execute("SELECT pg_advisory_unlock($1)", SCAN_LOCK)
