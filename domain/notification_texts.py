"""Every text of notifications and mail (inbox titles and bodies, the words facts take, mail
subjects and bodies), as messages of the catalogues (#16, docs/translations.md): the English
source is marked here, the seven other languages are translated in translations/ like every
other text. Functions return Messages with the facts as their placeholders; the caller puts
them into the addressee's language (translations.render). A fact missing reads as nothing."""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.languages import LANGUAGES, SOURCE_LANGUAGE
from domain.messages import N_, Message, N_ctx, N_plural

# (title, body) of each notification kind in the inbox. Facts kept per language
# (`office_en`, `office_zh`) are read as `office` in the reader's language, else English.
INBOX: dict[str, tuple[Message, Message]] = {
    "APPOINTMENT_BOOKED": (
        N_("Appointment booked"),
        N_("Appointment %(reference)s at %(office)s on %(when)s is booked."),
    ),
    "APPOINTMENT_CHANGED": (
        N_("Appointment changed"),
        N_(
            "Appointment %(previous)s was moved: it is now %(reference)s at %(office)s on %(when)s."
        ),
    ),
    "APPOINTMENT_CANCELLED_BY_OFFICE": (
        N_("Appointment cancelled by the office"),
        N_(
            "The office cancelled appointment %(reference)s at %(office)s on %(when)s. "
            "Reason: %(reason)s. Please book another time."
        ),
    ),
    "APPOINTMENT_REMINDER": (
        N_("Appointment tomorrow"),
        N_(
            "Reminder: appointment %(reference)s at %(office)s tomorrow, %(when)s. Bring your "
            "passport and the materials listed in the guidance."
        ),
    ),
    "APPLICATION_STATUS_CHANGED": (
        # Translators: %(status)s is one of the application statuses below (approved...).
        N_("Application %(status)s"),
        N_("Application %(reference)s is now: %(status)s."),
    ),
    "EXTENSION_WINDOW_OPEN": (
        N_("Apply for an extension by %(deadline)s"),
        N_plural(
            "Document %(reference)s is valid until %(valid_until)s. Apply for an extension by "
            "%(deadline)s (%(count)s day left) to keep your stay legal.",
            "Document %(reference)s is valid until %(valid_until)s. Apply for an extension by "
            "%(deadline)s (%(count)s days left) to keep your stay legal.",
        ),
    ),
    "DOCUMENT_EXPIRING": (
        N_plural("Document expires in %(count)s day", "Document expires in %(count)s days"),
        N_plural(
            "Document %(reference)s expires on %(valid_until)s, in %(count)s day.",
            "Document %(reference)s expires on %(valid_until)s, in %(count)s days.",
        ),
    ),
    "DELEGATION_REQUESTED": (
        N_("Someone asks to help you"),
        # Translators: %(scopes)s lists what the helper asks to do (appointments, ...).
        N_("%(helper)s asks to act for you (%(scopes)s). Accept or decline in your account."),
    ),
    "DELEGATION_ANSWERED": (
        N_("Your request to help was answered"),
        # Translators: %(answer)s is "accepted", "declined" or "confirmed by an officer".
        N_("Your request to help %(surname)s was %(answer)s."),
    ),
    "WAITLIST_OFFER": (
        N_("A place is held for you"),
        N_(
            "A place at %(office)s on %(when)s is held for you until %(expires)s. Accept it "
            "before then, or it passes to the next in line."
        ),
    ),
    "WAITLIST_OFFER_WITHDRAWN": (
        N_("A held place was withdrawn"),
        N_(
            "The office closed on the day of the place held for you at %(office)s on "
            "%(when)s, so it is withdrawn. You keep your place in line for the other days."
        ),
    ),
    "CERTIFICATE_ISSUED": (
        N_("Certificate issued"),
        N_("A passport-information certificate was issued; it is valid until %(expires)s."),
    ),
    "CERTIFICATE_REVOKED": (
        N_("Certificate revoked"),
        N_(
            "The passport-information certificate issued on %(issued)s was revoked: checking "
            "it now shows it revoked. Obtain a new one wherever you still need one."
        ),
    ),
}

# APPLICATION_STATUS_CHANGED's body when the office asks for materials with a note (the note
# is shown in the inbox only, never mailed).
MATERIALS_NOTE = N_("Application %(reference)s is now: %(status)s. The office asks: %(note)s")

# Values some facts take: application statuses, answers to a delegation request, scopes.
WORDS: dict[str, dict[str, Message]] = {
    "status": {
        "SUBMITTED": N_ctx("application status", "submitted"),
        "ACCEPTED": N_ctx("application status", "accepted"),
        "UNDER_REVIEW": N_ctx("application status", "under review"),
        "MATERIALS_REQUESTED": N_ctx("application status", "materials requested"),
        "APPROVED": N_ctx("application status", "approved"),
        "REJECTED": N_ctx("application status", "rejected"),
        "READY_FOR_COLLECTION": N_ctx("application status", "ready for collection"),
        "COLLECTED": N_ctx("application status", "collected"),
        "WITHDRAWN": N_ctx("application status", "withdrawn"),
    },
    "answer": {
        "ACTIVE": N_ctx("delegation answer", "accepted"),
        "DECLINED": N_ctx("delegation answer", "declined"),
        "CONFIRMED": N_ctx("delegation answer", "confirmed by an officer"),
    },
    "scopes": {
        "BOOK_APPOINTMENTS": N_ctx("delegation scope", "appointments"),
        "VIEW_APPLICATIONS": N_ctx("delegation scope", "applications"),
        "VIEW_DOCUMENTS": N_ctx("delegation scope", "documents"),
    },
}
# Two items of a list, the first of which may be a list itself ("a, b, c"): each language
# has its separator (、 in Chinese and Japanese).
LIST = N_ctx("list", "%(head)s, %(last)s")

