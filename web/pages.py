"""The pages this service serves as HTML of its own (GraphiQL, /verify, /verify-email,
/reset-password): one shell (no referrer, sized for a phone), their stylesheets and deferred
scripts from /static only, the headers that keep each page to this origin, and /static itself
(web/static, cached for a year under versioned URLs)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"


def page_headers(*sources: str) -> dict[str, str]:
    """The headers of an HTML page of ours: a Content-Security-Policy allowing scripts,
    styles and connections from this origin only, plus the further `sources` directives the
    page needs (no base URL, form target or framing), no sniffing, no referrer, and a fresh
    check on every load."""
    policy = (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        *sources,
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
    return {
        "Content-Security-Policy": "; ".join(policy),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def content_version(relative: str) -> str:
    return hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]


def asset_urls(vendor: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """Absolute URLs of a page's assets under /static, by name: vendored files as they are
    (their version is in the path), our own files with their content hash."""
    urls = {name: f"{STATIC_PREFIX}/{path}" for name, path in vendor.items()}
    for name, path in own.items():
        urls[name] = f"{STATIC_PREFIX}/{path}?v={content_version(path)}"
    return urls


SHELL = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
{stylesheets}</head>
<body>
{body}{scripts}</body>
</html>
"""


@dataclass(frozen=True)
class Page:
    """A page: its title and body (HTML, with no script of its own), and its assets by name
    (`vendor`/`own` as asset_urls takes them) in the order the stylesheets and scripts load."""

    title: str
    body: str
    headers: Mapping[str, str]
    stylesheets: tuple[str, ...]
    scripts: tuple[str, ...]
    own: Mapping[str, str]
    vendor: Mapping[str, str] = field(default_factory=dict)

    def html(self) -> str:
        # Our own files' URLs carry their content hash, read when the page is asked for.
        urls = asset_urls(self.vendor, self.own)
        return SHELL.format(
            title=self.title,
            stylesheets="".join(
                f'<link rel="stylesheet" href="{urls[n]}">\n' for n in self.stylesheets
            ),
            body=self.body,
            scripts="".join(f'<script src="{urls[n]}" defer></script>\n' for n in self.scripts),
        )


def endpoint(page: Page) -> Callable[[Request], Awaitable[Response]]:
    """The Starlette endpoint answering GET with `page`."""

    async def serve(_: Request) -> Response:
        return HTMLResponse(page.html(), headers=dict(page.headers))

    return serve


class StaticAssets(StaticFiles):
    """web/static: vendored files (versioned paths) and our own (URLs with ?v=<hash>) are
    cached for a year; an own file asked for without its current hash is revalidated."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)
        # Every file of ours (not under vendor/): each page's (GraphiQL's, /verify's) assets.
        self.versions = {
            path.relative_to(STATIC_DIR).as_posix(): content_version(
                path.relative_to(STATIC_DIR).as_posix()
            )
            for path in STATIC_DIR.rglob("*")
            if path.is_file() and path.relative_to(STATIC_DIR).parts[0] != "vendor"
        }

    async def get_response(self, path: str, scope: Any) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            current = self.versions.get(path)
            query = scope.get("query_string", b"").decode("latin-1")
            versioned = path.startswith("vendor/") or (
                current is not None and f"v={current}" in query.split("&")
            )
            response.headers["Cache-Control"] = IMMUTABLE if versioned else "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
