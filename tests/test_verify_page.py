"""GET /verify over HTTP: a page of our own (no external URL, no inline script), only our own
scripts and the camera allowed (CSP, Permissions-Policy), not framable, no referrer; its
assets served from our routes. What it does in a browser: tests/browser/test_verify_page.py."""

from __future__ import annotations

import re

import httpx


def policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    return {d.strip().split(" ", 1)[0]: d.strip().partition(" ")[2] for d in directives}


async def test_the_page_is_ours_alone(client: httpx.AsyncClient) -> None:
    response = await client.get("/verify")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    csp = policy(response)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["connect-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["permissions-policy"].startswith("camera=(self)")
    assert response.headers["x-frame-options"] == "DENY"
    html = response.text
    assert not re.search(r"(?:https?:)?//[a-z0-9]", html, re.IGNORECASE)
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.DOTALL)
    assert len(scripts) == 2
    assert all('src="/static/' in attributes and body == "" for attributes, body in scripts)
    urls = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert len(urls) == 4  # the shared base stylesheet, the page's, jsQR, the page's script
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable", url
    # jsQR is served with its licence.
    licence = await client.get("/static/vendor/jsqr-1.4.0/LICENSE")
    assert licence.status_code == 200 and "Apache License" in licence.text


async def test_the_page_takes_no_token_from_the_server_side(client: httpx.AsyncClient) -> None:
    """A token in the query string is not echoed (the QR link carries it in the fragment,
    which browsers never send)."""
    response = await client.get("/verify", params={"token": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "alert(1)" not in response.text
