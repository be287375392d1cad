"""GET /verify-email and /reset-password over HTTP, the pages the security mail links to: pages
of our own (no external URL, no inline script), only our own scripts and no device features
(CSP, Permissions-Policy), not framable, no referrer; their assets served from our routes. What
they do in a browser: tests/browser/test_account_pages.py."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.test_verify_page import policy

PATHS = ("/verify-email", "/reset-password")


@pytest.mark.parametrize("path", PATHS)
async def test_the_page_is_ours_alone(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = policy(response)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["form-action"] == "'none'" and csp["frame-ancestors"] == "'none'"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["permissions-policy"].startswith("camera=()")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-cache"
    html = response.text
    assert '<html lang="en">' in html and 'aria-live="polite"' in html
    assert not re.search(r"(?:https?:)?//[a-z0-9]", html, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 1
    assert all('src="/static/' in attributes and body == "" for attributes, body in scripts)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(urls) == 3  # the shared base stylesheet, the page's, its script
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
        # The script talks to this origin's /graphql only.
        assert not re.search(r"(?:https?:)?//[a-z0-9]", asset.text, re.IGNORECASE), url


async def test_the_reset_form_labels_every_field(client: httpx.AsyncClient) -> None:
    html = (await client.get("/reset-password")).text
    for field in ("new-password", "repeat-password"):
        assert f'<label for="{field}"' in html
        assert re.search(rf'<input id="{field}"[^>]*autocomplete="new-password"', html)
    # Without the script, the form cannot put the password in a URL.
    assert '<form id="reset-form" method="post"' in html


@pytest.mark.parametrize("path", PATHS)
async def test_the_page_takes_no_token_from_the_server_side(
    client: httpx.AsyncClient, path: str
) -> None:
    """A token in the query string is not echoed (the mailed link carries it in the
    fragment, which browsers never send)."""
    response = await client.get(path, params={"token": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "alert(1)" not in response.text
