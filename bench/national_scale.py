"""National volume on PostgreSQL: hot reads on 10,000 and on N persons, with one server process
and with four, and a slot-release rush; one command.

1. Creates two throw-away databases on --postgres-url's server, migrates them with the
   project's migrations and loads them with persistence/demo/national.py (COPY, --jobs
   processes): 500 offices with 90 days of 10-minute slots, and --small (10,000) and
   --persons (1,000,000) persons with their accounts, passports, documents, applications and
   events, appointments, PR cards and delegations; deterministic for --seed and the day. The
   reminders already due are recorded as made (as the scheduler running every day would have
   left them), so a fresh server does not spend its first minutes making them.
2. For one server process (uvicorn --workers 1), then four (--workers 4; Redis for shared
   state, on a database of its own, --redis-url): a server on each database, then rounds of
   wrk runs (16 connections, the two databases alternating, so a machine shared with other
   work slows both alike): an applicant's dashboard, availableSlots at the busiest office,
   the office directory near a point, `node` lookups of a person's records, each request of
   a run from a random one of --tokens signed-in persons; then `statistics` for a year at the
   busiest offices, one request at a time.
3. The rush, against the four processes on the N-person database: a few hundred places are
   released (--rush-slots slots of the busiest office get --rush-capacity more places each),
   then --rush-attempts bookAppointment requests by --rush-applicants signed-in persons arrive
   spread evenly over --rush-seconds; afterwards the bookings of every slot are counted against
   its capacity.

The output is one table (p50 / p99 ms and requests/s per scenario, database size and process
count), the rush's outcome, the load on the machine during each phase, and two last lines:
`oversold: K` (bookings beyond capacity, 0 expected) and `flat ratio: X` (the largest, over the
dashboard, slots, directory and node lookups, of p99 at N persons over p99 at 10,000 persons,
one process, 16 clients; the median over the rounds of each round's ratio, the two databases
measured back to back). Exit status 1 when anything was oversold or a request failed.

    .venv/bin/python bench/national_scale.py --persons 50000          # development
    .venv/bin/python bench/national_scale.py                           # 1,000,000 persons
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
from harness import (
    ROOT,
    WRK,
    booking_outcome,
    free_port,
    lua_string,
    parse_wrk,
    percentile,
    pg_admin,
    pg_url,
    sign_in,
    wrk_process,
)

PASSWORD = "national-scale-2026"  # noqa: S105 (throw-away accounts in throw-away databases)
SLOT_MINUTES = 10
SERVICE = "VISA_EXTENSION"
SLOT_DAYS = 7  # the week a booking page shows

DASHBOARD = """query Dashboard {
  viewer { person {
    surname givenNames grantedScopes
    applications(first: 20) { edges { node {
      number status submittedAt expectedDecisionOn office { code name }
      events { status at }
    } } }
    documents { kind number validUntil daysRemaining extensionDeadline issuedBy { code } }
    appointments(first: 20) { edges { node {
      reference status startsAt office { code name } bookedBy { displayName kind }
    } } }
    permanentResidentCard { number validUntil }
    passports { number current boundFrom boundUntil }
  } }
}"""
SLOTS = """query Slots($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: $service, from: $from, to: $to) {
    id startsAt endsAt remaining
  }
}"""
DIRECTORY = """query Near($lat: Float!, $lon: Float!) {
  offices(first: 10, filter: {near: {latitude: $lat, longitude: $lon}}) {
    edges { distanceKm node { id code name city phone hours { weekday opens closes } } }
  }
}"""
NODE = """query Node($id: ID!) {
  node(id: $id) {
    id
    ... on Application { number applicationStatus: status events { status at } }
    ... on Appointment { reference appointmentStatus: status startsAt }
    ... on Document { number validUntil }
    ... on Passport { number current }
    ... on PermanentResidentCard { number validUntil }
    ... on Person { surname nationality }
  }
}"""
STATISTICS = """query Stats($from: Date!, $to: Date!, $office: ID) {
  statistics(from: $from, to: $to, officeId: $office) {
    from to appointmentsBooked appointmentsCancelled noShows slotUtilisation
    applicationsByStatus { status count } medianDaysToDecision { service count }
  }
}"""
BOOK = """mutation Book($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    __typename ... on BookingConfirmed { appointment { reference } }
  }
}"""

HOT = ("dashboard", "slots", "directory", "node")
LABELS = {
    "dashboard": "dashboard (viewer.person, its lists)",
    "slots": "availableSlots, busiest office, 7 days",
    "directory": "offices near a point (10)",
    "node": "node(id) of a person's records",
}


# ------------------------------------------------------------------------------ loading


def global_id(type_name: str, pk: int) -> str:
    from schema.common import to_global_id

    return str(to_global_id(type_name, pk))


def _spawned(function: Any, *args: Any) -> Any:
    """Run `function(*args)` in a fresh interpreter: Tortoise keeps one set of connections per
    process, and each database needs its own."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def _migrate(database_url: str) -> None:
    import settings as settings_module
    from persistence.database import apply_migrations

    asyncio.run(apply_migrations(settings_module.Settings(database_url=database_url)))


