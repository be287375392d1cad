"""The root Query type."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from resolvers import appointments as appointment_resolvers
from resolvers import nodes as node_resolvers
from resolvers import offices as office_resolvers
from resolvers import records as record_resolvers
from resolvers.context import Context
from schema import paging
from schema.accounts import Account, Viewer
from schema.appointments import Appointment, BookingRules, Slot
from schema.catalogue import Guidance, ServiceType, current_guidance
from schema.certificates import Certificate, DocumentVerification
from schema.common import (
    AfterArg,
    FirstArg,
    FromDayArg,
    LangArg,
    Node,
    PageInfo,
    ServiceArg,
    ToDayArg,
    from_global_id,
    pk_of,
)
from schema.delegations import AuditEvent, Delegation
from schema.notifications import Notification
from schema.offices import Office, OfficeConnection, OfficeEdge, OfficeFilter
from schema.persons import (
    Passport,
    Person,
    PersonConnection,
    PersonSearchInput,
    person_page,
)
from schema.records import Application, Document, PermanentResidentCard
from schema.statistics import Statistics
from schema.waitlist import WaitlistEntry

if TYPE_CHECKING:
    from settings import Settings

# The types `node` answers with, by the type name of their global IDs.
NODE_TYPES: dict[str, Any] = {
    cls.__name__: cls
    for cls in (
        Office,
        Person,
        Slot,
        Appointment,
        Application,
        PermanentResidentCard,
        Certificate,
        Delegation,
        AuditEvent,
        Passport,
        Notification,
        WaitlistEntry,
    )
}


async def resolve_node(ctx: Context, global_id: str) -> Node | None:
    """Any object by global ID; what the viewer may not see is null, exactly like missing."""
    decoded = from_global_id(global_id)
    if decoded is None:
        return None
    type_name, pk = decoded
    return await typed_node(ctx, type_name, await node_resolvers.node_row(ctx, type_name, pk))


async def typed_node(ctx: Context, type_name: str, row: Any | None) -> Node | None:
    """The schema type of a row `node_row` let through (None stays None)."""
    if row is None:
        return None
    if type_name == "Account":
        return await Account.from_row(row)
    if type_name == "Document":
        return Document.from_row(row, ctx.today())
    return NODE_TYPES[type_name].from_row(row)


def _slots_estimate(arguments: dict[str, Any], settings: Settings) -> int:
    """The cost estimate's count of `availableSlots` items, from its `from` and `to`."""
    return appointment_resolvers.slots_estimate(
        _day(arguments.get("from")), _day(arguments.get("to")), settings
    )


