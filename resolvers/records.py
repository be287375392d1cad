"""The officers' side of records: applications and their status, documents, PR cards, passports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.application_numbers import application_number_candidates
from domain.applications import expected_decision_on, may_move
from domain.dates import local_day
from domain.documents import (
    DocumentStatus,
    category_problem,
    document_status,
    extends_a_visa,
    extension_problem,
    generated_number,
    held_visa,
    kind_for_service,
    passport_problem,
    reserved_number_problem,
    superseded_from,
    supersedes,
    validity_problem,
)
from domain.identifiers import (
    FIRST_2023_FORMAT_ISSUE,
    InvalidIdentifier,
    decode_pr_card_number,
    make_pr_card_number,
    next_pr_card_sequence,
    normalise_document_number,
    normalise_nationality,
    normalise_passport_number,
    pr_card_birth_date_matches,
    pr_card_format_problem,
    pr_card_sex_matches,
)
from domain.messages import N_
from persistence import appointments as appointment_store
from persistence import offices as office_store
from persistence import persons as person_store
from persistence import records as store
from persistence.models import (
    Application,
    AppointmentStatus,
    Document,
    Passport,
    PermanentResidentCard,
    Person,
)
from resolvers import authorization as gate
from resolvers import certificates, notices
from resolvers.authorization import actor_kind, is_staff, staff_office_ok
from resolvers.context import Context
from resolvers.outcomes import (
    Refusal,
    RefusalKind,
    invalid,
    not_permitted,
    require_field_days_in_range,
)
from resolvers.paging import cursor_position, page_size

VIEW = "VIEW_APPLICATIONS"


async def _person(person_id: int | None) -> Person:
    person = await person_store.person(person_id) if person_id is not None else None
    if person is None:
        raise not_permitted()
    return person


async def record_application(
    ctx: Context,
    *,
    person_id: int | None,
    service: str,
    appointment_id: int | None,
    office_id: int | None,
) -> Application:
    gate.require_staff(ctx)
    assert ctx.account is not None
    if office_id is None:
        office_id = ctx.account.office_id
    office = await office_store.office(office_id) if office_id is not None else None
    if office is None:
        raise invalid(N_("Name the office the application is lodged at."), "officeId")
    if not staff_office_ok(ctx, office.id):
        raise not_permitted()
    person = await _person(person_id)
    if service not in await ctx.loaders.office_services.load(office.id):
        raise invalid(N_("This office does not offer this service."), "service")
    await store.lock_applicant(person.id)  # the check below stays true until this commits
    pending = await store.open_application(person.id, service)
    if pending is not None:
        # One application per person and service waits for a decision at a time: a second
        # (a form sent twice, or at two counters) would be decided twice.
        raise invalid(
            N_(
                "This person's %(service)s application %(number)s awaits a decision: "
                "continue with it, or withdraw it first.",
                service=service,
                number=pending.number,
            ),
            "service",
        )
    if appointment_id is not None:
        appointment = await appointment_store.appointment(appointment_id)
        if (
            appointment is None
            or appointment.applicant_id != person.id
            or appointment.office_id != office.id
        ):
            raise invalid(
                N_("The appointment is not this applicant's at this office."), "appointmentId"
            )
        if appointment.service != service:
            raise invalid(N_("The appointment is for another service."), "appointmentId")
        if not await appointment_store.change_status(
            appointment.id, AppointmentStatus.CHECKED_IN, AppointmentStatus.COMPLETED
        ):
            raise invalid(
                N_("Only a checked-in appointment can lead to an application."), "appointmentId"
            )
    now = ctx.now()
    number = await store.next_application_number(office.id, office.code, ctx.today(office).year)
    application = await store.create_application(
        number=number,
        applicant_id=person.id,
        service=service,
        office_id=office.id,
        appointment_id=appointment_id,
        status="SUBMITTED",
        submitted_at=now,
        recorded_by_id=ctx.account.id,
    )
    event = await store.add_event(
        application.id,
        "SUBMITTED",
        now,
        None,
        actor_id=ctx.account.id,
        actor_kind=actor_kind(ctx),
    )
    gate.staff_write(ctx, person.id, "RECORD_APPLICATION", number)
    ctx.after_commit(lambda: ctx.services.publish_application_event(person.id, event.id))
    return application


async def update_status(
    ctx: Context, application_id: int | None, status: str, note: str | None
) -> Application:
    gate.require_staff(ctx)
    assert ctx.account is not None
    application = await store.application(application_id) if application_id is not None else None
    if application is None or not staff_office_ok(ctx, application.office_id):
        raise not_permitted()
    if note is not None and len(note) > 2000:
        raise invalid(N_("A note has at most %(maximum)s characters.", maximum=2000), "note")
    current = application.status
    if may_move(current, status) and status == "READY_FOR_COLLECTION":
        # Ready for collection means there is something to collect: the issued document.
        await store.lock_application(application.id)
        if not await store.has_document(application.id):
            raise Refusal(
                RefusalKind.INVALID_TRANSITION,
                N_("Issue the application's document before it is ready for collection."),
                {"from_": current, "to": status},
            )
    if not may_move(current, status):
        raise Refusal(
            RefusalKind.INVALID_TRANSITION,
            N_(
                "An application that is %(current)s cannot become %(status)s.",
                current=current,
                status=status,
            ),
            {"from_": current, "to": status},
        )
    now = ctx.now()
    office = await office_store.office(application.office_id)
    extra: dict[str, object] = {}
    if status == "ACCEPTED":
        extra["accepted_on"] = ctx.today(office)
    if status in ("APPROVED", "REJECTED"):
        extra["decided_at"] = now
    if not await store.move_application(application.id, current, status, **extra):
        raise Refusal(
            RefusalKind.INVALID_TRANSITION,
            N_("The application changed meanwhile; reload it."),
            {"from_": current, "to": status},
        )
    event = await store.add_event(
        application.id, status, now, note, actor_id=ctx.account.id, actor_kind=actor_kind(ctx)
    )
    gate.staff_write(
        ctx, application.applicant_id, "UPDATE_APPLICATION_STATUS", f"{application.number}:{status}"
    )
    await notices.application_status_changed(application, status, note)
    applicant_id = application.applicant_id
    ctx.after_commit(lambda: ctx.services.publish_application_event(applicant_id, event.id))
    refreshed = await store.application(application.id)
    assert refreshed is not None
    return refreshed


async def application_by_number(ctx: Context, typed: str) -> Application | None:
    """The application with this number, answered like `node`: null when it does not exist,
    is malformed or is not the caller's to see (the same policy, and the read audited when the
    caller is not the applicant).

    Non-staff callers only ever look among their own and their active dependants'
    applications, so a guess at someone else's number runs the very statements a number that
    does not exist runs."""
    account = ctx.account
    if account is None:
        return None
    candidates = application_number_candidates(typed)
    if not candidates:
        return None
    among: list[int] | None = None
    if not is_staff(ctx):
        among = await ctx.authorizer.dependant_ids()
        if account.person_id is not None:
            among.append(account.person_id)
        if not among:
            return None
    rows = await store.applications_by_numbers(candidates, among)
    if len(rows) != 1:  # none, or a hyphen-less office code that fits two offices
        return None
    application = rows[0]
    target = f"Application:{application.id}"
    if await gate.read(ctx, application.applicant_id, VIEW, "READ_APPLICATIONS", target) is None:
        return None
    ctx.loaders.application.prime(application.id, application)
    return application


@dataclass(frozen=True)
class DocumentRequest:
    application_id: int | None
    kind: str
    category: str
    valid_from: date
    valid_until: date
    number: str | None
    entries: str | None
    duration_of_stay_days: int | None


async def issue_document(ctx: Context, request: DocumentRequest) -> Document:
    gate.require_staff(ctx)
    application = (
        await store.application(request.application_id)
        if request.application_id is not None
        else None
    )
    if application is None or not staff_office_ok(ctx, application.office_id):
        raise not_permitted()
    if application.status != "APPROVED":
        raise invalid(N_("Documents are issued for APPROVED applications only."), "applicationId")
    # One document per application, even for a request sent twice at once.
    await store.lock_application(application.id)
    if await store.has_document(application.id):
        raise invalid(N_("This application's document was issued already."), "applicationId")
    if request.kind != kind_for_service(application.service):
        raise invalid(
            N_(
                "A %(service)s application yields a %(kind)s.",
                service=application.service,
                kind=kind_for_service(application.service),
            ),
            "kind",
        )
    category = request.category.strip().upper()
    problem = category_problem(request.kind, category)
    if problem:
        raise invalid(problem, "category")
    require_field_days_in_range("validUntil", request.valid_from, request.valid_until)
    if request.valid_until <= request.valid_from:
        raise invalid(N_("validUntil must be after validFrom."), "validUntil")
    holder = await _person(application.applicant_id)
    if request.valid_from < holder.birth_date:
        raise invalid(N_("A document cannot be valid before its holder was born."), "validFrom")
    if request.kind == "VISA":
        if request.entries is None:
            raise invalid(N_("A visa states its entries."), "entries")
        if request.duration_of_stay_days is None or not 1 <= request.duration_of_stay_days <= 3650:
            raise invalid(
                N_("A visa states its duration of stay (1 to 3650 days)."), "durationOfStayDays"
            )
    elif request.entries is not None or request.duration_of_stay_days is not None:
        raise invalid(N_("Only visas have entries and a duration of stay."), "entries")
    office = await office_store.office(application.office_id)
    assert office is not None
    refused = validity_problem(
        request.kind, category, request.valid_from, request.valid_until, ctx.today(office)
    )
    if refused is None and extends_a_visa(application.service):
        assert request.duration_of_stay_days is not None
        held = held_visa(await store.visas_of(application.applicant_id))
        refused = extension_problem(held, category, request.entries, request.duration_of_stay_days)
    if refused is None:
        passport = await store.current_passport(application.applicant_id)
        refused = passport_problem(
            request.valid_until, passport.valid_until if passport is not None else None
        )
    if refused is not None:
        raise invalid(*refused)
    number = ""
    if request.number is not None:
        try:
            number = normalise_document_number(request.number)
        except InvalidIdentifier as exc:
            raise invalid(exc.message, "number") from exc
        reserved = reserved_number_problem(number)
        if reserved is not None:
            raise invalid(reserved, "number")
    if not number:
        year = ctx.today(office).year
        number = generated_number(office.province_code, year, request.kind, application.id)
    document = await store.create_document(
        person_id=application.applicant_id,
        application_id=application.id,
        kind=request.kind,
        category=category,
        number=number,
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        entries=request.entries,
        duration_of_stay_days=request.duration_of_stay_days,
        issued_by_id=office.id,
    )
    if document is None:
        raise invalid(N_("A document with this number exists."), "number")
    if supersedes(application.service):
        await store.supersede(document, superseded_from(ctx.today(office), request.valid_from))
    gate.staff_write(ctx, application.applicant_id, "ISSUE_DOCUMENT", number)
    return document


async def _latest_card_of(person_id: int) -> int | None:
    """The id of the person's card issued last (the one a certificate states)."""
    cards = (await store.cards_by_person([person_id]))[0]
    return cards[0].id if cards else None


