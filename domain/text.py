"""Which characters a text sent to the service may hold: no control characters, line breaks
and tabs only in texts with lines, and nothing that is not a Unicode scalar value."""

from __future__ import annotations

import re
import unicodedata

from domain.messages import N_, Message

# C0 controls, DEL and C1 controls; unpaired surrogates (JSON's "\ud800" decodes to one)
# cannot be stored as UTF-8 at all.
_CONTROLS = "\x00-\x1f\x7f-\x9f"
_SURROGATES = "\ud800-\udfff"
_ONE_LINE_REFUSED = re.compile(f"[{_CONTROLS}{_SURROGATES}]")
_LINES_REFUSED = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_SURROGATES}]")


def text_problem(value: str, *, multi_line: bool = False, field: str = "text") -> Message | None:
    """Why the text of `field` is not acceptable, or None. One-line texts (names, codes,
    e-mail addresses, keys, filters) refuse every control character; multi-line texts (notes,
    reasons) allow line feed, carriage return and tab."""
    found = (_LINES_REFUSED if multi_line else _ONE_LINE_REFUSED).search(value)
    if found is None:
        return None
    if "\ud800" <= found.group() <= "\udfff":
        return N_(
            "`%(field)s` must be valid Unicode text (it holds an unpaired surrogate).", field=field
        )
    if multi_line:
        return N_(
            "`%(field)s` must not contain control characters other than line breaks and tabs.",
            field=field,
        )
    return N_("`%(field)s` must not contain control characters or line breaks.", field=field)


# The explicit bidirectional embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO,
# LRI, RLI, FSI, PDI): in a name shown to others they make it read as another ("Trojan
# Source", CVE-2021-42574). The marks LRM and RLM, and the joiners some scripts need, stay.
_REORDERING = re.compile("[\u202a-\u202e\u2066-\u2069]")


def reordering_problem(value: str) -> Message | None:
    """Why a name others read (a display name, a person's names on a certificate) is not
    acceptable for the characters that reorder how it shows, or None."""
    if _REORDERING.search(value) is None:
        return None
    return N_(
        "This holds a character that reverses or reorders text (U+202A-U+202E, "
        "U+2066-U+2069); remove it."
    )


NOTHING_SHOWN = N_(
    "This shows nothing readable (only spaces, joiners or marks): enter the name as written."
)


def name_problem(value: str) -> Message | None:
    """Why a name others read (a display name, a person's names) is not acceptable, or None:
    it shows nothing (a zero-width space alone would pass for a name while showing none), or
    it holds a character that reorders how it shows. An empty name is for its caller to
    judge (a person may have no given names)."""
    if value and not any(unicodedata.category(c)[0] in "LNPS" for c in value):
        return NOTHING_SHOWN
    return reordering_problem(value)
