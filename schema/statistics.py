"""Aggregate statistics for analysts: no person-level data, whole months, every count rounded."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import strawberry

from schema.common import ServiceCode
from schema.records import ApplicationStatus

if TYPE_CHECKING:
    from resolvers.statistics import Figures

ROUNDED = "rounded to a multiple of roundingBase (with 5: 1-2 read 0, 3-7 read 5)"


@strawberry.type(description="A figure per service; null when withheld (fewer than 5 cases).")
class ServiceCount:
    service: ServiceCode = strawberry.field(description="The service.")
    count: int | None = strawberry.field(
        description="The figure (for medianDaysToDecision: days); null when withheld."
    )


@strawberry.type(description=f"How many applications are in a status, {ROUNDED}.")
class StatusCount:
    status: ApplicationStatus = strawberry.field(description="The status.")
    count: int | None = strawberry.field(
        description=f"How many, {ROUNDED}. Never null now (nullable for older clients)."
    )


@strawberry.type(
    description="Aggregates over whole calendar months (Beijing time), for analysts and admins. "
    "Every count is rounded on its own to a multiple of roundingBase, totals included (never "
    "summed from rounded parts), so subtracting published figures gives a band of values, not "
    "one office's or one day's count."
)
class Statistics:
    from_: dt.date = strawberry.field(
        name="from",
        description="First day counted: the first of the month of the `from` asked for.",
    )
    to: dt.date = strawberry.field(
        description="Last day counted: the last of the month of the `to` asked for."
    )
    rounding_base: int = strawberry.field(
        description="Counts are rounded to the nearest multiple of this (halves up); from/to "
        "snap outward to whole months."
    )
    appointments_booked: int | None = strawberry.field(
        description=f"Appointments for slots in the period, {ROUNDED}. Never null now."
    )
    appointments_cancelled: int | None = strawberry.field(
        description="Of those, cancelled (by applicants or by office closures), rounded on "
        "its own. Never null now."
    )
    no_shows: int | None = strawberry.field(
        description="Of those, not attended, rounded on its own. Never null now."
    )
    slot_utilisation: float | None = strawberry.field(
        description="Booked places divided by capacity of open slots in the period (0 to 1), "
        "both rounded first; null without capacity."
    )
    applications_by_status: list[StatusCount] = strawberry.field(
        description="Applications submitted in the period, by current status."
    )
    median_days_to_decision: list[ServiceCount] = strawberry.field(
        description="Median days from submission to decision, per service, for applications "
        "decided in the period; null when fewer than 5 were decided, or when a month of the "
        "period had 1 to 4 of them (a longer period would otherwise give that month's cases "
        "away). Every service is listed, "
        "in ServiceCode's order, whether or not any was decided, so a row's presence tells "
        "nothing."
    )

    @classmethod
    def from_figures(cls, figures: Figures) -> Statistics:
        return cls(
            from_=figures.start,
            to=figures.end,
            rounding_base=figures.rounding_base,
            appointments_booked=figures.booked,
            appointments_cancelled=figures.cancelled,
            no_shows=figures.no_shows,
            slot_utilisation=figures.slot_utilisation,
            applications_by_status=[
                StatusCount(status=ApplicationStatus(s), count=c) for s, c in figures.by_status
            ],
            median_days_to_decision=[
                ServiceCount(service=ServiceCode(s), count=c) for s, c in figures.median_days
            ],
        )
