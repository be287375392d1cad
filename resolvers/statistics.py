"""Statistics for analysts and admins: whole months, every count rounded (domain/statistics.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from domain.applications import STATUSES
from domain.booking import SERVICE_GROUPS
from domain.dates import HOME_ZONE
from domain.messages import N_, N_plural
from domain.statistics import median_days, rounded, utilisation, whole_months
from persistence import offices as office_store
from persistence import statistics as store
from persistence.appointments import local_day_bounds
from persistence.models import Role
from resolvers.context import Context
from resolvers.outcomes import bad_input, forbidden, require_days_in_range, unauthenticated

MAX_DAYS = 366
APPLICATION_STATUSES = STATUSES
# Every service, in ServiceCode's order: medianDaysToDecision lists them all, whatever was
# decided, so a row's presence says nothing (one decided case would otherwise show as a row
# while every count rounds it to 0).
SERVICES = tuple(SERVICE_GROUPS)


@dataclass(frozen=True)
class Figures:
    start: date  # the period actually counted: whole months around the one asked for
    end: date
    rounding_base: int
    booked: int
    cancelled: int
    no_shows: int
    slot_utilisation: float | None
    by_status: list[tuple[str, int]]
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
        raise bad_input(N_("`to` must not be before `from`."))
    if (end - start).days >= MAX_DAYS:
        raise bad_input(
            N_plural(
                "Ask for at most %(count)s day at a time.",
                "Ask for at most %(count)s days at a time.",
                MAX_DAYS,
            )
        )
    # An ID of an office that does not exist is refused as a malformed one is: zeros for it
    # would read as an office where nothing happened.
    if office_given and (office_id is None or await office_store.office(office_id) is None):
        raise bad_input(N_("No office has this ID."))
    start, end = whole_months(start, end)
    base = ctx.settings.statistics_rounding_base
    # Bounds in UTC: the database compares stored UTC times.
    lower, _ = local_day_bounds(start, HOME_ZONE)
    _, upper = local_day_bounds(end, HOME_ZONE)
    appointments = await store.appointment_counts(lower, upper, office_id)
    booked_places, capacity = await store.slot_totals(lower, upper, office_id)
    applications = await store.application_counts(lower, upper, office_id)
    durations = await store.decision_durations(lower, upper, office_id)
    cancelled = appointments.get("CANCELLED", 0) + appointments.get("CANCELLED_BY_OFFICE", 0)
    # Each figure is rounded from its own exact count, never summed from rounded parts.
    return Figures(
        start=start,
        end=end,
        rounding_base=base,
        booked=rounded(sum(appointments.values()), base),
        cancelled=rounded(cancelled, base),
        no_shows=rounded(appointments.get("NO_SHOW", 0), base),
        slot_utilisation=utilisation(booked_places, capacity, base),
        by_status=[(s, rounded(applications.get(s, 0), base)) for s in APPLICATION_STATUSES],
        median_days=[(s, median_days(durations.get(s, []))) for s in SERVICES],
    )
