"""What every benchmark needs: throw-away PostgreSQL databases, free ports, a real server
process started and stopped cleanly, wrk runs and their results, and percentiles."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

# The checkout whose service the benchmarks run, first on the path when this module is
# imported, so that the scripts of bench/ import its modules (bench/signing.py is no package).
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The PostgreSQL server in which the benchmarks create and drop their temporary databases.
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"

WRK = shutil.which("wrk") or "/usr/bin/wrk"

# Where profiled time goes, for both profilers: the innermost frame's file (cProfile's absolute
# path and function, py-spy's path below sys.path), filed under the first group with a part in
# it. The service's own folders come after the libraries, whose paths may contain their names.
PACKAGE_GROUPS = (
    ("execution plans (schema/execution/)", ("/schema/execution/",)),
    ("graphql-core", ("/graphql/",)),
    ("strawberry (resolver wrappers, argument conversion)", ("/strawberry/",)),
    ("ORM (tortoise, pypika)", ("/tortoise/", "/pypika")),
    ("database driver (aiosqlite, asyncpg)", ("/aiosqlite/", "/asyncpg/", "sqlite3")),
    ("HTTP (uvicorn, starlette, h11)", ("/uvicorn/", "/starlette/", "httptools", "h11/")),
    ("token signatures (jwcrypto, cryptography)", ("/jwcrypto/", "/cryptography/")),
    ("the service's schema/ (types, resolvers' glue)", ("/schema/",)),
    ("the service's resolvers/", ("/resolvers/",)),
    ("the service's persistence/", ("/persistence/",)),
    ("the service's web/", ("/web/",)),
    ("the service's domain/, signing/", ("/domain/", "/signing/")),
    ("asyncio tasks and futures", ("/asyncio/tasks.py", "/asyncio/futures.py", "_asyncio")),
    ("event loop (asyncio, uvloop, select)", ("/asyncio/", "/uvloop/", "select.epoll")),
    ("Python built-ins (from all of the above)", ("~:",)),
)


def package_group(where: str) -> str:
    """The group of PACKAGE_GROUPS of a frame's file (or `file:function`)."""
    rooted = where if where.startswith(("/", "~")) else "/" + where
    return next((g for g, parts in PACKAGE_GROUPS if any(p in rooted for p in parts)), "other")


def pg_url(base: str, name: str) -> str:
    """The URL of database `name` on the server of `base`."""
    parts = urlsplit(base.replace("postgresql://", "postgres://", 1))
    return urlunsplit(parts._replace(path=f"/{name}"))


async def pg_admin(base: str, statement: str) -> None:
    """Run CREATE/DROP DATABASE on the server of `base` (through its `postgres` database)."""
    import asyncpg

    parts = urlsplit(base.replace("postgres://", "postgresql://", 1))
    admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")), timeout=10)
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


async def create_database(kind: str, postgres_url: str, workdir: Path) -> tuple[str, str | None]:
    """A fresh database for one run: its URL, and the name of the PostgreSQL database to drop
    afterwards (None for an SQLite file in `workdir`)."""
    if kind == "sqlite":
        return f"sqlite://{workdir / 'bench.db'}", None
    name = f"bench_{secrets.token_hex(4)}"
    await pg_admin(postgres_url, f'CREATE DATABASE "{name}"')
    return pg_url(postgres_url, name), name


