"""Verifying a passport-information certificate with the published keys: the rules the server's
`verifyDocument` and the offline command share.

This file needs nothing but the Python standard library and jwcrypto, so a bank or any other
checker can run it on its own:

    pip install jwcrypto
    python verification.py TOKEN --jwks https://<the service>/.well-known/jwks.json

It verifies both kinds of token the authority signs: the full certificate (a compact JWS with
every fact; it lists the current passport and the latest superseded ones, and says in
`earlierPassportsNotListed` how many earlier ones it leaves out) and a presentation (an
SD-JWT, RFC 9901: `<JWS>~<disclosure>~...~`, revealing only the facts its holder chose).
It checks the signature (with the key's own algorithm), the document type, every
disclosure's digest and the expiry. Revocation needs the authority's
records: use the `verifyDocument` query online for that.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jwcrypto import jwk, jws
from jwcrypto.common import JWException

CERTIFICATE_TYPE = "passport-info+jwt"
DOCUMENT_KIND = "PASSPORT_INFORMATION"
MAX_TOKEN_LENGTH = 20_000

# Presentations are SD-JWT VCs (the `dc+sd-jwt` type of SD-JWT-based Verifiable Credentials)
# whose `vct` names this document; digests are SHA-256 (`_sd_alg`).
PRESENTATION_TYPE = "dc+sd-jwt"
PRESENTATION_VCT = "passport-information"
SD_ALG = "sha-256"
SEPARATOR = "~"
# Each fact a holder may disclose on its own (the contract's CertificateClaim), and the claim
# that carries it in a presentation.
CLAIM_NAMES = {
    "NAME": "name",
    "BIRTH_DATE": "birthDate",
    "NATIONALITY": "nationality",
    "PR_CARD_NUMBER": "prCardNumber",
    "PR_CARD_VALIDITY": "prCardValidity",
    "CURRENT_PASSPORT": "currentPassport",
    "PASSPORT_HISTORY": "passportHistory",
}
ALL_CLAIMS = tuple(CLAIM_NAMES)
# A certificate lists the current passport and the latest superseded ones; this claim counts
# the earlier passports bound to the card that it leaves out (0: the list is the whole history).
EARLIER_NOT_LISTED = "earlierPassportsNotListed"
_CLAIM_OF_NAME = {name: claim for claim, name in CLAIM_NAMES.items()}


@dataclass(frozen=True)
class Verification:
    valid: bool
    failure: str | None  # MALFORMED, BAD_SIGNATURE, UNKNOWN_KEY, EXPIRED, REVOKED
    key_id: str | None = None
    issued_at: datetime | None = None
    expires_at: datetime | None = None
    claims: dict[str, Any] | None = None
    # What the token reveals (CLAIM_NAMES' keys): a full certificate everything, a
    # presentation what its holder chose; nothing when the signature is not genuine.
    disclosed: tuple[str, ...] = ()
    presentation: bool = False


def _b64json(part: str) -> Any:
    padded = part + "=" * (-len(part) % 4)
    return _strict_json(base64.urlsafe_b64decode(padded.encode()))


def _strict_json(raw: bytes | str) -> Any:
    """JSON that holds only text UTF-8 can carry. JSON's escapes can spell a lone surrogate
    (`"\\ud800"`), which no answer, log or terminal can encode: a ValueError, as for any other
    malformed part, before such a text reaches a verdict."""
    value = json.loads(raw)
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        raise ValueError("a text with a lone surrogate") from exc
    return value


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


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def disclosure_digest(disclosure: str) -> str:
    """The digest an SD-JWT lists for a disclosure: SHA-256 of its base64url text (RFC 9901)."""
    return b64url(hashlib.sha256(disclosure.encode("ascii")).digest())


def key_id_of(token: str) -> str | None:
    """The `kid` named in a certificate's or a presentation's header (unverified)."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return None
    header = _header(token.strip().split(SEPARATOR, 1)[0])
    kid = header.get("kid") if header else None
    return kid if isinstance(kid, str) else None


