"""Public reads: how close does the office directory over GraphQL come to the limit of the stack?

Creates a fresh database (an SQLite file in a temporary folder, or a new PostgreSQL database
that is dropped afterwards), starts the real server on it (uvicorn, one worker, demo data)
and the baseline app of bench/baseline_app.py on the same database, then measures with wrk,
one scenario after the other, in one run:

(a) the office-directory query (first 20 offices with hours and services)
    * GraphQL GET, anonymous: answered from the server's response cache;
    * GraphQL POST with an Authorization header: authenticated and fully executed, no cache;
    * the hand-written endpoint: the same JSON from three Tortoise queries and orjson;
    * the bare route: the same bytes, fixed, no database (the ceiling of uvicorn+Starlette);
    requests/s of each and its ratio to the bare route (goal: the cached GraphQL path
    reaches at least 0.8 of the bare route);
(b) an applicant's dashboard (a person with 20 applications, documents and appointments,
    created in the database the server migrated) through POST: requests/s, p50/p99 latency
    and the SQL statements one request runs (X-SQL-Statements, REPORT_SQL_STATEMENTS=1);
(c) the server's peak resident memory (VmHWM) during the load, and after start-up.

    .venv/bin/python bench/public_reads.py                      # both databases, 10 s each
    .venv/bin/python bench/public_reads.py --database sqlite --duration 5
    .venv/bin/python bench/public_reads.py --only graphql-get --profile /tmp/prof

wrk runs with `--latency -t2 -c32` against 127.0.0.1 only; on a two-core machine wrk and the
server share the cores, which costs every scenario alike, so compare ratios, not absolutes.
The server runs with PUBLIC_CACHE_SECONDS=3600 (--cache-seconds) so that the cache's periodic
expiry stays out of the steady-state numbers. The exit status is 1 when a check fails (the
hand-written JSON differs from GraphQL's, answers other than 2xx/3xx, the GET not served from
the cache, PostgreSQL unreachable with --database both); the 0.8 goal is reported, not enforced.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness import (  # noqa: E402  (after the path set-up)
    create_database,
    database_arguments,
    drop_database,
    free_port,
    pg_admin,
    server_environment,
    sign_in,
)

DEMO_PASSWORD = "demo-pass-2024"  # noqa: S105 (the published development-only demo password)
WRK = shutil.which("wrk") or "/usr/bin/wrk"

OFFICES = (
    "{ offices(first: 20) { edges { node { id code name city phone "
    "hours { weekday opens closes } services { code name } } } } }"
)

# The dashboard of tests/test_query_counts.py.
DASHBOARD = """
query Dashboard {
  viewer { person {
    surname givenNames grantedScopes
    applications(first: 100) { edges { node {
      number status submittedAt expectedDecisionOn office { code name }
      events { status at note }
    } } }
    documents { kind number validUntil daysRemaining extensionDeadline issuedBy { code } }
    appointments(first: 100) { edges { node {
      reference status startsAt office { code name } bookedBy { displayName kind }
    } } }
    permanentResidentCard { number validUntil }
    passports { number current boundFrom boundUntil }
  } }
}"""

SCENARIOS = ("bare", "graphql-get", "graphql-post", "handwritten", "dashboard")
LABELS = {
    "bare": "bare route (fixed bytes, no DB)",
    "graphql-get": "GraphQL GET anonymous (response cache)",
    "graphql-post": "GraphQL POST + Authorization (executed)",
    "handwritten": "hand-written (3 queries + orjson)",
    "dashboard": "dashboard POST (20 records each)",
}
GOAL = 0.8


# ----------------------------------------------------------------------------- databases


# ------------------------------------------------------------------------------ processes


def server_env(
    database_url: str, port: int, data_dir: Path, report_sql: bool, cache_seconds: int
) -> dict[str, str]:
    extra = {
        "ACCESS_TOKEN_MINUTES": "60",  # the dashboard's token outlives every measurement
        "COST_BUDGET_PER_MINUTE": str(10**12),  # the budget must never be what is measured
        "SIGNIN_FAILURES_PER_ACCOUNT": "1000000",
        "SIGNIN_FAILURES_PER_IP": "1000000",
        "REPORT_SQL_STATEMENTS": "1" if report_sql else "0",
        # Every entry of the response cache expires at the same bucket boundary; a long
        # period keeps that out of the steady-state numbers (--cache-seconds 30 shows it).
        "PUBLIC_CACHE_SECONDS": str(cache_seconds),
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
    lines = ['wrk.method = "POST"', f"wrk.body = {lua_string(body.decode())}"]
    for name, value in {"Content-Type": "application/json", **headers}.items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise ValueError(f"unexpected header name {name!r}")
        lines.append(f'wrk.headers["{name}"] = {lua_string(value)}')
    path.write_text("\n".join(lines) + "\n")
    return path


async def run_wrk(
    url: str, args: argparse.Namespace, seconds: float, script: Path | None = None
) -> WrkResult:
    command = [
        WRK,
        "--latency",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "30s",
    ]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse_wrk(done.stdout)


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
class Row:
    scenario: str
    result: WrkResult | None = None
    statements: int | None = None


@dataclass
class RunResult:
    database: str
    rows: dict[str, Row] = field(default_factory=dict)
    memory_start: dict[str, int] = field(default_factory=dict)
    memory_load: dict[str, int] = field(default_factory=dict)
    peak_reset: bool = False
    baseline_memory: dict[str, int] = field(default_factory=dict)
    body_bytes: int = 0
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    load_before: float = 0.0
    profile: Path | None = None


async def prepare_server(
    server: str, database_url: str, args: argparse.Namespace, out: RunResult
) -> tuple[bytes, dict, dict[str, tuple[str, Path | None]]]:
    """Checks every scenario of the real server once: (the cached GraphQL body, its JSON,
    what wrk should fire: url and Lua script per scenario)."""
    workdir: Path = args.workdir
    targets: dict[str, tuple[str, Path | None]] = {}
    get_url = f"{server}/graphql?{urlencode({'query': OFFICES})}"
    async with httpx.AsyncClient(base_url=server, timeout=60) as client:
        email = await create_dashboard_person(database_url, args.records)
        token = await sign_in(client, email, DEMO_PASSWORD)
        auth = {"Authorization": f"Bearer {token}"}

        # Two GETs in a row: the second must come from the response cache (same ETag). The
        # cache's time bucket may turn between them, so a few tries are allowed.
        for _ in range(3):
            first = await client.get(get_url)
            again = await client.get(get_url)
            for response in (first, again):
                if response.status_code != 200 or "errors" in response.json():
                    raise RuntimeError(
                        f"GraphQL GET failed: {response.status_code} {response.text}"
                    )
            cached = "public" in again.headers.get("cache-control", "") and "etag" in again.headers
            if cached and first.headers.get("etag") == again.headers.get("etag"):
                break
        else:
            out.problems.append(
                "the anonymous GET was not answered from the response cache "
                f"(Cache-Control: {again.headers.get('cache-control')!r})"
            )
        graphql_body = again.content
        graphql = orjson.loads(graphql_body)
        out.body_bytes = len(graphql_body)
        if "extensions" in graphql:
            out.notes.append(
                "the cached public answer carries `extensions` "
                f"{orjson.dumps(graphql['extensions']).decode()} (the cost budget of the caller "
                "that filled the cache, served to every anonymous caller)"
            )
        get_statements = again.headers.get("x-sql-statements")
        out.rows["graphql-get"] = Row(
            "graphql-get", statements=int(get_statements) if get_statements else None
        )
        targets["graphql-get"] = (get_url, None)

        body = orjson.dumps({"query": OFFICES})
        posted = await client.post(
            "/graphql", content=body, headers={**auth, "Content-Type": "application/json"}
        )
        if posted.status_code != 200 or "errors" in posted.json():
            raise RuntimeError(f"GraphQL POST failed: {posted.status_code} {posted.text}")
        if posted.json()["data"] != graphql["data"]:
            out.problems.append("POST with Authorization answered other data than the GET")
        if "public" in posted.headers.get("cache-control", ""):
            out.problems.append("POST with Authorization was answered from the public cache")
        statements = posted.headers.get("x-sql-statements")
        out.rows["graphql-post"] = Row(
            "graphql-post", statements=int(statements) if statements else None
        )
        targets["graphql-post"] = (
            f"{server}/graphql",
            post_script(workdir / "graphql-post.lua", body, auth),
        )

        dash_body = orjson.dumps({"query": DASHBOARD})
        dashboard = await client.post(
            "/graphql", content=dash_body, headers={**auth, "Content-Type": "application/json"}
        )
        answer = dashboard.json()
        if dashboard.status_code != 200 or "errors" in answer:
            raise RuntimeError(f"dashboard failed: {dashboard.status_code} {dashboard.text}")
        person = answer["data"]["viewer"]["person"]
        sizes = {
            "applications": len(person["applications"]["edges"]),
            "documents": len(person["documents"]),
            "appointments": len(person["appointments"]["edges"]),
        }
        if any(n != args.records for n in sizes.values()):
            out.problems.append(f"the dashboard lists {sizes}, {args.records} of each expected")
        statements = dashboard.headers.get("x-sql-statements")
        out.rows["dashboard"] = Row("dashboard", statements=int(statements) if statements else None)
        targets["dashboard"] = (
            f"{server}/graphql",
            post_script(workdir / "dashboard.lua", dash_body, auth),
        )
    return graphql_body, graphql, targets


async def prepare_baseline(
    baseline: str, graphql_body: bytes, graphql: dict, out: RunResult
) -> dict[str, tuple[str, Path | None]]:
    """Checks the baseline app against the real server's answer."""
    async with httpx.AsyncClient(base_url=baseline, timeout=60) as client:
        hand = await client.get("/handwritten")
        difference = _first_difference(orjson.loads(hand.content).get("data"), graphql["data"])
        if difference:
            out.problems.append(f"/handwritten differs from GraphQL at {difference}")
        bare = await client.get("/bare")
        if bare.content != graphql_body:
            out.problems.append("/bare does not answer the captured GraphQL body")
    out.rows["handwritten"] = Row("handwritten", statements=3)
    out.rows["bare"] = Row("bare", statements=0)
    return {"handwritten": (f"{baseline}/handwritten", None), "bare": (f"{baseline}/bare", None)}


