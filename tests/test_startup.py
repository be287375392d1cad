"""Several server processes starting at once on an empty database migrate and seed it once,
and agree on their keys: a token from one is accepted by the other. A start that cannot
succeed (bad setting, database unreachable) ends the process at once with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import SIGN_IN, _create_pg_database, _drop_pg_database, _postgres_url
from tests.helpers import ROOT, free_port, running_servers, server_environment


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


def start_server_py(**env: str) -> subprocess.Popen:
    """`python server.py` with a throw-away data folder and the given settings."""
    base = {k: v for k, v in os.environ.items() if k not in ("KEY_ENCRYPTION_KEY", "APP_ENV")}
    return subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env={
            **base,
            "DATA_DIR": tempfile.mkdtemp(),
            "DATABASE_URL": f"sqlite://{Path(tempfile.mkdtemp()) / 'app.db'}",
            "PORT": str(free_port()),
            **env,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize(
    ("env", "status", "reason"),
    [
        ({"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nope"}, 3, "127.0.0.1:1/nope"),
        ({"PORT": "abc"}, 2, "PORT must be a whole number"),
        ({"APP_ENV": "production"}, 2, "KEY_ENCRYPTION_KEY is not set"),
        ({"APP_ENV": "prod"}, 2, "APP_ENV must be one of development, test, production"),
        ({"APP_ENV": "Production"}, 2, "APP_ENV must be one of"),
    ],
    ids=["database-unreachable", "port-not-a-number", "production-without-key", "prod", "case"],
)
def test_a_start_that_fails_exits_at_once_with_one_line(env, status, reason):
    began = time.monotonic()
    process = start_server_py(**env)
    try:
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert time.monotonic() - began < 10
    assert process.returncode == status
    assert "Traceback" not in err
    refusals = [json.loads(line) for line in err.splitlines() if "cannot start" in line]
    assert len(refusals) == 1, err
    assert refusals[0]["level"] == "CRITICAL"
    assert reason in refusals[0]["message"]
    assert "\n" not in refusals[0]["message"]


async def test_a_key_encryption_key_other_than_the_one_that_encrypted_the_keys_is_named(
    app, test_settings
):
    """A process started with another KEY_ENCRYPTION_KEY (a second server with its own
    DATA_DIR in development) cannot read the signing keys: it says which setting is wrong,
    not only that a password is incorrect."""
    from signing.keys import KeyConfigurationError, KeyRing

    ring = KeyRing(test_settings.with_(key_encryption_key="another-key-encryption-key"))
    with pytest.raises(KeyConfigurationError) as refused:
        await ring.reload()
    assert "KEY_ENCRYPTION_KEY" in str(refused.value)
    assert "\n" not in str(refused.value)
