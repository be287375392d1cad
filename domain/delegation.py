"""Rules of delegation: which state a delegation is really in, and what it grants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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


# What is done to a delegation itself, not through it for the dependant.
# What ending a delegation revokes with it (REVOKE_HELPER_CERTIFICATES): part of the ending,
# not something the helper did for the person.
REVOKE_WITH_DELEGATION = "REVOKE_CERTIFICATE_WITH_DELEGATION"
ABOUT_THE_DELEGATION: frozenset[str] = frozenset(
    {"ADD_DEPENDANT", "CONFIRM_DELEGATION", "REVOKE_DELEGATION", REVOKE_WITH_DELEGATION}
)


def on_behalf(actor_kind: str | None, action: str, delegation_id: int | None) -> bool:
    """Whether an audited action was done for the person by a helper, through a delegation."""
    return (
        delegation_id is not None and actor_kind == "HELPER" and action not in ABOUT_THE_DELEGATION
    )


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


def last_day_as_minor(birth_date: date) -> date:
    """The day before the 18th birthday (born on 29 February: the 18th birthday is 1 March in
    a common year, as `age_on` counts it)."""
    year = birth_date.year + ADULT_AGE
    try:
        birthday = birth_date.replace(year=year)
    except ValueError:  # 29 February in a common year
        birthday = date(year, 3, 1)
    return birthday - timedelta(days=1)


def represented_until(birth_date: date, valid_until: date | None) -> date:
    """How long a delegation that is ACTIVE because its dependant is a minor holds: to the
    helper's `valid_until`, at the latest to the last day before the dependant comes of age;
    from then on an adult answers for themselves (or an officer confirms)."""
    cap = last_day_as_minor(birth_date)
    return cap if valid_until is None else min(valid_until, cap)


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
