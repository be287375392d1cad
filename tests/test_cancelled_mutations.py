"""A mutation whose operation ends before it does (the client closes its WebSocket, completes
the operation, or sends a message that closes the socket) still ends its transaction with a
commit or a rollback: cut in between, the transaction kept its connection, and with SQLite the
one write lock, and every later statement of the process waited for ever.

Run against a real server process (uvicorn, its own SQLite file): a hang must fail this test,
not freeze the suite's shared database."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest
from httpx_ws import aconnect_ws

from tests.helpers import ROOT, free_port, wait_ready

RESET = 'mutation { requestPasswordReset(email: "nobody@example.test") { __typename } }'


async def _cut_short(base: str, how: str) -> None:
    """Start the mutation on a WebSocket and end the operation at once, `how`."""
    async with httpx.AsyncClient(base_url=base) as http:
        async with aconnect_ws("/graphql", http, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init"})
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            await ws.send_json({"type": "subscribe", "id": "m", "payload": {"query": RESET}})
            if how == "complete":
                await ws.send_json({"type": "complete", "id": "m"})
                await asyncio.sleep(0.2)
            elif how == "invalid":  # the server closes the socket (4400) mid-mutation
                await ws.send_json({"type": "subscribe", "id": "x", "payload": {}})
                await asyncio.sleep(0.2)
            # "close": leaving the block closes the socket normally (1000)


@pytest.mark.parametrize("how", ["close", "complete", "invalid"])
async def test_a_mutation_cut_short_on_the_websocket_leaves_the_database_usable(how):
    port = free_port()
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("KEY_ENCRYPTION_KEY", "APP_ENV")},
        "APP_ENV": "test",
        "DATA_DIR": tempfile.mkdtemp(),
        "DATABASE_URL": f"sqlite://{Path(tempfile.mkdtemp()) / 'app.db'}",
        "PORT": str(port),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "server.py"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base, process, attempts=300)
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            for _ in range(5):
                await _cut_short(base, how)
                # /ready reads the database; a write must still go through too.
                assert (await http.get("/ready")).status_code == 200
                written = await http.post("/graphql", json={"query": RESET})
                assert written.json()["data"]["requestPasswordReset"]["__typename"], written.text
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err, err
