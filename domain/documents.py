"""Issued documents: which kind a service yields, valid categories, and stay deadlines."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


# The numbers the service gives a document issued without one: the office's province code, the
# year of issue, a letter for the kind and the application's id. Typed numbers may not take
# this form, so a number given by hand can never be the one the service gives a later document.
_NUMBER_LETTER = {"VISA": "V", "STAY_PERMIT": "S", "RESIDENCE_PERMIT": "R"}
_GENERATED_NUMBER = re.compile(r"\d{2}\d{4}[VSR]\d{7,}")


def generated_number(province_code: str, year: int, kind: str, application_id: int) -> str:
    """The number the service gives a document issued on the application without one."""
    return f"{province_code}{year}{_NUMBER_LETTER[kind]}{application_id:07d}"


def reserved_number_problem(number: str) -> Message | None:
    """Why a typed (normalised) document number cannot be used, or None: the form of the
    numbers the service gives is kept for them."""
    if _GENERATED_NUMBER.fullmatch(number):
        return N_(
            "Numbers of this form (province, year, V/S/R, application) are given by the "
            "service: leave number empty to have one."
        )
    return None


def supersedes(service: str) -> bool:
    """Whether the document an application for `service` yields replaces the one of the same
    kind the holder has: an extension, a renewal or a reissuance (the lost or damaged one is
    void once replaced) does; a first issuance does not."""
    return not service.endswith("_ISSUANCE")


def superseded_from(issued_on: date, valid_from: date) -> date:
    """The first day a replaced document is no longer valid: the day its replacement takes
    effect (issued today, or valid from a later day)."""
    return max(issued_on, valid_from)


def last_valid_day(valid_until: date, superseded_on: date | None) -> date:
    """The last day a document holds: its printed end, or the day before its replacement
    took effect."""
    if superseded_on is None:
        return valid_until
    return min(valid_until, superseded_on - timedelta(days=1))


class DocumentStatus:
    """Where a document stands on a day (schema.records.DocumentStatus spells these)."""

    NOT_YET_VALID = "NOT_YET_VALID"
    VALID = "VALID"
    SUPERSEDED = "SUPERSEDED"
    EXPIRED = "EXPIRED"


def document_status(
    valid_from: date, valid_until: date, superseded_on: date | None, day: date
) -> str:
    """NOT_YET_VALID before its first day; SUPERSEDED from the day a replacement took effect;
    EXPIRED after its last day; VALID otherwise."""
    if superseded_on is not None and day >= superseded_on:
        return DocumentStatus.SUPERSEDED
    if day < valid_from:
        return DocumentStatus.NOT_YET_VALID
    if day > valid_until:
        return DocumentStatus.EXPIRED
    return DocumentStatus.VALID


def extension_deadline(kind: str, valid_until: date) -> date:
    """The last day to apply for an extension."""
    return valid_until - timedelta(days=EXTENSION_LEAD_DAYS[kind])


# Policy (the service's own guidance for residence permits; DOMAIN.md's fee bands end at 5
# years): how long a residence permit is valid, its days counted from validFrom to
# validUntil inclusive.
RESIDENCE_PERMIT_LEAST_DAYS = {"WORK": 90}
RESIDENCE_PERMIT_LEAST_DAYS_OTHERWISE = 180
RESIDENCE_PERMIT_MOST_YEARS = 5


def _years_after(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 28 February in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def validity_problem(
    kind: str, category: str, valid_from: date, valid_until: date, today: date
) -> tuple[Message, str] | None:
    """Why a document with this validity cannot be issued today, and the field at fault, or
    None: it would have ended already; a residence permit shorter than its purpose allows
    or longer than five years."""
    if valid_until < today:
        return N_("validUntil has passed: a document issued today must still be valid."), (
            "validUntil"
        )
    if kind != "RESIDENCE_PERMIT":
        return None
    least = RESIDENCE_PERMIT_LEAST_DAYS.get(category, RESIDENCE_PERMIT_LEAST_DAYS_OTHERWISE)
    if (valid_until - valid_from).days + 1 < least:
        return N_(
            "A %(purpose)s residence permit is valid for at least %(days)s days.",
            purpose=category,
            days=least,
        ), "validUntil"
    if valid_until >= _years_after(valid_from, RESIDENCE_PERMIT_MOST_YEARS):
        return N_(
            "A residence permit is valid for %(years)s years at the most.",
            years=RESIDENCE_PERMIT_MOST_YEARS,
        ), "validUntil"
    return None


# Policy: a visa, stay or residence permit issued here is entered in the holder's passport
# and cites it, so it is valid no longer than that passport (the holder renews the passport
# first). False issues documents regardless of the passport's end.
WITHIN_PASSPORT = True


def passport_problem(valid_until: date, passport_until: date | None) -> tuple[Message, str] | None:
    """Why a document valid until `valid_until` cannot be entered in the holder's current
    passport (valid until `passport_until`; None: the records hold no current one), or None."""
    if not WITHIN_PASSPORT or passport_until is None or valid_until <= passport_until:
        return None
    return N_(
        "validUntil is after the holder's passport ends (%(day)s): a document is valid no "
        "longer than the passport it is entered in.",
        day=passport_until.isoformat(),
    ), "validUntil"


@dataclass(frozen=True)
class HeldVisa:
    """The visa a person holds as the records show it: the category, entries and duration of
    stay it was issued with, and the days of stay extensions have added to it since."""

    category: str
    entries: str | None
    duration_of_stay_days: int | None
    extended_days: int


VISA_EXTENSION = "VISA_EXTENSION"


def extends_a_visa(service: str | None) -> bool:
    """Whether a document issued on an application for `service` extends the visa held
    (rather than being a visa of its own: a renewal, a reissuance, one issued abroad)."""
    return service == VISA_EXTENSION


@dataclass(frozen=True)
class IssuedVisa:
    """A visa document of the records, newest first in `held_visa`'s list."""

    category: str
    entries: str | None
    duration_of_stay_days: int | None
    service: str | None  # of the application it was issued on; None without one


def held_visa(visas: list[IssuedVisa]) -> HeldVisa | None:
    """The visa the newest visas (newest first) amount to: the latest one issued otherwise
    than as an extension, with the stay the extensions issued after it added. None when the
    records hold no such visa (a visa issued abroad need not be in them)."""
    extended = 0
    for visa in visas:
        if extends_a_visa(visa.service):
            extended += visa.duration_of_stay_days or 0
            continue
        return HeldVisa(visa.category, visa.entries, visa.duration_of_stay_days, extended)
    return None


def extension_problem(
    held: HeldVisa | None, category: str, entries: str | None, duration_of_stay_days: int
) -> tuple[Message, str] | None:
    """Why a visa extension with these terms cannot be issued, and the field at fault, or
    None. An extension lengthens the stay of the visa held: it keeps its category and its
    entries, and extensions may not add up to more than the stay it was issued with
    (DOMAIN.md). Nothing is checked against a visa the records do not hold."""
    if held is None:
        return None
    if category != held.category:
        return N_(
            "An extension keeps the category of the visa held (%(category)s).",
            category=held.category,
        ), "category"
    if held.entries is not None and entries != held.entries:
        return N_(
            "An extension keeps the entries of the visa held (%(entries)s).",
            entries=held.entries,
        ), "entries"
    original = held.duration_of_stay_days
    if original is not None and held.extended_days + duration_of_stay_days > original:
        return N_(
            "Extensions may not add up to more than the visa's original stay of %(days)s days "
            "(%(used)s days granted already).",
            days=original,
            used=held.extended_days,
        ), "durationOfStayDays"
    return None
