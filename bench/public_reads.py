"""Reads against the limit of the stack: the office directory and an applicant's dashboard over
GraphQL, executed from plans and by graphql-core, next to a hand-written endpoint.

Creates a fresh database (an SQLite file in a temporary folder, or a new PostgreSQL database
that is dropped afterwards) and starts on it, with uvicorn and one worker each:
  * the real server with execution plans (EXECUTION_PLANS=1, the default; demo data),
  * the real server with graphql-core's executor (EXECUTION_PLANS=0), on the same database,
  * the baseline app of bench/baseline_app.py (the same JSON by hand, and fixed bytes),
then measures every scenario with wrk in rounds, the scenarios interleaved in each round, so
that a machine shared with other work slows all of them alike; ratios are taken within each
round and their median reported:

(a) the office directory (first 20 offices with hours and services, ~1,180 field values):
    * bare route: the same bytes, fixed, no database (the ceiling of uvicorn + Starlette);
    * GraphQL GET, anonymous: answered from the server's response cache;
    * hand-written: the same JSON from three Tortoise queries and orjson;
    * GraphQL POST signed in, executed (authentication, cost, execution, no cache), from
      plans and by graphql-core: requests/s and the ratio to the hand-written endpoint
      (goal: at least 0.5 with plans);
(b) the dashboard of a person with --records applications, documents and appointments, signed
    in, at 16 and at 32 concurrent clients, from plans and by graphql-core: requests/s and
    p50/p99 latency (goal: p99 under 100 ms at 16 clients);
(c) SQL statements of one request of each (X-SQL-Statements), and each server's peak resident
    memory (VmHWM) during the load.

    .venv/bin/python bench/public_reads.py                      # both databases
    .venv/bin/python bench/public_reads.py --database sqlite --duration 5 --rounds 3
    .venv/bin/python bench/public_reads.py --only post-plans handwritten --spy /tmp/prof

--spy DIR samples the plans server with py-spy during its executed POST (and dashboard) in
the last round and prints where the time went, by package and by function (py-spy is not a
project dependency: `.venv/bin/pip install py-spy`); --profile DIR runs the plans server under
pyinstrument instead (slower; `.venv/bin/pip install pyinstrument`).

wrk runs with `--latency -t2` against 127.0.0.1 only; on a two-core machine wrk and the servers
share the cores, which costs every scenario alike, so compare ratios, not absolutes. The
servers run with PUBLIC_CACHE_SECONDS=3600 (--cache-seconds) so that the cache's periodic
expiry stays out of the steady-state numbers. The exit status is 1 when a check fails (the
hand-written JSON differs from GraphQL's, the two executors answer differently, answers other
than 2xx/3xx, the GET not served from the cache, PostgreSQL unreachable with --database both);
the goals are reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
from harness import (
    DEMO_PASSWORD,
    ROOT,
    WRK,
    WrkResult,
    create_database,
    database_arguments,
    drop_database,
    free_port,
    package_group,
    pg_admin,
    post_script,
    run_wrk,
    server_environment,
    sign_in,
)

from tests.test_query_counts import DASHBOARD  # the dashboard whose statements are counted

PY_SPY = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")

OFFICES = (
    "{ offices(first: 20) { edges { node { id code name city phone "
    "hours { weekday opens closes } services { code name } } } } }"
)


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    server: str  # which process answers: plans, core or baseline
    connections: int | None = None  # None: --connections


SCENARIOS = (
    Scenario("bare", "bare route (fixed bytes, no DB)", "baseline"),
    Scenario("graphql-get", "GraphQL GET anonymous (response cache)", "plans"),
    Scenario("handwritten", "hand-written (3 queries + orjson)", "baseline"),
    Scenario("post-plans", "GraphQL POST signed in, plans", "plans"),
    Scenario("post-core", "GraphQL POST signed in, graphql-core", "core"),
    Scenario("dashboard16-plans", "dashboard, 16 clients, plans", "plans", 16),
    Scenario("dashboard16-core", "dashboard, 16 clients, graphql-core", "core", 16),
    Scenario("dashboard32-plans", "dashboard, 32 clients, plans", "plans", 32),
    Scenario("dashboard32-core", "dashboard, 32 clients, graphql-core", "core", 32),
)
BY_NAME = {s.name: s for s in SCENARIOS}
RATIO_GOAL = 0.5  # executed POST from plans against the hand-written endpoint
DASHBOARD_P99_GOAL_MS = 100.0  # at 16 clients


# ------------------------------------------------------------------------------ processes


def server_env(
    database_url: str,
    port: int,
    data_dir: Path,
    report_sql: bool,
    cache_seconds: int,
    plans: bool,
    key_encryption_key: str,
) -> dict[str, str]:
    extra = {
        # Both servers read the signing keys the first one made.
        "KEY_ENCRYPTION_KEY": key_encryption_key,
        "ACCESS_TOKEN_MINUTES": "600",  # the token outlives every measurement
        "COST_BUDGET_PER_MINUTE": str(10**12),  # the budget must never be what is measured
        "SIGNIN_FAILURES_PER_ACCOUNT": "1000000",
        "SIGNIN_FAILURES_PER_IP": "1000000",
        "REPORT_SQL_STATEMENTS": "1" if report_sql else "0",
        # Every entry of the response cache expires at the same bucket boundary; a long
        # period keeps that out of the steady-state numbers (--cache-seconds 30 shows it).
        "PUBLIC_CACHE_SECONDS": str(cache_seconds),
        "EXECUTION_PLANS": "1" if plans else "0",
    }
    env = server_environment(database_url, port, data_dir, extra)
    env.pop("REDIS_URL", None)
    return env


def uvicorn_args(app: str, port: int) -> list[str]:
    return [
        "-m",
        "uvicorn",
        "--factory",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
    ]


def spawn(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    # The child keeps its own copy of the descriptor; the parent closes its copy at once.
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


async def wait_ready(url: str, process: subprocess.Popen, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{url}: the process exited with status {process.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not become ready in time")


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM, wait_s: float = 30) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def memory_kib(pid: int) -> dict[str, int]:
    """VmHWM (peak resident) and VmRSS of a process, in KiB."""
    found: dict[str, int] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


def reset_peak(pid: int) -> bool:
    """Start VmHWM afresh (Linux: `5` in clear_refs), so the peak of the load is seen apart
    from the peak of start-up (migrations, demo data)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


