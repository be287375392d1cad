"""Several server processes starting at once on an empty database migrate and seed it once,
and agree on their keys: a token from one is accepted by the other."""

from __future__ import annotations

import tempfile
from pathlib import Path

import httpx

from tests.conftest import SIGN_IN, _create_pg_database, _drop_pg_database, _postgres_url
from tests.helpers import running_servers, server_environment


async def test_two_processes_starting_together_seed_once_and_share_keys(test_settings):
    base = _postgres_url()
    if base is None:
        url, name = f"sqlite://{Path(tempfile.mkdtemp()) / 'fresh.db'}", None
    else:
        url, name = await _create_pg_database(base)
    data_dir = tempfile.mkdtemp()
    env = server_environment(test_settings, DATABASE_URL=url, DATA_DIR=data_dir)
    env.pop("REDIS_URL", None)
    try:
        async with running_servers(2, env, ready_attempts=600) as ports:
            first, second = (f"http://127.0.0.1:{p}" for p in ports)
            async with httpx.AsyncClient(timeout=30) as c:
                offices = await c.post(
                    f"{second}/graphql",
                    json={"query": "{ offices(first: 100) { edges { node { code } } } }"},
                )
                codes = [e["node"]["code"] for e in offices.json()["data"]["offices"]["edges"]]
                assert len(codes) == len(set(codes)) == 24
                keys = (await c.get(f"{first}/.well-known/jwks.json")).json()["keys"]
                assert len(keys) == 2  # one active and one next document key, not two of each
                assert keys == (await c.get(f"{second}/.well-known/jwks.json")).json()["keys"]
                signed = await c.post(
                    f"{first}/graphql",
                    json={
                        "query": SIGN_IN,
                        "variables": {"email": "pr@demo.test", "password": "demo-pass-2024"},
                    },
                )
                token = signed.json()["data"]["signIn"]["accessToken"]
                viewer = await c.post(
                    f"{second}/graphql",
                    json={"query": "{ viewer { account { email } } }"},
                    headers={"authorization": f"Bearer {token}"},
                )
                assert viewer.json()["data"]["viewer"]["account"]["email"] == "pr@demo.test"
    finally:
        if name is not None:
            await _drop_pg_database(base, name)
