"""Verifying a passport-information certificate with the published keys: the rules the server's
`verifyDocument` and the offline command share.

This file needs nothing but the Python standard library and jwcrypto, so a bank or any other
checker can run it on its own:

    pip install jwcrypto
    python verification.py TOKEN --jwks https://<the service>/.well-known/jwks.json

It checks the signature (with the key's own algorithm), the document type and the expiry.
Revocation needs the authority's records: use the `verifyDocument` query online for that.
"""

from __future__ import annotations

import argparse
import base64
import binascii
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


def load_jwks(source: str) -> dict[str, dict]:
    """The published keys by key id, from a JWK Set file or URL."""
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 (checker's URL)
            data = json.load(response)
    else:
        data = json.loads(Path(source).read_text())
    return {key["kid"]: key for key in data.get("keys", []) if "kid" in key}


def main(argv: list[str] | None = None) -> int:
    """Print the verification as JSON; exit 0 when the certificate is valid, 1 otherwise."""
    parser = argparse.ArgumentParser(
        prog="verify-passport-info",
        description="Verify a passport-information certificate offline with the published keys.",
    )
    parser.add_argument("token", help="the compact JWS (or - to read it from standard input)")
    parser.add_argument("--jwks", required=True, help="JWK Set file or URL")
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["verify"]:  # `python -m signing verify ...`
        arguments = arguments[1:]
    args = parser.parse_args(arguments)
    token = sys.stdin.read().strip() if args.token == "-" else args.token  # noqa: S105
    result = verify(token, load_jwks(args.jwks), datetime.now(UTC))
    print(
        json.dumps(
            {
                "valid": result.valid,
                "failure": result.failure,
                "keyId": result.key_id,
                "issuedAt": result.issued_at.isoformat() if result.issued_at else None,
                "expiresAt": result.expires_at.isoformat() if result.expires_at else None,
                "claims": result.claims,
                "note": "revocation is not checked offline; use the verifyDocument query for it",
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0 if result.valid else 1


if __name__ == "__main__":
    raise SystemExit(main())
