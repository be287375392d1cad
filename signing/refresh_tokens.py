"""Refresh-token values: new ones, their lookup hash, and a successor sealed under its predecessor.

A rotated refresh token keeps its successor for a short grace window, so that a second
presentation of the same token (two tabs, a retrying client) gets the same successor. The
successor is encrypted (AES-256-GCM) with a key derived from the predecessor's own value,
which the server never stores (only its SHA-256 lookup hash): whoever reads the database, even
with the key-encryption key, cannot open it; only a client presenting the predecessor can.
That client could have had the successor anyway by refreshing first.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from signing.digests import lookup_hash

_INFO = b"immigration refresh-token successor v1"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _key(predecessor: str) -> bytes:
    # Domain-separated from the lookup hash, so the stored hash says nothing about this key.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(
        predecessor.encode()
    )


def seal_successor(predecessor: str, successor: str) -> str:
    nonce = secrets.token_bytes(12)
    aad = lookup_hash(predecessor).encode()  # bound to its row: not movable to another token
    sealed = AESGCM(_key(predecessor)).encrypt(nonce, successor.encode(), aad)
    return base64.urlsafe_b64encode(nonce + sealed).decode()


def open_successor(predecessor: str, sealed: str) -> str | None:
    """The successor, or None when `sealed` was not made for this predecessor."""
    try:
        raw = base64.urlsafe_b64decode(sealed.encode())
        aad = lookup_hash(predecessor).encode()
        return AESGCM(_key(predecessor)).decrypt(raw[:12], raw[12:], aad).decode()
    except (InvalidTag, ValueError):
        return None
