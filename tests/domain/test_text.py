"""Which characters a text may hold; days and moments inside the service's calendar."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from domain.dates import out_of_range
from domain.text import NOTHING_SHOWN, name_problem, text_problem


@pytest.mark.parametrize("text", ["Wang Fang", "Müller-Lüdenscheidt", "王芳", "O'Brien", ""])
def test_ordinary_texts_are_accepted(text):
    assert text_problem(text) is None
    assert text_problem(text, multi_line=True) is None


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x80", "\x85", "\x9f"])
def test_control_characters_are_refused_in_every_text(char):
    assert text_problem(f"a{char}b") is not None
    assert text_problem(f"a{char}b", multi_line=True) is not None


@pytest.mark.parametrize("char", ["\n", "\r", "\t"])
def test_line_breaks_and_tabs_only_in_texts_with_lines(char):
    assert text_problem(f"a{char}b") is not None
    assert text_problem(f"a{char}b", multi_line=True) is None


def test_an_unpaired_surrogate_is_refused_but_a_character_beyond_the_bmp_is_not():
    assert "Unicode" in (text_problem("a\ud800b", multi_line=True) or "")
    assert text_problem("a\U0001f600b") is None


def test_a_moment_counts_by_its_own_day():
    east = timezone(timedelta(hours=14))
    assert out_of_range(datetime(1, 1, 1, tzinfo=east))
    assert out_of_range(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-14))))
    assert not out_of_range(datetime(2026, 12, 1, 10, tzinfo=UTC), date(1900, 1, 1))


@pytest.mark.parametrize("name", ["\u200b", "\u200c\u200d", "\u0301", "\u2060", "\ufeff"])
def test_a_name_that_shows_nothing_is_refused(name):
    assert name_problem(name) is NOTHING_SHOWN


@pytest.mark.parametrize(
    "name", ["Wang Fang", "王芳", "Mehr\u200cnaz", "O'Brien", "\U0001f468\u200d\U0001f469", "", "7"]
)
def test_a_name_that_shows_something_is_accepted(name):
    assert name_problem(name) is None


def test_a_name_that_reorders_is_still_refused():
    assert name_problem("Li Wei\u202eX") is not None
    assert name_problem("Li Wei\u202eX") is not NOTHING_SHOWN
