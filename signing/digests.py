"""What the database and the rate limiter keep of a secret or a typed value: its digest."""

from __future__ import annotations

import hashlib


def lookup_hash(value: str) -> str:
    """SHA-256 of `value`, in hex: enough to find a stored token (refresh token, e-mail link)
    or to key a counter by a typed address, not to use or recover it; bounded in size
    whatever was sent."""
    return hashlib.sha256(value.encode()).hexdigest()
