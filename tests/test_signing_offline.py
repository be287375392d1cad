"""Offline verification: `python -m signing verify TOKEN --jwks FILE` as a checker would run it,
in a subprocess, with the JWK Set the service publishes saved to a file. No database, no
account: only the token and the keys."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import gql, sign_in

ROOT = Path(__file__).resolve().parents[1]
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

ME = "{ viewer { person { id } } }"
ISSUE = """
mutation($id: ID!) {
  issuePassportCertificate(personId: $id) {
    __typename
    ... on CertificateIssued { certificate { id token issuedAt expiresAt } }
    ... on NotPermanentResident { message }
    ... on NotPermitted { message }
  }
}"""


async def certificate(client: httpx.AsyncClient) -> dict:
    """A fresh certificate of pr@demo.test."""
    token = await sign_in(client, "pr@demo.test")
    body = await gql(client, ME, token=token)
    person_id = body["data"]["viewer"]["person"]["id"]
    body = await gql(client, ISSUE, {"id": person_id}, token)
    result = body["data"]["issuePassportCertificate"]
    assert result["__typename"] == "CertificateIssued", result
    return result["certificate"]


async def saved_jwks(client: httpx.AsyncClient, folder: Path) -> Path:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    path = folder / "jwks.json"
    path.write_bytes(response.content)
    return path


async def run_verify(token: str, jwks: Path, stdin: str | None = None) -> tuple[int, dict, str]:
    """Run the offline verifier; returns (exit status, its JSON output, its standard error)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signing",
        "verify",
        token,
        "--jwks",
        str(jwks),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else None), timeout=60
    )
    assert process.returncode is not None
    try:
        report = json.loads(out)
    except ValueError as exc:
        raise AssertionError(f"not JSON: {out!r}; stderr: {err.decode()}") from exc
    return process.returncode, report, err.decode()


def tamper_middle_of_signature(token: str) -> str:
    index = len(token) - 20
    return token[:index] + B64URL[B64URL.index(token[index]) ^ 1] + token[index + 1 :]


async def test_a_genuine_certificate_verifies_offline(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    status, report, err = await run_verify(issued["token"], jwks)
    assert status == 0, (report, err)
    assert report["valid"] is True
    assert report["failure"] is None
    assert report["keyId"] in {k["kid"] for k in json.loads(jwks.read_text())["keys"]}
    assert report["claims"]["nationality"]
    assert report["claims"]["prCard"]["number"]
    assert report["expiresAt"] and report["issuedAt"]


async def test_the_token_may_come_on_standard_input(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    status, report, err = await run_verify("-", jwks, stdin=issued["token"] + "\n")
    assert status == 0, (report, err)
    assert report["valid"] is True


async def test_a_tampered_certificate_is_a_bad_signature_offline(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    altered = tamper_middle_of_signature(issued["token"])
    assert altered != issued["token"]
    status, report, _ = await run_verify(altered, jwks)
    assert status == 1
    assert report["valid"] is False
    assert report["failure"] == "BAD_SIGNATURE", report
    assert report["claims"] is None


async def test_changed_unused_bits_of_the_signature_do_not_verify_offline(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The 86th character of an Ed25519 signature carries four unused bits; changing them
    makes a different token, which must not verify."""
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    token = issued["token"]
    altered = token[:-1] + B64URL[B64URL.index(token[-1]) ^ 1]
    status, report, _ = await run_verify(altered, jwks)
    assert status == 1, report
    assert report["valid"] is False
    assert report["failure"] in ("BAD_SIGNATURE", "MALFORMED"), report


async def test_an_empty_key_set_is_unknown_key(client: httpx.AsyncClient, tmp_path: Path) -> None:
    issued = await certificate(client)
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"keys": []}))
    status, report, _ = await run_verify(issued["token"], empty)
    assert status == 1
    assert report["valid"] is False
    assert report["failure"] == "UNKNOWN_KEY", report
    assert report["claims"] is None


async def test_not_a_certificate_is_malformed_offline(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    jwks = await saved_jwks(client, tmp_path)
    access_token = await sign_in(client, "pr@demo.test")
    for token in ("not-a-token", access_token):
        status, report, _ = await run_verify(token, jwks)
        assert status == 1, (token, report)
        assert report["valid"] is False
        assert report["failure"] == "MALFORMED", report


async def test_a_key_id_no_text_can_hold_is_malformed_offline(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    jwks = await saved_jwks(client, tmp_path)
    header = b'{"alg":"EdDSA","kid":"\\ud800","typ":"passport-info+jwt"}'
    token = base64.urlsafe_b64encode(header).decode().rstrip("=") + ".e30.AAAA"
    status, report, err = await run_verify(token, jwks)
    assert status == 1, err
    assert report["failure"] == "MALFORMED", report
    assert report["keyId"] is None


async def test_offline_and_online_agree(client: httpx.AsyncClient, tmp_path: Path) -> None:
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    _, offline, _ = await run_verify(issued["token"], jwks)
    body = await gql(
        client,
        "query($t: String!) { verifyDocument(token: $t) { valid keyId claims } }",
        {"t": issued["token"]},
    )
    online: dict[str, Any] = body["data"]["verifyDocument"]
    assert online["valid"] is offline["valid"] is True
    assert online["keyId"] == offline["keyId"]
    assert online["claims"] == offline["claims"]


# Runs signing/verification.py as a lone file, as a bank's developer would after
# `pip install jwcrypto`: any import beyond the standard library and jwcrypto (with what jwcrypto
# itself needs) fails, so a new dependency of the verifier cannot slip in unnoticed.
_ALONE = """
import runpy, sys
allowed = set(sys.stdlib_module_names) | {"jwcrypto", "cryptography", "cffi", "_cffi_backend",
    "typing_extensions"}
class Refuse:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] not in allowed:
            raise ImportError(f"the lone verifier imported {name}")
        return None
sys.meta_path.insert(0, Refuse())
sys.argv = ["verification.py", *sys.argv[1:]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


async def run_alone(token: str, jwks: Path, folder: Path) -> tuple[int, dict, str]:
    lone = folder / "verification.py"
    lone.write_bytes((ROOT / "signing" / "verification.py").read_bytes())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",  # isolated: neither the checkout nor the user's site is importable
        "-c",
        _ALONE,
        token,
        "--jwks",
        str(jwks),
        cwd=folder,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    try:
        return process.returncode, json.loads(out), err.decode()
    except ValueError as exc:
        raise AssertionError(f"not JSON: {out!r}; stderr: {err.decode()}") from exc


async def test_the_verifier_runs_as_a_lone_file_with_jwcrypto_alone(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    status, report, err = await run_alone(issued["token"], jwks, tmp_path)
    assert status == 0, (report, err)
    assert report["valid"] is True
    status, report, _ = await run_alone(tamper_middle_of_signature(issued["token"]), jwks, tmp_path)
    assert (status, report["failure"]) == (1, "BAD_SIGNATURE")


async def test_the_installed_command_verifies_a_certificate(
    client: httpx.AsyncClient, tmp_path: Path
) -> None:
    command = Path(sys.executable).parent / "verify-passport-info"
    assert command.exists(), "`make` installs the verify-passport-info command into the venv"
    issued = await certificate(client)
    jwks = await saved_jwks(client, tmp_path)
    process = await asyncio.create_subprocess_exec(
        str(command),
        issued["token"],
        "--jwks",
        str(jwks),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, err.decode()
    assert json.loads(out)["valid"] is True
