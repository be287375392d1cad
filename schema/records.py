"""Applications and their history, issued documents, PR cards: types, results, mutations."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from strawberry.types import Info

from domain.documents import days_remaining, document_status, extension_deadline, last_valid_day
from resolvers import records as resolve
from resolvers.outcomes import RefusalKind
from resolvers.rows import ApplicationRow, DocumentRow, EventRow, PassportRow
from schema.accounts import Actor
from schema.common import (
    Node,
    NotPermitted,
    ServiceCode,
    ValidationError,
    connection_types,
    described_enum,
    given_pk_of,
    page_of,
    pk_of,
)
from schema.delegations import actor_for
from schema.offices import Office, office_field, office_time, office_time_field
from schema.paging import key_cursor
from schema.persons import Passport, Person
from schema.results import RefusalMessage, error_type, mutation, node_results, result_union

ApplicationStatus = described_enum(
    "ApplicationStatus",
    "Where an application stands.",
    {
        "SUBMITTED": "Lodged at the counter.",
        "ACCEPTED": "Materials accepted: the statutory time runs from here.",
        "UNDER_REVIEW": "Being examined.",
        "MATERIALS_REQUESTED": "More materials are needed from the applicant.",
        "APPROVED": "Decided in the applicant's favour.",
        "REJECTED": "Refused.",
        "READY_FOR_COLLECTION": "The document can be collected at the office.",
        "COLLECTED": "The document was collected.",
        "WITHDRAWN": "Withdrawn before a decision.",
    },
)

DocumentKind = described_enum(
    "DocumentKind",
    "Kinds of issued documents.",
    {
        "VISA": "A visa.",
        "STAY_PERMIT": "A stay permit.",
        "RESIDENCE_PERMIT": "A residence permit.",
    },
)

DocumentStatus = described_enum(
    "DocumentStatus",
    "Where an issued document stands on a day.",
    {
        "NOT_YET_VALID": "Issued, valid from a later day.",
        "VALID": "In force.",
        "SUPERSEDED": "Replaced by a later document of the same kind (an extension, a renewal "
        "or a reissuance): no longer valid, whatever its printed end.",
        "EXPIRED": "Past its last valid day.",
    },
)

Entries = described_enum(
    "Entries",
    "How many entries a visa allows.",
    {"SINGLE": "One entry.", "DOUBLE": "Two entries.", "MULTIPLE": "Any number of entries."},
)


@strawberry.type(description="A dated status change of an application.")
class ApplicationEvent:
    row: strawberry.Private[EventRow]
    status: ApplicationStatus = strawberry.field(description="The status it moved to.")
    note: str | None = strawberry.field(description="The officer's note to the applicant.")

    @classmethod
    def from_row(cls, row: EventRow) -> ApplicationEvent:
        return cls(row=row, status=ApplicationStatus(row.status), note=row.note)

    @strawberry.field(description="When, with the office's UTC offset.")
    async def at(self, info: Info) -> dt.datetime:
        application = await info.context.loaders.application.load(self.row.application_id)
        return await office_time(info.context, application.office_id, self.row.at)

    @strawberry.field(description="The application it belongs to.")
    async def application(self, info: Info) -> Application:
        row = await info.context.loaders.application.load(self.row.application_id)
        return Application.from_row(row)

    @strawberry.field(
        description="Who recorded it, and in what capacity: an officer or admin by their "
        "display name (never an e-mail address; the office is the application's), or SYSTEM "
        "for changes the service made by itself. Whoever may see the event sees its actor, "
        "the applicant and their helpers included. Null for events recorded before actors "
        "were kept."
    )
    async def actor(self, info: Info) -> Actor | None:
        kind = self.row.actor_kind
        if kind is None:
            return None
        account_id = None if kind == "SYSTEM" else self.row.actor_id
        return await actor_for(info.context, account_id, kind)


@strawberry.type(description="An application lodged at an office, with its dated history.")
class Application(Node):
    row: strawberry.Private[ApplicationRow]
    number: str = strawberry.field(description="Application number: office, year, sequence.")
    service: ServiceCode = strawberry.field(description="What was applied for.")
    status: ApplicationStatus = strawberry.field(description="Where it stands now.")

    @strawberry.field(description="Who applied.")
    async def applicant(self, info: Info) -> Person:
        # Whoever sees the application may see its applicant (the same grant covers both).
        return Person.from_row(await info.context.loaders.person.load(self.row.applicant_id))

    submitted_at = office_time_field(
        "submitted_at", "When it was lodged, with the office's UTC offset."
    )
    office = office_field("Where it was lodged.")

    @strawberry.field(
        description="The statutory decision date on China's working-day calendar: from "
        "submission until accepted, then from the acceptance date. Null once decided."
    )
    async def expected_decision_on(self, info: Info) -> dt.date | None:
        return await resolve.decision_due_on(info.context, self.row)

    @strawberry.field(description="Every status change, oldest first.")
    async def events(self, info: Info) -> list[ApplicationEvent]:
        rows = await info.context.loaders.application_events.load(self.row.id)
        return [ApplicationEvent.from_row(r) for r in rows]


ApplicationEdge, ApplicationConnection = connection_types(
    Application, "application", "applications"
)


def application_page(rows: list[ApplicationRow], offset: int, size: int) -> ApplicationConnection:
    return page_of(ApplicationConnection, ApplicationEdge, Application.from_row, rows, offset, size)


def queue_page(rows: list[ApplicationRow], offset: int | None, size: int) -> ApplicationConnection:
    """An office's queue: each cursor names its application (submitted_at, id)."""
    return page_of(
        ApplicationConnection,
        ApplicationEdge,
        Application.from_row,
        rows,
        offset,
        size,
        cursor_of=lambda row: key_cursor(row.submitted_at, row.id),
    )