def _premake_reminders(database_url: str, now: datetime) -> int:
    """Record the reminders due by `now` as made, with their inbox notifications (as a
    scheduler that ran every day would have left them)."""

    async def run() -> int:
        import asyncpg
        from tortoise import Tortoise

        import settings as settings_module
        from resolvers import reminders

        settings = settings_module.Settings(database_url=database_url)
        await Tortoise.init(config=settings.tortoise_config())
        try:
            due = [
                *await reminders.appointment_reminders(now, settings.reminder_hour),
                *await reminders.document_reminders(
                    now, settings.extension_window_days, settings.reminder_hour
                ),
            ]
        finally:
            await Tortoise.close_connections()
        connection = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
        try:
            async with connection.transaction():
                await connection.copy_records_to_table(
                    "scheduled_reminder",
                    records=[
                        (str(d.kind), d.subject_type, d.subject_id, d.due_on, now) for d in due
                    ],
                    columns=("kind", "subject_type", "subject_id", "due_on", "created_at"),
                )
                await connection.execute(
                    "INSERT INTO notification (kind, subject_type, subject_id, facts, "
                    "created_at, read_at, account_id, person_id) "
                    "SELECT d.kind, d.subject_type, d.subject_id, d.facts::jsonb, $5, $5, "
                    "a.id, d.person_id FROM unnest($1::text[], $2::text[], $3::int[], "
                    "$4::text[], $6::int[]) AS d(kind, subject_type, subject_id, facts, "
                    "person_id) JOIN account a ON a.person_id = d.person_id",
                    [str(d.kind) for d in due],
                    [d.subject_type for d in due],
                    [d.subject_id for d in due],
                    [orjson.dumps(d.facts).decode() for d in due],
                    now,
                    [d.person_id for d in due],
                )
        finally:
            await connection.close()
        return len(due)

    return asyncio.run(run())


@dataclass
class Database:
    label: str  # "10k" or "1M" style
    persons: int
    name: str
    url: str
    busiest: list[int] = field(default_factory=list)  # office ids, busiest first
    load_report: str = ""
    load_seconds: float = 0.0
    size: str = ""


def size_label(persons: int) -> str:
    if persons % 1_000_000 == 0:
        return f"{persons // 1_000_000}M"
    if persons % 1000 == 0:
        return f"{persons // 1000}k"
    return str(persons)


async def make_database(
    args: argparse.Namespace, persons: int, today: date, made: list[Database]
) -> Database:
    """A database of `persons`, listed in `made` as soon as it exists (to be dropped)."""
    from argon2 import PasswordHasher

    from persistence.demo.national import Volume, load

    name = f"national_{size_label(persons).lower()}_{secrets.token_hex(3)}"
    await pg_admin(args.postgres_url, f'CREATE DATABASE "{name}"')
    database = Database(size_label(persons), persons, name, pg_url(args.postgres_url, name))
    made.append(database)
    started = time.perf_counter()
    await asyncio.to_thread(_spawned, _migrate, database.url)
    hashed = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
    volume = Volume(
        persons=persons,
        today=today,
        password_hash=hashed,
        offices=args.offices,
        slot_minutes=SLOT_MINUTES,
        seed=args.seed,
    )
    print(f"loading {persons:,} persons into {name} ({args.jobs} processes) ...", flush=True)
    report = await load(
        database.url, volume, jobs=args.jobs, progress=lambda text: print(text, flush=True)
    )
    database.busiest = report.busiest_office_ids
    now = datetime.now(UTC)
    reminders = await asyncio.to_thread(_spawned, _premake_reminders, database.url, now)
    database.load_seconds = time.perf_counter() - started
    rows = ", ".join(f"{table} {count:,}" for table, count in sorted(report.rows.items()))
    steps = ", ".join(f"{step} {seconds:.0f} s" for step, seconds in report.seconds.items())
    database.size = await database_size(database.url)
    database.load_report = (
        f"{database.label}: loaded in {database.load_seconds:.0f} s ({steps}; {reminders:,} "
        f"reminders recorded as made); {database.size}\n    {rows}"
    )
    print(database.load_report, flush=True)
    return database