async def issue_pr_card(
    ctx: Context,
    *,
    person_id: int | None,
    issued_on: date,
    valid_until: date,
    number: str | None,
) -> PermanentResidentCard:
    gate.require_staff(ctx)
    assert ctx.account is not None
    person = await _person(person_id)
    require_field_days_in_range("validUntil", issued_on, valid_until)
    if valid_until <= issued_on:
        raise invalid(N_("validUntil must be after issuedOn."), "validUntil")
    # A card is recorded once issued: a future date would show it as the person's card (the
    # latest issued) before they hold it.
    if issued_on > ctx.today():
        raise invalid(N_("issuedOn must not be in the future."), "issuedOn")
    if issued_on < person.birth_date:
        raise invalid(N_("A card cannot be issued before its holder was born."), "issuedOn")
    office = await office_store.office(ctx.account.office_id) if ctx.account.office_id else None
    values: dict[str, object] = {
        "person_id": person.id,
        "issued_on": issued_on,
        "valid_until": valid_until,
        "issued_by_id": office.id if office else None,
    }
    if number is not None:
        try:
            decoded = decode_pr_card_number(number)
        except InvalidIdentifier as exc:
            raise invalid(exc.message, "number") from exc
        if decoded.nationality_alpha3 != person.nationality or not (
            pr_card_birth_date_matches(decoded, person.birth_date)
        ):
            raise invalid(
                N_("The number does not match the person's nationality and birth date."), "number"
            )
        problem = pr_card_format_problem(decoded, issued_on)
        if problem is not None:
            raise invalid(problem, "number")
        if not pr_card_sex_matches(decoded, person.sex):
            raise invalid(
                N_(
                    "The number's sex digit (the 17th: odd for male, even for female) does not "
                    "match the person's sex."
                ),
                "number",
            )
        card = await store.create_card(number=decoded.number, **values)
        if card is None:
            raise invalid(N_("A card with this number exists."), "number")
    else:
        if office is None:
            raise invalid(N_("Admins without an office must give the card number."), "number")
        if issued_on < FIRST_2023_FORMAT_ISSUE:
            raise invalid(
                N_("Give the 15-character number of a card issued before 1 December 2023."),
                "number",
            )
        card = await _card_with_new_number(office.province_code, person, values)
    gate.staff_write(ctx, person.id, "ISSUE_PR_CARD", card.number)
    if await _latest_card_of(person.id) == card.id:
        # Certificates state the card they were signed with: the card now held supersedes
        # it (a replacement for a lost one, a renewal), so they are revoked, as on a new
        # passport. A card recorded late, older than the one held, changes nothing.
        await certificates.revoke_superseded(ctx, person.id, "card", card.number)
    return card