@strawberry.type(description="An issued visa, stay permit or residence permit.")
class Document(Node):
    row: strawberry.Private[DocumentRow]
    today: strawberry.Private[dt.date]
    kind: DocumentKind = strawberry.field(description="What it is.")
    category: str = strawberry.field(
        description="Visa category (Z, X1, Q1, ...) or the permit's purpose (WORK, STUDY, "
        "FAMILY_REUNION, PRIVATE_AFFAIRS, JOURNALIST)."
    )
    number: str = strawberry.field(description="Document number.")
    valid_from: dt.date = strawberry.field(description="First valid day.")
    valid_until: dt.date = strawberry.field(description="Last valid day.")
    entries: Entries | None = strawberry.field(description="Entries a visa allows.")
    duration_of_stay_days: int | None = strawberry.field(
        description="Days of stay per entry a visa allows."
    )

    @classmethod
    def from_row(cls, row: DocumentRow, today: dt.date) -> Document:  # type: ignore[override]
        return super().from_row(row, today=today)

    @strawberry.field(description="The office that issued it.")
    async def issued_by(self, info: Info) -> Office | None:
        if self.row.issued_by_id is None:
            return None
        return Office.from_row(await info.context.loaders.office.load(self.row.issued_by_id))

    @strawberry.field(
        description="Days from today until it ends (0 once expired); a replaced document ends "
        "the day before its replacement took effect."
    )
    def days_remaining(self) -> int:
        return days_remaining(
            last_valid_day(self.row.valid_until, self.row.superseded_on), self.today
        )

    @strawberry.field(
        description="The last day to apply for an extension: 7 days before a visa or stay "
        "permit ends, 30 days before a residence permit ends. Null once it has been replaced "
        "(supersededBy): the replacement's own deadline is the one that counts."
    )
    def extension_deadline(self) -> dt.date | None:
        if self.row.superseded_by_id is not None:
            return None
        return extension_deadline(self.row.kind, self.row.valid_until)

    @strawberry.field(description="Where it stands today.")
    def status(self) -> DocumentStatus:
        return DocumentStatus(
            document_status(
                self.row.valid_from, self.row.valid_until, self.row.superseded_on, self.today
            )
        )

    @strawberry.field(
        description="The first day it is no longer valid because a later document of the same "
        "kind replaced it (an extension, a renewal or a reissuance); null while it is not "
        "replaced."
    )
    def superseded_on(self) -> dt.date | None:
        return self.row.superseded_on

    @strawberry.field(description="The document that replaced it; null while it is not replaced.")
    async def superseded_by(self, info: Info) -> Document | None:
        if self.row.superseded_by_id is None:
            return None
        held = await info.context.loaders.documents.load(self.row.person_id)
        for row in held:
            if row.id == self.row.superseded_by_id:
                return Document.from_row(row, self.today)
        return None


@strawberry.type(description="A Foreign Permanent Resident ID Card.")
class PermanentResidentCard(Node):
    number: str = strawberry.field(description="Card number (2023 or older format).")
    issued_on: dt.date = strawberry.field(description="Day of issue.")
    valid_until: dt.date = strawberry.field(description="Last valid day.")


