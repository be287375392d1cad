"""The GraphQL context of an HTTP request or a WebSocket connection, built in one place, and
the signed-in identity put on it (a WebSocket learns its identity after connecting)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from domain.languages import negotiate
from resolvers.context import Context, Services
from web.authentication import Identity
from web.client_address import of_connection


def build_context(
    services: Services, connection: HTTPConnection, identity: Identity | None, request_id: str
) -> Context:
    """The context of one request or connection, acting for `identity` (None: anonymous)."""
    ctx = Context(
        services=services,
        account=None,
        roles=frozenset(),
        client_ip=of_connection(connection, services.settings.trusted_proxies),
        accept_language=connection.headers.get("accept-language"),
        language=language_of(connection),
        request_id=request_id,
    )
    act_for(ctx, identity)
    return ctx


def language_of(connection: HTTPConnection) -> str:
    """The language negotiated from the connection's Accept-Language: the context's, and the
    one of errors answered before there is a context."""
    return negotiate(connection.headers.get("accept-language"))


def act_for(ctx: Context, identity: Identity | None) -> None:
    """Make the context act for the identity's account, roles and sign-in (None: no change)."""
    if identity is None:
        return
    ctx.account = identity.account
    ctx.roles = identity.roles
    ctx.session_family = identity.session
    ctx.session_expires_at = identity.expires_at