async def database_size(url: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        return await connection.fetchval(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        )
    finally:
        await connection.close()


# ------------------------------------------------------------------------------ servers


@dataclass
class Server:
    database: Database
    workers: int
    process: subprocess.Popen
    url: str
    log: Path
    launched: float = field(default_factory=time.monotonic)


def server_env(args: argparse.Namespace, database: Database, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database.url,
        "REDIS_URL": args.redis_url,
        "APP_ENV": "development",  # the database is not empty: no demo data is added
        "DATA_DIR": str(args.workdir / "data"),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # Cheap hashing: the accounts' hashes were made with these parameters.
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_KIB": "1024",
        "ARGON2_PARALLELISM": "1",
        # One key for all runs on a database: its signing keys are stored encrypted with it.
        "KEY_ENCRYPTION_KEY": args.key_encryption_key,
        "ACCESS_TOKEN_MINUTES": "600",
        "COST_BUDGET_PER_MINUTE": str(10**12),
        "SIGNIN_FAILURES_PER_ACCOUNT": "1000000",
        "SIGNIN_FAILURES_PER_IP": "1000000",
        "BOOKINGS_PER_ACCOUNT": "1000000",
        "SLOT_MINUTES": str(SLOT_MINUTES),
        "REPORT_SQL_STATEMENTS": "1",
        # The scheduler's first round runs at start (and is waited for); none during the runs.
        "REMINDER_EVERY_SECONDS": "86400",
    }


def start_server(args: argparse.Namespace, database: Database, workers: int) -> Server:
    port = free_port()
    log = args.workdir / f"server-{database.label}-{workers}.log"
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "server:create_app",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
        "--log-level", "info", "--no-access-log",
    ]  # fmt: skip
    with open(log, "wb") as handle:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=server_env(args, database, port),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Server(database, workers, process, f"http://127.0.0.1:{port}", log)


async def wait_started(server: Server, timeout_s: float = 900) -> float:
    """Until every worker has finished its start (and upkeep) and the reminder scan is done;
    the seconds since the launch."""
    deadline = server.launched + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.log.name}: the server exited\n{tail(server.log)}")
        text = server.log.read_text(errors="replace")
        if text.count("Application startup complete") >= server.workers:
            break
        await asyncio.sleep(0.5)
    else:
        raise RuntimeError(f"{server.log.name}: not started in time\n{tail(server.log)}")
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        if (await client.get("/ready")).status_code != 200:
            raise RuntimeError(f"{server.log.name}: not ready\n{tail(server.log)}")
    await wait_reminder_scan(server.database.url)
    return time.monotonic() - server.launched