@error_type(
    RefusalKind.INVALID_TRANSITION, "The application cannot move from its status to the one asked."
)
class InvalidTransition(RefusalMessage):
    from_: ApplicationStatus = strawberry.field(name="from", description="Its status now.")
    to: ApplicationStatus = strawberry.field(description="The status asked for.")

    @classmethod
    def from_refusal(cls, message: str, from_: str, to: str) -> InvalidTransition:
        return cls(message=message, from_=ApplicationStatus(from_), to=ApplicationStatus(to))


# The success members that hold what was recorded or issued, in the order of the table.
ApplicationRecorded, ApplicationStatusUpdated, DocumentIssued, PermanentResidentCardIssued = (
    node_results(
        {
            (Application, "application"): {
                "ApplicationRecorded": (
                    "The application is recorded with status SUBMITTED.",
                    "The new application.",
                ),
                "ApplicationStatusUpdated": (
                    "The application moved to the new status.",
                    "The application.",
                ),
            },
            (Document, "document"): {
                "DocumentIssued": ("The document is issued.", "The new document.")
            },
            (PermanentResidentCard, "card"): {
                "PermanentResidentCardIssued": ("The card is issued.", "The new card.")
            },
        }
    )
)


@strawberry.type(description="The passport is bound; the previous one, if any, is superseded.")
class PassportBound:
    passport: Passport = strawberry.field(description="The new current passport.")
    previous: Passport | None = strawberry.field(description="The superseded passport.")

    @classmethod
    def of(cls, rows: tuple[PassportRow, PassportRow | None]) -> PassportBound:
        """The answer to binding: the new passport, and the one it superseded if any."""
        new, previous = rows
        return cls(
            passport=Passport.from_row(new),
            previous=Passport.from_row(previous) if previous else None,
        )


@strawberry.input(description="An application lodged at the counter.")
class RecordApplicationInput:
    applicant_id: strawberry.ID = strawberry.field(description="The applicant.")
    service: ServiceCode = strawberry.field(description="What is applied for.")
    appointment_id: strawberry.ID | None = strawberry.field(
        default=None, description="The checked-in appointment it comes from (becomes COMPLETED)."
    )
    office_id: strawberry.ID | None = strawberry.field(
        default=None, description="The office; an officer's own office by default."
    )


@strawberry.input(description="A status change.")
class UpdateApplicationStatusInput:
    application_id: strawberry.ID = strawberry.field(description="The application.")
    status: ApplicationStatus = strawberry.field(description="The new status.")
    note: str | None = strawberry.field(default=None, description="A note to the applicant.")


@strawberry.input(description="A document to issue for an approved application.")
class IssueDocumentInput:
    application_id: strawberry.ID = strawberry.field(description="The APPROVED application.")
    kind: DocumentKind = strawberry.field(description="What to issue.")
    category: str = strawberry.field(description="Visa category or permit purpose.")
    valid_from: dt.date = strawberry.field(description="First valid day.")
    valid_until: dt.date = strawberry.field(description="Last valid day.")
    number: str | None = strawberry.field(
        default=None,
        description="The number printed on it; absent: the service gives one (province, year, "
        "V/S/R, application), a form typed numbers may not take.",
    )
    entries: Entries | None = strawberry.field(default=None, description="Visas: entries.")
    duration_of_stay_days: int | None = strawberry.field(
        default=None, description="Visas: days of stay per entry."
    )


@strawberry.input(description="A PR card to issue.")
class IssuePermanentResidentCardInput:
    person_id: strawberry.ID = strawberry.field(description="The permanent resident.")
    issued_on: dt.date = strawberry.field(
        description="Day of issue: today or earlier (a card is recorded once issued)."
    )
    valid_until: dt.date = strawberry.field(description="Last valid day.")
    number: str | None = strawberry.field(
        default=None,
        description="Card number: 15 characters for a card issued until 30 November 2023, 18 "
        "(2023 format) from 1 December 2023; a 2023-format number is generated if absent.",
    )


@strawberry.input(description="A new passport to bind to a person.")
class BindPassportInput:
    person_id: strawberry.ID = strawberry.field(description="The person.")
    passport_number: str = strawberry.field(description="Passport number.")
    issuing_country: str = strawberry.field(description="Issuing country, ISO 3166-1 alpha-3.")
    valid_until: dt.date = strawberry.field(description="Expiry date of the passport.")


