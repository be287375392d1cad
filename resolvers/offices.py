"""The office directory: searching, distances, opening hours and closures."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.geo import distance_km, gcj02_to_wgs84, valid_point
from domain.messages import N_, N_plural
from domain.office_hours import OpeningInterval, intervals_on, is_open, parse_hours
from persistence import offices as store
from persistence.models import Office, OfficeClosure, Role, ServiceType
from resolvers.context import Context
from resolvers.outcomes import bad_input

# The longest span of closures one query may ask for.
MAX_CLOSURE_DAYS = 366


@dataclass(frozen=True)
class OfficeHit:
    office: Office
    distance_km: float | None


async def officers_office(ctx: Context) -> Office | None:
    """The office the signed-in officer works at; None for everyone else (admins act for every
    office and have none of their own)."""
    account = ctx.account
    if account is None or account.office_id is None or not ctx.has_role(Role.OFFICER):
        return None
    return await ctx.loaders.office.load(account.office_id)


async def opening_hours(ctx: Context, office: Office) -> list[OpeningInterval]:
    rows = await ctx.loaders.office_hours.load(office.id)
    return parse_hours((r.weekday, r.opens, r.closes) for r in rows)


async def closed_dates(ctx: Context, office: Office) -> set[date]:
    return {c.date for c in await ctx.loaders.office_closures.load(office.id)}


async def open_on(ctx: Context, office: Office, day: date) -> bool:
    hours = await opening_hours(ctx, office)
    closed = await closed_dates(ctx, office)
    return bool(intervals_on(day, hours, ctx.services.calendar, closed))


async def is_open_at(ctx: Context, office: Office, at: datetime | None) -> bool:
    at = at or ctx.now()
    if at.tzinfo is None:
        raise bad_input(N_("`at` must carry a UTC offset, e.g. 2026-12-01T10:00:00+08:00."))
    hours = await opening_hours(ctx, office)
    closed = await closed_dates(ctx, office)
    return is_open(at, ZoneInfo(office.time_zone), hours, ctx.services.calendar, closed)


async def closures_between(
    ctx: Context, office: Office, start: date, end: date
) -> list[OfficeClosure]:
    if end < start:
        raise bad_input(N_("`to` must not be before `from`."))
    if end - start > timedelta(days=MAX_CLOSURE_DAYS):
        raise bad_input(
            N_plural(
                "Ask for at most %(count)s day of closures at a time.",
                "Ask for at most %(count)s days of closures at a time.",
                MAX_CLOSURE_DAYS,
            )
        )
    return [c for c in await ctx.loaders.office_closures.load(office.id) if start <= c.date <= end]


async def search(
    ctx: Context,
    *,
    province: str | None,
    city: str | None,
    service: str | None,
    text: str | None,
    near: tuple[float, float] | None,
    open_day: date | None,
    near_datum: str = "WGS84",
) -> list[OfficeHit]:
    """Offices matching every given filter; with `near` (in `near_datum`, WGS84 or GCJ02),
    nearest first with their distance from it."""
    if text is not None and len(text) > 100:
        raise bad_input(N_("Search text is limited to 100 characters."))
    if near is not None:
        lat, lon = near
        if not valid_point(lat, lon):
            raise bad_input(N_("`near` needs a latitude in -90..90 and a longitude in -180..180."))
        if near_datum == "GCJ02":
            near = gcj02_to_wgs84(lat, lon)  # offices are stored in WGS-84
    rows = await store.find_offices(province=province, city=city, service=service, text=text)
    if open_day is not None:
        flags = await asyncio.gather(*(open_on(ctx, office, open_day) for office in rows))
        rows = [office for office, ok in zip(rows, flags, strict=True) if ok]
    if near is None:
        return [OfficeHit(office, None) for office in rows]
    hits = [
        OfficeHit(
            office, round(distance_km(near[0], near[1], office.latitude, office.longitude), 3)
        )
        for office in rows
    ]
    return sorted(hits, key=lambda h: (h.distance_km, h.office.code))


async def service_types(ctx: Context) -> list[ServiceType]:
    """The service catalogue, in its order."""
    return await store.service_types()