async def run_database(kind: str, args: argparse.Namespace) -> RunResult:
    out = RunResult(database=kind, load_before=os.getloadavg()[0])
    workdir = Path(tempfile.mkdtemp(prefix=f"public-reads-{kind}-"))
    args.workdir = workdir
    pg_name: str | None = None
    server: subprocess.Popen | None = None
    baseline: subprocess.Popen | None = None
    server_log = workdir / "server.log"
    baseline_log = workdir / "baseline.log"
    failed = True
    try:
        database_url, pg_name = await create_database(kind, args.postgres_url, workdir)

        port = free_port()
        env = server_env(
            database_url, port, workdir / "data", not args.no_sql_header, args.cache_seconds
        )
        command = [sys.executable, *uvicorn_args("server:create_app", port)]
        if args.profile is not None:
            args.profile.mkdir(parents=True, exist_ok=True)
            out.profile = args.profile / f"{kind}-{'-'.join(args.only)}.pyisession"
            command = [
                sys.executable,
                "-m",
                "pyinstrument",
                "-r",
                "pyisession",
                "-o",
                str(out.profile),
                *uvicorn_args("server:create_app", port),
            ]
        server = spawn(command, env, server_log)
        server_url = f"http://127.0.0.1:{port}"
        await wait_ready(f"{server_url}/ready", server)

        body, graphql, targets = await prepare_server(server_url, database_url, args, out)
        wanted = set(args.only)
        if wanted & {"bare", "handwritten"}:
            # The bare route answers the very bytes the cached GraphQL GET answers.
            (workdir / "bare.json").write_bytes(body)
            bport = free_port()
            benv = {
                **os.environ,
                "DATABASE_URL": database_url,
                "DATA_DIR": str(workdir / "data"),
                "BARE_BODY_FILE": str(workdir / "bare.json"),
            }
            benv.pop("REDIS_URL", None)
            baseline = spawn(
                [sys.executable, *uvicorn_args("bench.baseline_app:create_app", bport)],
                benv,
                baseline_log,
            )
            baseline_url = f"http://127.0.0.1:{bport}"
            await wait_ready(f"{baseline_url}/health", baseline)
            targets.update(await prepare_baseline(baseline_url, body, graphql, out))

        out.memory_start = memory_kib(server.pid)
        out.peak_reset = reset_peak(server.pid)

        for scenario in SCENARIOS:
            if scenario not in wanted or scenario not in targets:
                continue
            url, script = targets[scenario]
            if args.warmup > 0:
                await run_wrk(url, args, args.warmup, script)
            out.rows[scenario].result = await run_wrk(url, args, args.duration, script)
            if args.verbose:
                print(f"--- wrk {scenario} ({kind})\n{out.rows[scenario].result.raw}", flush=True)

        out.memory_load = memory_kib(server.pid)
        if baseline is not None:
            out.baseline_memory = memory_kib(baseline.pid)
        failed = False
        return out
    finally:
        stop(baseline)
        # pyinstrument writes its report when the profiled program ends on SIGINT.
        stop(server, signal.SIGINT if args.profile is not None else signal.SIGTERM, 120)
        if failed:
            for name, path in (("server", server_log), ("baseline app", baseline_log)):
                if path.exists():
                    print(f"--- {name} log ({path}) ---", file=sys.stderr)
                    print(path.read_text(errors="replace")[-4000:], file=sys.stderr)
        await drop_database(args.postgres_url, pg_name)
        if out.profile is not None and out.profile.exists():
            await asyncio.to_thread(render_profile, out.profile)
        if not (failed and args.keep):
            shutil.rmtree(workdir, ignore_errors=True)