RecordApplicationResult = result_union(
    "recordApplication", ApplicationRecorded, ValidationError, NotPermitted
)
UpdateApplicationStatusResult = result_union(
    "updateApplicationStatus",
    ApplicationStatusUpdated,
    InvalidTransition,
    NotPermitted,
    ValidationError,
)
IssueDocumentResult = result_union("issueDocument", DocumentIssued, ValidationError, NotPermitted)
IssuePermanentResidentCardResult = result_union(
    "issuePermanentResidentCard", PermanentResidentCardIssued, ValidationError, NotPermitted
)
BindPassportResult = result_union("bindPassport", PassportBound, ValidationError, NotPermitted)


@strawberry.type(description="Officers' and admins' mutations on records.")
class RecordMutations:
    @mutation(
        "Officers (own office) and admins: record an application, optionally from a checked-in "
        "appointment. A person has at most one application per service awaiting a decision: "
        "a second is a ValidationError on service naming the first."
    )
    async def record_application(
        self,
        info: Info,
        input: Annotated[
            RecordApplicationInput,
            strawberry.argument(
                description="The applicant, service and office (or checked-in appointment)."
            ),
        ],
    ) -> RecordApplicationResult:
        # An ID given but not as issued names no office (no appointment): it must not fall
        # back to the officer's own office (to recording without the appointment).
        return await resolve.record_application(
            info.context,
            person_id=pk_of(input.applicant_id, "Person"),
            service=input.service.value,
            appointment_id=given_pk_of(input.appointment_id, "Appointment"),
            office_id=given_pk_of(input.office_id, "Office"),
        )

    @mutation(
        "Officers (own office) and admins: move an application along its status machine, with "
        "an optional note. READY_FOR_COLLECTION needs the application's document issued first."
    )
    async def update_application_status(
        self,
        info: Info,
        input: Annotated[
            UpdateApplicationStatusInput,
            strawberry.argument(
                description="The application, its new status and an optional note."
            ),
        ],
    ) -> UpdateApplicationStatusResult:
        return await resolve.update_status(
            info.context, pk_of(input.application_id, "Application"), input.status.value, input.note
        )

    @mutation(
        "Officers (own office) and admins: issue the document of an APPROVED application (one "
        "per application). It must still be valid today, and valid no longer than the holder's "
        "current passport (ValidationError on validUntil)."
    )
    async def issue_document(
        self,
        info: Info,
        input: Annotated[
            IssueDocumentInput,
            strawberry.argument(description="The approved application and the document's terms."),
        ],
    ) -> IssueDocumentResult:
        request = resolve.DocumentRequest(
            application_id=pk_of(input.application_id, "Application"),
            kind=input.kind.value,
            category=input.category,
            valid_from=input.valid_from,
            valid_until=input.valid_until,
            number=input.number,
            entries=input.entries.value if input.entries else None,
            duration_of_stay_days=input.duration_of_stay_days,
        )
        row = await resolve.issue_document(info.context, request)
        return Document.from_row(row, info.context.today())

    @mutation(
        "Officers and admins: issue a PR card. When it is the card the person now holds (the "
        "latest issued), their valid certificates, which state the previous card, are revoked "
        "(the holder is told: CERTIFICATE_REVOKED)."
    )
    async def issue_permanent_resident_card(
        self,
        info: Info,
        input: Annotated[
            IssuePermanentResidentCardInput,
            strawberry.argument(description="The person, the card's dates and its number."),
        ],
    ) -> IssuePermanentResidentCardResult:
        return await resolve.issue_pr_card(
            info.context,
            person_id=pk_of(input.person_id, "Person"),
            issued_on=input.issued_on,
            valid_until=input.valid_until,
            number=input.number,
        )

    @mutation(
        "Officers and admins: bind a new passport; the current one is superseded, and the "
        "person's valid certificates, which name it as current, are revoked (the holder is "
        "told: CERTIFICATE_REVOKED).",
        success=PassportBound.of,
    )
    async def bind_passport(
        self,
        info: Info,
        input: Annotated[
            BindPassportInput, strawberry.argument(description="The person and the new passport.")
        ],
    ) -> BindPassportResult:
        return await resolve.bind_passport(
            info.context,
            person_id=pk_of(input.person_id, "Person"),
            number=input.passport_number,
            country=input.issuing_country,
            valid_until=input.valid_until,
        )
