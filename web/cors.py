"""Which browser origins may call the API (CORS_ORIGINS), and the CORS headers that say so.

The rules are path-based so routes added later fall under them: /graphql and /certificates/...
answer the listed origins only; /.well-known/jwks.json answers any origin (the published keys
are public, and banks verify documents in the browser). Requests without credentials are
the only kind: tokens travel in Authorization, never in cookies, so no Allow-Credentials.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from settings import Settings

ALLOWED_METHODS = "GET, POST, OPTIONS"
ALLOWED_HEADERS = (
    "accept, accept-language, authorization, content-type, if-none-match, x-request-id, "
    "apollographql-client-name, apollographql-client-version, apollo-require-preflight, "
    "x-apollo-operation-name"
)
EXPOSED_HEADERS = "ETag, X-Request-Id, Retry-After"
MAX_AGE_S = "600"

# Vite, Create React App / Next.js, webpack-dev-server / Vue CLI: on by default in development.
DEVELOPMENT_ORIGINS = tuple(
    f"http://{host}:{port}" for port in (5173, 3000, 8080) for host in ("localhost", "127.0.0.1")
)

LISTED_PATHS = ("/graphql",)
LISTED_PREFIXES = ("/certificates/",)
ANY_ORIGIN_PATHS = ("/.well-known/jwks.json",)


class OriginPolicy:
    """The origins a browser may call from: CORS_ORIGINS when set; otherwise the local
    dev-server origins and the service's own in development, and none in production."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(o.strip().rstrip("/").lower() for o in origins)

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        if settings.cors_origins is not None:
            return cls(settings.cors_origins)
        if settings.is_production:
            return cls(())
        own = urlsplit(settings.public_base_url)
        return cls((*DEVELOPMENT_ORIGINS, f"{own.scheme}://{own.netloc}"))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and origin.lower() in self.origins


def _rule(path: str) -> str | None:
    if path in ANY_ORIGIN_PATHS:
        return "any"
    if path in LISTED_PATHS or path.startswith(LISTED_PREFIXES):
        return "listed"
    return None


def _with_vary(headers: list[tuple[bytes, bytes]], value: bytes) -> list[tuple[bytes, bytes]]:
    out, merged = [], False
    for name, current in headers:
        if name.lower() == b"vary" and not merged:
            present = {v.strip().lower() for v in current.split(b",")}
            if value.lower() not in present:
                current = current + b", " + value
            merged = True
        out.append((name, current))
    if not merged:
        out.append((b"vary", value))
    return out


class CORSMiddleware:
    """Answers preflights and adds CORS headers; wraps everything, the cached-GET front too."""

    def __init__(self, app: Any, policy: OriginPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        rule = _rule(scope["path"]) if scope["type"] == "http" else None
        if rule is None:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        raw_origin = headers.get(b"origin")
        origin = raw_origin.decode("latin-1") if raw_origin is not None else None
        allowed = rule == "any" or self.policy.allows(origin)
        allow_origin = b"*" if rule == "any" else (raw_origin or b"")
        if scope["method"] == "OPTIONS" and b"access-control-request-method" in headers:
            await self._preflight(send, allowed and origin is not None, allow_origin, rule)
            return

        async def send_with_cors(message: dict) -> None:
            if message["type"] == "http.response.start":
                out = list(message.get("headers", []))
                if rule == "listed":
                    out = _with_vary(out, b"Origin")
                if allowed and origin is not None:
                    out.append((b"access-control-allow-origin", allow_origin))
                    out.append((b"access-control-expose-headers", EXPOSED_HEADERS.encode()))
                message = {**message, "headers": out}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, send: Any, allowed: bool, allow_origin: bytes, rule: str) -> None:
        vary = [] if rule == "any" else [(b"vary", b"Origin")]
        if not allowed:
            body = b"This origin may not call the API from a browser (CORS_ORIGINS)."
            out = [
                *vary,
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 403, "headers": out})
            await send({"type": "http.response.body", "body": body})
            return
        out = [
            *vary,
            (b"access-control-allow-origin", allow_origin),
            (b"access-control-allow-methods", ALLOWED_METHODS.encode()),
            (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
            (b"access-control-max-age", MAX_AGE_S.encode()),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})
