"""Queries on applications and their events, documents, PR cards and passport bindings."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from domain.application_numbers import format_application_number
from domain.applications import OPEN_STATUSES
from domain.documents import IssuedVisa
from persistence.by_ids import groups_of, loader_of
from persistence.combined_reads import select
from persistence.models import (
    Application,
    ApplicationCounter,
    ApplicationEvent,
    Document,
    Passport,
    PermanentResidentCard,
    Person,
)
from persistence.unique import create_unless_taken


async def next_application_number(office_id: int, office_code: str, year: int) -> str:
    """The next number of the office and year; the row update serialises concurrent callers."""
    counter, _ = await ApplicationCounter.get_or_create(
        office_id=office_id, year=year, defaults={"last_number": 0}
    )
    await ApplicationCounter.filter(id=counter.id).update(last_number=F("last_number") + 1)
    await counter.refresh_from_db(fields=["last_number"])
    return format_application_number(office_code, year, counter.last_number)


async def lock_applicant(person_id: int) -> None:
    """Serialise recording applications for one person until the transaction ends (a row
    lock on PostgreSQL; SQLite runs write transactions one at a time), so two officers
    recording the same application at once cannot both pass the check of open ones."""
    await Person.filter(id=person_id).select_for_update().first()


async def open_application(person_id: int, service: str) -> Application | None:
    """The person's application for `service` still waiting for a decision, if any."""
    return await Application.filter(
        applicant_id=person_id, service=service, status__in=sorted(OPEN_STATUSES)
    ).first()


async def create_application(**values: object) -> Application:
    return await Application.create(**values)


async def add_event(
    application_id: int,
    status: str,
    at: datetime,
    note: str | None,
    *,
    actor_id: int | None,
    actor_kind: str,
) -> ApplicationEvent:
    """A status change and who made it: an account in a capacity (OFFICER, ADMIN, ...), or
    SYSTEM with no account."""
    return await ApplicationEvent.create(
        application_id=application_id,
        status=status,
        at=at,
        note=note,
        actor_id=actor_id,
        actor_kind=actor_kind,
    )


async def application(application_id: int) -> Application | None:
    return await Application.get_or_none(id=application_id)


async def applications_by_numbers(
    numbers: Sequence[str], applicant_ids: Sequence[int] | None
) -> list[Application]:
    """The applications with any of these numbers, only among these applicants' when given
    (one statement, by the unique index on the number)."""
    query = Application.filter(number__in=list(numbers))
    if applicant_ids is not None:
        query = query.filter(applicant_id__in=list(applicant_ids))
    return await query.limit(2)


applications_by_ids = loader_of(Application)


async def current_passport(person_id: int) -> Passport | None:
    """The passport currently bound to the person (the one documents are entered in)."""
    return await Passport.filter(person_id=person_id, is_current=True).first()


async def move_application(
    application_id: int, from_status: str, to_status: str, **extra: object
) -> bool:
    """Change the status only if it is still `from_status` (concurrent officers)."""
    return (
        await Application.filter(id=application_id, status=from_status).update(
            status=to_status, **extra
        )
        == 1
    )


async def person_applications(
    person_id: int, status: str | None, offset: int, limit: int
) -> list[Application]:
    query = Application.filter(applicant_id=person_id)
    if status:
        query = query.filter(status=status)
    return await query.order_by("-submitted_at", "-id").offset(offset).limit(limit)


events_by_application = groups_of(ApplicationEvent, "application_id", "at", "id")


documents_by_person = groups_of(Document, "person_id", "-valid_until", "-id")


async def document(document_id: int) -> Document | None:
    return await Document.get_or_none(id=document_id)


async def visas_of(person_id: int) -> list[IssuedVisa]:
    """The person's visa documents, the newest issued first, each with the service of the
    application it was issued on."""
    rows = (
        await Document.filter(person_id=person_id, kind="VISA")
        .order_by("-issued_at", "-id")
        .values("category", "entries", "duration_of_stay_days", "application__service")
    )
    return [
        IssuedVisa(
            category=row["category"],
            entries=row["entries"],
            duration_of_stay_days=row["duration_of_stay_days"],
            service=row["application__service"],
        )
        for row in rows
    ]


async def lock_application(application_id: int) -> None:
    """Hold the application's row until the transaction ends (PostgreSQL; SQLite runs one
    writer at a time): what is decided about it next is decided once."""
    await Application.filter(id=application_id).select_for_update().first()


async def has_document(application_id: int) -> bool:
    """Whether a document was issued for the application."""
    return await Document.filter(application_id=application_id).exists()


async def create_document(**values: object) -> Document | None:
    """A new document, or None when its number is taken."""
    return await create_unless_taken(Document, **values)


