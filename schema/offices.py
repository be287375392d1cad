"""The office directory: offices, their hours and closures, and the filter to search them."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import strawberry
from strawberry.types import Info

from domain.geo import wgs84_to_gcj02
from resolvers import offices as resolve
from resolvers.context import Context
from resolvers.rows import ClosureRow, OfficeRow
from schema.catalogue import ServiceType
from schema.common import (
    AfterArg,
    FirstArg,
    FromDayArg,
    GeoPoint,
    GeoPointInput,
    LangArg,
    Node,
    PageInfo,
    ServiceCode,
    ToDayArg,
)
from schema.i18n import pick

if TYPE_CHECKING:
    from schema.appointments import AppointmentConnection
    from schema.records import ApplicationConnection, ApplicationStatus


async def office_time(ctx: Context, office_id: int, moment: datetime) -> datetime:
    """`moment` with the UTC offset the office's time zone has then (how every time at an
    office is shown)."""
    office = await ctx.loaders.office.load(office_id)
    return moment.astimezone(ZoneInfo(office.time_zone))


@strawberry.type(description="One opening interval of an office's regular week.")
class OpeningHours:
    weekday: int = strawberry.field(description="Day of the week, 1 = Monday ... 7 = Sunday.")
    opens: str = strawberry.field(description='Opening time, local to the office, e.g. "09:00".')
    closes: str = strawberry.field(description='Closing time, local to the office, e.g. "12:00".')


@strawberry.type(description="A day an office is closed beyond the official calendar.")
class Closure:
    date: date = strawberry.field(description="The closed day (in the office's time zone).")
    reason: str | None = strawberry.field(description="Why the office is closed.")

    @classmethod
    def from_row(cls, ctx: Context, row: ClosureRow, lang: object = None) -> Closure:
        reason = pick(ctx, lang, row.reason_en or "", row.reason_zh or "") or None  # type: ignore[arg-type]
        return cls(date=row.date, reason=reason)


@strawberry.type(description="An exit-entry service centre.")
class Office(Node):
    row: strawberry.Private[OfficeRow]
    code: str = strawberry.field(description="Short code of the office, e.g. BJ-DC.")
    province: str = strawberry.field(description="Province-level division, e.g. Guangdong.")
    city: str = strawberry.field(description="City, e.g. Shenzhen.")
    location: GeoPoint = strawberry.field(description="Where the office is (WGS 84).")
    phone: str = strawberry.field(description="Enquiry telephone number.")
    time_zone: str = strawberry.field(description="IANA time zone of the office's hours.")

    @classmethod
    def from_row(cls, row: OfficeRow) -> Office:  # type: ignore[override]
        return super().from_row(
            row, location=GeoPoint(latitude=row.latitude, longitude=row.longitude)
        )

    @strawberry.field(
        description="Where the office is in GCJ-02, the datum of WeChat's and most Chinese maps "
        "(computed from `location`; a few hundred metres from it)."
    )
    def location_gcj02(self) -> GeoPoint:
        latitude, longitude = wgs84_to_gcj02(self.row.latitude, self.row.longitude)
        return GeoPoint(latitude=latitude, longitude=longitude)

    @strawberry.field(description="The office's name.")
    def name(self, info: Info, lang: LangArg = None) -> str:
        return pick(info.context, lang, self.row.name_en, self.row.name_zh)

    @strawberry.field(description="The office's postal address.")
    def address(self, info: Info, lang: LangArg = None) -> str:
        return pick(info.context, lang, self.row.address_en, self.row.address_zh)

    @strawberry.field(description="The regular week's opening intervals; the gap is lunch.")
    async def hours(self, info: Info) -> list[OpeningHours]:
        rows = await info.context.loaders.office_hours.load(self.row.id)
        return [OpeningHours(weekday=r.weekday, opens=r.opens, closes=r.closes) for r in rows]

    @strawberry.field(description="Closures between two days (at most 366 days apart).")
    async def closures(
        self,
        info: Info,
        from_: FromDayArg,
        to: ToDayArg,
        lang: LangArg = None,
    ) -> list[Closure]:
        rows = await resolve.closures_between(info.context, self.row, from_, to)
        return [Closure.from_row(info.context, r, lang) for r in rows]

    @strawberry.field(
        description="Whether the office is open at a moment (default: now), after the official "
        "calendar, the lunch break and closures."
    )
    async def is_open(
        self,
        info: Info,
        at: Annotated[
            datetime | None,
            strawberry.argument(description="The moment to ask about, with a UTC offset."),
        ] = None,
    ) -> bool:
        return await resolve.is_open_at(info.context, self.row, at)

    @strawberry.field(
        description="Officers of this office and admins: the appointments of a day, by start "
        "time. Null for everyone else."
    )
    async def appointments(
        self,
        info: Info,
        on: Annotated[date, strawberry.argument(description="The day, in the office's zone.")],
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Annotated[AppointmentConnection, strawberry.lazy("schema.appointments")] | None:
        from resolvers.appointments import office_day
        from schema.appointments import appointment_page

        page = await office_day(info.context, self.row, on, first, after)
        return None if page is None else appointment_page(*page)

    @strawberry.field(
        description="Officers of this office and admins: the office's applications as a queue, "
        "first submitted first (then in the order they were recorded). Null for everyone "
        "else; every application listed is recorded as read in its applicant's trail."
    )
    async def applications(
        self,
        info: Info,
        status: Annotated[
            Annotated[ApplicationStatus, strawberry.lazy("schema.records")] | None,
            strawberry.argument(description="Only applications in this status; all when absent."),
        ] = None,
        first: FirstArg = None,
        after: AfterArg = None,
    ) -> Annotated[ApplicationConnection, strawberry.lazy("schema.records")] | None:
        from resolvers.records import office_queue
        from schema.records import queue_page

        status_value = status.value if status else None
        page = await office_queue(info.context, self.row.id, status_value, first, after)
        return None if page is None else queue_page(*page)

    @strawberry.field(description="The services this office offers.")
    async def services(self, info: Info) -> list[ServiceType]:
        codes = await info.context.loaders.office_services.load(self.row.id)
        rows = await info.context.loaders.service_type.load_many(codes)
        ordered = sorted((r for r in rows if r is not None), key=lambda r: r.position)
        return [ServiceType.from_row(r) for r in ordered]


def office_field(description: str) -> Any:
    """The field answering the Office of an object's row (its `office_id`)."""

    async def office(self: Any, info: Info) -> Office:
        return Office.from_row(await info.context.loaders.office.load(self.row.office_id))

    return strawberry.field(resolver=office, description=description)


