"""What an account's e-mail address and display name must look like."""

from __future__ import annotations

import unicodedata

from domain.messages import N_, Message
from domain.text import name_problem

# What a local part may hold besides letters and digits (RFC 5322's atext): no <, >, comma,
# semicolon, quote, bracket or parenthesis, which a mail program reads as a display name, a
# second recipient or a comment, sending the mail elsewhere.
_ATEXT = frozenset("!#$%&'*+/=?^_`{|}~-")


def _plain_char(char: str, extra: frozenset[str]) -> bool:
    """An ASCII letter or digit, one of `extra`, or a printable non-ASCII character that is
    not a space (internationalised addresses, RFC 6531)."""
    if char.isascii():
        return char.isalnum() or char in extra
    return char.isprintable() and not char.isspace()


def _plain_local_part(local: str) -> bool:
    atoms = local.split(".")
    return 1 <= len(local) <= 64 and all(
        atom and all(_plain_char(c, _ATEXT) for c in atom) for atom in atoms
    )


def _plain_domain(domain: str) -> bool:
    labels = domain.split(".")
    return (
        len(labels) >= 2
        and all(
            1 <= len(label) <= 63
            and not label.startswith("-")
            and not label.endswith("-")
            and all(_plain_char(c, frozenset("-")) for c in label)
            for label in labels
        )
        and len(labels[-1]) >= 2
        and not labels[-1].isdigit()
    )


def normalise_email(email: str) -> str:
    """The one spelling of an address: trimmed, in Unicode's NFC ("é" one character, however
    the keyboard sent it), in lower case."""
    return unicodedata.normalize("NFC", email.strip()).lower()


def email_problem(email: str) -> Message | None:
    """Why a (normalised) e-mail address is not acceptable, or None: a plain address
    (local-part@domain), nothing a mail program could read as another recipient."""
    local, at, domain = email.rpartition("@")
    if len(email) > 254 or not at or not _plain_local_part(local) or not _plain_domain(domain):
        return N_("Enter a valid e-mail address.")
    return None


def normalise_display_name(name: str) -> str:
    return " ".join(name.split())


def display_name_problem(name: str) -> Message | None:
    if not 1 <= len(name) <= 100:
        return N_("Enter a display name of 1 to 100 characters.")
    return name_problem(name)
