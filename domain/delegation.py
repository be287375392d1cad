"""Rules of delegation: which state a delegation is really in, and what it grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.identifiers import normalise_name
from domain.messages import N_, Message


class Scope(StrEnum):
    BOOK_APPOINTMENTS = "BOOK_APPOINTMENTS"
    VIEW_APPLICATIONS = "VIEW_APPLICATIONS"
    VIEW_DOCUMENTS = "VIEW_DOCUMENTS"


ALL_SCOPES: frozenset[str] = frozenset(s.value for s in Scope)

# A delegation not yet ended: waiting for an answer, or in force. A helper holds at most one
# open delegation per dependant, and only an open one can be revoked.
OPEN_STATUSES: tuple[str, ...] = ("PENDING", "ACTIVE")


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


@dataclass(frozen=True)
class TypedFacts:
    """What a helper typed to find a dependant, as the identity match read it. A delegation
    keeps it, and shows it back to the helper instead of the person's record while it is not
    ACTIVE."""

    surname: str
    nationality: str
    birth_date: date

    @classmethod
    def read(cls, surname: str, nationality: str, birth_date: date) -> TypedFacts:
        """The facts as kept: the surname folded as identity matching folds it, upper-cased
        and cut to the 100 characters a delegation holds; `nationality` an alpha-3 code."""
        return cls(normalise_name(surname).upper()[:100], nationality, birth_date)


ADULT_AGE = 18


def age_on(birth_date: date, today: date) -> int:
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def initial_status(*, dependant_has_account: bool, birth_date: date, today: date) -> str:
    """A person with an account answers themselves; a minor without one is represented at
    once; an adult without one must be confirmed by an officer at a counter."""
    if dependant_has_account:
        return "PENDING"
    if age_on(birth_date, today) < ADULT_AGE:
        return "ACTIVE"
    return "PENDING"


def scope_problem(scopes: list[str]) -> Message | None:
    if not scopes:
        return N_("Grant at least one scope.")
    unknown = set(scopes) - ALL_SCOPES
    if unknown:
        return N_("Unknown scopes: %(scopes)s.", scopes=", ".join(sorted(unknown)))
    return None
