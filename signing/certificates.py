"""Passport-information certificates: compact JWS documents and their verification.

Verification is pure: it takes the published keys (a JWK Set) and a way to ask whether a
token id is revoked, so the server and the offline command share every rule.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from jwcrypto import jwk, jws

from signing.qr import qr_svg
from signing.verification import (
    CERTIFICATE_TYPE,
    DOCUMENT_KIND,
    Verification,
    key_id_of,
    verify,
)

# qr_svg stays importable from here for older callers (bench/signing.py).
__all__ = ["Verification", "key_id_of", "qr_svg", "revoked", "sign", "verify"]


@dataclass(frozen=True)
class SignedCertificate:
    token: str
    jti: str
    kid: str
    issued_at: datetime
    expires_at: datetime


def sign(
    *,
    private_key: jwk.JWK,
    kid: str,
    alg: str,
    issuer: str,
    subject: str,
    facts: dict[str, Any],
    now: datetime,
    validity_days: int,
    not_after: datetime | None = None,
) -> SignedCertificate:
    """Sign the facts as a compact JWS with the document key, valid for `validity_days` but
    never past `not_after` (the end of the PR card's validity)."""
    issued = now.replace(microsecond=0)
    expires = issued + timedelta(days=validity_days)
    if not_after is not None:
        expires = min(expires, not_after.replace(microsecond=0))
    jti = secrets.token_urlsafe(16)
    claims = {
        "iss": issuer,
        "sub": subject,
        "jti": jti,
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "doc": DOCUMENT_KIND,
        **facts,
    }
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signer = jws.JWS(payload.encode())
    signer.add_signature(
        private_key,
        alg=alg,
        protected=json.dumps({"alg": alg, "kid": kid, "typ": CERTIFICATE_TYPE}),
    )
    return SignedCertificate(
        token=signer.serialize(compact=True),
        jti=jti,
        kid=kid,
        issued_at=issued,
        expires_at=expires,
    )


def revoked(result: Verification) -> Verification:
    """The same verification, failed as REVOKED (checked only where revocations are known)."""
    return replace(result, valid=False, failure="REVOKED")