# ------------------------------------------------------------------------ setting the scene


async def person_with_records(count: int) -> str:
    from persistence.demo.records import person_with_records as make

    return await make(count, surname="Bench", now=datetime.now(UTC) - timedelta(days=30))


async def _create_dashboard_person(database_url: str, records: int) -> str:
    from tortoise import Tortoise

    import settings as settings_module

    config = settings_module.Settings(database_url=database_url).tortoise_config()
    await Tortoise.init(config=config)
    try:
        return await person_with_records(records)
    finally:
        await Tortoise.close_connections()


def _create_dashboard_person_sync(database_url: str, records: int) -> str:
    return asyncio.run(_create_dashboard_person(database_url, records))


async def create_dashboard_person(database_url: str, records: int) -> str:
    """Made in a fresh interpreter: Tortoise keeps the first database's dialect in its models,
    so one process cannot set up SQLite and then PostgreSQL."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await asyncio.get_running_loop().run_in_executor(
            pool, _create_dashboard_person_sync, database_url, records
        )


def _first_difference(a: object, b: object, path: str = "") -> str | None:
    if type(a) is not type(b):
        return f"{path or '.'}: {a!r} != {b!r}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):  # type: ignore[arg-type]
            if key not in a or key not in b:  # type: ignore[operator]
                return f"{path}.{key}: only on one side"
            found = _first_difference(a[key], b[key], f"{path}.{key}")  # type: ignore[index]
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):  # type: ignore[arg-type]
            return f"{path}: {len(a)} items != {len(b)} items"  # type: ignore[arg-type]
        for i, (x, y) in enumerate(zip(a, b, strict=True)):  # type: ignore[arg-type]
            found = _first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


# ---------------------------------------------------------------------------------- a run


@dataclass
class Target:
    url: str
    script: Path | None
    connections: int


@dataclass
class Row:
    scenario: Scenario
    results: list[WrkResult] = field(default_factory=list)
    statements: int | None = None

    def median(self, attribute: str) -> float:
        return statistics.median(getattr(r, attribute) for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)


@dataclass
class RunResult:
    database: str
    rows: dict[str, Row] = field(default_factory=dict)
    memory: dict[str, dict[str, int]] = field(default_factory=dict)
    memory_start: dict[str, dict[str, int]] = field(default_factory=dict)
    peak_reset: bool = False
    body_bytes: int = 0
    loads: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    profile: Path | None = None
    spy_reports: list[str] = field(default_factory=list)
    plan_metrics: list[str] = field(default_factory=list)

    def row(self, name: str) -> Row | None:
        row = self.rows.get(name)
        return row if row is not None and row.results else None

    def ratios(self, name: str, against: str) -> list[float]:
        """`name`'s requests/s over `against`'s, round by round."""
        mine, theirs = self.row(name), self.row(against)
        if mine is None or theirs is None:
            return []
        return [
            a.requests_per_s / b.requests_per_s
            for a, b in zip(mine.results, theirs.results, strict=False)
            if b.requests_per_s
        ]


def _statements(response: httpx.Response) -> int | None:
    value = response.headers.get("x-sql-statements")
    return int(value) if value else None


async def check_cached_get(client: httpx.AsyncClient, out: RunResult) -> bytes:
    """Two GETs in a row: the second must come from the response cache (same ETag). The
    cache's time bucket may turn between them, so a few tries are allowed."""
    url = f"/graphql?{urlencode({'query': OFFICES})}"
    for _ in range(3):
        first = await client.get(url)
        again = await client.get(url)
        for response in (first, again):
            if response.status_code != 200 or "errors" in response.json():
                raise RuntimeError(f"GraphQL GET failed: {response.status_code} {response.text}")
        cached = "public" in again.headers.get("cache-control", "") and "etag" in again.headers
        if cached and first.headers.get("etag") == again.headers.get("etag"):
            break
    else:
        out.problems.append(
            "the anonymous GET was not answered from the response cache "
            f"(Cache-Control: {again.headers.get('cache-control')!r})"
        )
    out.rows["graphql-get"] = Row(BY_NAME["graphql-get"], statements=_statements(again))
    return again.content