async def wait_reminder_scan(url: str) -> None:
    """The scheduler's scan holds advisory lock 727275 (persistence/reminders.py)."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        idle = 0
        while idle < 4:
            held = await connection.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 727275 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
            idle = 0 if held else idle + 1
            await asyncio.sleep(0.5)
    finally:
        await connection.close()


def tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:]


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# ----------------------------------------------------------------------- the requests


@dataclass
class Workload:
    """For one database: the signed-in persons and what each scenario sends."""

    tokens: list[tuple[int, str]]  # (person id, access token)
    bodies: dict[str, list[tuple[bytes, str]]] = field(default_factory=dict)  # body, token
    statements: dict[str, list[int]] = field(default_factory=dict)  # SQL per request
    analyst: str = ""


async def sample_persons(database: Database, count: int, seed: int) -> list[int]:
    """Persons with something on their dashboard, chosen at random (deterministic)."""
    rng = random.Random(f"{seed}:sample")
    return sorted(rng.sample(range(1, database.persons + 1), count))


async def records_of(url: str, persons: list[int]) -> dict[int, list[str]]:
    """Global IDs of each person's records: applications, appointments, documents, passports,
    PR card, and the person."""
    import asyncpg

    found: dict[int, list[str]] = {p: [global_id("Person", p)] for p in persons}
    queries = (
        ("Application", "SELECT applicant_id, id FROM application WHERE applicant_id = ANY($1)"),
        ("Appointment", "SELECT applicant_id, id FROM appointment WHERE applicant_id = ANY($1)"),
        ("Document", "SELECT person_id, id FROM document WHERE person_id = ANY($1)"),
        ("Passport", "SELECT person_id, id FROM passport WHERE person_id = ANY($1)"),
        ("PermanentResidentCard", "SELECT person_id, id FROM pr_card WHERE person_id = ANY($1)"),
    )
    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://"))
    try:
        for type_name, sql in queries:
            for owner, pk in await connection.fetch(sql, persons):
                found[owner].append(global_id(type_name, pk))
    finally:
        await connection.close()
    return found


async def gather_limited(limit: int, jobs: list[Any]) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(job: Any) -> Any:
        async with gate:
            return await job

    return await asyncio.gather(*(one(j) for j in jobs))


async def prepare(
    args: argparse.Namespace, server: Server, today: date, workload: Workload | None
) -> Workload:
    """Sign the sampled persons in (once per database), make every request body, and send
    each once: it must answer without errors (wrk only sees HTTP statuses)."""
    from persistence.demo.national import Volume

    database = server.database
    rng = random.Random(f"{args.seed}:requests:{database.label}")
    volume = Volume(persons=0, today=today, password_hash="")
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as client:
        if workload is None:
            persons = await sample_persons(database, args.tokens, args.seed)
            tokens = await gather_limited(
                8, [sign_in(client, volume.email(p), PASSWORD) for p in persons]
            )
            workload = Workload(tokens=list(zip(persons, tokens, strict=True)))
            workload.analyst = await sign_in(client, volume.analyst_email(1), PASSWORD)
            records = await records_of(database.url, persons)
            busiest = global_id("Office", database.busiest[0])
            for person, token in workload.tokens:
                start = today + timedelta(days=rng.randint(0, 6))
                variables = {
                    "office": busiest,
                    "service": SERVICE,
                    "from": start.isoformat(),
                    "to": (start + timedelta(days=SLOT_DAYS - 1)).isoformat(),
                }
                point = {"lat": rng.uniform(21.0, 45.0), "lon": rng.uniform(100.0, 125.0)}
                node = {"id": rng.choice(records[person])}
                for scenario, query, values in (
                    ("dashboard", DASHBOARD, {}),
                    ("slots", SLOTS, variables),
                    ("directory", DIRECTORY, point),
                    ("node", NODE, node),
                ):
                    body = orjson.dumps({"query": query, "variables": values})
                    workload.bodies.setdefault(scenario, []).append((body, token))
        for scenario, bodies in workload.bodies.items():

            async def check(body: bytes, token: str, scenario: str = scenario) -> int:
                response = await client.post(
                    "/graphql",
                    content=body,
                    headers={
                        "authorization": f"Bearer {token}",
                        "content-type": "application/json",
                    },
                )
                answer = response.json()
                if response.status_code != 200 or answer.get("errors"):
                    raise RuntimeError(f"{scenario} failed: {response.text[:500]}")
                return int(response.headers.get("x-sql-statements", 0))

            # Every request once; of the slot lists (the costliest to answer), a sample.
            sample = bodies if scenario != "slots" else bodies[:: max(1, len(bodies) // 40)]
            counts = await gather_limited(8, [check(b, t) for b, t in sample])
            workload.statements[scenario] = counts
    return workload


def wrk_script(path: Path, bodies: list[tuple[bytes, str]]) -> Path:
    """A wrk script sending, per request, one of the bodies at random with its token."""
    entries = ",\n".join(
        f"{{{lua_string(body.decode())}, {lua_string('Bearer ' + token)}}}"
        for body, token in bodies
    )
    path.write_text(
        f"local requests = {{\n{entries}\n}}\n"
        "local threads = 0\n"
        "function setup(thread) threads = threads + 1; thread:set('seed', threads) end\n"
        "function init(args) math.randomseed(seed * 7919) end\n"
        "function request()\n"
        "  local r = requests[math.random(#requests)]\n"
        '  return wrk.format("POST", "/graphql", {["Content-Type"] = "application/json", '
        '["Authorization"] = r[2]}, r[1])\n'
        "end\n"
    )
    return path


@dataclass
class Run:
    p50: float
    p99: float
    rps: float
    errors: int
    load: float


async def wrk(url: str, script: Path, clients: int, seconds: float, check: bool = True) -> Run:
    done = await wrk_process(f"{url}/graphql", min(2, clients), clients, seconds, script, 120)
    result = parse_wrk(done.stdout) if done.returncode == 0 else None
    if result is None or (check and not (result.requests and result.p99_ms > 0)):
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}\n{done.stdout}")
    return Run(
        result.p50_ms, result.p99_ms, result.requests_per_s, result.errors, os.getloadavg()[0]
    )


@dataclass
class Phase:
    workers: int
    runs: dict[tuple[str, str], list[Run]] = field(default_factory=dict)  # (scenario, db)
    statistics: dict[str, list[float]] = field(default_factory=dict)  # db: ms per request
    statistics_all: dict[str, float] = field(default_factory=dict)  # db: all offices, ms
    start_seconds: dict[str, float] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)

    def p(self, scenario: str, db: str, what: str) -> float:
        runs = self.runs.get((scenario, db), [])
        return statistics.median(getattr(r, what) for r in runs) if runs else float("nan")

    def ratio(self, scenario: str, big: str, small: str) -> float:
        """p99 on `big` over p99 on `small`, run by run (each pair measured back to back, so
        a slow stretch of the shared machine weighs on both), the median over the rounds."""
        big_runs, small_runs = (
            self.runs.get((scenario, big), []),
            self.runs.get((scenario, small), []),
        )
        pairs = zip(big_runs, small_runs, strict=True)
        ratios = [b.p99 / s.p99 for b, s in pairs if s.p99 > 0]
        return statistics.median(ratios) if ratios else float("nan")


async def measure_statistics(
    server: Server, workload: Workload, today: date, count: int
) -> tuple[list[float], float]:
    """`statistics` for a year at the busiest offices, one at a time (ms each); and once
    for all offices."""
    timings = []
    headers = {"authorization": f"Bearer {workload.analyst}"}
    year_ago = today - timedelta(days=364)
    async with httpx.AsyncClient(base_url=server.url, timeout=600) as client:

        async def ask(office: int | None) -> float:
            variables = {"from": year_ago.isoformat(), "to": today.isoformat()}
            if office is not None:
                variables["office"] = global_id("Office", office)
            began = time.perf_counter()
            response = await client.post(
                "/graphql", json={"query": STATISTICS, "variables": variables}, headers=headers
            )
            elapsed = (time.perf_counter() - began) * 1000
            if response.status_code != 200 or response.json().get("errors"):
                raise RuntimeError(f"statistics failed: {response.text[:500]}")
            return elapsed

        await ask(server.database.busiest[0])  # warm
        for i in range(count):
            timings.append(await ask(server.database.busiest[i % 3]))
        everywhere = await ask(None)
    return timings, everywhere


async def run_phase(
    args: argparse.Namespace,
    databases: list[Database],
    workers: int,
    today: date,
    workloads: dict[str, Workload],
    after: Any = None,
) -> Phase:
    phase = Phase(workers)
    servers = [start_server(args, db, workers) for db in databases]
    try:
        for server in servers:
            phase.start_seconds[server.database.label] = await wait_started(server)
        for server in servers:
            label = server.database.label
            workloads[label] = await prepare(args, server, today, workloads.get(label))
        scripts = {
            (scenario, server.database.label): wrk_script(
                args.workdir / f"{scenario}-{server.database.label}.lua",
                workloads[server.database.label].bodies[scenario],
            )
            for scenario in HOT
            for server in servers
        }
        for round_ in range(args.rounds):
            order = servers if round_ % 2 == 0 else list(reversed(servers))
            for scenario in HOT:
                for server in order:
                    script = scripts[(scenario, server.database.label)]
                    if args.warmup:
                        await wrk(server.url, script, args.clients, args.warmup, check=False)
                    run = await wrk(server.url, script, args.clients, args.duration)
                    phase.runs.setdefault((scenario, server.database.label), []).append(run)
                    print(
                        f"    {scenario:<10} {server.database.label:>5}: p50 {run.p50:.1f} ms, "
                        f"p99 {run.p99:.1f} ms, {run.rps:.0f}/s, errors {run.errors}, "
                        f"load {run.load:.1f}",
                        flush=True,
                    )
                    phase.loads.append(run.load)
            print(f"  {workers} process(es): round {round_ + 1}/{args.rounds} done", flush=True)
        for server in servers:
            label = server.database.label
            phase.statistics[label], phase.statistics_all[label] = await measure_statistics(
                server, workloads[label], today, args.statistics
            )
        if after is not None:
            await after(servers)
    finally:
        for server in servers:
            stop_server(server)
    return phase


# ---------------------------------------------------------------------------------- rush


@dataclass
class Rush:
    released: int = 0  # places added
    places: int = 0  # places free when the rush starts (added, and left from earlier bookings)
    slots: int = 0
    applicants: int = 0
    attempts: int = 0
    outcomes: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    sign_in_seconds: float = 0.0
    oversold: int = 0
    mismatched: list[int] = field(default_factory=list)
    per_slot: list[tuple[int, int, int, int]] = field(default_factory=list)


async def release_places(
    database: Database, today: date, args: argparse.Namespace
) -> list[tuple[int, int]]:
    """Open --rush-capacity more places on --rush-slots VISA slots of the busiest office, 2 to
    9 days ahead (inside the booking horizon, past the lead time): (slot id, capacity)."""
    import asyncpg

    connection = await asyncpg.connect(database.url.replace("postgres://", "postgresql://"))
    try:
        rows = await connection.fetch(
            "SELECT id FROM slot WHERE office_id = $1 AND service_group = 'VISA' AND open "
            "AND starts_at >= $2 AND starts_at < $3 ORDER BY starts_at LIMIT $4",
            database.busiest[0],
            datetime.combine(today + timedelta(days=2), datetime.min.time(), UTC),
            datetime.combine(today + timedelta(days=10), datetime.min.time(), UTC),
            args.rush_slots,
        )
        ids = [r["id"] for r in rows]
        released = await connection.fetch(
            "UPDATE slot SET capacity = capacity + $2 WHERE id = ANY($1) "
            "RETURNING id, capacity - booked - held AS free",
            ids,
            args.rush_capacity,
        )
        return [(r["id"], r["free"]) for r in released]
    finally:
        await connection.close()


async def rush_applicants(database: Database, count: int, seed: int) -> list[int]:
    """Persons without an active appointment for the service, at random."""
    import asyncpg

    connection = await asyncpg.connect(database.url.replace("postgres://", "postgresql://"))
    try:
        busy = {
            r["applicant_id"]
            for r in await connection.fetch(
                "SELECT applicant_id FROM appointment WHERE active_key LIKE $1", f"%:{SERVICE}"
            )
        }
    finally:
        await connection.close()
    rng = random.Random(f"{seed}:rush")
    chosen: list[int] = []
    while len(chosen) < count:
        person = rng.randint(1, database.persons)
        if person not in busy and person not in chosen:
            chosen.append(person)
    return chosen


async def run_rush(args: argparse.Namespace, server: Server, today: date) -> Rush:
    from persistence.demo.national import Volume

    rush = Rush()
    database = server.database
    volume = Volume(persons=0, today=today, password_hash="")
    slots = await release_places(database, today, args)
    rush.slots, rush.released = len(slots), len(slots) * args.rush_capacity
    rush.places = sum(free for _, free in slots)
    applicants = await rush_applicants(database, args.rush_applicants, args.seed)
    rush.applicants = len(applicants)
    # Idle connections are dropped before uvicorn's 5 s keep-alive would close them under a
    # request being sent.
    limits = httpx.Limits(max_connections=args.rush_concurrency, keepalive_expiry=2)
    async with httpx.AsyncClient(base_url=server.url, timeout=300, limits=limits) as client:
        began = time.perf_counter()
        tokens = await gather_limited(
            16, [sign_in(client, volume.email(p), PASSWORD) for p in applicants]
        )
        rush.sign_in_seconds = time.perf_counter() - began
        slot_ids = [global_id("Slot", s) for s, _ in slots]
        rng = random.Random(f"{args.seed}:rush-attempts")
        gate = asyncio.Semaphore(args.rush_concurrency)
        interval = args.rush_seconds / args.rush_attempts

        async def attempt(i: int, start: float) -> None:
            await asyncio.sleep(max(0.0, start + i * interval - time.perf_counter()))
            k = i % len(applicants)
            variables = {
                "input": {
                    "applicantId": global_id("Person", applicants[k]),
                    "slotId": slot_ids[rng.randrange(len(slot_ids))],
                    "service": SERVICE,
                }
            }
            async with gate:
                sent = time.perf_counter()
                outcome = await booking_outcome(
                    client, BOOK, variables, tokens[k], show_errors=True
                )
                rush.latencies.append((time.perf_counter() - sent) * 1000)
                rush.outcomes[outcome] += 1

        start = time.perf_counter()
        await asyncio.gather(*(attempt(i, start) for i in range(args.rush_attempts)))
        rush.seconds = time.perf_counter() - start
        rush.attempts = args.rush_attempts
    await count_bookings(database, slots, rush)
    # Also from the answers: never more confirmations than there were free places.
    rush.oversold += max(0, rush.outcomes.get("BookingConfirmed", 0) - rush.places)
    return rush


async def count_bookings(database: Database, slots: list[tuple[int, int]], rush: Rush) -> None:
    """Every slot's place-holding appointments against its capacity and its `booked`."""
    import asyncpg

    connection = await asyncpg.connect(database.url.replace("postgres://", "postgresql://"))
    try:
        for slot_id, _ in slots:
            row = await connection.fetchrow(
                "SELECT capacity, booked, held, (SELECT count(*) FROM appointment a "
                "WHERE a.slot_id = s.id AND a.status IN ('BOOKED', 'CHECKED_IN', 'COMPLETED', "
                "'NO_SHOW')) AS holding FROM slot s WHERE id = $1",
                slot_id,
            )
            capacity, booked, holding = row["capacity"], row["booked"], row["holding"]
            rush.per_slot.append((slot_id, capacity, booked, holding))
            rush.oversold += max(0, holding - capacity) + max(0, booked + row["held"] - capacity)
            if booked != holding:
                rush.mismatched.append(slot_id)
    finally:
        await connection.close()


