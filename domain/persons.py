"""The facts a person is registered with, passed unchanged from the schema's input through
the resolver (which checks and normalises them) to the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

# The most UTF-8 bytes surname and given names take together: 100 and 200 characters of
# three bytes (any Chinese character of the Basic Multilingual Plane), the longest names
# whose certificate is tested to fit its QR code. As many characters beyond that plane (four
# bytes each) would not fit any QR code.
MAX_NAME_BYTES = 900


def names_too_long(surname: str, given_names: str) -> bool:
    return len(surname.encode()) + len(given_names.encode()) > MAX_NAME_BYTES


@dataclass(frozen=True)
class IdentityFacts:
    """The four facts of a passport page a person is found by, as typed (the resolver
    normalises them before matching)."""

    passport_number: str
    nationality: str
    birth_date: date
    surname: str


@dataclass(frozen=True)
class PersonFacts:
    """A person as their passport shows them, with that passport. `passport_country` is the
    issuing country; None means the person's nationality."""

    surname: str
    given_names: str
    nationality: str
    birth_date: date
    sex: str
    passport_number: str
    passport_valid_until: date
    passport_country: str | None = None

    @property
    def issuing_country(self) -> str:
        return self.passport_country or self.nationality