def render_profile(session: Path) -> None:
    """The text report of a pyinstrument session, next to it (.txt)."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pyinstrument",
            "--load",
            str(session),
            "-r",
            "text",
            "--no-color",
            "-o",
            str(session.with_suffix(".txt")),
        ],
        check=False,
    )


# ---------------------------------------------------------------------------------- report


def _ratio(value: float) -> str:
    return f"{value:.2f}" if value >= 0.1 else f"{value:.4f}"


def _mib(kib: int | None) -> str:
    return f"{kib / 1024:.1f} MiB" if kib else "n/a"


def report(run: RunResult, args: argparse.Namespace) -> str:
    lines = [
        f"public reads: {run.database}   wrk -t{args.threads} -c{args.connections} "
        f"-d{args.duration:g}s (warm-up {args.warmup:g}s)   {os.cpu_count()} cores, "
        f"load average before {run.load_before:.2f}   body {run.body_bytes} bytes   "
        f"PUBLIC_CACHE_SECONDS={args.cache_seconds}",
    ]
    header = (
        f"{'scenario':<42}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}"
        f"{'SQL/req':>9}{'errors':>8}"
    )
    lines += [header, "-" * len(header)]
    bare = run.rows.get("bare")
    bare_rps = bare.result.requests_per_s if bare and bare.result else None
    for scenario in SCENARIOS:
        row = run.rows.get(scenario)
        if row is None or row.result is None:
            continue
        r = row.result
        ratio = _ratio(r.requests_per_s / bare_rps) if bare_rps else "-"
        sql = "-" if row.statements is None else str(row.statements)
        lines.append(
            f"{LABELS[scenario]:<42}{r.requests_per_s:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{ratio:>9}{sql:>9}{r.errors:>8}"
        )
    cached = run.rows.get("graphql-get")
    if bare_rps and cached and cached.result:
        share = cached.result.requests_per_s / bare_rps
        verdict = "met" if share >= GOAL else "NOT met"
        lines.append(f"goal: cached GraphQL GET >= {GOAL:.2f} x bare route: {share:.2f}, {verdict}")
    peak_label = "peak during the load" if run.peak_reset else "peak since start"
    lines.append(
        f"server memory: VmHWM {peak_label} {_mib(run.memory_load.get('VmHWM'))}, "
        f"VmRSS after {_mib(run.memory_load.get('VmRSS'))}; "
        f"after start-up: VmHWM {_mib(run.memory_start.get('VmHWM'))}, "
        f"VmRSS {_mib(run.memory_start.get('VmRSS'))}"
    )
    if run.baseline_memory:
        lines.append(
            f"baseline app memory: VmHWM {_mib(run.baseline_memory.get('VmHWM'))}, "
            f"VmRSS {_mib(run.baseline_memory.get('VmRSS'))}"
        )
    if args.profile is not None:
        lines.append(
            "profiled under pyinstrument: the numbers above are slowed by the profiler; "
            f"report: {run.profile.with_suffix('.txt') if run.profile else 'n/a'}"
        )
    lines += [f"note: {n}" for n in run.notes]
    lines += [f"PROBLEM: {p}" for p in run.problems]
    return "\n".join(lines)


def summary(runs: list[RunResult]) -> str:
    """The databases side by side."""
    width = 20
    header = f"{'req/s (vs bare)':<42}" + "".join(f"{r.database:>{width}}" for r in runs)
    lines = [header, "-" * len(header)]

    def line(label: str, cell: Callable[[RunResult], str]) -> None:
        lines.append(f"{label:<42}" + "".join(f"{cell(run):>{width}}" for run in runs))

    def throughput(scenario: str) -> Callable[[RunResult], str]:
        def cell(run: RunResult) -> str:
            row, bare = run.rows.get(scenario), run.rows.get("bare")
            if row is None or row.result is None:
                return "-"
            rps = row.result.requests_per_s
            if bare is None or bare.result is None:
                return f"{rps:.0f}"
            return f"{rps:.0f} ({_ratio(rps / bare.result.requests_per_s)})"

        return cell

    def dashboard(run: RunResult) -> str:
        row = run.rows.get("dashboard")
        if row is None or row.result is None:
            return "-"
        return f"{row.result.p50_ms:.0f} / {row.result.p99_ms:.0f}"

    def statements(run: RunResult) -> str:
        row = run.rows.get("dashboard")
        return "-" if row is None or row.statements is None else str(row.statements)

    for scenario in SCENARIOS:
        line(LABELS[scenario], throughput(scenario))
    line("dashboard p50 / p99 ms", dashboard)
    line("dashboard SQL statements per request", statements)
    line("server VmHWM during the load", lambda run: _mib(run.memory_load.get("VmHWM")))
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_arguments(parser, "sqlite", "postgres", "both", default="both")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measurement (10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up per scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--records", type=int, default=20, help="dashboard records of each kind")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        default=list(SCENARIOS),
        help="measure only these scenarios",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run the server under pyinstrument and leave its report in DIR",
    )
    parser.add_argument(
        "--cache-seconds",
        type=int,
        default=3600,
        help="PUBLIC_CACHE_SECONDS of the server (3600; the service's default is 30)",
    )
    parser.add_argument(
        "--no-sql-header",
        action="store_true",
        help="run the server without REPORT_SQL_STATEMENTS (no SQL/req column)",
    )
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output too")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder on failure")
    args = parser.parse_args(argv)
    if not 1 <= args.duration <= 120 or not 0 <= args.warmup <= 30:
        parser.error("--duration must be 1..120 seconds and --warmup 0..30")
    if not 1 <= args.threads <= args.connections <= 1000:
        parser.error("need 1 <= --threads <= --connections <= 1000")
    if args.records < 1:
        parser.error("--records must be at least 1")
    if not Path(WRK).exists():
        parser.error(f"wrk is needed ({WRK} not found; apt-get install wrk)")
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
        if run.problems or any(r.result and r.result.errors for r in run.rows.values()):
            status = 1
    if len(runs) > 1:
        print(summary(runs), flush=True)
    return status


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
