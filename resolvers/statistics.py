"""Statistics for analysts and admins."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from domain.applications import STATUSES
from domain.statistics import median_days, suppressed, utilisation
from persistence import statistics as store
from persistence.models import Role
from resolvers.context import Context
from resolvers.outcomes import bad_input, forbidden, require_days_in_range, unauthenticated
from resolvers.records import SHANGHAI

MAX_DAYS = 366
APPLICATION_STATUSES = STATUSES


@dataclass(frozen=True)
class Figures:
    booked: int | None
    cancelled: int | None
    no_shows: int | None
    slot_utilisation: float | None
    by_status: list[tuple[str, int | None]]
    median_days: list[tuple[str, int | None]]


async def statistics(
    ctx: Context, start: date, end: date, office_id: int | None, office_given: bool
) -> Figures:
    if ctx.account is None:
        raise unauthenticated()
    if not ctx.has_role(Role.ANALYST, Role.ADMIN):
        raise forbidden()
    require_days_in_range(start, end)
    if end < start:
        raise bad_input("`to` must not be before `from`.")
    if (end - start).days >= MAX_DAYS:
        raise bad_input(f"Ask for at most {MAX_DAYS} days at a time.")
    if office_given and office_id is None:
        raise bad_input("No office has this ID.")
    # Bounds in UTC: the database compares stored UTC times.
    lower = datetime.combine(start, time.min, tzinfo=SHANGHAI).astimezone(UTC)
    upper = datetime.combine(end + timedelta(days=1), time.min, tzinfo=SHANGHAI).astimezone(UTC)
    appointments = await store.appointment_counts(lower, upper, office_id)
    booked_places, capacity = await store.slot_totals(lower, upper, office_id)
    applications = await store.application_counts(lower, upper, office_id)
    durations = await store.decision_durations(lower, upper, office_id)
    services = [
        row.code
        for row in await ctx.loaders.service_type.load_many(list(durations))
        if row is not None
    ]
    cancelled = appointments.get("CANCELLED", 0) + appointments.get("CANCELLED_BY_OFFICE", 0)
    return Figures(
        booked=suppressed(sum(appointments.values())),
        cancelled=suppressed(cancelled),
        no_shows=suppressed(appointments.get("NO_SHOW", 0)),
        slot_utilisation=utilisation(booked_places, capacity) if capacity >= 5 else None,
        by_status=[(s, suppressed(applications.get(s, 0))) for s in APPLICATION_STATUSES],
        median_days=[(s, median_days(durations[s])) for s in sorted(services)],
    )
