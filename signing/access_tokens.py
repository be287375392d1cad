"""Short-lived access tokens: JWTs signed with the ACCESS key, never published."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from jwcrypto import jws, jwt
from jwcrypto.common import JWException

from persistence.models import KeyPurpose
from signing.keys import ALG, KeyRing

TOKEN_TYPE = "at+jwt"  # noqa: S105 (a JOSE type, not a secret)
AUDIENCE = "immigration-api"


class InvalidAccessToken(Exception):
    """The token is malformed, forged, expired, or not an access token."""


@dataclass(frozen=True)
class AccessClaims:
    account_id: int
    session: str | None
    issued_at: datetime
    expires_at: datetime


def issue(
    ring: KeyRing, *, account_id: int, issuer: str, now: datetime, minutes: int, session: str
) -> tuple[str, datetime]:
    key = ring.active(KeyPurpose.ACCESS)
    expires = now + timedelta(minutes=minutes)
    token = jwt.JWT(
        header={"alg": ALG, "kid": key.kid, "typ": TOKEN_TYPE},
        claims={
            "iss": issuer,
            "aud": AUDIENCE,
            "sub": str(account_id),
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": secrets.token_urlsafe(12),
            "sid": session,
        },
    )
    token.make_signed_token(key.private)
    return token.serialize(), expires


async def verify(ring: KeyRing, token: str, *, issuer: str, now: datetime) -> AccessClaims:
    """Check signature (with the kid's own key and algorithm), type, issuer and lifetime."""
    try:
        parsed = jws.JWS()
        parsed.deserialize(token)
        header = parsed.jose_header
    except (JWException, ValueError, TypeError) as exc:
        raise InvalidAccessToken("malformed token") from exc
    if not isinstance(header, dict) or header.get("typ") != TOKEN_TYPE:
        raise InvalidAccessToken("not an access token")
    if header.get("alg") != ALG:
        raise InvalidAccessToken("unexpected algorithm")
    kid = header.get("kid")
    key = await ring.find(kid, KeyPurpose.ACCESS) if isinstance(kid, str) else None
    if key is None:
        raise InvalidAccessToken("unknown key")
    try:
        parsed.verify(ring.public_jwk(key), alg=ALG)
        claims = json.loads(parsed.payload)
    except (JWException, ValueError, TypeError) as exc:
        raise InvalidAccessToken("bad signature") from exc
    if not isinstance(claims, dict):
        raise InvalidAccessToken("malformed claims")
    if claims.get("iss") != issuer or claims.get("aud") != AUDIENCE:
        raise InvalidAccessToken("wrong issuer or audience")
    exp, iat, sub = claims.get("exp"), claims.get("iat"), claims.get("sub")
    if not isinstance(exp, int) or not isinstance(iat, int) or not isinstance(sub, str):
        raise InvalidAccessToken("malformed claims")
    if exp <= int(now.timestamp()):
        raise InvalidAccessToken("expired")
    if not sub.isdigit():
        raise InvalidAccessToken("malformed subject")
    return AccessClaims(
        account_id=int(sub),
        session=claims.get("sid") if isinstance(claims.get("sid"), str) else None,
        issued_at=datetime.fromtimestamp(iat, tz=now.tzinfo),
        expires_at=datetime.fromtimestamp(exp, tz=now.tzinfo),
    )