async def prepare_servers(
    servers: dict[str, str], database_url: str, args: argparse.Namespace, out: RunResult
) -> tuple[bytes, dict, dict[str, Target]]:
    """Checks every scenario of both servers once: (the cached GraphQL body, its JSON, what
    wrk fires at for each scenario)."""
    workdir: Path = args.workdir
    targets: dict[str, Target] = {}
    email = await create_dashboard_person(database_url, args.records)
    async with httpx.AsyncClient(base_url=servers["plans"], timeout=60) as client:
        token = await sign_in(client, email, DEMO_PASSWORD)
        graphql_body = await check_cached_get(client, out)
    graphql = orjson.loads(graphql_body)
    out.body_bytes = len(graphql_body)
    if "extensions" in graphql:
        out.notes.append(
            "the cached public answer carries `extensions` "
            f"{orjson.dumps(graphql['extensions']).decode()} (the cost budget of the caller "
            "that filled the cache, served to every anonymous caller)"
        )
    get_url = f"{servers['plans']}/graphql?{urlencode({'query': OFFICES})}"
    targets["graphql-get"] = Target(get_url, None, args.connections)

    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    office_body = orjson.dumps({"query": OFFICES})
    dash_body = orjson.dumps({"query": DASHBOARD})
    office_script = post_script(workdir / "post.lua", office_body, auth)
    dash_script = post_script(workdir / "dashboard.lua", dash_body, auth)
    answers: dict[str, dict] = {}
    for kind in ("plans", "core"):
        async with httpx.AsyncClient(base_url=servers[kind], timeout=60) as client:
            # Twice: the second request shows the steady state (the first fills the process's
            # caches, e.g. the service catalogue).
            await client.post("/graphql", content=office_body, headers=auth)
            posted = await client.post("/graphql", content=office_body, headers=auth)
            if posted.status_code != 200 or "errors" in posted.json():
                raise RuntimeError(f"POST ({kind}) failed: {posted.status_code} {posted.text}")
            if posted.json()["data"] != graphql["data"]:
                out.problems.append(f"POST signed in ({kind}) answered other data than the GET")
            if "public" in posted.headers.get("cache-control", ""):
                out.problems.append(f"POST signed in ({kind}) was answered from the public cache")
            out.rows[f"post-{kind}"] = Row(BY_NAME[f"post-{kind}"], statements=_statements(posted))
            targets[f"post-{kind}"] = Target(
                f"{servers[kind]}/graphql", office_script, args.connections
            )

            await client.post("/graphql", content=dash_body, headers=auth)
            dashboard = await client.post("/graphql", content=dash_body, headers=auth)
            answer = dashboard.json()
            if dashboard.status_code != 200 or "errors" in answer:
                raise RuntimeError(f"dashboard ({kind}) failed: {dashboard.text}")
            answers[kind] = answer
            person = answer["data"]["viewer"]["person"]
            sizes = {
                "applications": len(person["applications"]["edges"]),
                "documents": len(person["documents"]),
                "appointments": len(person["appointments"]["edges"]),
            }
            if any(n != args.records for n in sizes.values()):
                out.problems.append(f"the dashboard lists {sizes}, {args.records} of each expected")
            for clients in (16, 32):
                name = f"dashboard{clients}-{kind}"
                out.rows[name] = Row(BY_NAME[name], statements=_statements(dashboard))
                targets[name] = Target(f"{servers[kind]}/graphql", dash_script, clients)
    if orjson.dumps(answers["plans"]) != orjson.dumps(answers["core"]):
        out.problems.append("the dashboard answered differently from plans and by graphql-core")
    return graphql_body, graphql, targets


