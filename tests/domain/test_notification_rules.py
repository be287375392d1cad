"""Rules of notifications without a database: reminder stages, back-off, preferences, scopes,
and the texts of every kind in every language."""

from __future__ import annotations

import string
from datetime import date, timedelta

import pytest

from domain import notification_texts as texts
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


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


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
def test_every_kind_reads_in_every_language_with_the_placeholders_of_english(language):
    table = texts.INBOX[language]
    assert set(table) == set(Kind)
    for kind, (title, body) in table.items():
        english = texts.INBOX["EN"][kind]
        assert _placeholders(title + body) == _placeholders(english[0] + english[1]), kind
        rendered_title, rendered_body = texts.render(kind, language, FACTS)
        assert "{" not in rendered_title + rendered_body
        assert rendered_title and rendered_body


def test_facts_kept_per_language_are_read_in_that_language():
    assert "东城接待大厅" in texts.render("APPOINTMENT_BOOKED", "ZH", FACTS)[1]
    assert "Dongcheng Centre" in texts.render("APPOINTMENT_BOOKED", "KO", FACTS)[1]
    assert "materials requested" in texts.render("APPLICATION_STATUS_CHANGED", "EN", FACTS)[1]
    assert "需补充材料" in texts.render("APPLICATION_STATUS_CHANGED", "ZH", FACTS)[1]


def test_the_officers_note_is_shown_only_when_materials_are_requested():
    asked = texts.render("APPLICATION_STATUS_CHANGED", "EN", FACTS)[1]
    assert "a colour photo" in asked
    approved = texts.render("APPLICATION_STATUS_CHANGED", "EN", {**FACTS, "status": "APPROVED"})
    assert "a colour photo" not in approved[1]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(Kind))
def test_mail_carries_the_kind_the_reference_and_the_link_only(language, kind):
    subject, body = texts.notification_mail(kind, language, "REF-123", "https://x.example/sign-in")
    assert "REF-123" in subject and "REF-123" in body and "https://x.example/sign-in" in body
    for private in ("Dongcheng", "a colour photo", "a burst pipe", "Kim", "DOE", "09:30"):
        assert private not in subject + body
    assert "{" not in subject + body


@pytest.mark.parametrize("language", LANGUAGES)
def test_mail_without_a_reference_names_the_kind_and_the_link(language):
    subject, body = texts.notification_mail("WAITLIST_OFFER", language, "", "https://x/sign-in")
    assert subject == texts.label("WAITLIST_OFFER", language)
    assert "https://x/sign-in" in body and "()" not in subject + body and "{" not in body
    assert len(body.strip().split("\n")) == 3  # the kind, a blank line, the link


def test_an_unknown_language_falls_back_to_english():
    assert texts.render("APPOINTMENT_BOOKED", "PT", FACTS) == texts.render(
        "APPOINTMENT_BOOKED", "EN", FACTS
    )
    assert texts.security_mail("PASSWORD_RESET", "PT", "https://x/#token=t", 30)[0] == (
        "Reset your password"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_security_mail_reads_in_every_language_with_its_link_and_lifetime(language):
    for purpose in ("EMAIL_VERIFICATION", "PASSWORD_RESET"):
        assert purpose in texts.SECURITY[language]
        subject, body = texts.security_mail(purpose, language, "https://x/#token=t0k", 30)
        assert subject and "https://x/#token=t0k" in body and "30" in body


@pytest.mark.parametrize("language", LANGUAGES)
def test_words_and_labels_exist_in_every_language(language):
    assert set(texts.WORDS[language]) == set(texts.WORDS["EN"])
    assert set(texts.LABEL[language]) == set(texts.LABEL["EN"])