def verify(token: str, keys: dict[str, dict[str, Any]], now: datetime) -> Verification:
    """Check a certificate or a presentation against published keys (kid -> public JWK with
    its own `alg`).

    The algorithm is the key's own: a header naming another (or `none`) fails. Anything that
    is neither, such as an access token, is MALFORMED.
    """
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        return Verification(False, "MALFORMED")
    token = token.strip()
    if SEPARATOR in token:
        return _verify_presentation(token, keys, now)
    checked = _signed_claims(token, keys, CERTIFICATE_TYPE)
    if isinstance(checked, Verification):
        return checked
    kid, claims = checked
    if claims.get("doc") != DOCUMENT_KIND:
        return Verification(False, "MALFORMED", key_id=kid)
    return _timed(kid, claims, now, ALL_CLAIMS, presentation=False)


def _signed_claims(
    jwt: str, keys: dict[str, dict[str, Any]], typ: str
) -> tuple[str, dict[str, Any]] | Verification:
    """The key id and claims of a compact JWS of type `typ` signed by a published key, or the
    failed Verification."""
    header = _header(jwt)
    if header is None or header.get("typ") != typ:
        return Verification(False, "MALFORMED")
    kid = header.get("kid")
    if not isinstance(kid, str):
        return Verification(False, "MALFORMED")
    key_data = keys.get(kid)
    if key_data is None:
        return Verification(False, "UNKNOWN_KEY", key_id=kid)
    if not all(_canonical(part) for part in jwt.split(".")):
        # Base64url with altered unused bits decodes to the same bytes: refuse it anyway, so
        # that any changed character of a token fails.
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    alg = key_data.get("alg")
    if header.get("alg") != alg:
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    try:
        checker = jws.JWS()
        checker.deserialize(jwt)
        checker.verify(jwk.JWK(**key_data), alg=alg)
        claims = _strict_json(checker.payload)
    except (JWException, ValueError, TypeError):
        return Verification(False, "BAD_SIGNATURE", key_id=kid)
    if not isinstance(claims, dict):
        return Verification(False, "MALFORMED", key_id=kid)
    return kid, claims


def _timed(
    kid: str,
    claims: dict[str, Any],
    now: datetime,
    disclosed: tuple[str, ...],
    *,
    presentation: bool,
) -> Verification:
    """The verification of genuine claims: MALFORMED without iat, exp and jti, else EXPIRED
    from `exp` on, else valid."""
    iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
    if not isinstance(iat, int) or not isinstance(exp, int) or not isinstance(jti, str):
        return Verification(False, "MALFORMED", key_id=kid)
    base = {
        "key_id": kid,
        "issued_at": datetime.fromtimestamp(iat, tz=UTC),
        "expires_at": datetime.fromtimestamp(exp, tz=UTC),
        "claims": claims,
        "disclosed": disclosed,
        "presentation": presentation,
    }
    if base["expires_at"] <= now:
        return Verification(False, "EXPIRED", **base)
    return Verification(True, None, **base)


def _without_digests(value: Any) -> Any:
    """The value without undisclosed parts: `_sd` digest lists and `{"...": digest}` array
    elements (decoys, in what other issuers make). Facts are disclosed at the top level only,
    so a disclosure of a nested part is not one of the signed top-level digests: refused."""
    if isinstance(value, dict):
        return {k: _without_digests(v) for k, v in value.items() if k != "_sd"}
    if isinstance(value, list):
        return [
            _without_digests(v)
            for v in value
            if not (isinstance(v, dict) and len(v) == 1 and "..." in v)
        ]
    return value


