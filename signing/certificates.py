"""Passport-information certificates: compact JWS documents and their verification.

Verification is pure: it takes the published keys (a JWK Set) and a way to ask whether a
token id is revoked, so the server and the offline command share every rule.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import segno
from jwcrypto import jwk, jws
from jwcrypto.common import JWException

CERTIFICATE_TYPE = "passport-info+jwt"
DOCUMENT_KIND = "PASSPORT_INFORMATION"


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
) -> SignedCertificate:
    """Sign the facts as a compact JWS with the document key."""
    issued = now.replace(microsecond=0)
    expires = issued + timedelta(days=validity_days)
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


def qr_svg(token: str) -> str:
    """An SVG QR code of the token, for a checker's phone or scanner."""
    buffer = io.BytesIO()
    segno.make(token, error="m", micro=False).save(
        buffer, kind="svg", scale=3, border=4, xmldecl=False, svgns=True
    )
    return buffer.getvalue().decode()


@dataclass(frozen=True)
class Verification:
    valid: bool
    failure: str | None  # MALFORMED, BAD_SIGNATURE, UNKNOWN_KEY, EXPIRED, REVOKED
    key_id: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    claims: dict[str, Any] | None = None


def _b64json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return json.loads(base64.urlsafe_b64decode(padded.encode()))


def _canonical(part: str) -> bool:
    try:
        raw = base64.urlsafe_b64decode((part + "=" * (-len(part) % 4)).encode())
    except (binascii.Error, ValueError):
        return False
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") == part


def _header(token: str) -> dict[str, Any] | None:
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        return None
    try:
        header = _b64json(parts[0])
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return None
    return header if isinstance(header, dict) else None


def key_id_of(token: str) -> str | None:
    header = _header(token.strip()) if isinstance(token, str) and len(token) <= 20_000 else None
    kid = header.get("kid") if header else None
    return kid if isinstance(kid, str) else None


def verify(token: str, keys: dict[str, dict[str, Any]], now: datetime) -> Verification:
    """Check a certificate against published keys (kid -> public JWK with its own `alg`).

    The algorithm is the key's own: a header naming another (or `none`) fails. Anything that
    is not a certificate, such as an access token, is MALFORMED.
    """
    if not isinstance(token, str) or len(token) > 20_000:
        return Verification(False, "MALFORMED")
    token = token.strip()
    header = _header(token)
    if header is None or header.get("typ") != CERTIFICATE_TYPE:
        return Verification(False, "MALFORMED")
    kid = header.get("kid")
    if not isinstance(kid, str):
        return Verification(False, "MALFORMED")
    key_data = keys.get(kid)
    if key_data is None:
        return Verification(False, "UNKNOWN_KEY", key_id=kid)
    if not all(_canonical(part) for part in token.split(".")):
        # Base64url with altered unused bits decodes to the same bytes: refuse it anyway, so
        # that any changed character of a token fails.
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    alg = key_data.get("alg")
    if header.get("alg") != alg:
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    try:
        checker = jws.JWS()
        checker.deserialize(token)
        checker.verify(jwk.JWK(**key_data), alg=alg)
        claims = json.loads(checker.payload)
    except (JWException, ValueError, TypeError):
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    if not isinstance(claims, dict) or claims.get("doc") != DOCUMENT_KIND:
        return Verification(False, "MALFORMED", key_id=kid)
    iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
    if not isinstance(iat, int) or not isinstance(exp, int) or not isinstance(jti, str):
        return Verification(False, "MALFORMED", key_id=kid)
    issued = datetime.fromtimestamp(iat, tz=UTC)
    expires = datetime.fromtimestamp(exp, tz=UTC)
    base = {"key_id": kid, "issued_at": issued, "expires_at": expires, "claims": claims}
    if expires <= now:
        return Verification(False, "EXPIRED", **base)
    return Verification(True, None, **base)


def revoked(result: Verification) -> Verification:
    """The same verification, failed as REVOKED (checked only where revocations are known)."""
    return Verification(
        False, "REVOKED", result.key_id, result.issued_at, result.expires_at, result.claims
    )