# Mail about a notification carries only its kind, the reference and a link to sign in:
# anything else (officer notes, names, times) stays in the inbox.
MAIL_SUBJECT = N_("%(label)s (%(reference)s)")
MAIL_BODY = N_("%(label)s.\nReference: %(reference)s\n\nSign in to read it: %(link)s\n")
# Nothing to refer to (a waitlist offer): the kind and the link alone.
MAIL_BODY_WITHOUT_REFERENCE = N_("%(label)s.\n\nSign in to read it: %(link)s\n")

# Kinds' labels without facts (mail subjects); the other kinds' inbox titles need none.
LABEL: dict[str, Message] = {
    "APPLICATION_STATUS_CHANGED": N_("Your application has news"),
    "EXTENSION_WINDOW_OPEN": N_("Time to apply for an extension"),
    "DOCUMENT_EXPIRING": N_("A document expires soon"),
}

# (subject, body) of the mail with a link that proves an address or resets a password.
SECURITY: dict[str, tuple[Message, Message]] = {
    "EMAIL_VERIFICATION": (
        N_("Confirm your e-mail address"),
        N_plural(
            "Open this link within %(count)s minute to confirm this address for your "
            "account:\n%(link)s\n\nIf you did not sign up, ignore this message.\n",
            "Open this link within %(count)s minutes to confirm this address for your "
            "account:\n%(link)s\n\nIf you did not sign up, ignore this message.\n",
        ),
    ),
    "PASSWORD_RESET": (
        N_("Reset your password"),
        N_plural(
            "Open this link within %(count)s minute to choose a new password:\n%(link)s\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is.\n",
            "Open this link within %(count)s minutes to choose a new password:\n%(link)s\n\n"
            "If you did not ask for it, ignore this message: your password stays as it is.\n",
        ),
    ),
}

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# The facts that are a number the text agrees with (its plural form).
COUNTED = {"EXTENSION_WINDOW_OPEN": "days", "DOCUMENT_EXPIRING": "days"}


def filled(template: Message, values: Mapping[str, object]) -> Message:
    """`template` with its placeholders' values from `values`, a missing one as nothing."""
    names = set(PLACEHOLDER.findall(template.id))
    if template.plural is not None:
        names |= set(PLACEHOLDER.findall(template.plural))
    return template.with_params(**{name: values.get(name, "") for name in names})


def _number(text: str | None) -> int:
    try:
        return int(text or 0)
    except ValueError:
        return 0


def _listed(items: list[Message | str]) -> Message | str:
    if not items:
        return ""
    listed: Message | str = items[0]
    for item in items[1:]:
        listed = LIST.with_params(head=listed, last=item)
    return listed


def facts_in(lang: str, facts: Mapping[str, str]) -> dict[str, object]:
    """The facts as a reader of `lang` (EN, ZH, ...) reads them: a fact kept per language
    (`office_en`, `office_zh`) in `lang`, else in English; statuses, answers and scopes as
    messages (rendered in the reader's language with the text around them)."""
    suffixes = frozenset(LANGUAGES)
    own = lang.lower()
    values: dict[str, object] = {}
    for key, value in facts.items():
        base, sep, suffix = key.rpartition("_")
        if not (sep and suffix in suffixes):
            values[key] = value
        elif base not in values or suffix == own:
            values[base] = (
                facts.get(f"{base}_{own}") or facts.get(f"{base}_{SOURCE_LANGUAGE}") or value
            )
    for key in ("status", "answer"):
        if key in values:
            values[key] = WORDS[key].get(str(values[key]), values[key])
    if "scopes" in values:
        scopes = [WORDS["scopes"].get(s, s) for s in str(values["scopes"]).split(",") if s]
        values["scopes"] = _listed(scopes)
    return values


def inbox(kind: str, lang: str, facts: Mapping[str, str]) -> tuple[Message, Message]:
    """The (title, body) of a notification, for a reader of `lang` (which per-language facts
    to read)."""
    title, body = INBOX[kind]
    values = facts_in(lang, facts)
    if kind in COUNTED:
        values["count"] = _number(facts.get(COUNTED[kind]))
    if (
        kind == "APPLICATION_STATUS_CHANGED"
        and facts.get("status") == "MATERIALS_REQUESTED"
        and facts.get("note")
    ):
        body = MATERIALS_NOTE
    return filled(title, values), filled(body, values)


def label(kind: str) -> Message:
    """A kind's name without facts: its own label, else its inbox title, which needs none."""
    own = LABEL.get(kind)
    if own is not None:
        return own
    title = INBOX[kind][0]
    assert not PLACEHOLDER.search(title.id), kind  # such a kind has a LABEL
    return title


def notification_mail(kind: str, reference: str, link: str) -> tuple[Message, Message]:
    """The (subject, body) of the mail about a notification: kind, reference, link only."""
    values = {"label": label(kind), "reference": reference, "link": link}
    if not reference:
        return label(kind), filled(MAIL_BODY_WITHOUT_REFERENCE, values)
    return filled(MAIL_SUBJECT, values), filled(MAIL_BODY, values)


def security_mail(purpose: str, link: str, minutes: int) -> tuple[Message, Message]:
    """The (subject, body) of a verification or password-reset mail."""
    subject, body = SECURITY[purpose]
    return subject, filled(body, {"link": link, "count": minutes})
