"""The fastest path: anonymous GETs of public queries answered from the response cache at the
ASGI level, before routing and request objects, as a CDN edge would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resolvers.metrics import CACHED, REQUESTS
from web.graphql_http import GraphQLEndpoint
from web.logging_setup import accepted_request_id, request_id
from web.negotiation import stored_answer_media_type


class CachedGetFront:
    """Wraps the app; anything that is not a cache hit goes on to it unchanged."""

    def __init__(self, app: Any, endpoint: Callable[[], GraphQLEndpoint | None]) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and scope["path"] == "/graphql"
            and scope["query_string"]
        ):
            endpoint = self.endpoint()
            if endpoint is not None and await self._answer(endpoint, scope, receive, send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, endpoint: GraphQLEndpoint, scope: Any, receive: Any, send: Any) -> bool:
        headers = {k: v for k, v in scope["headers"]}
        if b"authorization" in headers:
            return False
        hit = endpoint.response_cache.get(endpoint.fast_key(scope))
        if hit is None:
            return False
        media = stored_answer_media_type(headers.get(b"accept", b"").decode("latin-1"))
        if media is None:
            return False
        response = endpoint.response_cache.answer(
            hit, media, headers.get(b"if-none-match", b"").decode("latin-1")
        )
        response.headers["X-Request-Id"] = self._request_id(headers)
        await response(scope, receive, send)
        REQUESTS.labels(CACHED, str(response.status_code)).inc()
        return True

    @staticmethod
    def _request_id(headers: dict[bytes, bytes]) -> str:
        """The id RequestIdMiddleware set for this request (computed when running alone)."""
        incoming = headers.get(b"x-request-id")
        return request_id.get() or accepted_request_id(
            incoming.decode("latin-1") if incoming is not None else None
        )