def office_time_field(moment: str, description: str) -> Any:
    """The field answering the `moment` attribute of an object's row with the UTC offset of
    the row's office (its `office_id`) then."""

    async def at_office(self: Any, info: Info) -> datetime:
        return await office_time(info.context, self.row.office_id, getattr(self.row, moment))

    return strawberry.field(resolver=at_office, description=description)


@strawberry.type(description="An office in a list, with its distance when searching near a point.")
class OfficeEdge:
    cursor: str = strawberry.field(description="Cursor of this edge, for `after`.")
    node: Office = strawberry.field(description="The office.")
    distance_km: float | None = strawberry.field(
        description="Great-circle distance in km from `filter.near`, when given."
    )


@strawberry.type(description="A page of offices.")
class OfficeConnection:
    edges: list[OfficeEdge] = strawberry.field(description="The offices of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page stands.")
    total_count: int = strawberry.field(
        description="How many offices match the filter, on every page."
    )


@strawberry.input(description="Filters for the office directory; all given filters must match.")
class OfficeFilter:
    province: str | None = strawberry.field(
        default=None, description="Province-level division, e.g. Guangdong (any case)."
    )
    city: str | None = strawberry.field(default=None, description="City, e.g. Shenzhen.")
    service: ServiceCode | None = strawberry.field(
        default=None, description="Only offices offering this service."
    )
    text: str | None = strawberry.field(
        default=None, description="Words to find in the name, address, city or code (EN or ZH)."
    )
    near: GeoPointInput | None = strawberry.field(
        default=None,
        description="Sort nearest first from this point and give distances; the point may be "
        "given in WGS 84 (default) or GCJ-02 (`datum`).",
    )
    open_on: date | None = strawberry.field(
        default=None, description="Only offices open on this day (official calendar, closures)."
    )
