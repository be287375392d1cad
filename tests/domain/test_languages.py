"""Choosing the language from Accept-Language (q-values, regional variants, wildcards) or a
single tag, and messages as the English source text they are."""

import copy
import pickle

import pytest

from domain.languages import LANGUAGES, MAX_RANGES, SOURCE_LANGUAGE, language_of_tag, negotiate
from domain.messages import N_, Message, N_plural


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "en"),
        ("", "en"),
        ("ko", "ko"),
        ("ko-KR", "ko"),
        ("KO-kr", "ko"),
        ("zh-CN", "zh"),
        ("zh-Hans", "zh"),
        ("zh-Hans-CN", "zh"),
        # Simplified Chinese is the only Chinese written here, and read far better than English.
        ("zh-TW", "zh"),
        ("zh-Hant-HK", "zh"),
        ("ja-JP", "ja"),
        ("ru-RU", "ru"),
        ("fr-CA", "fr"),
        ("es-419", "es"),
        ("ar-EG", "ar"),
        ("en-GB", "en"),
        ("pt-BR", "en"),
        ("pt-BR, pt;q=0.9", "en"),
        ("pt-BR, es;q=0.4", "es"),
        ("fr;q=0.5, ko;q=0.9", "ko"),
        ("de-DE, de;q=0.9, en;q=0.8, zh-CN;q=0.7", "en"),
        ("de-DE, de;q=0.9, zh-CN;q=0.7, en;q=0.6", "zh"),
        ("ko;q=0, ja", "ja"),
        ("zh-TW;q=0, zh-CN;q=0.8, en;q=0.5", "zh"),
        ("*", "en"),
        ("de, *;q=0.5", "en"),
        ("ru, *;q=0.5", "ru"),
        ("en;q=0, *", "en"),
        ("ja;q=0.8, ko;q=0.8", "ja"),
        ("ko;q=0.8, ja;q=0.8", "ko"),
        ("fr;q=abc, ru;q=0.3", "ru"),
        ("fr;q=2, ru;q=0.3", "ru"),
        ("fr;q=nan, ru;q=0.3", "ru"),
        ("  es  ;  q=0.7 , ar ; q=0.71 ", "ar"),
        ("ko_KR.UTF-8", "ko"),
        (",,,;;", "en"),
    ],
)
def test_the_language_negotiated_from_accept_language(header: str | None, expected: str) -> None:
    assert negotiate(header) == expected


def test_a_header_is_read_up_to_its_first_ranges_only() -> None:
    filler = ", ".join(["de"] * MAX_RANGES)
    assert negotiate(f"{filler}, ko") == SOURCE_LANGUAGE
    assert negotiate("de, " * (MAX_RANGES - 2) + "ko") == "ko"


def test_every_language_of_the_contract_is_spoken() -> None:
    assert LANGUAGES == ("en", "zh", "ko", "ja", "ru", "fr", "es", "ar")
    assert all(language_of_tag(code.upper()) == code for code in LANGUAGES)
    assert language_of_tag("*") is None
    assert language_of_tag("pt") is None


def test_a_message_is_its_english_text_with_placeholders_filled() -> None:
    message = N_("Ask for %(what)s by %(when)s.", what="slots", when="noon")
    assert message == "Ask for slots by noon."
    assert isinstance(message, str)
    assert message.id == "Ask for %(what)s by %(when)s."
    assert message.params == {"what": "slots", "when": "noon"}


def test_a_plural_message_takes_the_english_form_of_its_count() -> None:
    one = N_plural("%(count)s day left.", "%(count)s days left.", 1)
    many = N_plural("%(count)s day left.", "%(count)s days left.", 21)
    none = N_plural("%(count)s day left.", "%(count)s days left.", 0)
    assert (one, many, none) == ("1 day left.", "21 days left.", "0 days left.")
    assert many.id == "%(count)s day left." and many.plural == "%(count)s days left."


def test_a_message_without_parameters_keeps_percent_signs_as_written() -> None:
    assert N_("100% sure.") == "100% sure."


def test_copies_of_a_message_keep_its_id_and_parameters() -> None:
    message = N_plural("%(count)s try, %(who)s.", "%(count)s tries, %(who)s.", 3, who="you")
    for copied in (copy.deepcopy(message), pickle.loads(pickle.dumps(message))):  # noqa: S301
        assert isinstance(copied, Message)
        assert (copied.id, copied.plural, copied.count, dict(copied.params)) == (
            message.id,
            message.plural,
            3,
            {"count": 3, "who": "you"},
        )
        assert copied == "3 tries, you."
