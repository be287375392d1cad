"""A GET query carries its variables in the URL, and uvicorn's access line records the URL: the
values must not reach the log (a certificate a bank verified, a passport number an officer
searched for), whichever way the server is started. The names stay, so an operator still
tells a GET query from a POST."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import pytest

from tests.helpers import ROOT, free_port, wait_ready

SECRET = "SECRET0passport0590123456"
VERIFY = "query($token: String!) { verifyDocument(token: $token) { valid failure } }"


def _start(command: str, port: int) -> subprocess.Popen:
    environment = {
        **{k: v for k, v in os.environ.items() if k not in ("KEY_ENCRYPTION_KEY", "APP_ENV")},
        "APP_ENV": "test",
        "DATA_DIR": tempfile.mkdtemp(),
        "DATABASE_URL": f"sqlite://{Path(tempfile.mkdtemp()) / 'app.db'}",
        "PORT": str(port),
    }
    if command == "server.py":  # as `make run` starts it: our JSON lines on stderr
        argv = [sys.executable, "server.py"]
    else:  # uvicorn's own command line and its own log format (stdout)
        argv = [sys.executable, "-m", "uvicorn", "--factory", "server:create_app"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "info"]
    return subprocess.Popen(
        argv, cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.mark.parametrize("command", ["server.py", "uvicorn"])
async def test_a_get_querys_variables_stay_out_of_the_access_log(command):
    port = free_port()
    process = _start(command, port)
    try:
        base = f"http://127.0.0.1:{port}"
        await wait_ready(base, process, attempts=300)
        async with httpx.AsyncClient() as c:
            params = {"query": VERIFY, "variables": json.dumps({"token": SECRET})}
            answer = await c.get(f"{base}/graphql", params=params)
        assert answer.status_code == 200
        assert answer.json()["data"] is not None, answer.text
        assert answer.json()["data"]["verifyDocument"] == {"valid": False, "failure": "MALFORMED"}
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    log = out + err
    assert SECRET not in log
    assert "verifyDocument" not in log  # nor the document's text
    lines = [line for line in log.splitlines() if "GET /graphql?" in line]
    assert len(lines) == 1, log
    assert "GET /graphql?query&variables HTTP/1.1" in lines[0]
