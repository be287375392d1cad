"""Offline verification: `python -m signing verify TOKEN --jwks FILE_OR_URL`.

Checks the signature with the published keys and the expiry. Revocation needs the
authority's records: use the `verifyDocument` query online for that.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from signing.certificates import verify


def load_jwks(source: str) -> dict[str, dict]:
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source, timeout=10) as response:  # noqa: S310 (operator's URL)
            data = json.load(response)
    else:
        data = json.loads(Path(source).read_text())
    return {key["kid"]: key for key in data.get("keys", []) if "kid" in key}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m signing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("verify", help="verify a certificate token offline")
    check.add_argument("token", help="the compact JWS (or - to read it from standard input)")
    check.add_argument("--jwks", required=True, help="JWK Set file or URL")
    args = parser.parse_args(argv)
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
