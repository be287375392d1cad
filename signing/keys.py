"""Signing keys: generation, encryption at rest, the key ring each process keeps, the JWK Set."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime

from jwcrypto import jwk

from persistence import signing_keys
from persistence.models import KeyPurpose, KeyState, SigningKey
from settings import Settings

log = logging.getLogger(__name__)

ALG = "EdDSA"


class KeyConfigurationError(RuntimeError):
    """The service cannot start safely with its key configuration."""


def key_encryption_key(settings: Settings) -> bytes:
    """The secret that encrypts private keys at rest.

    Production must provide KEY_ENCRYPTION_KEY; development generates one under data/.
    """
    if settings.key_encryption_key:
        return settings.key_encryption_key.encode()
    if settings.is_production:
        raise KeyConfigurationError(
            "KEY_ENCRYPTION_KEY is not set: production refuses to start without the secret "
            "that encrypts signing keys at rest."
        )
    path = settings.data_dir / "key-encryption-key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


@dataclass(frozen=True)
class GeneratedKey:
    kid: str
    public_jwk: dict
    private_pem: str


# What a kid of this service looks like (generate_key): a purpose prefix and a thumbprint.
KID_FORM = re.compile(r"(?:at|doc)-[A-Za-z0-9_-]{16}")
UNKNOWN_KID_SECONDS = 60.0
UNKNOWN_KIDS_KEPT = 1024


def generate_key(kek: bytes, purpose: str) -> GeneratedKey:
    key = jwk.JWK.generate(kty="OKP", crv="Ed25519")
    prefix = "doc" if purpose == KeyPurpose.DOCUMENT else "at"
    kid = f"{prefix}-{key.thumbprint()[:16]}"
    public = key.export_public(as_dict=True)
    public.update({"kid": kid, "alg": ALG, "use": "sig"})
    pem = key.export_to_pem(private_key=True, password=kek).decode()
    return GeneratedKey(kid=kid, public_jwk=public, private_pem=pem)


@dataclass
class LoadedKey:
    kid: str
    purpose: str
    state: str
    public_jwk: dict
    private: jwk.JWK | None
    last_expiry: datetime | None
    retired_at: datetime | None


class KeyRing:
    """The keys this process knows, reloaded from the database when they may have changed."""

    def __init__(self, settings: Settings) -> None:
        self._kek = key_encryption_key(settings)
        self._keys: dict[str, LoadedKey] = {}
        self._lock = asyncio.Lock()
        # Well-formed kids looked up and not found, until when they are taken as unknown.
        self._unknown: dict[str, float] = {}

    async def ensure(self, now: datetime) -> None:
        """Make sure each purpose has an ACTIVE key and documents a NEXT one, then load all."""
        wanted = [
            (KeyPurpose.ACCESS, KeyState.ACTIVE),
            (KeyPurpose.DOCUMENT, KeyState.ACTIVE),
            (KeyPurpose.DOCUMENT, KeyState.NEXT),
        ]
        for purpose, state in wanted:
            existing = await signing_keys.keys_for(purpose)
            if any(k.state == state for k in existing):
                continue
            generated = await asyncio.to_thread(generate_key, self._kek, purpose)
            await signing_keys.add_key(
                kid=generated.kid,
                purpose=purpose,
                state=state,
                alg=ALG,
                public_jwk=generated.public_jwk,
                private_pem=generated.private_pem,
                now=now,
            )
        await self.reload()

    async def reload(self) -> None:
        async with self._lock:
            rows: list[SigningKey] = []
            for purpose in (KeyPurpose.ACCESS, KeyPurpose.DOCUMENT):
                rows.extend(await signing_keys.keys_for(purpose))
            keys: dict[str, LoadedKey] = {}
            for row in rows:
                cached = self._keys.get(row.kid)
                private = cached.private if cached else None
                if private is None and row.state != KeyState.RETIRED:
                    private = _decrypted(row, self._kek)
                keys[row.kid] = LoadedKey(
                    kid=row.kid,
                    purpose=row.purpose,
                    state=row.state,
                    public_jwk=row.public_jwk,
                    private=private,
                    last_expiry=row.last_expiry,
                    retired_at=row.retired_at,
                )
            self._keys = keys

    def active(self, purpose: str) -> LoadedKey:
        for key in self._keys.values():
            if key.purpose == purpose and key.state == KeyState.ACTIVE:
                return key
        raise KeyConfigurationError(f"no active {purpose} key: run the server once to create it")

    async def find(self, kid: str, purpose: str) -> LoadedKey | None:
        """The key with that kid and purpose; reloads once when it is unknown (a rotation).
        A kid that is not of the form the service gives its keys ("at-" or "doc-" and a
        thumbprint), as anyone can write in a token's header before its signature is checked,
        is unknown without a database lookup (a NUL or a lone surrogate would fail one), and
        a well-formed kid found unknown is remembered as such for a minute."""
        key = self._keys.get(kid)
        if key is None:
            if not KID_FORM.fullmatch(kid) or self._unknown.get(kid, 0.0) > time.monotonic():
                return None
            row = await signing_keys.key_by_kid(kid)
            if row is None:
                if len(self._unknown) >= UNKNOWN_KIDS_KEPT:
                    self._unknown.clear()
                self._unknown[kid] = time.monotonic() + UNKNOWN_KID_SECONDS
                return None
            await self.reload()
            key = self._keys.get(kid)
        if key is None or key.purpose != purpose:
            return None
        return key

    def public_jwk(self, key: LoadedKey) -> jwk.JWK:
        return jwk.JWK(**key.public_jwk)

    def published_document_keys(self, now: datetime) -> list[dict]:
        """Active, next, and retired keys whose last document has not yet expired."""
        published = []
        for key in self._keys.values():
            if key.purpose != KeyPurpose.DOCUMENT:
                continue
            if key.state == KeyState.RETIRED and (key.last_expiry is None or key.last_expiry < now):
                continue
            published.append(dict(key.public_jwk))
        order = {KeyState.ACTIVE: 0, KeyState.NEXT: 1, KeyState.RETIRED: 2}
        states = {k.kid: k.state for k in self._keys.values()}
        return sorted(published, key=lambda j: order[KeyState(states[j["kid"]])])

    async def rotate_documents(self, now: datetime) -> tuple[str, str] | None:
        generated = await asyncio.to_thread(generate_key, self._kek, KeyPurpose.DOCUMENT)
        result = await signing_keys.rotate(
            KeyPurpose.DOCUMENT,
            new_kid=generated.kid,
            alg=ALG,
            public_jwk=generated.public_jwk,
            private_pem=generated.private_pem,
            now=now,
        )
        await self.reload()
        return result


def _decrypted(row: SigningKey, kek: bytes) -> jwk.JWK:
    """The private key of a stored signing key; a KeyConfigurationError naming the setting when
    this process's key-encryption key is not the one that encrypted it."""
    try:
        return jwk.JWK.from_pem(row.private_pem.encode(), password=kek)
    except (ValueError, TypeError) as exc:
        raise KeyConfigurationError(
            f"signing key {row.kid} cannot be decrypted with this KEY_ENCRYPTION_KEY: every "
            "process of one database needs the key that encrypted its signing keys (unset, "
            "development generates one in DATA_DIR/key-encryption-key)"
        ) from exc