async def prepare_baseline(
    baseline: str, graphql_body: bytes, graphql: dict, args: argparse.Namespace, out: RunResult
) -> dict[str, Target]:
    """Checks the baseline app against the real server's answer."""
    async with httpx.AsyncClient(base_url=baseline, timeout=60) as client:
        hand = await client.get("/handwritten")
        difference = _first_difference(orjson.loads(hand.content).get("data"), graphql["data"])
        if difference:
            out.problems.append(f"/handwritten differs from GraphQL at {difference}")
        bare = await client.get("/bare")
        if bare.content != graphql_body:
            out.problems.append("/bare does not answer the captured GraphQL body")
    out.rows["handwritten"] = Row(BY_NAME["handwritten"], statements=3)
    out.rows["bare"] = Row(BY_NAME["bare"], statements=0)
    return {
        "handwritten": Target(f"{baseline}/handwritten", None, args.connections),
        "bare": Target(f"{baseline}/bare", None, args.connections),
    }


async def plan_metrics(server: str) -> list[str]:
    """The plans server's own count of compiled plans and of operations it left to
    graphql-core (by reason): the executed requests above did run from plans."""
    async with httpx.AsyncClient(base_url=server, timeout=30) as client:
        text = (await client.get("/metrics")).text
    return [
        line
        for line in text.splitlines()
        if line.startswith("graphql_execution_plan") and not line.startswith("#")
    ]


async def start_server(
    kind: str, database_url: str, args: argparse.Namespace, out: RunResult
) -> tuple[subprocess.Popen, str]:
    workdir: Path = args.workdir
    port = free_port()
    env = server_env(
        database_url,
        port,
        workdir / "data",
        not args.no_sql_header,
        args.cache_seconds,
        plans=kind == "plans",
        key_encryption_key=args.key_encryption_key,
    )
    command = [sys.executable, *uvicorn_args("server:create_app", port)]
    if kind == "plans" and args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        out.profile = args.profile / f"{out.database}-plans.pyisession"
        command = [
            sys.executable,
            *("-m", "pyinstrument", "-r", "pyisession", "-o", str(out.profile)),
            *uvicorn_args("server:create_app", port),
        ]
    process = spawn(command, env, workdir / f"server-{kind}.log")
    url = f"http://127.0.0.1:{port}"
    await wait_ready(f"{url}/ready", process)
    return process, url


