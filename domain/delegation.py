"""Rules of delegation: which state a delegation is really in, and what it grants."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum


class Scope(StrEnum):
    BOOK_APPOINTMENTS = "BOOK_APPOINTMENTS"
    VIEW_APPLICATIONS = "VIEW_APPLICATIONS"
    VIEW_DOCUMENTS = "VIEW_DOCUMENTS"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)


def effective_status(
    status: str,
    *,
    valid_until: date | None,
    pending_until: datetime | None,
    now: datetime,
    today: date,
) -> str:
    """The status as of now: an ACTIVE delegation past `valid_until`, or a PENDING one past its
    answer deadline, is EXPIRED even before a job has written that down."""
    if status == "ACTIVE" and valid_until is not None and valid_until < today:
        return "EXPIRED"
    if status == "PENDING" and pending_until is not None and pending_until <= now:
        return "EXPIRED"
    return status


def grants(status: str, scopes: frozenset[str], wanted: str | None) -> bool:
    """Only an ACTIVE delegation grants anything; `wanted=None` asks for the dependant's
    basic identity (name, nationality, birth date), which any active delegation shows."""
    if status != "ACTIVE":
        return False
    return wanted is None or wanted in scopes
