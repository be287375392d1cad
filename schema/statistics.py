"""Aggregate statistics for analysts: no person-level data, counts under 5 withheld."""

from __future__ import annotations

import datetime as dt

import strawberry

from schema.common import ServiceCode
from schema.records import ApplicationStatus


@strawberry.type(description="A figure per service; null when withheld (fewer than 5 cases).")
class ServiceCount:
    service: ServiceCode = strawberry.field(description="The service.")
    count: int | None = strawberry.field(
        description="The figure (for medianDaysToDecision: days); null when withheld."
    )


@strawberry.type(description="How many applications are in a status; null when under 5.")
class StatusCount:
    status: ApplicationStatus = strawberry.field(description="The status.")
    count: int | None = strawberry.field(description="How many; null when under 5.")


@strawberry.type(description="Aggregates over a period, for analysts and admins.")
class Statistics:
    from_: dt.date = strawberry.field(name="from", description="First day of the period.")
    to: dt.date = strawberry.field(description="Last day of the period.")
    appointments_booked: int | None = strawberry.field(
        description="Appointments for slots in the period; null when under 5."
    )
    appointments_cancelled: int | None = strawberry.field(
        description="Of those, cancelled (by applicants or by office closures); null when under 5."
    )
    no_shows: int | None = strawberry.field(description="Of those, not attended; null under 5.")
    slot_utilisation: float | None = strawberry.field(
        description="Booked places divided by capacity of open slots in the period (0 to 1)."
    )
    applications_by_status: list[StatusCount] = strawberry.field(
        description="Applications submitted in the period, by current status."
    )
    median_days_to_decision: list[ServiceCount] = strawberry.field(
        description="Median days from submission to decision, per service, for applications "
        "decided in the period."
    )
