"""Turning an Authorization header into a signed-in account with roles from the database.

A signature and an expiry are not enough: the token's sign-in (`sid`, its refresh family) must
not have ended (sign-out, refresh-token reuse, password change, unlinked identity). That is
checked against the revocation set (a dict, or one Redis round trip), never with SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.messages import N_, Message
from persistence import accounts as store
from persistence.models import Account
from resolvers.context import Services
from signing import access_tokens


class Unauthenticated(Exception):
    """A token was sent but cannot be trusted: the client must refresh or sign in again."""

    def __init__(self, message: Message) -> None:
        super().__init__(message)
        self.message = message


INVALID_TOKEN = N_("The access token is invalid or expired.")


@dataclass(frozen=True)
class Identity:
    account: Account
    roles: frozenset[str]
    session: str | None
    expires_at: datetime | None = None


async def authenticate(services: Services, header: str | None) -> Identity | None:
    """None when no token is sent; Unauthenticated when one is sent and is not valid."""
    if header is None or header.strip() == "":
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated(N_("Send the access token as 'Authorization: Bearer <token>'."))
    try:
        claims = await access_tokens.verify(
            services.keys,
            token.strip(),
            issuer=services.settings.issuer,
            now=services.clock.now(),
        )
    except access_tokens.InvalidAccessToken as exc:
        raise Unauthenticated(INVALID_TOKEN) from exc
    if claims.session is None or await services.sessions.is_revoked(claims.session):
        raise Unauthenticated(N_("This session has ended. Sign in again."))
    loaded = await store.account_with_roles(claims.account_id)
    if loaded is None:
        raise Unauthenticated(INVALID_TOKEN)
    account, roles = loaded
    return Identity(
        account=account, roles=roles, session=claims.session, expires_at=claims.expires_at
    )
