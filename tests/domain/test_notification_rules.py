"""Rules of notifications without a database: reminder stages, back-off, preferences, scopes,
and the texts of every kind in every language."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain import notification_texts as texts
from domain.messages import Message
from domain.notifications import (
    ALL_CHANNELS,
    KIND_SCOPE,
    LANGUAGES,
    PARTY_KINDS,
    Kind,
    appointment_reminder_due,
    channels_for,
    helper_hears,
    kinds_for_scopes,
    merged_preferences,
    preference_problem,
    reminder_due,
    retry_delay_s,
)
from translations import CATALOGUES, render

DEADLINE = date(2027, 3, 31)


def days(n: int) -> date:
    return DEADLINE - timedelta(days=n)


@pytest.mark.parametrize(
    ("today", "due"),
    [
        (days(61), None),  # before the window opens
        (days(60), days(60)),
        (days(30), days(60)),  # the stage reached last, until the next one
        (days(14), days(14)),
        (days(5), days(14)),
        (days(3), days(3)),
        (days(1), days(3)),
        (days(0), None),  # never on the deadline
        (days(-1), None),  # nor after it
    ],
)
def test_a_reminder_is_due_from_its_stage_and_never_on_or_after_the_day(today, due):
    assert reminder_due(DEADLINE, (60, 14, 3), today) == due


def test_offsets_of_zero_or_less_never_fall_due():
    assert reminder_due(DEADLINE, (0, -3), days(1)) is None
    assert reminder_due(DEADLINE, (0, 1), DEADLINE - timedelta(days=1)) == days(1)


def test_an_appointment_reminder_is_due_on_the_day_before_only():
    day = date(2027, 1, 5)
    assert appointment_reminder_due(day, date(2027, 1, 4)) == date(2027, 1, 4)
    assert appointment_reminder_due(day, date(2027, 1, 3)) is None
    assert appointment_reminder_due(day, day) is None


def test_back_off_doubles_up_to_the_cap():
    assert [retry_delay_s(n, 30, 3600) for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert retry_delay_s(0, 30, 3600) == 30


def test_each_kind_but_a_delegations_needs_one_scope():
    assert set(KIND_SCOPE) | PARTY_KINDS == set(Kind)
    assert not set(KIND_SCOPE) & PARTY_KINDS
    assert kinds_for_scopes(["VIEW_APPLICATIONS"]) == ["APPLICATION_STATUS_CHANGED"]
    assert "WAITLIST_OFFER" in kinds_for_scopes(["BOOK_APPOINTMENTS"])
    assert helper_hears("CERTIFICATE_ISSUED", ["VIEW_DOCUMENTS"])
    assert not helper_hears("CERTIFICATE_ISSUED", ["BOOK_APPOINTMENTS"])
    assert not helper_hears("DELEGATION_REQUESTED", ["BOOK_APPOINTMENTS", "VIEW_DOCUMENTS"])


def test_preferences_keep_only_departures_from_every_channel():
    assert channels_for(None, "WAITLIST_OFFER") == ALL_CHANNELS
    stored = merged_preferences({}, [("WAITLIST_OFFER", ["EMAIL"]), ("CERTIFICATE_ISSUED", [])])
    assert stored == {"WAITLIST_OFFER": ["EMAIL"], "CERTIFICATE_ISSUED": []}
    assert channels_for(stored, "CERTIFICATE_ISSUED") == frozenset()
    assert channels_for(stored, "APPOINTMENT_BOOKED") == ALL_CHANNELS
    back = merged_preferences(stored, [("WAITLIST_OFFER", ["EMAIL", "INBOX"])])
    assert back == {"CERTIFICATE_ISSUED": []}
    assert preference_problem([("A", ["INBOX"]), ("A", [])]) is not None
    assert preference_problem([("A", ["INBOX", "INBOX"])]) is not None
    assert preference_problem([("A", ["INBOX"]), ("B", [])]) is None


def in_language(pair: tuple[Message, Message], language: str) -> tuple[str, str]:
    """A pair of texts as the addressee reads it (resolvers.notifications.in_language)."""
    first, second = pair
    return render(first, language.lower()), render(second, language.lower())


FACTS = {
    "reference": "REF-123",
    "previous": "REF-100",
    "office_en": "Dongcheng Centre",
    "office_zh": "东城接待大厅",
    "when": "2027-01-05 09:30",
    "reason": "a burst pipe",
    "status": "MATERIALS_REQUESTED",
    "note": "a colour photo",
    "deadline": "2027-03-31",
    "valid_until": "2027-04-30",
    "days": "14",
    "helper": "Kim",
    "scopes": "BOOK_APPOINTMENTS,VIEW_DOCUMENTS",
    "surname": "DOE",
    "answer": "DECLINED",
    "expires": "2027-01-05 10:00",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_kind_reads_in_every_language_with_its_facts(language):
    assert set(texts.INBOX) == set(Kind)
    for kind in Kind:
        title, body = in_language(texts.inbox(kind, language, FACTS), language)
        assert title and body, kind
        assert "%(" not in title + body and "{" not in title + body, (kind, title, body)
        english = in_language(texts.inbox(kind, "EN", FACTS), "EN")
        if language != "EN":
            assert (title, body) != english, (kind, language)
        for fact in ("reference", "when", "expires", "deadline", "valid_until", "helper"):
            if FACTS[fact] in english[1]:
                assert FACTS[fact] in body, (kind, language, fact)


def test_facts_kept_per_language_are_read_in_that_language():
    assert "东城接待大厅" in in_language(texts.inbox("APPOINTMENT_BOOKED", "ZH", FACTS), "ZH")[1]
    assert (
        "Dongcheng Centre" in in_language(texts.inbox("APPOINTMENT_BOOKED", "KO", FACTS), "KO")[1]
    )
    changed = texts.inbox("APPLICATION_STATUS_CHANGED", "EN", FACTS)
    assert "materials requested" in in_language(changed, "EN")[1]
    assert (
        "需补充材料" in in_language(texts.inbox("APPLICATION_STATUS_CHANGED", "ZH", FACTS), "ZH")[1]
    )


def test_words_facts_take_are_read_in_the_readers_language():
    """Statuses, answers and scopes are messages of their own, rendered with the text."""
    requested = in_language(texts.inbox("DELEGATION_REQUESTED", "ZH", FACTS), "ZH")[1]
    assert "（预约、证件）" in requested  # the Chinese list separator
    requested = in_language(texts.inbox("DELEGATION_REQUESTED", "FR", FACTS), "FR")[1]
    assert "(rendez-vous, documents)" in requested
    answered = in_language(texts.inbox("DELEGATION_ANSWERED", "RU", FACTS), "RU")[1]
    assert answered.endswith("DOE отклонена.")
    # The same English word, two meanings: an application ACCEPTED, a request accepted.
    status = {**FACTS, "status": "ACCEPTED"}
    assert "已受理" in in_language(texts.inbox("APPLICATION_STATUS_CHANGED", "ZH", status), "ZH")[1]
    answer = {**FACTS, "answer": "ACTIVE"}
    assert "已获同意" in in_language(texts.inbox("DELEGATION_ANSWERED", "ZH", answer), "ZH")[1]


def test_counted_texts_follow_each_languages_plural_forms():
    def expiring(days: str, language: str) -> str:
        pair = texts.inbox("DOCUMENT_EXPIRING", language, {**FACTS, "days": days})
        return in_language(pair, language)[0]

    assert expiring("1", "EN") == "Document expires in 1 day"
    assert expiring("14", "EN") == "Document expires in 14 days"
    assert [expiring(n, "RU").rpartition("через ")[2] for n in ("1", "3", "14", "21")] == [
        "1 день",
        "3 дня",
        "14 дней",
        "21 день",
    ]
    assert expiring("2", "AR").endswith("يومين") and expiring("11", "AR").endswith("11 يومًا")


def test_the_officers_note_is_shown_only_when_materials_are_requested():
    asked = in_language(texts.inbox("APPLICATION_STATUS_CHANGED", "EN", FACTS), "EN")[1]
    assert "a colour photo" in asked
    approved = {**FACTS, "status": "APPROVED"}
    body = in_language(texts.inbox("APPLICATION_STATUS_CHANGED", "EN", approved), "EN")[1]
    assert "a colour photo" not in body


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_mail_carries_the_kind_the_reference_and_the_link_only(language, kind):
    subject, body = in_language(
        texts.notification_mail(kind, "REF-123", "https://x.example/sign-in"), language
    )
    assert "REF-123" in subject and "REF-123" in body and "https://x.example/sign-in" in body
    assert render(texts.label(kind), language.lower()) in subject
    for private in ("Dongcheng", "a colour photo", "a burst pipe", "Kim", "DOE", "09:30"):
        assert private not in subject + body
    assert "%(" not in subject + body and "{" not in subject + body


@pytest.mark.parametrize("language", LANGUAGES)
def test_mail_without_a_reference_names_the_kind_and_the_link(language):
    subject, body = in_language(
        texts.notification_mail("WAITLIST_OFFER", "", "https://x/sign-in"), language
    )
    assert subject == render(texts.label("WAITLIST_OFFER"), language.lower())
    assert "https://x/sign-in" in body and "()" not in subject + body and "%(" not in body
    assert len(body.strip().split("\n")) == 3  # the kind, a blank line, the link


def test_an_unknown_language_falls_back_to_english():
    assert in_language(texts.inbox("APPOINTMENT_BOOKED", "PT", FACTS), "PT") == in_language(
        texts.inbox("APPOINTMENT_BOOKED", "EN", FACTS), "EN"
    )
    mail = texts.security_mail("PASSWORD_RESET", "https://x/#token=t", 30)
    assert in_language(mail, "PT")[0] == "Reset your password"


@pytest.mark.parametrize("language", LANGUAGES)
def test_security_mail_reads_in_every_language_with_its_link_and_lifetime(language):
    for purpose in ("EMAIL_VERIFICATION", "PASSWORD_RESET"):
        assert purpose in texts.SECURITY
        subject, body = in_language(
            texts.security_mail(purpose, "https://x/#token=t0k", 30), language
        )
        assert subject and "https://x/#token=t0k" in body and "30" in body
        english = in_language(texts.security_mail(purpose, "https://x/#token=t0k", 30), "EN")
        if language != "EN":
            assert (subject, body) != english


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "EN"])
def test_words_and_labels_are_translated_in_every_language(language):
    """Translated in the catalogue, not English passed through (gettext answers the id of a
    message it lacks)."""
    catalogue = CATALOGUES[language.lower()]
    words = [word for table in texts.WORDS.values() for word in table.values()]
    for word in [*words, texts.LIST]:
        assert catalogue.pgettext(word.context, word.id) != word.id or word.id in (
            "documents",  # French and English share the word
            "%(head)s, %(last)s",  # and the list separator
        ), (language, word.id)
    for label in texts.LABEL.values():
        assert catalogue.gettext(label.id) != label.id, (language, label.id)