# Tries of a generated number: each clash is a card issued concurrently with the same facts.
_NEW_NUMBER_TRIES = 5


async def _card_with_new_number(
    province_code: str, person: Person, values: dict[str, object]
) -> PermanentResidentCard:
    """The card under the next free 2023-format number of the person's prefix (province,
    nationality, birth date) and sex: after the highest sequence in use, and after the one
    that just clashed when a concurrent issue took it."""
    facts = (province_code, person.nationality, person.birth_date, person.sex)
    sequence = -1
    try:
        prefix = make_pr_card_number(*facts, 0)[:14]
        for _ in range(_NEW_NUMBER_TRIES):
            in_use = await store.card_numbers_with_prefix(prefix)
            sequence = max(sequence + 1, next_pr_card_sequence(in_use, person.sex))
            card = await store.create_card(number=make_pr_card_number(*facts, sequence), **values)
            if card is not None:
                return card
    except InvalidIdentifier as exc:
        raise invalid(
            N_("%(problem)s Give the card number explicitly.", problem=exc.message), "number"
        ) from exc
    raise invalid(
        N_("Another card with the same facts was issued at the same moment; try again."), "number"
    )


async def bind_passport(
    ctx: Context, *, person_id: int | None, number: str, country: str, valid_until: date
) -> tuple[Passport, Passport | None]:
    gate.require_staff(ctx)
    person = await _person(person_id)
    try:
        number = normalise_passport_number(number)
    except InvalidIdentifier as exc:
        raise invalid(exc.message, "passportNumber") from exc
    try:
        country = normalise_nationality(country)
    except InvalidIdentifier as exc:
        raise invalid(exc.message, "issuingCountry") from exc
    today = ctx.today()
    require_field_days_in_range("validUntil", valid_until)
    if valid_until < today:
        raise invalid(N_("The passport has expired."), "validUntil")
    bound = await store.bind_passport(person.id, number, country, valid_until, today)
    if bound is None:
        raise invalid(N_("This passport is already bound to a person."), "passportNumber")
    gate.staff_write(ctx, person.id, "BIND_PASSPORT", number)
    await certificates.revoke_superseded(ctx, person.id, "passport", number)
    return bound