def _day(value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@strawberry.type(description="Everything that can be read.")
class Query:
    @strawberry.field(description="Any object by its global ID; null when missing or not yours.")
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The object's global ID.")],
    ) -> Node | None:
        return await resolve_node(info.context, id)

    @strawberry.field(
        description="An application by the number on its paper receipt, answered like `node`: "
        "for its applicant, a helper of theirs with VIEW_APPLICATIONS, and staff; null when the "
        "number does not exist, cannot be a number, or is not the viewer's to see (the same "
        "null each time). A read by anyone but the applicant is recorded in the applicant's "
        "actionsOnMyBehalf."
    )
    async def application_by_number(
        self,
        info: Info,
        number: Annotated[
            str,
            strawberry.argument(
                description="The application number, e.g. `BJ-DC-2026-000123` (office code, "
                "year, six-digit sequence). Read as issued: letter case ignored, full-width "
                "characters as their ASCII forms, spaces and any dash alike (`bj dc 2026 "
                "000123`); the parts may be run together (`BJDC2026000123`)."
            ),
        ],
    ) -> Application | None:
        row = await record_resolvers.application_by_number(info.context, number)
        return Application.from_row(row) if row else None

    @strawberry.field(description="The signed-in user; null when anonymous.")
    async def viewer(self, info: Info) -> Viewer | None:
        ctx: Context = info.context
        if ctx.account is None:
            return None
        return Viewer(row=ctx.account, account=Account.from_viewer(ctx.account, ctx.roles))

    @strawberry.field(description="The service catalogue: all services that can be applied for.")
    async def services(self, info: Info) -> list[ServiceType]:
        rows = await office_resolvers.service_types(info.context)
        return [ServiceType.from_row(r) for r in rows]

    @strawberry.field(description="The guidance in force today for a service.")
    async def guidance(
        self,
        info: Info,
        service: ServiceArg,
        lang: LangArg = None,
    ) -> Guidance | None:
        return await current_guidance(info, service, lang)

    @strawberry.field(
        description="The office directory, by code or nearest first when `filter.near` is set."
    )
    async def offices(
        self,
        info: Info,
        first: FirstArg = None,
        after: AfterArg = None,
        filter: Annotated[
            OfficeFilter | None, strawberry.argument(description="Which offices to list.")
        ] = None,
    ) -> OfficeConnection:
        f = filter or OfficeFilter()
        hits = await office_resolvers.search(
            info.context,
            province=f.province,
            city=f.city,
            service=f.service.value if f.service else None,
            text=f.text,
            near=(f.near.latitude, f.near.longitude) if f.near else None,
            near_datum=f.near.datum.value if f.near else "WGS84",
            open_day=f.open_on,
        )
        edges, offset, has_next = paging.page(info.context, hits, first, after)
        return OfficeConnection(
            edges=[
                OfficeEdge(cursor=c, node=Office.from_row(h.office), distance_km=h.distance_km)
                for c, h in edges
            ],
            page_info=PageInfo.of([c for c, _ in edges], offset=offset, has_next=has_next),
            total_count=len(hits),
        )

    @strawberry.field(
        description="Anyone: the booking policy in force (horizon, lead time, reschedule limit, "
        "change window, slot length)."
    )
    def booking_rules(self, info: Info) -> BookingRules:
        return BookingRules.from_policy(appointment_resolvers.policy(info.context))

    @strawberry.field(
        description="Bookable slots of an office for a service between two days (at most 31 "
        "days apart), with places left; times carry the office's offset. The cost estimate "
        "counts every day of the range as a long opening day of slots.",
        metadata={"items": _slots_estimate},
    )
    async def available_slots(
        self,
        info: Info,
        office_id: Annotated[strawberry.ID, strawberry.argument(description="The office.")],
        service: ServiceArg,
        from_: FromDayArg,
        to: ToDayArg,
    ) -> list[Slot]:
        rows = await appointment_resolvers.available_slots(
            info.context, pk_of(office_id, "Office"), service.value, from_, to
        )
        return [Slot.from_row(r) for r in rows]

    @strawberry.field(
        description="Analysts and admins: aggregates over the whole months a period (at most "
        "366 days) touches, every count rounded to roundingBase. Others get FORBIDDEN."
    )
    async def statistics(
        self,
        info: Info,
        from_: FromDayArg,
        to: ToDayArg,
        office_id: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only this office; all offices when absent."),
        ] = None,
    ) -> Statistics:
        from resolvers.statistics import statistics

        figures = await statistics(
            info.context, from_, to, pk_of(office_id, "Office"), office_id is not None
        )
        return Statistics.from_figures(figures)

    @strawberry.field(
        description="Officers and admins: find persons by a passport number (current or "
        "superseded) or by surname together with birth date; all given facts must match. Each "
        "person listed is recorded in their trail (actionsOnMyBehalf). Other roles get "
        "FORBIDDEN, anonymous callers UNAUTHENTICATED."
    )
    async def persons(
        self,
        info: Info,
        search: Annotated[PersonSearchInput, strawberry.argument(description="Whom to look for.")],
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> PersonConnection | None:
        from resolvers.persons import search_persons

        page = await search_persons(
            info.context,
            passport_number=search.passport_number,
            surname=search.surname,
            birth_date=search.birth_date,
            first=first,
            after=after,
        )
        return person_page(*page)

    @strawberry.field(
        description="Anyone: check a signed document (signature with the published keys, "
        "expiry, revocation)."
    )
    async def verify_document(
        self,
        info: Info,
        token: Annotated[str, strawberry.argument(description="The compact JWS to check.")],
    ) -> DocumentVerification:
        from resolvers.certificates import verify
        from schema.certificates import verification

        return verification(*await verify(info.context, token))
