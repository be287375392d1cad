"""The signed-in dashboard: SQL statements per request on SQLite and PostgreSQL, and its
throughput and latency on PostgreSQL with 20 records of each kind, one server process.

For each database (`--database sqlite|postgres|both`, default both), on a throw-away database:

1. Starts the real server (uvicorn, one worker, development demo data, cheap Argon2,
   REPORT_SQL_STATEMENTS=1, long-lived access tokens, an unlimited cost budget, no Redis)
   from `--root` (default: this checkout; another checkout, e.g. `git archive` of an older
   commit, measures that code). On PostgreSQL its connections go through the wire proxy of
   tests/pg_wire.py, which sees every statement PostgreSQL receives (each Query and Execute
   message: BEGIN/COMMIT and asyncpg's connection resets included).
2. Makes, with that checkout's ORM, a person with 1 record of each kind and one with
   `--records` (20) of each (applications with 3 events, documents, appointments, two
   passports, a PR card; persistence/demo/records.py), signs both in over HTTP, reads the
   dashboard once (the service catalogue is then cached for a minute).
3. Reads each dashboard three times and prints, per request: the server's own count
   (X-SQL-Statements: Tortoise's statements), and on PostgreSQL what the wire carried
   meanwhile: statements in all, of them connection resets, and connections used (the least
   of the three reads: the server's background work, on other connections, can only add).
4. PostgreSQL only: restarts the server with no proxy in front and runs wrk (POST of the
   dashboard of the person with `--records`, `--clients` connections, 2 threads, `--warmup`
   then `--duration` seconds) and prints requests/s, p50 and p99; non-2xx answers and socket
   errors must be 0.

  .venv/bin/python bench/dashboard_statements.py                     # both, 16 clients, 10 s
  .venv/bin/python bench/dashboard_statements.py --clients 16,32 --duration 20
  git archive 8756908 | tar -x -C /tmp/before && \\
      .venv/bin/python bench/dashboard_statements.py --root /tmp/before  # the code before

Needs wrk (`apt-get install wrk`) and, for PostgreSQL, a server at --postgres-url that lets
its user create databases.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]  # ROOT first: bench/signing.py is no package

from harness import (  # noqa: E402  (after the path set-up)
    DEMO_PASSWORD,
    create_database,
    database_arguments,
    drop_database,
    free_port,
    post_script,
    run_wrk,
    server_environment,
    sign_in,
    wait_ready,
)

from tests.pg_wire import StatementProxy  # noqa: E402
from tests.test_query_counts import DASHBOARD  # noqa: E402

MAKE_PERSONS = """
import asyncio, sys
from datetime import UTC, datetime, timedelta
from tortoise import Tortoise
import settings
from persistence.demo.records import person_with_records

async def main(url, counts):
    await Tortoise.init(config=settings.Settings(database_url=url).tortoise_config())
    try:
        for n in counts:
            now = datetime.now(UTC) - timedelta(days=30)
            print(await person_with_records(n, surname="Bench", now=now))
    finally:
        await Tortoise.close_connections()

