"""The fastest path: anonymous GETs of public queries answered from the response cache at the
ASGI level, before routing and request objects, as a CDN edge would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from resolvers.metrics import CACHED, REQUESTS
from web.graphql_http import GRAPHQL_RESPONSE, JSON, GraphQLEndpoint, fast_key
from web.logging_setup import accepted_request_id, request_id


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
            if endpoint is not None and await self._answer(endpoint, scope, send):
                return
        await self.app(scope, receive, send)

    async def _answer(self, endpoint: GraphQLEndpoint, scope: Any, send: Any) -> bool:
        headers = {k: v for k, v in scope["headers"]}
        if b"authorization" in headers:
            return False
        accept = headers.get(b"accept", b"").decode("latin-1")
        key = fast_key(
            scope["query_string"].decode("latin-1"),
            accept,
            headers.get(b"accept-language", b"").decode("latin-1"),
            endpoint.cache_period(),
        )
        hit = endpoint.response_cache.get(key)
        if hit is None:
            return False
        status, body, etag = hit
        media = GRAPHQL_RESPONSE if GRAPHQL_RESPONSE in accept else JSON
        ttl = int(endpoint.services.settings.public_cache_seconds)
        out = [
            (b"etag", etag.encode()),
            (b"cache-control", f"public, max-age={ttl}".encode()),
            (b"vary", b"Accept, Accept-Language, Authorization"),
            (b"x-request-id", self._request_id(headers).encode()),
        ]
        if etag.encode() in headers.get(b"if-none-match", b""):
            status, body = 304, b""
        else:
            out.append((b"content-type", f"{media}; charset=utf-8".encode()))
        out.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": body})
        REQUESTS.labels(CACHED, str(status)).inc()
        return True

    @staticmethod
    def _request_id(headers: dict[bytes, bytes]) -> str:
        """The id RequestIdMiddleware set for this request (computed when running alone)."""
        incoming = headers.get(b"x-request-id")
        return request_id.get() or accepted_request_id(
            incoming.decode("latin-1") if incoming is not None else None
        )
