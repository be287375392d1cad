"""GraphQL subscriptions over WebSocket (graphql-transport-ws only), authenticated by the
connection_init payload {"authorization": "Bearer ..."} (any letter case, or inside "headers");
answering in the payload's {"language": "ko"} (or `lang`, or an Accept-Language header
inside "headers"), else in the upgrade request's Accept-Language; browsers only from allowed
origins."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL

from domain.languages import negotiate
from domain.messages import N_, Message, N_plural
from resolvers.context import Context, Services
from translations import render
from web.authentication import Unauthenticated, authenticate
from web.context_factory import act_for, build_context
from web.cors import OriginPolicy
from web.errors import graphql_error
from web.logging_setup import request_id
from web.websocket_limits import GatedTransportWSHandler
from web.websocket_sessions import SessionBoundTransportWSHandler
from web.websocket_subscription_cap import SubscriptionCapTransportWSHandler


def _init_param(params: object, keys: tuple[str, ...], usable: Callable[[object], bool]) -> object:
    """The first `usable` value of connection_init's payload under one of `keys` (in any letter
    case), at the top or in a nested `headers` object (Apollo's and urql's habit of reusing
    their HTTP headers); None when there is none."""
    if not isinstance(params, dict):
        return None
    for container in (params, params.get("headers")):
        if not isinstance(container, dict):
            continue
        for key, value in container.items():
            if isinstance(key, str) and key.lower() in keys and usable(value):
                return value
    return None


def authorization_of(params: object) -> object:
    """The token from connection_init's payload as clients send it: `authorization` in any
    letter case (GraphiQL sends `Authorization`), at the top or among `headers`. Whatever
    value was sent (a number, a list: the caller refuses what is not text); None when none
    was."""
    return _init_param(params, ("authorization",), lambda value: value is not None)


# Keys of connection_init's payload naming the language, in any letter case.
LANGUAGE_KEYS = ("language", "lang", "accept-language")


def language_param(params: object) -> str | None:
    """The language connection_init's payload asks for, as text: `language` or `lang` at the
    top, or an `Accept-Language` among nested `headers`; None when none is sent as text."""
    language = _init_param(params, LANGUAGE_KEYS, lambda value: isinstance(value, str))
    return language if isinstance(language, str) else None


def too_many_in_flight(limit: int) -> Message:
    """Why a connection may not start another operation now."""
    return N_plural(
        "This connection already runs %(count)s operation, the most it may run at once. Wait "
        "for one to finish, or complete one, before sending another.",
        "This connection already runs %(count)s operations, the most it may run at once. Wait "
        "for some to finish, or complete some, before sending another.",
        limit,
    )


class TransportWSHandler(
    SessionBoundTransportWSHandler, SubscriptionCapTransportWSHandler, GatedTransportWSHandler
):
    """Session first (an ended session is refused before anything is paid), then the
    account's subscription cap (a slot held while the subscription runs), then the gate."""

    async def handle_message(self, message: Any) -> None:
        # Valid JSON that is not an object ([], null, 5) is an invalid message (4400), not an
        # unhandled error that drops the socket and logs a traceback.
        if not isinstance(message, dict):
            await self.handle_invalid_message("Failed to parse message")
            return
        await super().handle_message(message)

    async def handle_subscribe(self, message: Any) -> None:
        # A subscribe whose payload is not an object, or whose id is not text, is an invalid
        # message (4400), not a crash of the connection (1011 with a Python error's text).
        if not isinstance(message.get("payload"), dict) or not isinstance(message.get("id"), str):
            await self.handle_invalid_message("Invalid subscribe message")
            return
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and message["id"] not in self.operations
            and limit is not None
            and len(self.operations) >= limit
        ):
            # Strawberry's own answer has no code and is English only.
            error = graphql_error(
                render(too_many_in_flight(limit), self.context.language),
                "RATE_LIMITED",
                maxOperations=limit,
            )
            await self.send_message({"id": message["id"], "type": "error", "payload": [error]})
            return
        await super().handle_subscribe(message)


class GraphQLWebSocket(GraphQL):
    """Strawberry's WebSocket handling with this service's context and authentication."""

    # Every operation passes the same gate as over HTTP (cost, per-account budget).
    graphql_transport_ws_handler_class = TransportWSHandler

    def __init__(
        self, schema: Any, services: Services, registry: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,), graphql_ide=None
        )
        self.services = services
        # In registered-only mode (PERSISTED_QUERIES_FILE) the documents accepted, by SHA-256:
        # the same list as over HTTP.
        self.registry = registry
        self.origins = OriginPolicy.from_settings(services.settings)

    def decode_json(self, data: str | bytes) -> object:
        """A message, read as HTTP reads a body: refused whole above the body limit
        (MAX_BODY_BYTES), and refused, not a crash, when it nests deeper than a reader can
        follow (Python's json exhausted the interpreter's recursion and dropped the socket with
        a traceback). Either refusal is an invalid message: the connection closes with 4400."""
        if len(data) > self.services.settings.max_body_bytes:
            raise json.JSONDecodeError("the message is larger than the request body limit", "", 0)
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            # orjson also refuses an escaped unpaired surrogate, which the schema's input guard
            # answers field by field, the connection kept (tests/test_odd_input.py): Python's
            # reader takes it, and refuses whatever else orjson refused.
            try:
                return json.loads(data)
            except RecursionError:
                raise json.JSONDecodeError("nested too deeply", "", 0) from None

    def is_websocket_origin_allowed(self, request: WebSocket, origin: str) -> bool:
        """Strawberry already lets in no Origin and the page's own host (GraphiQL served
        here) and refuses others before accepting (403); the listed origins come from us."""
        return self.origins.allows(origin)

    async def get_context(self, request: Request | WebSocket, response: Any = None) -> Context:
        # Anonymous until connection_init (on_ws_connect). The connection's id (kept from
        # X-Request-Id, or made by the outermost middleware), so logs and masked errors of its
        # operations quote the same id.
        return build_context(
            self.services, request, None, request_id.get() or uuid.uuid4().hex[:16]
        )

    async def on_ws_connect(self, context: Context) -> dict[str, object] | None:
        asked = language_param(context.connection_params)
        if asked is not None:
            # A tag ("ko", "zh-Hans") or a whole Accept-Language value; one not spoken here
            # ("pt-BR") gets English, as over HTTP.
            context.language = negotiate(asked)
        header = authorization_of(context.connection_params)
        try:
            if header is not None and not isinstance(header, str):
                # Sent, but not a token anyone could spell: refused as over HTTP, never anonymous.
                raise Unauthenticated(N_("Send the access token as 'Bearer <token>' text."))
            identity = await authenticate(self.services, header)
        except Unauthenticated as exc:
            message = render(exc.message, context.language)
            raise ConnectionRejectionError({"message": message, "code": "UNAUTHENTICATED"}) from exc
        act_for(context, identity)
        return None
