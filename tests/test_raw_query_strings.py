"""GET /graphql with a query string as sent on the wire: bytes that are not UTF-8 are the
client's mistake (never a 500), and raw UTF-8 is answered from the cached-GET front like any
other anonymous GET of a public query."""

from __future__ import annotations

from typing import Any

from resolvers.metrics import CACHED, REQUESTS
from tests.helpers import asgi_call

SERVICES = b"query=%7Bservices%7Bcode%7D%7D"


async def raw_get(app: Any, query_string: bytes) -> tuple[int, bytes]:
    """One GET sent straight to the ASGI app, so the query string reaches it unencoded."""
    sent = await asgi_call(
        app,
        "GET",
        [(b"accept", b"application/json")],
        [{"type": "http.request", "body": b"", "more_body": False}],
        query_string,
    )
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body


async def test_a_query_string_that_is_not_utf8_is_answered_not_a_server_error(app):
    status, body = await raw_get(app, SERVICES + b"&x=\xff")
    assert status == 200
    assert b'"services"' in body


def cached_hits() -> float:
    return REQUESTS.labels(CACHED, "200")._value.get()


async def test_a_raw_utf8_query_string_is_answered_from_the_cached_get_front(app):
    query_string = SERVICES + "&note=é".encode()
    first_status, first = await raw_get(app, query_string)
    before = cached_hits()
    second_status, second = await raw_get(app, query_string)
    assert (first_status, second_status) == (200, 200)
    assert second == first
    assert cached_hits() == before + 1
