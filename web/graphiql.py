"""GraphiQL served by the service itself: the page, its vendored assets under /static, and
the headers that keep it to our own scripts (no CDN, so it works on a closed network)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static"
IMMUTABLE = "public, max-age=31536000, immutable"

# Pinned by tools/vendor-browser-assets.sh; the version is in the path, so the files never
# change under a URL and may be cached for a year.
VENDOR = {
    "react": "vendor/react-18.3.1/react.production.min.js",
    "react_dom": "vendor/react-dom-18.3.1/react-dom.production.min.js",
    "graphql_ws": "vendor/graphql-ws-5.16.2/graphql-ws.min.js",
    "graphiql_js": "vendor/graphiql-3.9.0/graphiql.min.js",
    "graphiql_css": "vendor/graphiql-3.9.0/graphiql.min.css",
}
OWN = {"page_js": "graphiql/graphiql-page.js", "page_css": "graphiql/graphiql-page.css"}


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


# Only files from this origin: no inline script, no eval, and no inline styles either
# (GraphiQL 3, React and CodeMirror 5 set styles through the DOM, which CSP allows; the
# browser suite fails on any CSP violation while it uses the editors, docs and results).
# Fonts and icons are data: URLs inside GraphiQL's CSS.
PAGE_HEADERS = page_headers("font-src 'self' data:", "img-src 'self' data:")


def content_version(relative: str) -> str:
    return hashlib.sha256((STATIC_DIR / relative).read_bytes()).hexdigest()[:12]


def asset_urls(vendor: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """Absolute URLs of a page's assets under /static, by name: vendored files as they are
    (their version is in the path), our own files with their content hash."""
    urls = {name: f"{STATIC_PREFIX}/{path}" for name, path in vendor.items()}
    for name, path in own.items():
        urls[name] = f"{STATIC_PREFIX}/{path}?v={content_version(path)}"
    return urls


PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>GraphiQL · Immigration services API</title>
<link rel="stylesheet" href="{graphiql_css}">
<link rel="stylesheet" href="{page_css}">
</head>
<body>
<header id="session-bar">
  <strong>Immigration services API</strong>
  <form id="sign-in-form" autocomplete="on">
    <label>E-mail <input id="sign-in-email" name="email" type="email" required
      autocomplete="username"></label>
    <label>Password <input id="sign-in-password" name="password" type="password" required
      autocomplete="current-password"></label>
    <button id="sign-in-button" type="submit">Sign in</button>
  </form>
  <span id="signed-in" hidden>Signed in as <b id="signed-in-email"></b>
    <button id="sign-out-button" type="button">Sign out</button></span>
  <span id="session-message" role="status"></span>
</header>
<main id="graphiql">Loading GraphiQL…</main>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphql_ws}"></script>
<script src="{graphiql_js}"></script>
<script src="{page_js}"></script>
</body>
</html>
"""


def graphiql_page() -> Response:
    return HTMLResponse(PAGE.format(**asset_urls(VENDOR, OWN)), headers=PAGE_HEADERS)


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
