"""The GraphiQL page over HTTP: no external URL, only our own scripts (CSP), not framable,
assets from our routes with year-long caching under versioned URLs, and vendored files that
match the versions and hashes recorded by tools/vendor-browser-assets.sh."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION_FILES = [
    ROOT / "web/static/vendor/VERSIONS.txt",
    ROOT / "tests/browser/vendor/VERSIONS.txt",
]


async def graphiql(client):
    response = await client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 200
    return response


def policy(response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in directives}


async def test_the_page_allows_only_our_own_scripts_and_cannot_be_framed(client):
    response = await graphiql(client)
    csp = policy(response)
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_the_page_has_no_external_url_and_no_inline_script(client):
    html = (await graphiql(client)).text
    assert not re.search(r"(?:https?:)?//[a-z0-9]", html, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 5
    assert all('src="/static/' in attributes and body == "" for attributes, body in scripts)
    assert all(href.startswith("/static/") for href in re.findall(r'href="([^"]+)"', html))


async def test_assets_are_cached_for_a_year_under_versioned_urls(client):
    html = (await graphiql(client)).text
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(urls) == 7
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert response.headers["x-content-type-options"] == "nosniff"
    own = next(u for u in urls if ".js?v=" in u)
    unversioned = await client.get(own.split("?")[0])
    assert unversioned.headers["cache-control"] == "no-cache"


async def test_a_missing_asset_is_a_404(client):
    assert (await client.get("/static/vendor/graphiql-0.0.0/graphiql.min.js")).status_code == 404
    assert (await client.get("/static/../settings.py")).status_code == 404


def test_vendored_files_match_their_recorded_hashes():
    for versions in VERSION_FILES:
        rows = [line.split() for line in versions.read_text().splitlines() if line[:1] != "#"]
        assert rows, versions
        for package, version, digest, path, *_ in rows:
            assert version in path, (package, path)
            assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