async def drop_database(postgres_url: str, name: str | None) -> None:
    if name is not None:
        await pg_admin(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_environment(
    database_url: str, port: int, data_dir: Path, extra_env: dict[str, str]
) -> dict[str, str]:
    """The environment of a benchmarked server: demo data, cheap password hashing."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "APP_ENV": "development",  # loads the demo data into the empty database
        "DATA_DIR": str(data_dir),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        "KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        **extra_env,
    }


def in_process_settings(database_url: str, data_dir: Path, **changes: object) -> Any:
    """The settings of an app run inside the benchmark's own process, like
    `server_environment`'s: demo data, cheap password hashing, no Redis; nothing is read
    from the environment. `changes` lifts the limits a benchmark would run into."""
    import settings as settings_module  # after the path set-up (maybe another checkout's)

    return settings_module.load({}).with_(
        app_env="development",
        database_url=database_url,
        redis_url=None,
        data_dir=data_dir,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        key_encryption_key=secrets.token_urlsafe(32),
        **changes,
    )


def start_server(
    database_url: str, port: int, data_dir: Path, log_path: Path, extra_env: dict[str, str]
) -> subprocess.Popen:
    """The real service under uvicorn, with demo data, cheap password hashing, no Redis."""
    env = server_environment(database_url, port, data_dir, extra_env)
    env.pop("REDIS_URL", None)
    # The child keeps its own copy of the descriptor; the parent closes its copy at once.
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "server:create_app",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def wait_ready(base_url: str, process: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with status {process.returncode}")
            try:
                if (await client.get("/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("the server did not become ready in time")


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def database_arguments(parser: argparse.ArgumentParser, *kinds: str, default: str) -> None:
    """--database (one of `kinds`) and --postgres-url, as every benchmark takes them."""
    parser.add_argument("--database", choices=kinds, default=default)
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="server in which a temporary database is created and dropped",
    )


@contextlib.asynccontextmanager
async def served(
    args: argparse.Namespace, prefix: str, extra_env: dict[str, str], keep: bool = False
) -> AsyncIterator[tuple[str, str]]:
    """(database URL, base URL) of the real server started on a throw-away database of
    `args.database`; its log is printed when the body fails, and everything is removed
    afterwards (the temporary folder kept after a failure when `keep`)."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    database_url, pg_name = await create_database(args.database, args.postgres_url, workdir)
    port = free_port()
    log_path = workdir / "server.log"
    process = start_server(database_url, port, workdir / "data", log_path, extra_env)
    failed = True
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process)
        yield database_url, f"http://127.0.0.1:{port}"
        failed = False
    except Exception:
        print(f"--- server log ({log_path}) ---", file=sys.stderr)
        print(log_path.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        stop_server(process)
        await drop_database(args.postgres_url, pg_name)
        if not (failed and keep):
            shutil.rmtree(workdir, ignore_errors=True)


# ------------------------------------------------------------------------------------ wrk

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers and socket errors
    raw: str


def parse_wrk(output: str) -> WrkResult:
    def latency(pct: str) -> float:
        m = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
        return float(m.group(1)) * _UNITS_MS[m.group(2)] if m else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non2xx.group(1)) if non2xx else 0
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
    if rps is None:
        raise RuntimeError(f"could not read wrk's output:\n{output}")
    return WrkResult(
        requests_per_s=float(rps.group(1)),
        p50_ms=latency("50"),
        p99_ms=latency("99"),
        requests=int(total.group(1)) if total else 0,
        errors=errors,
        raw=output,
    )


