"""What an account's e-mail address and display name must look like."""

from __future__ import annotations

import re

from domain.messages import N_, Message

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_problem(email: str) -> Message | None:
    """Why a (normalised) e-mail address is not acceptable, or None."""
    if len(email) > 254 or not _EMAIL.match(email):
        return N_("Enter a valid e-mail address.")
    return None


def normalise_display_name(name: str) -> str:
    return " ".join(name.split())


def display_name_problem(name: str) -> Message | None:
    if not 1 <= len(name) <= 100:
        return N_("Enter a display name of 1 to 100 characters.")
    return None
