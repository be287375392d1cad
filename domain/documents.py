"""Issued documents: which kind a service yields, valid categories, and stay deadlines."""

from __future__ import annotations

from datetime import date, timedelta

from domain.messages import N_, Message

VISA_CATEGORIES = frozenset(
    {"C", "D", "F", "G", "J1", "J2", "L", "M", "Q1", "Q2", "R", "S1", "S2", "X1", "X2", "Z"}
)
PERMIT_PURPOSES = frozenset({"WORK", "STUDY", "FAMILY_REUNION", "PRIVATE_AFFAIRS", "JOURNALIST"})

# Policy (DOMAIN.md): apply at least this many days before the document ends.
EXTENSION_LEAD_DAYS = {"VISA": 7, "STAY_PERMIT": 7, "RESIDENCE_PERMIT": 30}


def kind_for_service(service: str) -> str:
    """The document kind an application for this service results in."""
    if service.startswith("VISA_"):
        return "VISA"
    if service.startswith("STAY_PERMIT_"):
        return "STAY_PERMIT"
    return "RESIDENCE_PERMIT"


def lengthens_stay(service: str) -> bool:
    """Whether an application for this service can end in a document that lasts longer than
    the one held: an extension or a renewal does; a reissuance replaces a lost or damaged
    document with the same validity, so it is no answer to a stay that is ending."""
    return not service.endswith("_REISSUANCE")


# How much of a foreigner's stay each kind of document grants: a residence permit covers
# what a stay permit or a visa would, a stay permit what a visa would.
_COVERAGE = {"VISA": 0, "STAY_PERMIT": 1, "RESIDENCE_PERMIT": 2}


def covers(kind: str, other: str) -> bool:
    """Whether a document of `kind` (held, or applied for) covers the stay a document of
    `other` grants: then reminders to extend the `other` one are beside the point."""
    return _COVERAGE[kind] >= _COVERAGE[other]


def category_problem(kind: str, category: str) -> Message | None:
    if kind == "VISA" and category not in VISA_CATEGORIES:
        return N_(
            "A visa category is one of %(categories)s.",
            categories=", ".join(sorted(VISA_CATEGORIES)),
        )
    if kind != "VISA" and category not in PERMIT_PURPOSES:
        return N_(
            "A permit's purpose is one of %(purposes)s.",
            purposes=", ".join(sorted(PERMIT_PURPOSES)),
        )
    return None


def days_remaining(valid_until: date, today: date) -> int:
    """Whole days from today until the document ends (0 on its last day; never negative)."""
    return max(0, (valid_until - today).days)


def extension_deadline(kind: str, valid_until: date) -> date:
    """The last day to apply for an extension."""
    return valid_until - timedelta(days=EXTENSION_LEAD_DAYS[kind])
