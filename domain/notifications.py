"""Rules of notifications: the scope each kind needs, when scheduled reminders fall due, what a
preference may say, how long a failed mail waits, and which language a header asks for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from enum import StrEnum

from domain.messages import N_, Message


class Kind(StrEnum):
    APPOINTMENT_BOOKED = "APPOINTMENT_BOOKED"
    APPOINTMENT_CHANGED = "APPOINTMENT_CHANGED"
    APPOINTMENT_CANCELLED_BY_OFFICE = "APPOINTMENT_CANCELLED_BY_OFFICE"
    APPOINTMENT_REMINDER = "APPOINTMENT_REMINDER"
    APPLICATION_STATUS_CHANGED = "APPLICATION_STATUS_CHANGED"
    EXTENSION_WINDOW_OPEN = "EXTENSION_WINDOW_OPEN"
    DOCUMENT_EXPIRING = "DOCUMENT_EXPIRING"
    DELEGATION_REQUESTED = "DELEGATION_REQUESTED"
    DELEGATION_ANSWERED = "DELEGATION_ANSWERED"
    WAITLIST_OFFER = "WAITLIST_OFFER"
    WAITLIST_OFFER_WITHDRAWN = "WAITLIST_OFFER_WITHDRAWN"
    CERTIFICATE_ISSUED = "CERTIFICATE_ISSUED"
    CERTIFICATE_REVOKED = "CERTIFICATE_REVOKED"


class Channel(StrEnum):
    INBOX = "INBOX"
    EMAIL = "EMAIL"


ALL_CHANNELS: frozenset[str] = frozenset(c.value for c in Channel)

# The delegation scope a helper needs to hear of a kind about their dependant.
KIND_SCOPE: dict[str, str] = {
    Kind.APPOINTMENT_BOOKED: "BOOK_APPOINTMENTS",
    Kind.APPOINTMENT_CHANGED: "BOOK_APPOINTMENTS",
    Kind.APPOINTMENT_CANCELLED_BY_OFFICE: "BOOK_APPOINTMENTS",
    Kind.APPOINTMENT_REMINDER: "BOOK_APPOINTMENTS",
    Kind.WAITLIST_OFFER: "BOOK_APPOINTMENTS",
    Kind.WAITLIST_OFFER_WITHDRAWN: "BOOK_APPOINTMENTS",
    Kind.APPLICATION_STATUS_CHANGED: "VIEW_APPLICATIONS",
    Kind.EXTENSION_WINDOW_OPEN: "VIEW_DOCUMENTS",
    Kind.DOCUMENT_EXPIRING: "VIEW_DOCUMENTS",
    Kind.CERTIFICATE_ISSUED: "VIEW_DOCUMENTS",
    Kind.CERTIFICATE_REVOKED: "VIEW_DOCUMENTS",
}

# Kinds about a delegation itself: addressed to one party of it (the person asked, or the
# helper who asked), never to the person's other helpers.
PARTY_KINDS: frozenset[str] = frozenset({Kind.DELEGATION_REQUESTED, Kind.DELEGATION_ANSWERED})
# Of those, what the addressee keeps whatever becomes of the delegation: the answer to the
# helper's own request. A request made to a person is about that person, seen by an account
# only while it is that person's (one unlinked from the person, say as a wrong match, no
# longer reads who asks to help them).
KEPT_BY_ADDRESSEE: frozenset[str] = frozenset({Kind.DELEGATION_ANSWERED})

# Security mail (never switched off by preferences).
EMAIL_VERIFICATION = "EMAIL_VERIFICATION"
PASSWORD_RESET = "PASSWORD_RESET"  # noqa: S105 (a purpose, not a password)

LANGUAGES: tuple[str, ...] = ("EN", "ZH", "KO", "JA", "RU", "FR", "ES", "AR")
DEFAULT_LANGUAGE = "EN"


def kinds_for_scopes(scopes: Iterable[str]) -> list[str]:
    """The kinds a helper with these scopes hears of about the dependant (sorted)."""
    granted = set(scopes)
    return sorted(kind for kind, scope in KIND_SCOPE.items() if scope in granted)


def helper_hears(kind: str, scopes: Iterable[str]) -> bool:
    scope = KIND_SCOPE.get(kind)
    return scope is not None and scope in set(scopes)


def channels_for(preferences: Mapping[str, Sequence[str]] | None, kind: str) -> frozenset[str]:
    """The channels an account gets `kind` on: what it chose, else every channel."""
    if preferences and kind in preferences:
        return frozenset(preferences[kind]) & ALL_CHANNELS
    return ALL_CHANNELS


def preference_problem(choices: Sequence[tuple[str, Sequence[str]]]) -> Message | None:
    """What is wrong with a list of (kind, channels) choices, or None."""
    seen: set[str] = set()
    for kind, channels in choices:
        if kind in seen:
            return N_("%(kind)s is listed twice; list each kind once.", kind=kind)
        seen.add(kind)
        if len(set(channels)) != len(channels):
            return N_("%(kind)s lists a channel twice.", kind=kind)
    return None


def merged_preferences(
    current: Mapping[str, Sequence[str]] | None, choices: Sequence[tuple[str, Sequence[str]]]
) -> dict[str, list[str]]:
    """The stored preferences after `choices`; a kind set back to every channel is dropped, so
    only departures from the default are kept."""
    merged = {k: list(v) for k, v in (current or {}).items()}
    for kind, channels in choices:
        if frozenset(channels) == ALL_CHANNELS:
            merged.pop(kind, None)
        else:
            merged[kind] = sorted(set(channels))
    return merged


def reminder_due(target: date, offsets: Sequence[int], today: date) -> date | None:
    """The due day of the latest reminder stage reached by `today`, for reminders `offsets`
    days before `target`: None before the first stage and from `target` on (a reminder comes
    before the day it is about, never on or after it). Stages missed (a document issued
    inside a window, a scheduler that was down) are not sent late one by one: only the latest
    reached stage is due."""
    if today >= target:
        return None
    reached = [target.fromordinal(target.toordinal() - o) for o in offsets if o > 0]
    reached = [d for d in reached if d <= today]
    return max(reached) if reached else None


def appointment_reminder_due(appointment_day: date, today: date) -> date | None:
    """An appointment's reminder falls due on the day before it (in the office's zone)."""
    due = appointment_day.fromordinal(appointment_day.toordinal() - 1)
    return due if today == due else None


def retry_delay_s(attempts: int, base_s: int, cap_s: int) -> int:
    """How long a mail waits after its `attempts`-th failed attempt: base, 2 base, 4 base, ...
    up to the cap (exponential back-off)."""
    return min(cap_s, base_s * 2 ** max(0, attempts - 1))