# -------------------------------------------------------------------------------- report


def machine() -> str:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    one, five, fifteen = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, {memory}; load average now {one:.1f} / {five:.1f} / "
        f"{fifteen:.1f} (1 / 5 / 15 min)"
    )


def report(
    args: argparse.Namespace,
    databases: list[Database],
    phases: list[Phase],
    workloads: dict[str, Workload],
    rush: Rush | None,
    total_s: float,
) -> tuple[str, int, float]:
    small, big = databases[0].label, databases[1].label
    lines = [""]
    lines += [db.load_report for db in databases]
    header = f"{'scenario':<44}{'procs':>6}" + "".join(
        f"{db + ' p50':>10}{db + ' p99':>10}{db + ' req/s':>11}" for db in (small, big)
    ) + f"{'p99 ratio':>10}{'SQL':>5}"  # fmt: skip
    lines += ["", f"milliseconds; wrk, {args.clients} connections, {args.duration:g} s per run, "
              f"median of {args.rounds} rounds (databases alternating; the ratio is the median of "
              "each round's)", header,
              "-" * len(header)]  # fmt: skip
    for phase in phases:
        for scenario in HOT:
            cells = ""
            for db in (small, big):
                cells += (
                    f"{phase.p(scenario, db, 'p50'):>10.1f}{phase.p(scenario, db, 'p99'):>10.1f}"
                    f"{phase.p(scenario, db, 'rps'):>11.0f}"
                )
            ratio = phase.ratio(scenario, big, small)
            sql = workloads[big].statements.get(scenario, [0])
            lines.append(
                f"{LABELS[scenario]:<44}{phase.workers:>6}{cells}{ratio:>10.2f}"
                f"{statistics.median(sql):>5.0f}"
            )
        for db in (small, big):
            timings = phase.statistics.get(db, [])
            if timings:
                lines.append(
                    f"{'statistics, a year, one office, ' + db:<44}{phase.workers:>6}"
                    f"{percentile(timings, 50):>10.0f}{percentile(timings, 99):>10.0f}"
                    f"   (one at a time, {len(timings)} requests; all offices: "
                    f"{phase.statistics_all[db]:.0f} ms)"
                )
    lines.append("")
    errors = sum(r.errors for p in phases for runs in p.runs.values() for r in runs)
    for phase in phases:
        loads = phase.loads or [float("nan")]
        starts = ", ".join(f"{db} {s:.0f} s" for db, s in phase.start_seconds.items())
        lines.append(
            f"{phase.workers} process(es): load average during the runs {min(loads):.1f}-"
            f"{max(loads):.1f} (median {statistics.median(loads):.1f}); start-up {starts}"
        )
    lines.append(f"HTTP errors during the runs: {errors}")
    one = phases[0]
    goals = []
    for scenario in HOT:
        p99 = one.p(scenario, big, "p99")
        goals.append(f"{scenario} {p99:.0f} ms")
    lines.append(
        f"goal: hot reads' p99 < 50 ms with one process at {args.clients} clients "
        f"({big}): " + ", ".join(goals)
    )
    stats = one.statistics.get(big, [])
    if stats:
        worst = max(stats)
        lines.append(
            f"goal: statistics for a year at one office < 2 s ({big}): slowest {worst:.0f} ms, "
            f"{'met' if worst < 2000 else 'NOT met'}"
        )
    oversold = 0
    if rush is not None:
        oversold = rush.oversold
        outcomes = ", ".join(f"{k} {v}" for k, v in rush.outcomes.most_common())
        lines += [
            "",
            f"rush ({big}, {phases[-1].workers} processes): {rush.released} places released on "
            f"{rush.slots} slots ({rush.places} free with those left over); {rush.applicants} "
            f"applicants signed in in "
            f"{rush.sign_in_seconds:.0f} s; {rush.attempts} attempts planned over "
            f"{args.rush_seconds:g} s, sent in {rush.seconds:.1f} s "
            f"({rush.attempts / rush.seconds:.0f}/s)",
            f"  outcomes: {outcomes}",
            f"  latency p50 {percentile(rush.latencies, 50):.0f} ms, "
            f"p99 {percentile(rush.latencies, 99):.0f} ms",
            f"  slots over capacity: {sum(1 for _, c, b, h in rush.per_slot if max(b, h) > c)}; "
            f"booked != appointments on {len(rush.mismatched)} slots",
        ]
        confirmed = rush.outcomes.get("BookingConfirmed", 0)
        lines.append(f"  confirmed {confirmed} of {rush.places} free places")
    lines.append(f"\nmachine: {machine()}; whole run {total_s / 60:.1f} min")
    flat = max(one.ratio(s, big, small) for s in HOT)
    return "\n".join(lines), oversold, flat