def _verify_presentation(
    token: str, keys: dict[str, dict[str, Any]], now: datetime
) -> Verification:
    """An SD-JWT presentation: `<issuer-signed JWT>~<disclosure>~...~` (no key binding).

    Every disclosure must be one the issuer signed a digest of, each claim at most once; the
    claims returned are the always-visible ones and the disclosed facts, nothing else.
    """
    jwt, *disclosures, key_binding = token.split(SEPARATOR)
    if key_binding or not all(disclosures) or len(disclosures) > len(CLAIM_NAMES):
        # No presentation of ours carries a key-binding JWT (nothing binds it to a holder key).
        return Verification(False, "MALFORMED")
    checked = _signed_claims(jwt, keys, PRESENTATION_TYPE)
    if isinstance(checked, Verification):
        return checked
    kid, payload = checked
    digests = payload.get("_sd")
    if (
        payload.get("vct") != PRESENTATION_VCT
        or payload.get("_sd_alg") != SD_ALG
        or not isinstance(digests, list)
        or not all(isinstance(d, str) for d in digests)
    ):
        return Verification(False, "MALFORMED", key_id=kid)
    claims = _without_digests({k: v for k, v in payload.items() if k != "_sd_alg"})
    signed = set(digests)
    disclosed: list[str] = []
    for disclosure in disclosures:
        if not _canonical(disclosure) or disclosure_digest(disclosure) not in signed:
            # Not a disclosure the issuer signed: changed, or taken from another presentation.
            return Verification(False, "BAD_SIGNATURE", key_id=kid)
        try:
            decoded = _b64json(disclosure)
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            return Verification(False, "MALFORMED", key_id=kid)
        if not isinstance(decoded, list) or len(decoded) != 3:
            # [salt, name, value]; two elements would be an array element, which we never make.
            return Verification(False, "MALFORMED", key_id=kid)
        salt, name, value = decoded
        claim = _CLAIM_OF_NAME.get(name) if isinstance(name, str) else None
        if not isinstance(salt, str) or claim is None or claim in disclosed or name in claims:
            return Verification(False, "MALFORMED", key_id=kid)
        claims[name] = _without_digests(value)
        disclosed.append(claim)
    order = {claim: index for index, claim in enumerate(ALL_CLAIMS)}
    return _timed(
        kid, claims, now, tuple(sorted(disclosed, key=order.__getitem__)), presentation=True
    )


def earlier_not_listed(result: Verification) -> int | None:
    """How many earlier passports bound to the card the document leaves out of the ones it
    lists; None when it shows no passport history."""
    claims = result.claims or {}
    if result.presentation:
        history = claims.get(CLAIM_NAMES["PASSPORT_HISTORY"])
        count = history.get("earlierNotListed") if isinstance(history, dict) else None
    elif "passports" in claims:
        count = claims.get(EARLIER_NOT_LISTED, 0)
    else:
        count = None
    return count if isinstance(count, int) else None


def load_jwks(source: str) -> dict[str, dict]:
    """The published keys by key id, from a JWK Set file or URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 (checker's URL)
            data = json.load(response)
    else:
        data = json.loads(Path(source).read_text())
    return {key["kid"]: key for key in data.get("keys", []) if "kid" in key}


def main(argv: list[str] | None = None) -> int:
    """Print the verification as JSON; exit 0 when the token is valid, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="verify-passport-info",
        description="Verify a passport-information certificate, or a presentation of some of "
        "its facts, offline with the published keys.",
    )
    parser.add_argument(
        "token",
        help="the certificate (compact JWS) or presentation (SD-JWT), or - to read it from "
        "standard input; a /verify#token=... link is accepted too",
    )
    parser.add_argument("--jwks", required=True, help="JWK Set file or URL")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["verify"]:  # `python -m signing verify ...`
        arguments = arguments[1:]
    args = parser.parse_args(arguments)
    token = sys.stdin.read().strip() if args.token == "-" else args.token  # noqa: S105
    # What a QR code holds may be the link to the verification page, the token in its fragment.
    token = token.strip().partition("#token=")[2] or token
    result = verify(token, load_jwks(args.jwks), datetime.now(UTC))
    print(
        json.dumps(
            {
                "valid": result.valid,
                "failure": result.failure,
                "keyId": result.key_id,
                "issuedAt": result.issued_at.isoformat() if result.issued_at else None,
                "expiresAt": result.expires_at.isoformat() if result.expires_at else None,
                "kind": (
                    "presentation"
                    if result.presentation
                    else "certificate"
                    if result.claims is not None
                    else None
                ),
                "disclosed": list(result.disclosed),
                "claims": result.claims,
                "earlierPassportsNotListed": earlier_not_listed(result),
                "note": "revocation is not checked offline; use the verifyDocument query for it",
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if result.valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
