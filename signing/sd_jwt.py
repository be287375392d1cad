"""Selective-disclosure presentations of a certificate: SD-JWTs (RFC 9901) built on jwcrypto.

A presentation is signed by the authority's document key, like the certificate, and reveals
only the facts its holder chose. Its always-visible claims (`iss`, `iat`, `exp`, `jti`, `vct`,
`_sd_alg`, `_sd`) hold no personal fact and nothing constant per person: the `jti` and every
disclosure's salt are fresh random values, so the digests differ each time, and every
presentation lists one digest for each of the seven facts whatever the person's record holds
(no decoys are needed: the count never varies). Only the disclosures of the chosen facts are
appended; an undisclosed fact is present only as a salted SHA-256 digest. Verifying is
signing.verification's (it needs nothing of this module).
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from jwcrypto import jwk, jws

from signing.verification import (
    ALL_CLAIMS,
    CLAIM_NAMES,
    EARLIER_NOT_LISTED,
    PRESENTATION_TYPE,
    PRESENTATION_VCT,
    SD_ALG,
    SEPARATOR,
    b64url,
    disclosure_digest,
)

SALT_BYTES = 16  # 128 bits, as RFC 9901 recommends


@dataclass(frozen=True)
class SignedPresentation:
    token: str
    jti: str
    kid: str
    disclosed: tuple[str, ...]
    issued_at: datetime
    expires_at: datetime


def certificate_claims(token: str) -> dict[str, Any]:
    """The claims of a certificate this service signed and stored (not verified again)."""
    payload = token.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not a stored certificate") from exc
    if not isinstance(claims, dict):
        raise ValueError("not a stored certificate")
    return claims


def facts_of(claims: dict[str, Any]) -> dict[str, Any]:
    """The seven disclosable facts (CertificateClaim -> value) of a certificate's claims.

    The PR card's number and its validity are separate facts; the current passport and the
    earlier ones too (a bank needs the first, rarely the second, whose count alone says
    something about a person). The earlier passports are those the certificate lists, the
    latest bound first, with the number of still earlier ones it leaves out
    (`earlierNotListed`), so a checker never takes the list for the whole history."""
    card = claims.get("prCard") or {}
    passports = claims.get("passports") or []
    current = next((p for p in passports if p.get("current")), None)
    return {
        "NAME": claims.get("name"),
        "BIRTH_DATE": claims.get("birthDate"),
        "NATIONALITY": claims.get("nationality"),
        "PR_CARD_NUMBER": card.get("number"),
        "PR_CARD_VALIDITY": (
            {"issuedOn": card.get("issuedOn"), "validUntil": card.get("validUntil")}
            if card
            else None
        ),
        "CURRENT_PASSPORT": (
            {k: current.get(k) for k in ("number", "issuingCountry", "validUntil", "boundFrom")}
            if current
            else None
        ),
        "PASSPORT_HISTORY": {
            "passports": [
                {
                    k: p.get(k)
                    for k in ("number", "issuingCountry", "validUntil", "boundFrom", "boundUntil")
                }
                for p in passports
                if not p.get("current")
            ],
            "earlierNotListed": claims.get(EARLIER_NOT_LISTED) or 0,
        },
    }


def disclosure(claim: str, value: Any) -> str:
    """An object-property disclosure: base64url of the JSON array [salt, claim name, value]."""
    salt = b64url(secrets.token_bytes(SALT_BYTES))
    text = json.dumps([salt, CLAIM_NAMES[claim], value], ensure_ascii=False, separators=(",", ":"))
    return b64url(text.encode())


def present(
    *,
    private_key: jwk.JWK,
    kid: str,
    alg: str,
    issuer: str,
    facts: dict[str, Any],
    disclose: Iterable[str],
    now: datetime,
    lifetime: timedelta,
) -> SignedPresentation:
    """Sign an SD-JWT over all seven facts and append the disclosures of `disclose` only."""
    chosen = set(disclose)
    unknown = chosen - set(ALL_CLAIMS)
    if unknown:
        raise ValueError(f"unknown claims {sorted(unknown)}")
    disclosures = {claim: disclosure(claim, facts.get(claim)) for claim in ALL_CLAIMS}
    issued = now.replace(microsecond=0)
    expires = issued + lifetime
    jti = secrets.token_urlsafe(16)
    claims = {
        "iss": issuer,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": jti,
        "vct": PRESENTATION_VCT,
        "_sd_alg": SD_ALG,
        # Sorted digests of random salts: their order says nothing about which fact is which.
        "_sd": sorted(disclosure_digest(d) for d in disclosures.values()),
    }
    payload = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    signer = jws.JWS(payload.encode())
    signer.add_signature(
        private_key,
        alg=alg,
        protected=json.dumps(
            {"alg": alg, "kid": kid, "typ": PRESENTATION_TYPE}, separators=(",", ":")
        ),
    )
    disclosed = tuple(claim for claim in ALL_CLAIMS if claim in chosen)
    token = SEPARATOR.join(
        [signer.serialize(compact=True), *(disclosures[c] for c in disclosed), ""]
    )
    return SignedPresentation(
        token=token,
        jti=jti,
        kid=kid,
        disclosed=disclosed,
        issued_at=issued,
        expires_at=expires,
    )
