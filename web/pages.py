"""The pages this service serves as HTML of its own (/verify, /verify-email, /reset-password):
one shell (no referrer, sized for a phone), their stylesheets and deferred scripts from
/static only, and the headers that keep each page to this origin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from web.graphiql import asset_urls

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
