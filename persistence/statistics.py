"""Aggregate queries for analysts: counts and sums only, never rows about a person; read from
the read replica when there is one (persistence/read_replica.py)."""

from __future__ import annotations

from datetime import datetime

from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from persistence.models import Application, Appointment, Slot
from persistence.read_replica import analytic


def _scope(query, office_id: int | None):  # type: ignore[no-untyped-def]
    query = query.using_db(analytic())
    return query.filter(office_id=office_id) if office_id is not None else query


async def _status_counts(query: QuerySet, office_id: int | None) -> dict[str, int]:
    """How many rows of `query` (in the office, if one is given) are in each status."""
    rows = (
        await _scope(query, office_id)
        .annotate(n=Count("id"))
        .group_by("status")
        .values("status", "n")
    )
    return {row["status"]: row["n"] for row in rows}


async def appointment_counts(
    start: datetime, end: datetime, office_id: int | None
) -> dict[str, int]:
    query = Appointment.filter(starts_at__gte=start, starts_at__lt=end)
    return await _status_counts(query, office_id)


async def slot_totals(start: datetime, end: datetime, office_id: int | None) -> tuple[int, int]:
    rows = (
        await _scope(Slot.filter(starts_at__gte=start, starts_at__lt=end, open=True), office_id)
        .annotate(b=Sum("booked"), c=Sum("capacity"))
        .values("b", "c")
    )
    if not rows:
        return 0, 0
    return int(rows[0]["b"] or 0), int(rows[0]["c"] or 0)


async def application_counts(
    start: datetime, end: datetime, office_id: int | None
) -> dict[str, int]:
    query = Application.filter(submitted_at__gte=start, submitted_at__lt=end)
    return await _status_counts(query, office_id)


async def decision_durations(
    start: datetime, end: datetime, office_id: int | None
) -> dict[str, list[tuple[datetime, float]]]:
    """(Decided at, days from submission to decision) of applications decided in the range,
    per service."""
    rows = await _scope(
        Application.filter(decided_at__gte=start, decided_at__lt=end), office_id
    ).values_list("service", "submitted_at", "decided_at")
    durations: dict[str, list[tuple[datetime, float]]] = {}
    for service, submitted, decided in rows:
        days = (decided - submitted).total_seconds() / 86400
        durations.setdefault(service, []).append((decided, days))
    return durations
