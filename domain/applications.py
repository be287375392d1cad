"""The life of an application: its status machine and when a decision is due."""

from __future__ import annotations

from datetime import date

from domain.calendar import WorkingCalendar

# Every status, in the order clients list them (the GraphQL enum's order).
STATUSES = (
    "SUBMITTED", "ACCEPTED", "UNDER_REVIEW", "MATERIALS_REQUESTED", "APPROVED", "REJECTED",
    "READY_FOR_COLLECTION", "COLLECTED", "WITHDRAWN",
)  # fmt: skip
OPEN_STATUSES = frozenset({"SUBMITTED", "ACCEPTED", "UNDER_REVIEW", "MATERIALS_REQUESTED"})
DECIDED_STATUSES = frozenset(
    {"APPROVED", "REJECTED", "READY_FOR_COLLECTION", "COLLECTED", "WITHDRAWN"}
)

TRANSITIONS: dict[str, frozenset[str]] = {
    "SUBMITTED": frozenset({"ACCEPTED", "WITHDRAWN"}),
    "ACCEPTED": frozenset({"UNDER_REVIEW", "WITHDRAWN"}),
    "UNDER_REVIEW": frozenset({"MATERIALS_REQUESTED", "APPROVED", "REJECTED", "WITHDRAWN"}),
    "MATERIALS_REQUESTED": frozenset({"UNDER_REVIEW", "WITHDRAWN"}),
    "APPROVED": frozenset({"READY_FOR_COLLECTION"}),
    "READY_FOR_COLLECTION": frozenset({"COLLECTED"}),
    "REJECTED": frozenset(),
    "COLLECTED": frozenset(),
    "WITHDRAWN": frozenset(),
}


def may_move(from_status: str, to_status: str) -> bool:
    return to_status in TRANSITIONS.get(from_status, frozenset())


def expected_decision_on(
    *,
    status: str,
    submitted_on: date,
    accepted_on: date | None,
    processing_working_days: int,
    calendar: WorkingCalendar,
) -> date | None:
    """The statutory decision date: counted from submission until the application is accepted,
    then from the acceptance date; None once decided or withdrawn."""
    if status in DECIDED_STATUSES:
        return None
    start = accepted_on if accepted_on is not None else submitted_on
    return calendar.add_working_days(start, processing_working_days)