asyncio.run(main(sys.argv[1], [int(n) for n in sys.argv[2:]]))
"""


@dataclass
class Counted:
    records: int
    reported: int  # X-SQL-Statements
    wire: int | None = None  # statements PostgreSQL received during the request
    resets: int | None = None
    connections: int | None = None


@dataclass
class Load:
    clients: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


@dataclass
class Run:
    database: str
    counted: list[Counted] = field(default_factory=list)
    loads: list[Load] = field(default_factory=list)


def server_env(database_url: str, port: int, data_dir: Path, key: str) -> dict[str, str]:
    extra = {
        "KEY_ENCRYPTION_KEY": key,  # both starts read the signing keys the first one made
        "ACCESS_TOKEN_MINUTES": "600",  # the token outlives every measurement
        "COST_BUDGET_PER_MINUTE": str(10**12),  # the budget must never be what is measured
        "SIGNIN_FAILURES_PER_ACCOUNT": "1000000",
        "SIGNIN_FAILURES_PER_IP": "1000000",
        "REPORT_SQL_STATEMENTS": "1",
    }
    env = server_environment(database_url, port, data_dir, extra)
    env.pop("REDIS_URL", None)
    return env


def spawn(root: Path, env: dict[str, str], port: int, log_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "uvicorn", "--factory", "server:create_app",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
               "--log-level", "warning"]  # fmt: skip
    # The child keeps its own copy of the descriptor; the parent closes its copy at once.
    with open(log_path, "ab") as log:
        return subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-4000:]


@contextlib.asynccontextmanager
async def server(
    root: Path, database_url: str, data_dir: Path, key: str, log_path: Path
) -> AsyncIterator[str]:
    """The base URL of one uvicorn worker of the app of `root`, stopped afterwards."""
    port = free_port()
    process = spawn(root, server_env(database_url, port, data_dir, key), port, log_path)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process, timeout_s=300)
        yield f"http://127.0.0.1:{port}"
    except Exception:
        print(tail(log_path), file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()


async def make_persons(root: Path, database_url: str, counts: list[int]) -> list[str]:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", MAKE_PERSONS, database_url, *map(str, counts)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"making the persons failed:\n{done.stderr[-3000:]}")
    return done.stdout.split()


async def dashboard(
    http: httpx.AsyncClient, token: str, records: int, proxy: StatementProxy | None
) -> Counted:
    mark = len(proxy.sent) if proxy else 0
    response = await http.post(
        "/graphql", json={"query": DASHBOARD}, headers={"authorization": f"Bearer {token}"}
    )
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        raise RuntimeError(f"dashboard failed: {response.status_code} {response.text[:2000]}")
    person = body["data"]["viewer"]["person"]
    sizes = {len(person["applications"]["edges"]), len(person["documents"])}
    if sizes != {records}:
        raise RuntimeError(f"the dashboard lists {sizes}, {records} of each expected")
    counted = Counted(records, int(response.headers["x-sql-statements"]))
    if proxy is not None:
        sent = proxy.sent[mark:]
        counted.wire = len(sent)
        counted.resets = sum(s.is_reset for s in sent)
        counted.connections = len({s.connection for s in sent})
    return counted


async def wrk(url: str, script: Path, clients: int, seconds: float) -> Load:
    result = await run_wrk(url, min(2, clients), clients, seconds, script)
    return Load(
        clients, result.requests_per_s, result.p50_ms, result.p99_ms, result.requests,
        result.errors,
    )  # fmt: skip


async def run_database(kind: str, args: argparse.Namespace) -> Run:
    run = Run(kind)
    workdir = Path(tempfile.mkdtemp(prefix="bench-dashboard-"))
    database_url, pg_name = await create_database(kind, args.postgres_url, workdir)
    key = secrets.token_urlsafe(32)
    data_dir = workdir / "data"
    log_path = workdir / "server.log"
    proxy: StatementProxy | None = None
    try:
        served_url = database_url
        if kind == "postgres":
            host, port = re.match(r".*@([^:/]+):(\d+)/", database_url).groups()  # type: ignore[union-attr]
            proxy = StatementProxy(host, int(port))
            await proxy.start()
            served_url = proxy.url(database_url)
        async with server(args.root, served_url, data_dir, key, log_path) as base:
            emails = await make_persons(args.root, database_url, [1, args.records])
            async with httpx.AsyncClient(base_url=base, timeout=60) as http:
                tokens = [await sign_in(http, email, DEMO_PASSWORD) for email in emails]
                await dashboard(http, tokens[0], 1, proxy)  # reads the catalogue
                for token, records in zip(tokens, (1, args.records), strict=True):
                    reads = [await dashboard(http, token, records, proxy) for _ in range(3)]
                    run.counted.append(min(reads, key=lambda c: (c.wire or 0, c.reported)))
        if kind == "postgres":
            async with server(args.root, database_url, data_dir, key, log_path) as base:
                body = json.dumps({"query": DASHBOARD}).encode()
                auth = {"Authorization": f"Bearer {tokens[1]}"}
                script = post_script(workdir / "dashboard.lua", body, auth)
                for clients in args.clients:
                    await wrk(f"{base}/graphql", script, clients, args.warmup)
                    load = await wrk(f"{base}/graphql", script, clients, args.duration)
                    if load.errors:
                        raise RuntimeError(f"{load.errors} failed requests at {clients} clients")
                    run.loads.append(load)
    finally:
        if proxy is not None:
            await proxy.close()
        await drop_database(args.postgres_url, pg_name)
        shutil.rmtree(workdir, ignore_errors=True)
    return run


def report(runs: list[Run], args: argparse.Namespace) -> str:
    lines = [f"dashboard of tests/test_query_counts.py, server from {args.root}", ""]
    lines.append(
        f"{'database':<10} {'records':>7} {'X-SQL-Statements':>17} {'on the wire':>12} "
        f"{'of them resets':>15} {'connections':>12}"
    )
    for run in runs:
        for c in run.counted:
            wire = "-" if c.wire is None else str(c.wire)
            resets = "-" if c.resets is None else str(c.resets)
            conns = "-" if c.connections is None else str(c.connections)
            lines.append(
                f"{run.database:<10} {c.records:>7} {c.reported:>17} {wire:>12} "
                f"{resets:>15} {conns:>12}"
            )
    for run in runs:
        for load in run.loads:
            lines.append(
                f"\n{run.database}, {args.records} records of each, {load.clients} clients, "
                f"{args.duration:g} s: {load.requests_per_s:.1f} req/s, "
                f"p50 {load.p50_ms:.1f} ms, p99 {load.p99_ms:.1f} ms "
                f"({load.requests} requests, {load.errors} failed)"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_arguments(parser, "sqlite", "postgres", "both", default="both")
    parser.add_argument("--root", type=Path, default=ROOT, help="checkout whose server runs")
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--clients", type=lambda s: [int(n) for n in s.split(",")], default=[16])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    args = parser.parse_args()
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)

    async def all_runs() -> list[Run]:
        return [await run_database(kind, args) for kind in kinds]

    print(report(asyncio.run(all_runs()), args), flush=True)


if __name__ == "__main__":
    main()
