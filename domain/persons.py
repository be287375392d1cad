"""The facts a person is registered with, passed unchanged from the schema's input through
the resolver (which checks and normalises them) to the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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