async def supersede(replacement: Document, effective: date) -> int:
    """Mark, as replaced by `replacement` from `effective`, the holder's other documents of its
    kind that would still be in force on a day from then on that the replacement covers: not
    ended before `effective`, not replaced before it, and not starting after the replacement
    ends (a permit that continues it stays). One replaced from a later day (a replacement not
    yet in force) is replaced from `effective` instead. How many."""
    return (
        await Document.filter(
            Q(superseded_on__isnull=True) | Q(superseded_on__gt=effective),
            person_id=replacement.person_id,
            kind=replacement.kind,
            valid_until__gte=effective,
            valid_from__lte=replacement.valid_until,
        )
        .exclude(id=replacement.id)
        .update(superseded_by_id=replacement.id, superseded_on=effective)
    )


async def document_count(year: int) -> int:
    return await Document.filter(issued_at__gte=datetime(year, 1, 1)).count()


cards_by_person = groups_of(PermanentResidentCard, "person_id", "-issued_on", "-id")


async def card(card_id: int) -> PermanentResidentCard | None:
    return await PermanentResidentCard.get_or_none(id=card_id)


async def card_numbers_with_prefix(prefix: str) -> list[str]:
    """The numbers of the cards whose number starts with `prefix`."""
    return await PermanentResidentCard.filter(number__startswith=prefix).values_list(
        "number", flat=True
    )


async def create_card(**values: object) -> PermanentResidentCard | None:
    """A new card, or None when its number is taken. The insert runs in a savepoint, so that
    after a clash the caller's transaction goes on (PostgreSQL would abort it) and may try
    another number."""
    try:
        async with in_transaction():
            return await PermanentResidentCard.create(**values)
    except IntegrityError:
        return None


async def bind_passport(
    person_id: int, number: str, country: str, valid_until: date, today: date
) -> tuple[Passport, Passport | None] | None:
    """Make a new passport current and supersede the current one; None when the passport is
    already bound to someone."""
    if await Passport.filter(number=number, issuing_country=country).exists():
        return None
    # The person's row locked until this commits (PostgreSQL; SQLite writes one at a time):
    # two passports bound at once take turns, the second superseding the first, instead of
    # both finding the same current one and the second failing as if its number were taken.
    await Person.filter(id=person_id).select_for_update().first()
    previous = await current_passport(person_id)
    if previous is not None:
        await Passport.filter(id=previous.id).update(is_current=False, bound_until=today)
        await previous.refresh_from_db()
    passport = await create_unless_taken(
        Passport,
        person_id=person_id,
        number=number,
        issuing_country=country,
        valid_until=valid_until,
        bound_from=today,
        is_current=True,
    )
    if passport is None:
        return None
    return passport, previous


PageKey = tuple[int, str | None, int, int]  # person, status filter, offset, limit


async def applications_pages(keys: Sequence[PageKey]) -> list[list[Application]]:
    """Pages of several persons' applications in one statement per status filter."""
    by_status: dict[str | None, list[int]] = defaultdict(list)
    for person_id, status, _, _ in keys:
        by_status[status].append(person_id)
    rows: dict[tuple[int, str | None], list[Application]] = defaultdict(list)
    statuses = list(by_status)
    # Asked for together, so that the request sends them as one statement.
    found = await asyncio.gather(
        *(
            select(
                Application,
                {"applicant_id": by_status[status], **({"status": [status]} if status else {})},
                ("-submitted_at", "-id"),
            )
            for status in statuses
        )
    )
    for status, status_rows in zip(statuses, found, strict=True):
        for row in status_rows:
            rows[(row.applicant_id, status)].append(row)
    return [rows[(p, s)][offset : offset + limit] for p, s, offset, limit in keys]


async def event(event_id: int) -> ApplicationEvent | None:
    return await ApplicationEvent.get_or_none(id=event_id)


async def event_of_applicant(event_id: int, applicant_id: int) -> ApplicationEvent | None:
    """The event, when it belongs to one of the applicant's applications."""
    return await ApplicationEvent.filter(
        id=event_id, application__applicant_id=applicant_id
    ).first()


async def office_applications(
    office_id: int,
    status: str | None,
    offset: int,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> list[Application]:
    """An office's applications as a queue: first submitted, first served (then by id); from
    `offset`, or those after the application `after` names (its submitted_at and id),
    wherever that one now stands."""
    if after is not None:
        moment, pk = after
        query = Application.filter(office_id=office_id)
        if status:
            query = query.filter(status=status)
        query = query.filter(Q(submitted_at__gt=moment) | Q(submitted_at=moment, id__gt=pk))
        return await query.order_by("submitted_at", "id").limit(limit)
    where: dict[str, list] = {"office_id": [office_id], **({"status": [status]} if status else {})}
    return await select(Application, where, ("submitted_at", "id"), offset=offset, limit=limit)
