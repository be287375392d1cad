"""Queries on offices, their hours, services and closures, and the service catalogue."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date

from tortoise.expressions import Q, Subquery

from persistence.by_ids import groups_of, loader_of
from persistence.combined_reads import select
from persistence.models import (
    Office,
    OfficeClosure,
    OfficeHours,
    OfficeService,
    ServiceType,
)


async def find_offices(
    *, province: str | None, city: str | None, service: str | None, text: str | None
) -> list[Office]:
    query = Office.all()
    if province:
        query = query.filter(province__iexact=province.strip())
    if city:
        query = query.filter(city__iexact=city.strip())
    if service:
        query = query.filter(
            id__in=Subquery(OfficeService.filter(service=service).values("office_id"))
        )
    if text:
        words = text.split()
        for word in words[:8]:
            query = query.filter(
                Q(name_en__icontains=word)
                | Q(name_zh__icontains=word)
                | Q(address_en__icontains=word)
                | Q(address_zh__icontains=word)
                | Q(city__icontains=word)
                | Q(code__icontains=word)
            )
    return await query.order_by("code")


async def office(office_id: int) -> Office | None:
    return await Office.get_or_none(id=office_id)


async def office_by_code(code: str) -> Office | None:
    return await Office.get_or_none(code=code.strip().upper())


offices_by_ids = loader_of(Office)


hours_by_office = groups_of(OfficeHours, "office_id", "weekday", "opens")


async def services_by_office(ids: Sequence[int]) -> list[list[str]]:
    grouped: dict[int, list[str]] = defaultdict(list)
    for row in await select(OfficeService, {"office_id": ids}):
        grouped[row.office_id].append(row.service)
    return [grouped[i] for i in ids]


closures_by_office = groups_of(OfficeClosure, "office_id", "date")


async def closure_on(office_id: int, day: date) -> OfficeClosure | None:
    return await OfficeClosure.get_or_none(office_id=office_id, date=day)


async def service_types() -> list[ServiceType]:
    return await select(ServiceType, {}, ("position",))


async def add_closure(office_id: int, day: date, reason: str) -> OfficeClosure:
    return await OfficeClosure.create(
        office_id=office_id, date=day, reason_en=reason, reason_zh=reason
    )