def lua_string(text: str) -> str:
    """A Lua long-bracket literal holding `text` verbatim."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def post_script(path: Path, body: bytes, headers: dict[str, str]) -> Path:
    """A wrk script POSTing `body` as JSON with `headers`, written to `path`."""
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode())}"]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise ValueError(f"unexpected header name {name!r}")
        lines.append(f'wrk.headers["{name}"] = {lua_string(value)}')
    path.write_text("\n".join(lines) + "\n")
    return path


async def wrk_process(
    url: str,
    threads: int,
    connections: int,
    seconds: float,
    script: Path | None,
    grace_s: float = 60,
) -> subprocess.CompletedProcess[str]:
    """wrk with latency percentiles against `url` for `seconds` (whole, at least 1), run to
    its end (killed `grace_s` after it should have ended)."""
    command = [
        WRK,
        "--latency",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    return await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        timeout=seconds + grace_s,
        check=False,
    )


async def run_wrk(
    url: str, threads: int, connections: int, seconds: float, script: Path | None
) -> WrkResult:
    """The result of a wrk run (`wrk_process`); a failed run ends the benchmark."""
    done = await wrk_process(url, threads, connections, seconds, script)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


# The demo permanent resident (pr@demo.test, with the published development-only password),
# and certificate facts of the kind theirs hold: a current and a superseded passport.
DEMO_PR_EMAIL = "pr@demo.test"
DEMO_PASSWORD = "demo-pass-2024"  # noqa: S105 (the published development-only demo password)
PR_CERTIFICATE_FACTS = {
    "name": {"surname": "Johnson", "givenNames": "Michael James"},
    "nationality": "USA",
    "birthDate": "1978-09-23",
    "prCard": {"number": "110840780923M001", "issuedOn": "2023-05-01", "validUntil": "2033-04-30"},
    "passports": [
        {
            "number": "590123456",
            "issuingCountry": "USA",
            "validUntil": "2035-06-23",
            "boundFrom": "2025-06-25",
            "boundUntil": None,
            "current": True,
        },
        {
            "number": "488812345",
            "issuingCountry": "USA",
            "validUntil": "2026-01-10",
            "boundFrom": "2024-03-12",
            "boundUntil": "2025-06-25",
            "current": False,
        },
    ],
}

SIGN_IN = """
mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    __typename ... on AuthSession { accessToken }
  }
}"""


async def sign_in(client: httpx.AsyncClient, email: str, password: str) -> str:
    """The access token of a signed-in account (a failed sign-in ends the run)."""
    response = await client.post(
        "/graphql", json={"query": SIGN_IN, "variables": {"email": email, "password": password}}
    )
    result = response.json()["data"]["signIn"]
    if result["__typename"] != "AuthSession":
        raise RuntimeError(f"sign-in of {email} failed: {result}")
    return result["accessToken"]


async def booking_outcome(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any],
    token: str,
    show_errors: bool = False,
) -> str:
    """POST a bookAppointment mutation as `token`'s account: its result's type name, else
    what went wrong (the HTTP status, with the start of the errors when `show_errors`; the
    exception's type)."""
    try:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"authorization": f"Bearer {token}"},
        )
        body = response.json()
        if response.status_code == 200 and body.get("data"):
            return body["data"]["bookAppointment"]["__typename"]
        if show_errors:
            return f"HTTP {response.status_code}: {str(body.get('errors'))[:80]}"
        return f"HTTP {response.status_code} error"
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        return f"error: {type(exc).__name__}"


ME = "{ viewer { person { id } } }"


async def demo_pr_signed_in(client: httpx.AsyncClient) -> tuple[dict[str, str], str]:
    """The demo permanent resident signed in: (authorization header, their person's id)."""
    auth = {"authorization": f"Bearer {await sign_in(client, DEMO_PR_EMAIL, DEMO_PASSWORD)}"}
    body = (await client.post("/graphql", json={"query": ME}, headers=auth)).json()
    return auth, body["data"]["viewer"]["person"]["id"]


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


async def create_applicants(n: int, password: str, label: str) -> list[tuple[str, int]]:
    """n persons with linked APPLICANT accounts signing in with `password`, named after
    `label` ("Rush 3", rush-<run>-3@bench.test): (e-mail, person id). Needs the ORM up."""
    from argon2 import PasswordHasher
    from tortoise.transactions import in_transaction

    from domain.persons import PersonFacts
    from persistence.models import Account, AccountRole
    from persistence.persons import create_person

    # The weakest hash Argon2 allows: the accounts are throw-away and made by the hundred.
    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)
    run = secrets.token_hex(3)
    made: list[tuple[str, int]] = []
    async with in_transaction():
        for i in range(n):
            person = await create_person(
                PersonFacts(
                    surname=label,
                    given_names=f"Bench {i}",
                    nationality="GBR",
                    birth_date=date(1980, 1, 1) + timedelta(days=i),
                    sex="X",
                    passport_number=f"{label[0].upper()}{secrets.token_hex(4).upper()}",
                    passport_valid_until=date(2035, 1, 1),
                ),
                bound_from=date(2026, 1, 1),
            )
            email = f"{label.lower()}-{run}-{i}@bench.test"
            account = await Account.create(
                email=email, display_name=f"{label} {i}", password_hash=hashed, person_id=person.id
            )
            await AccountRole.create(account_id=account.id, role="APPLICANT")
            made.append((email, person.id))
    return made
