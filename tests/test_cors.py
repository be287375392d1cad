"""CORS: preflights and headers for the listed origins only (development's defaults here),
any origin for the published keys, the cached-GET front included, and the WebSocket's
origin check; CORS_ORIGINS parsing and production's empty default."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect

import settings as settings_module
from settings import Settings
from tests.helpers import graphql_ws
from web.cors import DEVELOPMENT_ORIGINS, OriginPolicy

LISTED = "http://localhost:5173"
STRANGER = "https://evil.example"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, authorization, x-request-id",
}


def header_list(response: httpx.Response, name: str) -> set[str]:
    return {v.strip().lower() for v in response.headers.get(name, "").split(",") if v.strip()}


async def test_preflight_from_a_listed_origin_allows_methods_headers_and_is_cached(client):
    response = await client.options("/graphql", headers={"origin": LISTED, **PREFLIGHT})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == LISTED
    assert header_list(response, "access-control-allow-methods") == {"get", "post", "options"}
    allowed = header_list(response, "access-control-allow-headers")
    assert {"content-type", "authorization", "x-request-id", "if-none-match"} <= allowed
    assert {"accept", "accept-language"} <= allowed
    assert int(response.headers["access-control-max-age"]) >= 600
    assert "origin" in header_list(response, "vary")
    assert "access-control-allow-credentials" not in response.headers


async def test_preflight_from_an_unlisted_origin_gets_no_cors_headers(client):
    response = await client.options("/graphql", headers={"origin": STRANGER, **PREFLIGHT})
    assert response.status_code == 403
    assert not [h for h in response.headers if h.startswith("access-control-")]


async def test_a_listed_origin_reads_the_answer_its_etag_and_request_id(client):
    response = await client.post(
        "/graphql", json={"query": "{ services { code } }"}, headers={"origin": LISTED}
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == LISTED
    assert {"etag", "x-request-id"} <= header_list(response, "access-control-expose-headers")
    assert "origin" in header_list(response, "vary")


async def test_an_unlisted_origin_gets_the_answer_without_cors_headers(client):
    response = await client.post(
        "/graphql", json={"query": "{ services { code } }"}, headers={"origin": STRANGER}
    )
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert "origin" in header_list(response, "vary")


async def test_answers_of_the_cached_get_front_carry_cors_headers(client):
    # A query no other test sends, so the first GET is the one that fills the cache.
    query = f"/graphql?query=%7Bservices%7Bcode%7D%7D%23{secrets.token_hex(4)}"
    first = await client.get(query, headers={"origin": LISTED})
    second = await client.get(query, headers={"origin": LISTED})
    assert first.status_code == second.status_code == 200
    # The front answers before routing: no statement count, as nothing ran.
    assert "x-sql-statements" in first.headers
    assert "x-sql-statements" not in second.headers
    assert second.headers["access-control-allow-origin"] == LISTED
    assert "etag" in header_list(second, "access-control-expose-headers")
    vary = header_list(second, "vary")
    assert {"origin", "accept", "accept-language"} <= vary
    refused = await client.get(query, headers={"origin": STRANGER})
    assert "access-control-allow-origin" not in refused.headers


async def test_the_published_keys_are_readable_from_any_origin(client):
    response = await client.get("/.well-known/jwks.json", headers={"origin": STRANGER})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    preflight = await client.options(
        "/.well-known/jwks.json",
        headers={"origin": STRANGER, "access-control-request-method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"


async def test_certificate_paths_follow_the_listed_origins(client):
    path = "/certificates/Q2VydGlmaWNhdGU6MQ.pdf"
    listed = await client.options(
        path, headers={"origin": LISTED, "access-control-request-method": "GET"}
    )
    assert listed.status_code == 204
    assert listed.headers["access-control-allow-origin"] == LISTED
    stranger = await client.options(
        path, headers={"origin": STRANGER, "access-control-request-method": "GET"}
    )
    assert "access-control-allow-origin" not in stranger.headers


async def test_paths_outside_the_api_get_no_cors_headers(client):
    response = await client.get("/health", headers={"origin": LISTED})
    assert "access-control-allow-origin" not in response.headers


async def ws_handshake(app: Any, headers: dict[str, str]) -> dict:
    async with graphql_ws(app, address="10.251.0.1", headers=headers) as ws:
        await ws.send_json({"type": "connection_init", "payload": {}})
        return await ws.receive_json(timeout=10)


@pytest.mark.parametrize(
    "headers",
    [{}, {"origin": LISTED}, {"origin": "http://testserver"}],
    ids=["no-origin", "listed", "own-host"],
)
async def test_websocket_accepts_no_origin_listed_origins_and_its_own_host(app, headers):
    assert (await ws_handshake(app, headers))["type"] == "connection_ack"


async def test_websocket_refuses_an_unlisted_origin_before_accepting(app):
    codes = []
    try:
        await ws_handshake(app, {"origin": STRANGER})
    except* WebSocketDisconnect as refused:  # raised inside the transport's task group
        codes = [e.code for e in refused.exceptions if isinstance(e, WebSocketDisconnect)]
    assert codes == [1008]


def test_development_allows_local_dev_servers_and_its_own_origin_by_default():
    policy = OriginPolicy.from_settings(
        Settings(app_env="development", public_base_url="http://127.0.0.1:8000")
    )
    for origin in (*DEVELOPMENT_ORIGINS, "http://127.0.0.1:8000"):
        assert policy.allows(origin), origin
    assert not policy.allows("http://localhost:5174")


def test_production_allows_no_origin_until_configured():
    assert not OriginPolicy.from_settings(Settings(app_env="production")).allows(LISTED)
    configured = Settings(app_env="production", cors_origins=("https://apply.example.gov.cn",))
    policy = OriginPolicy.from_settings(configured)
    assert policy.allows("https://apply.example.gov.cn")
    assert not policy.allows(LISTED)


def test_cors_origins_is_read_and_normalised(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", " https://Apply.Example.gov.cn/ , http://localhost:5173")
    assert settings_module.load().cors_origins == (
        "https://apply.example.gov.cn",
        "http://localhost:5173",
    )


@pytest.mark.parametrize("wrong", ["localhost:5173", "https://a.example/path", "*", "ftp://a.b"])
def test_a_wrong_cors_origin_stops_the_start(monkeypatch, wrong):
    monkeypatch.setenv("CORS_ORIGINS", wrong)
    with pytest.raises(ValueError, match="CORS_ORIGINS"):
        settings_module.load()
