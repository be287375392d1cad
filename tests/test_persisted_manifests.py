"""PERSISTED_QUERIES_FILE as build tools write it: Apollo's persisted-query manifest, a plain
{hash: document} map, or a list of documents; a server started with one accepts only those."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws

from tests.helpers import running_servers, server_environment
from web import first_party
from web.persisted import ManifestProblem, registry_from, sha256

SERVICES = "query Services { services { code } }"
OFFICES = "query Offices { offices(first: 2) { edges { node { code } } } }"


def apollo_manifest(*documents: str) -> dict:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha256(d), "name": d.split()[1], "type": "query", "body": d} for d in documents
        ],
    }


def test_an_apollo_manifest_registers_each_body_by_its_hash():
    registry = registry_from(apollo_manifest(SERVICES, OFFICES))
    assert registry[sha256(SERVICES)] == SERVICES
    assert registry[sha256(OFFICES)] == OFFICES


def test_a_plain_map_registers_each_document_by_its_hash_and_by_its_given_id():
    registry = registry_from({sha256(SERVICES): SERVICES, "relay-id-1": OFFICES})
    assert registry[sha256(SERVICES)] == SERVICES
    assert registry[sha256(OFFICES)] == OFFICES
    assert registry["relay-id-1"] == OFFICES


def test_a_list_of_documents_is_still_accepted():
    assert registry_from([SERVICES]) == {sha256(SERVICES): SERVICES}


@pytest.mark.parametrize(
    "data",
    [
        {"format": "apollo-persisted-query-manifest", "version": 2, "operations": []},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [3]},
        {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [{"id": "x"}]},
        {"abc": ""},
        "just text",
    ],
)
def test_a_file_that_is_none_of_the_formats_is_a_clear_problem(data):
    with pytest.raises(ManifestProblem):
        registry_from(data)


async def test_a_server_started_with_an_apollo_manifest_runs_only_its_documents(
    test_settings, tmp_path: Path
):
    """Over HTTP and over the WebSocket alike: registered-only mode is not bypassed by
    changing transport (a refusal carries the same code on both)."""
    manifest = tmp_path / "persisted-query-manifest.json"
    manifest.write_text(json.dumps(apollo_manifest(SERVICES)))
    env = server_environment(test_settings, PERSISTED_QUERIES_FILE=str(manifest))
    env.pop("REDIS_URL", None)
    async with running_servers(1, env, ready_attempts=600) as (port,):
        base = f"http://127.0.0.1:{port}/graphql"
        extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha256(SERVICES)}}
        async with httpx.AsyncClient(timeout=30) as c:
            by_hash = await c.get(base, params={"extensions": json.dumps(extensions)})
            assert by_hash.status_code == 200, by_hash.text
            assert len(by_hash.json()["data"]["services"]) == 11
            other = await c.post(base, json={"query": OFFICES})
            body = other.json()
            assert body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED", body
            # The service's own /verify page still asks what it needs.
            verified = await c.post(
                base,
                json={"query": first_party.VERIFY_DOCUMENT, "variables": {"token": "a.b.c"}},
            )
            answer = verified.json()["data"]
            assert answer == {"verifyDocument": {"valid": False, "failure": "MALFORMED"}}

            async with aconnect_ws(base, c, subprotocols=["graphql-transport-ws"]) as ws:
                await ws.send_json({"type": "connection_init", "payload": {}})
                assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
                await ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": OFFICES}})
                refused = await ws.receive_json(timeout=10)
                assert refused["type"] == "error", refused
                assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
                await ws.send_json({"id": "2", "type": "subscribe", "payload": {"query": SERVICES}})
                answered = await ws.receive_json(timeout=10)
                assert answered["type"] == "next", answered
                assert len(answered["payload"]["data"]["services"]) == 11


def test_the_documents_the_services_pages_send_stand_verbatim_in_their_scripts():
    """Registered-only mode accepts web.first_party's documents for the service's own pages:
    the scripts must send exactly those texts (a change to one is a change to both)."""
    static = Path(__file__).resolve().parent.parent / "web" / "static"
    verify = (static / "verify" / "verify-page.js").read_text()
    account = (static / "account" / "account-pages.js").read_text()
    assert f'"{first_party.VERIFY_DOCUMENT}"' in verify
    assert f"`{first_party.VERIFY_BY_LINK}`" in account
    assert f"`{first_party.RESET_BY_LINK}`" in account
