"""Passport-information certificates: compact JWS documents and their verification.

Verification is pure: it takes the published keys (a JWK Set) and a way to ask whether a
token id is revoked, so the server and the offline command share every rule.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from jwcrypto import jwk, jws

from signing import sd_jwt
from signing.qr import PRINTED_MAX_VERSION, fits, qr_svg, verification_link
from signing.verification import (
    ALL_CLAIMS,
    CERTIFICATE_TYPE,
    DOCUMENT_KIND,
    Verification,
    key_id_of,
    verify,
)

# qr_svg stays importable from here for older callers (bench/signing.py).
__all__ = [
    "TooLargeForQr",
    "Verification",
    "key_id_of",
    "qr_svg",
    "revoked",
    "sign",
    "sign_within_qr",
    "verify",
]


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


class TooLargeForQr(ValueError):
    """The facts do not fit one QR code of any version even with no earlier passport listed:
    names of 100 and 200 characters from the Basic Multilingual Plane fit (version 35 at
    most); as many characters beyond it (4 bytes each in UTF-8) do not. Registration refuses
    such names; for a person registered before, issuing answers a NAMES_TOO_LONG_FOR_QR
    error."""


def sign_within_qr(
    *,
    listing: Callable[[int], dict[str, Any]],
    earlier: int,
    public_base_url: str,
    **signing: Any,
) -> SignedCertificate:
    """Sign the facts `listing(n)` gives with n earlier passports listed, n from `earlier` down
    to 0: the first whose verification link fits the printed certificate's QR code (version
    PRINTED_MAX_VERSION at most, signing.qr), and the link of a presentation of all its facts,
    the largest one its holder can make, fits one on a screen (any version). With no
    earlier passport listed, the certificate's own link fitting any version is enough: a
    person whose names alone make a denser code still gets a certificate (a presentation of
    fewer facts fits then)."""
    for listed in range(earlier, -1, -1):
        signed = sign(facts=listing(listed), **signing)
        link = verification_link(public_base_url, signed.token)
        if listed == 0:
            if fits(link):
                return signed
            break
        if fits(link, PRINTED_MAX_VERSION) and fits(
            _largest_presentation_link(signed, public_base_url, signing)
        ):
            return signed
    raise TooLargeForQr("the certificate's verification link does not fit a QR code")


def _largest_presentation_link(
    signed: SignedCertificate, public_base_url: str, signing: dict[str, Any]
) -> str:
    """The link of a presentation disclosing every fact of `signed`: salts, `jti` and the
    signature have fixed lengths, so a real one later is exactly as long."""
    trial = sd_jwt.present(
        private_key=signing["private_key"],
        kid=signing["kid"],
        alg=signing["alg"],
        issuer=signing["issuer"],
        facts=sd_jwt.facts_of(sd_jwt.certificate_claims(signed.token)),
        disclose=ALL_CLAIMS,
        now=signing["now"],
        # Any lifetime: `exp` has ten digits for centuries either way.
        lifetime=timedelta(minutes=10),
    )
    return verification_link(public_base_url, trial.token)


def revoked(result: Verification) -> Verification:
    """The same verification, failed as REVOKED (checked only where revocations are known)."""
    return replace(result, valid=False, failure="REVOKED")