async def spy(pid: int, seconds: float, path: Path) -> subprocess.Popen:
    """py-spy sampling `pid` for `seconds` into `path` (raw, collapsed stacks)."""
    return await asyncio.to_thread(
        subprocess.Popen,
        [
            # --gil: only what holds the interpreter, not threads waiting for it.
            *(PY_SPY, "record", "--gil", "-r", "250", "-d", str(max(1, round(seconds)))),
            *("-f", "raw", "-o", str(path), "--pid", str(pid)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def measure(
    targets: dict[str, Target],
    args: argparse.Namespace,
    out: RunResult,
    plans_pid: int,
) -> None:
    """Every wanted scenario once per round, in the same order each round."""
    wanted = [s.name for s in SCENARIOS if s.name in args.only and s.name in targets]
    for round_ in range(args.rounds):
        out.loads.append(os.getloadavg()[0])
        for name in wanted:
            target = targets[name]
            threads = min(args.threads, target.connections)
            if args.warmup > 0:
                await run_wrk(target.url, threads, target.connections, args.warmup, target.script)
            sampler = None
            spied = args.spy is not None and round_ == args.rounds - 1
            if spied and name in ("post-plans", "dashboard16-plans"):
                args.spy.mkdir(parents=True, exist_ok=True)
                spy_path = args.spy / f"{out.database}-{name}.txt"
                sampler = await spy(plans_pid, args.duration - 1, spy_path)
            result = await run_wrk(
                target.url, threads, target.connections, args.duration, target.script
            )
            out.rows[name].results.append(result)
            if sampler is not None:
                await asyncio.to_thread(sampler.wait, 60)
                out.spy_reports.append(spy_summary(spy_path, name))
            if args.verbose:
                print(f"--- wrk {name} round {round_ + 1} ({out.database})\n{result.raw}")


async def run_database(kind: str, args: argparse.Namespace) -> RunResult:
    out = RunResult(database=kind)
    workdir = Path(tempfile.mkdtemp(prefix=f"public-reads-{kind}-"))
    args.workdir = workdir
    args.key_encryption_key = secrets.token_urlsafe(32)
    pg_name: str | None = None
    processes: dict[str, subprocess.Popen | None] = {"plans": None, "core": None, "baseline": None}
    failed = True
    try:
        database_url, pg_name = await create_database(kind, args.postgres_url, workdir)
        # The plans server first: it migrates and loads the demo data; then the other one.
        servers: dict[str, str] = {}
        for server_kind in ("plans", "core"):
            processes[server_kind], servers[server_kind] = await start_server(
                server_kind, database_url, args, out
            )
        body, graphql, targets = await prepare_servers(servers, database_url, args, out)

        # The bare route answers the very bytes the cached GraphQL GET answers.
        (workdir / "bare.json").write_bytes(body)
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "DATA_DIR": str(workdir / "data"),
            "BARE_BODY_FILE": str(workdir / "bare.json"),
        }
        env.pop("REDIS_URL", None)
        processes["baseline"] = spawn(
            [sys.executable, *uvicorn_args("bench.baseline_app:create_app", port)],
            env,
            workdir / "baseline.log",
        )
        baseline_url = f"http://127.0.0.1:{port}"
        await wait_ready(f"{baseline_url}/health", processes["baseline"])
        targets.update(await prepare_baseline(baseline_url, body, graphql, args, out))

        for name, process in processes.items():
            if process is not None:
                out.memory_start[name] = memory_kib(process.pid)
                out.peak_reset = reset_peak(process.pid)
        plans = processes["plans"]
        assert plans is not None
        await measure(targets, args, out, plans.pid)
        for name, process in processes.items():
            if process is not None:
                out.memory[name] = memory_kib(process.pid)
        out.plan_metrics = await plan_metrics(servers["plans"])
        failed = False
        return out
    finally:
        stop(processes["baseline"])
        stop(processes["core"])
        # pyinstrument writes its report when the profiled program ends on SIGINT.
        stop(processes["plans"], signal.SIGINT if args.profile is not None else signal.SIGTERM, 120)
        if failed:
            print_logs(workdir)
        await drop_database(args.postgres_url, pg_name)
        if out.profile is not None and out.profile.exists():
            await asyncio.to_thread(render_profile, out.profile)
        if not (failed and args.keep):
            shutil.rmtree(workdir, ignore_errors=True)


def print_logs(workdir: Path) -> None:
    for log in sorted(workdir.glob("*.log")):
        print(f"--- {log.name} ---", file=sys.stderr)
        print(log.read_text(errors="replace")[-4000:], file=sys.stderr)


def render_profile(session: Path) -> None:
    """The text report of a pyinstrument session, next to it (.txt)."""
    subprocess.run(
        [
            sys.executable,
            *("-m", "pyinstrument", "--load", str(session), "-r", "text", "--no-color"),
            *("-o", str(session.with_suffix(".txt"))),
        ],
        check=False,
    )


# ----------------------------------------------------------------------- where time goes

_WORKER_THREAD = "Thread._bootstrap"


def spy_summary(path: Path, name: str) -> str:
    """Where the sampled time went: the main thread by package (innermost frame) and its top
    functions; worker threads (the SQLite driver's, thread pools) apart."""
    groups: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    main = workers = 0
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return f"py-spy {name}: no samples (is py-spy installed and allowed to attach?)"
    for line in lines:
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        samples = int(count)
        if stack.startswith(_WORKER_THREAD):
            workers += samples
            continue
        main += samples
        leaf = stack.split(";")[-1]
        where = re.search(r"\((.*):\d+\)", leaf)
        file = where.group(1) if where else leaf
        groups[package_group(file)] += samples
        functions[leaf.split(" (")[0] + " " + file] += samples
    if not main:
        return f"py-spy {name}: no samples of the main thread"
    report = [
        f"py-spy {name}: {main} samples of the server's main thread, "
        f"{workers} of worker threads (py-spy --gil: holding the interpreter); main thread by "
        "package of the innermost frame:"
    ]
    report += [f"  {100 * n / main:5.1f}%  {group}" for group, n in groups.most_common()]
    report.append("  top functions (self time):")
    report += [f"  {100 * n / main:5.1f}%  {fn}" for fn, n in functions.most_common(12)]
    return "\n".join(report)


# ---------------------------------------------------------------------------------- report


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib else "n/a"


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def report(run: RunResult, args: argparse.Namespace) -> str:
    loads = ", ".join(f"{v:.1f}" for v in run.loads)
    lines = [
        f"public reads: {run.database}   wrk -t{args.threads} -d{args.duration:g}s "
        f"(warm-up {args.warmup:g}s), {args.rounds} rounds, scenarios interleaved   "
        f"{os.cpu_count()} cores, load average at each round {loads}   "
        f"body {run.body_bytes} bytes",
    ]
    header = (
        f"{'scenario (median of rounds)':<44}{'clients':>8}{'req/s':>9}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'SQL/req':>9}{'errors':>8}"
    )
    lines += [header, "-" * len(header)]
    for scenario in SCENARIOS:
        row = run.row(scenario.name)
        if row is None:
            continue
        sql = "-" if row.statements is None else str(row.statements)
        clients = scenario.connections or args.connections
        lines.append(
            f"{scenario.label:<44}{clients:>8}{row.median('requests_per_s'):>9.0f}"
            f"{row.median('p50_ms'):>9.1f}{row.median('p99_ms'):>9.1f}{sql:>9}{row.errors:>8}"
        )
    lines.append("")
    for mine, against, what in (
        ("post-plans", "handwritten", f"executed POST, plans / hand-written (goal {RATIO_GOAL})"),
        ("post-core", "handwritten", "executed POST, graphql-core / hand-written"),
        ("post-plans", "post-core", "executed POST, plans / graphql-core"),
        ("graphql-get", "bare", "cached GET / bare route"),
        ("dashboard16-plans", "dashboard16-core", "dashboard at 16, plans / graphql-core"),
        ("dashboard32-plans", "dashboard32-core", "dashboard at 32, plans / graphql-core"),
    ):
        ratios = run.ratios(mine, against)
        if ratios:
            each = " ".join(_ratio(r) for r in ratios)
            lines.append(f"ratio {what}: {_ratio(statistics.median(ratios))} (rounds: {each})")
    post = _median(run.ratios("post-plans", "handwritten"))
    if post is not None:
        lines.append(
            f"goal: executed POST from plans >= {RATIO_GOAL} x hand-written: {_ratio(post)}, "
            f"{'met' if post >= RATIO_GOAL else 'NOT met'}"
        )
    dashboard = run.row("dashboard16-plans")
    if dashboard is not None:
        p99 = dashboard.median("p99_ms")
        verdict = "met" if p99 < DASHBOARD_P99_GOAL_MS else "NOT met"
        lines.append(
            f"goal: dashboard p99 at 16 clients < {DASHBOARD_P99_GOAL_MS:.0f} ms: "
            f"{p99:.0f} ms, {verdict}"
        )
    peak = "peak during the load" if run.peak_reset else "peak since start"
    for name in ("plans", "core", "baseline"):
        if name in run.memory:
            lines.append(
                f"memory of {name}: VmHWM {peak} {_mib(run.memory[name].get('VmHWM'))}, "
                f"after start-up {_mib(run.memory_start.get(name, {}).get('VmHWM'))}"
            )
    if args.profile is not None:
        lines.append(
            "the plans server ran under pyinstrument: its numbers are slowed by the profiler; "
            f"report: {run.profile.with_suffix('.txt') if run.profile else 'n/a'}"
        )
    lines += [f"plans server /metrics: {line}" for line in run.plan_metrics]
    lines += run.spy_reports
    lines += [f"note: {n}" for n in run.notes]
    lines += [f"PROBLEM: {p}" for p in run.problems]
    return "\n".join(lines)


def summary(runs: list[RunResult]) -> str:
    """The databases side by side."""
    width = 22
    header = f"{'median of rounds':<44}" + "".join(f"{r.database:>{width}}" for r in runs)
    lines = [header, "-" * len(header)]

    def line(label: str, cell: object) -> None:
        lines.append(f"{label:<44}" + "".join(f"{cell(run):>{width}}" for run in runs))  # type: ignore[operator]

    def throughput(name: str) -> object:
        def cell(run: RunResult) -> str:
            row = run.row(name)
            if row is None:
                return "-"
            text = f"{row.median('requests_per_s'):.0f} req/s"
            if name.startswith("dashboard"):
                text += f" {row.median('p50_ms'):.0f}/{row.median('p99_ms'):.0f}"
            return text

        return cell

    def ratio(mine: str, against: str) -> object:
        def cell(run: RunResult) -> str:
            value = _median(run.ratios(mine, against))
            return "-" if value is None else _ratio(value)

        return cell

    for scenario in SCENARIOS:
        suffix = " (p50/p99 ms)" if scenario.name.startswith("dashboard") else ""
        line(scenario.label + suffix, throughput(scenario.name))
    line("POST plans / hand-written", ratio("post-plans", "handwritten"))
    line("POST graphql-core / hand-written", ratio("post-core", "handwritten"))
    line("POST plans / graphql-core", ratio("post-plans", "post-core"))

    def statements(name: str) -> object:
        def cell(run: RunResult) -> str:
            row = run.rows.get(name)
            return "-" if row is None or row.statements is None else str(row.statements)

        return cell

    line("SQL statements: POST", statements("post-plans"))
    line("SQL statements: dashboard", statements("dashboard16-plans"))
    line("VmHWM plans server", lambda run: _mib(run.memory.get("plans", {}).get("VmHWM")))
    line("VmHWM graphql-core server", lambda run: _mib(run.memory.get("core", {}).get("VmHWM")))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_arguments(parser, "sqlite", "postgres", "both", default="both")
    parser.add_argument("--duration", type=float, default=5, help="seconds per measurement (5)")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per scenario")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of all scenarios (3)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--records", type=int, default=20, help="dashboard records of each kind")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=[s.name for s in SCENARIOS],
        default=[s.name for s in SCENARIOS],
        help="measure only these scenarios",
    )
    parser.add_argument(
        "--spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the plans server with py-spy in the last round; raw stacks land in DIR",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the plans server under pyinstrument and leave its report in DIR",
    )
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=3600,
        help="PUBLIC_CACHE_SECONDS of the servers (3600; the service's default is 30)",
    )
    parser.add_argument(
        "--no-sql-header",
        action="store_true",
        help="run the servers without REPORT_SQL_STATEMENTS (no SQL/req column)",
    )
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder on failure")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 30:
        parser.error("--duration must be 1..120 seconds and --warmup 0..30")
    if not 1 <= args.rounds <= 20:
        parser.error("--rounds must be 1..20")
    if not 1 <= args.threads <= args.connections <= 1000:
        parser.error("need 1 <= --threads <= --connections <= 1000")
    if args.records < 1:
        parser.error("--records must be at least 1")
    if not Path(WRK).exists():
        parser.error(f"wrk is needed ({WRK} not found; apt-get install wrk)")
    if args.spy is not None and not Path(PY_SPY).exists():
        parser.error("--spy needs py-spy: .venv/bin/pip install py-spy")
    if args.profile is not None:
        import importlib.util

        if importlib.util.find_spec("pyinstrument") is None:
            parser.error("--profile needs pyinstrument: .venv/bin/pip install pyinstrument")
    return args


async def main_async(args: argparse.Namespace) -> int:
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    runs: list[RunResult] = []
    status = 0
    for kind in kinds:
        if kind == "postgres" and args.database == "both":
            try:
                await pg_admin(args.postgres_url, "SELECT 1")
            except Exception as exc:  # any failure means there is no server to use
                print(f"postgres: SKIPPED, cannot reach {args.postgres_url}: {exc}", flush=True)
                status = 1
                continue
        run = await run_database(kind, args)
        runs.append(run)
        print(report(run, args), flush=True)
        print(flush=True)
        if run.problems or any(row.errors for row in run.rows.values()):
            status = 1
    if len(runs) > 1:
        print(summary(runs), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
