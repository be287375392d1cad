"""Persons and what the viewer may see of them; passports; registering and linking."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry
from strawberry.types import Info

from resolvers import appointments, certificates, persons, records
from resolvers.context import Context
from resolvers.rows import PassportRow, PersonRow
from schema import paging
from schema.common import AfterArg, FirstArg, Node, Sex, connection_types, described_enum, page_of

if TYPE_CHECKING:
    from schema.appointments import AppointmentConnection
    from schema.certificates import Certificate
    from schema.records import (
        ApplicationConnection,
        ApplicationStatus,
        Document,
        DocumentKind,
        PermanentResidentCard,
    )
    from schema.waitlist import WaitlistEntry


R = TypeVar("R")
T = TypeVar("T")


def _each(make: Callable[[R], T], rows: Iterable[R] | None) -> list[T] | None:
    """The object `make` builds of each row; None when the viewer may not see the rows (the
    resolvers answer None for them)."""
    return None if rows is None else [make(r) for r in rows]


DelegationScope = described_enum(
    "DelegationScope",
    "What a helper may do for a dependant.",
    {
        "BOOK_APPOINTMENTS": "See, book, cancel and reschedule appointments.",
        "VIEW_APPLICATIONS": "See applications and follow their updates.",
        "VIEW_DOCUMENTS": "See documents, the PR card and passports; obtain passport certificates.",
    },
)


@strawberry.type(description="A passport bound to a person.")
class Passport(Node):
    number: str = strawberry.field(description="Passport number.")
    issuing_country: str = strawberry.field(description="Issuing country, ISO 3166-1 alpha-3.")
    valid_until: date = strawberry.field(description="Expiry date printed in the passport.")
    current: bool = strawberry.field(description="True for the passport bound now.")
    bound_from: date = strawberry.field(description="The day it was bound to the person.")
    bound_until: date | None = strawberry.field(
        description="The day it was superseded by a newer passport; null while current."
    )

    @classmethod
    def from_row(cls, row: PassportRow) -> Passport:  # type: ignore[override]
        return super().from_row(row, current=row.is_current)


@strawberry.type(
    description="A foreigner known to the administration. Fields a helper's scopes do not cover "
    "are null."
)
class Person(Node):
    row: strawberry.Private[PersonRow]
    surname: str = strawberry.field(description="Surname as in the passport.")
    given_names: str = strawberry.field(description="Given names as in the passport.")
    nationality: str = strawberry.field(description="Nationality, ISO 3166-1 alpha-3.")
    birth_date: date = strawberry.field(description="Date of birth.")

    @strawberry.field(
        description="What the viewer may do for this person (all three for oneself and staff)."
    )
    async def granted_scopes(self, info: Info) -> list[DelegationScope]:
        ctx: Context = info.context
        scopes = await persons.granted_scopes(ctx, self.row.id)
        return [s for s in DelegationScope if s.value in scopes]

    @strawberry.field(
        description="The person's appointments, latest first. Needs BOOK_APPOINTMENTS."
    )
    async def appointments(
        self, info: Info, first: FirstArg = None, after: AfterArg = None
    ) -> Annotated[AppointmentConnection, strawberry.lazy("schema.appointments")] | None:
        from schema.appointments import appointment_page

        offset, size = paging.window(info.context, first, after)
        rows = await appointments.appointments_of(info.context, self.row.id, offset, size)
        return None if rows is None else appointment_page(rows, offset, size)

    @strawberry.field(
        description="The person's applications, latest first. Needs VIEW_APPLICATIONS."
    )
    async def applications(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        status: Annotated[
            Annotated[ApplicationStatus, strawberry.lazy("schema.records")] | None,
            strawberry.argument(description="Only applications in this status."),
        ] = None,
    ) -> Annotated[ApplicationConnection, strawberry.lazy("schema.records")] | None:
        from schema.records import application_page

        offset, size = paging.window(info.context, first, after)
        rows = await records.applications_of(
            info.context, self.row.id, status.value if status else None, offset, size
        )
        return None if rows is None else application_page(rows, offset, size)

    @strawberry.field(
        description="Issued visas and permits, latest ending first. Needs VIEW_DOCUMENTS."
    )
    async def documents(
        self,
        info: Info,
        kind: Annotated[
            Annotated[DocumentKind, strawberry.lazy("schema.records")] | None,
            strawberry.argument(description="Only documents of this kind."),
        ] = None,
        valid_on: Annotated[
            date | None,
            strawberry.argument(
                description="Only documents valid on this day (issued, not expired, not replaced)."
            ),
        ] = None,
    ) -> list[Annotated[Document, strawberry.lazy("schema.records")]] | None:
        from schema.records import Document

        ctx: Context = info.context
        rows = await records.documents_of(ctx, self.row.id, kind.value if kind else None, valid_on)
        return _each(functools.partial(Document.from_row, today=ctx.today()), rows)

    @strawberry.field(
        description="The person's Foreign Permanent Resident ID Card (the latest issued). Needs "
        "VIEW_DOCUMENTS."
    )
    async def permanent_resident_card(
        self, info: Info
    ) -> Annotated[PermanentResidentCard, strawberry.lazy("schema.records")] | None:
        from schema.records import PermanentResidentCard

        allowed, row = await records.pr_card_of(info.context, self.row.id)
        return PermanentResidentCard.from_row(row) if allowed and row else None

    @strawberry.field(
        description="Passports bound to the person, current first; superseded ones keep their "
        "binding dates. Needs VIEW_DOCUMENTS."
    )
    async def passports(self, info: Info) -> list[Passport] | None:
        return _each(Passport.from_row, await persons.passports_of(info.context, self.row.id))

    @strawberry.field(
        description="Passport-information certificates issued for the person, the latest "
        "first, revoked ones included (see `revoked`). Needs VIEW_DOCUMENTS."
    )
    async def certificates(
        self, info: Info
    ) -> list[Annotated[Certificate, strawberry.lazy("schema.certificates")]] | None:
        from schema.certificates import Certificate

        rows = await certificates.certificates_of(info.context, self.row.id)
        return _each(Certificate.from_row, rows)

    @strawberry.field(
        description="The person's waitlist entries, the latest first (those out of line "
        "included, see `status`). Needs BOOK_APPOINTMENTS."
    )
    async def waitlist(
        self, info: Info
    ) -> list[Annotated[WaitlistEntry, strawberry.lazy("schema.waitlist")]] | None:
        from schema.waitlist import waitlist_of

        return await waitlist_of(info.context, self.row.id)


@strawberry.input(
    description="How staff find a person: by a passport number, or by surname together with "
    "birth date (either alone matches too many people and is refused). All given facts must "
    "match."
)
class PersonSearchInput:
    passport_number: str | None = strawberry.field(
        default=None,
        description="Any passport ever bound to the person, current or superseded; spaces and "
        "letter case do not matter.",
    )
    surname: str | None = strawberry.field(
        default=None,
        description="Surname as in the passport, matched as identity matching does (letter "
        "case, width and repeated spaces do not matter). Needs birthDate.",
    )
    birth_date: date | None = strawberry.field(
        default=None, description="Date of birth. Needs surname (or passportNumber)."
    )


PersonEdge, PersonConnection = connection_types(Person, "person", "persons")


def person_page(rows: list[PersonRow], offset: int, size: int) -> PersonConnection:
    """The page of `size` persons from `rows` (which may hold one more: then more follow)."""
    return page_of(PersonConnection, PersonEdge, Person.from_row, rows, offset, size)


async def visible_person(ctx: Context, row: PersonRow | None) -> Person | None:
    """The person if the viewer may see at least their identity, else None (as if missing)."""
    shown = await persons.visible(ctx, row)
    return Person.from_row(shown) if shown else None


PersonIdArg = Annotated[strawberry.ID, strawberry.argument(description="The person.")]


__all__ = [
    "DelegationScope",
    "Passport",
    "Person",
    "PersonConnection",
    "PersonEdge",
    "PersonIdArg",
    "PersonSearchInput",
    "Sex",
    "person_page",
    "visible_person",
]
