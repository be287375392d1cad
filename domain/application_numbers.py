"""Application numbers: the form they are issued in, and how a number someone types is read."""

from __future__ import annotations

import re
import unicodedata

SEQUENCE_DIGITS = 6
# Longer input is no number: refused before it reaches the database.
MAX_TYPED_LENGTH = 64
# The longest number the service issues (and stores): a longer candidate is no number.
MAX_NUMBER_LENGTH = 40

# Spaces and every dash a keyboard or an input method produces separate the parts alike.
_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+")
_NUMBER = re.compile(
    r"(?P<office>[A-Z0-9]+(?:-[A-Z0-9]+)*?)-?(?P<year>[0-9]{4})-?(?P<sequence>[0-9]{6})"
)


def format_application_number(office_code: str, year: int, sequence: int) -> str:
    """The number printed on the receipt: office code, year, six-digit sequence."""
    return f"{office_code}-{year}-{sequence:0{SEQUENCE_DIGITS}d}"


def application_number_candidates(typed: str) -> list[str]:
    """The issued numbers a typed number may stand for (the literal reading first), or none
    when it cannot be one.

    Read as issued, whatever the way it was typed: letter case is ignored, full-width
    characters count as their ASCII forms, and spaces or any dash separate the parts, so
    `bj dc 2026 000123` and `ＢＪ－ＤＣ－２０２６－０００１２３` read as `BJ-DC-2026-000123`. The
    year and the sequence may be run together with the office code (`BJDC2026000123`); when the
    office code is typed without its hyphen, each place one hyphen could go is a candidate.
    """
    text = unicodedata.normalize("NFKC", typed).upper()
    text = _SEPARATORS.sub("-", text).strip("-")
    if len(text) > MAX_TYPED_LENGTH:
        return []
    match = _NUMBER.fullmatch(text)
    if match is None:
        return []
    office = match["office"]
    year, sequence = int(match["year"]), int(match["sequence"])
    offices = [office]
    if "-" not in office:
        offices += [f"{office[:i]}-{office[i:]}" for i in range(1, len(office))]
    candidates = (format_application_number(code, year, sequence) for code in offices)
    return [number for number in candidates if len(number) <= MAX_NUMBER_LENGTH]