# ---------------------------------------------------------------- a person's records


async def decision_due_on(ctx: Context, application: Application) -> date | None:
    """The statutory decision date on the working-day calendar: from the day it was submitted
    (in the home zone) until accepted, then from the acceptance date; None once decided."""
    service = await ctx.loaders.service_type.load(application.service)
    return expected_decision_on(
        status=application.status,
        submitted_on=local_day(application.submitted_at),
        accepted_on=application.accepted_on,
        processing_working_days=service.processing_working_days,
        calendar=ctx.services.calendar,
    )


async def applications_of(
    ctx: Context, person_id: int, status: str | None, offset: int, size: int
) -> list[Application] | None:
    """A page of the person's applications (one row more than `size`), latest first; None
    without VIEW_APPLICATIONS."""
    if await gate.read(ctx, person_id, VIEW, "READ_APPLICATIONS") is None:
        return None
    rows = await ctx.loaders.application_pages.load((person_id, status, offset, size + 1))
    for row in rows:
        ctx.loaders.application.prime(row.id, row)
    return rows


async def documents_of(
    ctx: Context, person_id: int, kind: str | None, valid_on: date | None
) -> list[Document] | None:
    """The person's issued documents, optionally of one kind or valid on a day; None without
    VIEW_DOCUMENTS."""
    if await gate.read(ctx, person_id, "VIEW_DOCUMENTS", "READ_DOCUMENTS") is None:
        return None
    rows = await ctx.loaders.documents.load(person_id)
    return [
        r
        for r in rows
        if (kind is None or r.kind == kind)
        and (
            valid_on is None
            or document_status(r.valid_from, r.valid_until, r.superseded_on, valid_on)
            == DocumentStatus.VALID
        )
    ]