# ---------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=1_000_000, help="N (1,000,000)")
    parser.add_argument("--small", type=int, default=10_000, help="the small database (10,000)")
    parser.add_argument("--offices", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="processes loading the data (2)")
    parser.add_argument(
        "--postgres-url",
        default="postgres://postgres@127.0.0.1:5432",
        help="server on which the databases are created and dropped",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--warmup", type=float, default=1, help="seconds of warm-up per run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=400, help="signed-in persons per database")
    parser.add_argument("--statistics", type=int, default=9, help="statistics requests")
    parser.add_argument("--rush-attempts", type=int, default=10_000)
    parser.add_argument("--rush-seconds", type=float, default=60)
    parser.add_argument("--rush-applicants", type=int, default=2500)
    parser.add_argument("--rush-slots", type=int, default=100)
    parser.add_argument("--rush-capacity", type=int, default=3, help="places added per slot")
    parser.add_argument("--rush-concurrency", type=int, default=128, help="requests in flight")
    parser.add_argument("--no-rush", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    args = parser.parse_args(argv)
    if not 1000 <= args.small < args.persons:
        parser.error("need 1000 <= --small < --persons")
    if not Path(WRK).exists():
        parser.error(f"wrk is needed ({WRK} not found; apt-get install wrk)")
    return args


async def clear_redis(url: str, databases: list[Database]) -> None:
    """Remove the keys the servers left under each database's namespace."""
    import redis.asyncio as redis

    import settings as settings_module

    client = redis.from_url(url)
    try:
        for database in databases:
            namespace = settings_module.Settings(database_url=database.url).redis_namespace
            async for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                await client.delete(key)
    finally:
        await client.aclose()


async def main_async(args: argparse.Namespace) -> int:
    from domain.dates import local_day

    began = time.perf_counter()
    args.workdir = Path(tempfile.mkdtemp(prefix="national-scale-"))
    args.key_encryption_key = secrets.token_urlsafe(32)
    today = local_day(datetime.now(UTC))
    print(f"national scale: {args.small:,} and {args.persons:,} persons, {args.offices} offices; "
          f"{machine()}", flush=True)  # fmt: skip
    databases: list[Database] = []
    try:
        for persons in (args.small, args.persons):
            await make_database(args, persons, today, databases)
        workloads: dict[str, Workload] = {}
        phases = [await run_phase(args, databases, 1, today, workloads)]
        rush: Rush | None = None

        async def rush_after(servers: list[Server]) -> None:
            nonlocal rush
            if not args.no_rush:
                print("  rush ...", flush=True)
                rush = await run_rush(args, servers[-1], today)

        phases.append(await run_phase(args, databases, 4, today, workloads, after=rush_after))
        text, oversold, flat = report(
            args, databases, phases, workloads, rush, time.perf_counter() - began
        )
        print(text)
        errors = sum(r.errors for p in phases for runs in p.runs.values() for r in runs)
        print(f"oversold: {oversold}")
        print(f"flat ratio: {flat:.2f}")
        return 1 if oversold or errors or (rush is not None and rush.mismatched) else 0
    finally:
        await clear_redis(args.redis_url, databases)
        if not args.keep:
            for database in databases:
                await pg_admin(
                    args.postgres_url, f'DROP DATABASE IF EXISTS "{database.name}" WITH (FORCE)'
                )
            shutil.rmtree(args.workdir, ignore_errors=True)
        else:
            print(
                f"kept: {', '.join(d.url for d in databases)}; logs in {args.workdir}",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
