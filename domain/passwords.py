"""The minimum strength a password must have."""

from __future__ import annotations

from domain.messages import N_, Message, N_plural

# A short list of the passwords attackers try first; long enough to refuse the obvious.
_COMMON = frozenset(
    {
        "password",
        "password1",
        "password123",
        "passw0rd",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "qwerty123",
        "iloveyou",
        "11111111",
        "00000000",
        "abc12345",
        "letmein123",
        "welcome123",
        "admin12345",
        "123123123",
        "1q2w3e4r5t",
        "zaq12wsx",
        "password!",
        "qwerty12345",
        "changeme123",
        "dragon1234",
    }
)


def password_problem(password: str, *, min_length: int, email: str = "") -> Message | None:
    """Why a password is too weak, or None when it is acceptable."""
    if len(password) < min_length:
        return N_plural(
            "Use at least %(count)s character.", "Use at least %(count)s characters.", min_length
        )
    if len(password) > 256:
        return N_("Use at most %(maximum)s characters.", maximum=256)
    lowered = password.lower()
    if lowered in _COMMON:
        return N_("This password is too common; choose another.")
    if len(set(password)) < 5:
        return N_("Use a less repetitive password.")
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return N_("The password must not contain your e-mail address.")
    return None