async def pr_card_of(ctx: Context, person_id: int) -> tuple[bool, PermanentResidentCard | None]:
    """(allowed, the latest PR card): allowed is False without VIEW_DOCUMENTS."""
    if await gate.read(ctx, person_id, "VIEW_DOCUMENTS", "READ_PR_CARD") is None:
        return False, None
    rows = await ctx.loaders.pr_cards.load(person_id)
    return True, rows[0] if rows else None


async def office_queue(
    ctx: Context, office_id: int, status: str | None, first: int | None, after: str | None
) -> tuple[list[Application], int | None, int] | None:
    """The office's queue page as (rows, offset, size; one row more than `size`, to tell
    whether more follow; offset None after a key cursor) for its officers and admins; None
    for everyone else, decided before the paging arguments are read (a stranger learns
    nothing from them). Paged by key: an officer who moves applications out of the status
    being listed, or a new one recorded meanwhile, makes the next page skip or repeat none.
    Each application shown is audited as read in its applicant's trail."""
    if not staff_office_ok(ctx, office_id):
        return None
    position = cursor_position(after)
    size = page_size(ctx, first)
    key = (position.moment, position.pk) if position.moment is not None else None
    rows = await store.office_applications(office_id, status, position.offset, size + 1, key)
    offset = None if position.keyed else position.offset
    for row in rows[:size]:  # the row read ahead is not shown, so not read
        await gate.read(ctx, row.applicant_id, VIEW, "READ_APPLICATIONS", row.number)
    for row in rows:
        ctx.loaders.application.prime(row.id, row)
    return rows, offset, size
