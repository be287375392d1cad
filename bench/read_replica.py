"""Read-replica routing on a small database: the office directory with and without
DATABASE_REPLICA_URL, where each request's statements ran, and read-your-writes.

Starts its own PostgreSQL primary and streaming replica (tests/replica_cluster.py: initdb into
a temporary folder, pg_basebackup -R, free ports; as root through runuser), one database with
the demo data, and one server process at a time on it:

1. "primary only": DATABASE_URL only (as without a replica);
2. "with replica": the same database with DATABASE_REPLICA_URL.

Each is loaded for --duration seconds by --clients concurrent clients sending the directory
query (offices with their hours and whether they are open now), anonymous and then signed in
(pr@demo.test, which writes nothing), with PUBLIC_CACHE_SECONDS=0 so that every request reaches
the database (the shared-answer cache would otherwise answer most of them without SQL). It
reports requests/s, p50/p99 latency and the statements per request on each server (the
X-SQL-Statements and X-SQL-Replica-Statements headers), then, with the replica, analysts'
statistics for a year at one office, and a writer (applicant@demo.test) that books and cancels
--writes times, reading the slot right after each write: on which server that read ran, and how
soon its reads were back on the replica.

    .venv/bin/python bench/read_replica.py
    .venv/bin/python bench/read_replica.py --duration 20 --clients 32 --writes 100

On one machine the replica competes with the primary, the server and the load generator for
the same cores: the numbers show what moves off the primary, not the throughput a replica on its
own machine adds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics as stats
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from harness import (  # noqa: E402  (after the path set-up)
    DEMO_PASSWORD,
    free_port,
    percentile,
    sign_in,
    start_server,
    stop_server,
    wait_ready,
)

from tests.replica_cluster import missing_reason, running_cluster  # noqa: E402

DIRECTORY = """{ offices(first: 24) { edges { node {
  code name isOpen hours { weekday opens closes } } } } }"""
STATISTICS = """query($from: Date!, $to: Date!, $office: ID) {
  statistics(from: $from, to: $to, officeId: $office) { appointmentsBooked slotUtilisation } }"""
OFFICES = """{ offices(first: 100, filter: {service: VISA_EXTENSION}) { edges { node { id } } } }"""
SLOTS = """query($office: ID!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: VISA_EXTENSION, from: $from, to: $to) {
    id remaining } }"""
SLOT = "query($id: ID!) { node(id: $id) { ... on Slot { remaining } } }"
VIEWER = "{ viewer { person { id } } }"
BOOK = """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
  __typename ... on BookingConfirmed { appointment { id } } } }"""
CANCEL = "mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }"


KEY_ENCRYPTION_KEY = secrets.token_urlsafe(32)


@dataclass
class Run:
    """One load run: latencies and where each request's statements ran."""

    name: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statements: int = 0
    on_replica: int = 0
    errors: int = 0

    def row(self) -> str:
        n = len(self.latencies)
        if not n:
            return f"{self.name:<42} no answers ({self.errors} errors)"
        on_primary = (self.statements - self.on_replica) / n
        return (
            f"{self.name:<42} {n / self.seconds:8.0f} {percentile(self.latencies, 50) * 1000:8.1f}"
            f" {percentile(self.latencies, 99) * 1000:8.1f} {on_primary:8.2f}"
            f" {self.on_replica / n:8.2f} {self.errors:6d}"
        )


HEADER = (
    f"{'run':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'primary':>8} {'replica':>8}"
    f" {'errors':>6}\n{'':<42} {'':>8} {'':>8} {'':>8} {'stmt/req':>8} {'stmt/req':>8}"
)


def count(run: Run, response: httpx.Response) -> None:
    body = response.json()
    if response.status_code != 200 or "errors" in body:
        run.errors += 1
        return
    run.statements += int(response.headers.get("x-sql-statements", "0"))
    run.on_replica += int(response.headers.get("x-sql-replica-statements", "0"))


async def load(
    base: str, name: str, query: str, clients: int, seconds: float, token: str | None = None
) -> Run:
    """`clients` concurrent clients sending `query` for `seconds`."""
    run = Run(name)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        await client.post("/graphql", json={"query": query}, headers=headers)  # warm up
        stop = time.perf_counter() + seconds

        async def one_client() -> None:
            while time.perf_counter() < stop:
                started = time.perf_counter()
                response = await client.post("/graphql", json={"query": query}, headers=headers)
                run.latencies.append(time.perf_counter() - started)
                count(run, response)

        started = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        run.seconds = time.perf_counter() - started
    return run


@contextlib.asynccontextmanager
async def server(database_url: str, workdir: Path, **extra: str) -> AsyncIterator[str]:
    """One server process (demo data, statement headers, no shared-answer cache)."""
    port = free_port()
    env = {
        "REPORT_SQL_STATEMENTS": "1",
        "PUBLIC_CACHE_SECONDS": "0",
        "COST_BUDGET_PER_MINUTE": "1000000000000",
        "BOOKINGS_PER_ACCOUNT": "100000",
        "STATISTICS_ROUNDING_BASE": "1",
        # Both servers open the same signing keys.
        "KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
        **extra,
    }
    log = workdir / f"server-{port}.log"
    process = start_server(database_url, port, workdir / "data", log, env)
    try:
        await wait_ready(f"http://127.0.0.1:{port}", process, timeout_s=300)
        yield f"http://127.0.0.1:{port}"
    except Exception:
        print(log.read_text(errors="replace")[-4000:], file=sys.stderr)
        raise
    finally:
        stop_server(process)


async def post(
    client: httpx.AsyncClient, query: str, variables: dict | None = None, token: str | None = None
) -> tuple[dict, int]:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    body = response.json()
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"], int(response.headers.get("x-sql-replica-statements", "0"))


async def statistics_run(base: str, samples: int) -> Run:
    """Analysts' statistics for the last year at one office, one at a time."""
    run = Run("statistics (a year, one office)")
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        analyst = await sign_in(client, "analyst@demo.test", DEMO_PASSWORD)
        offices, _ = await post(client, OFFICES)
        office = offices["offices"]["edges"][0]["node"]["id"]
        today = date.today()
        variables = {"from": (today - timedelta(days=365)).isoformat(), "to": today.isoformat()}
        variables["office"] = office
        started = time.perf_counter()
        for _ in range(samples):
            began = time.perf_counter()
            response = await client.post(
                "/graphql",
                json={"query": STATISTICS, "variables": variables},
                headers={"authorization": f"Bearer {analyst}"},
            )
            run.latencies.append(time.perf_counter() - began)
            count(run, response)
        run.seconds = time.perf_counter() - started
    return run


async def writer_run(base: str, writes: int, *, paused: bool = False) -> str:
    """The writer books and cancels a slot `writes` times each; after each write it reads
    the slot at once (it must see its write, wherever the read ran), then again until its
    read is served by the replica (not when the replica's replay is `paused`)."""
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        applicant = await sign_in(client, "applicant@demo.test", DEMO_PASSWORD)
        person = (await post(client, VIEWER, token=applicant))[0]["viewer"]["person"]["id"]
        slot = await a_slot(client)
        free = await places(client, slot, applicant)
        on_primary, back_ms, reads, stale = 0, [], 0, 0
        for i in range(writes * 2):
            if i % 2 == 0:
                booking = {"applicantId": person, "slotId": slot, "service": "VISA_EXTENSION"}
                data, _ = await post(client, BOOK, {"input": booking}, applicant)
                result = data["bookAppointment"]
                if result["__typename"] != "BookingConfirmed":
                    raise RuntimeError(f"booking refused: {result}")
                appointment, expected = result["appointment"]["id"], free - 1
            else:
                await post(client, CANCEL, {"id": appointment}, applicant)
                expected = free
            wrote_at = time.perf_counter()
            data, on_replica = await post(client, SLOT, {"id": slot}, applicant)
            reads += 1
            stale += data["node"]["remaining"] != expected
            if on_replica:
                continue
            on_primary += 1
            if paused:
                continue
            while not on_replica and time.perf_counter() < wrote_at + 10:
                _, on_replica = await post(client, SLOT, {"id": slot}, applicant)
            back_ms.append((time.perf_counter() - wrote_at) * 1000)
    if paused:
        back = "the replica's replay paused throughout"
    elif back_ms:
        median, worst = stats.median(back_ms), max(back_ms)
        back = f"back on the replica after p50 {median:.1f} ms, max {worst:.1f} ms"
    else:
        back = "the replica had replayed each write by the writer's next read"
    return (
        f"writer: {writes} bookings and {writes} cancellations, each read back at once: "
        f"{stale} stale reads; {on_primary} of {reads} reads kept on the primary; {back}"
    )


async def places(client: httpx.AsyncClient, slot: str, token: str) -> int:
    data, _ = await post(client, SLOT, {"id": slot}, token)
    return data["node"]["remaining"]


async def a_slot(client: httpx.AsyncClient) -> str:
    offices, _ = await post(client, OFFICES)
    start = date.today() + timedelta(days=3)
    for edge in offices["offices"]["edges"]:
        variables = {
            "office": edge["node"]["id"],
            "from": start.isoformat(),
            "to": (start + timedelta(days=14)).isoformat(),
        }
        data, _ = await post(client, SLOTS, variables)
        slots = [s for s in data["availableSlots"] if s["remaining"] >= 2]
        if slots:
            return slots[0]["id"]
    raise RuntimeError("no open slot")


async def reads(base: str, setup: str, args: argparse.Namespace) -> list[Run]:
    """The directory, anonymous and signed in, then the statistics, each run named after
    the server's `setup`."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        reader = await sign_in(client, "pr@demo.test", DEMO_PASSWORD)
    anonymous = await load(base, f"{setup}, anonymous", DIRECTORY, args.clients, args.duration)
    signed_in = await load(
        base, f"{setup}, signed in", DIRECTORY, args.clients, args.duration, reader
    )
    statistics = await statistics_run(base, args.samples)
    statistics.name = f"{setup}, {statistics.name}"
    return [anonymous, signed_in, statistics]


async def measure(args: argparse.Namespace) -> str:
    lines = []
    with running_cluster() as cluster:
        database = f"bench_{secrets.token_hex(4)}"
        await cluster.create_database(database)
        primary_url = cluster.primary.url(database)
        workdir = Path(tempfile.mkdtemp(prefix="bench-replica-"))
        runs: list[Run] = []
        async with server(primary_url, workdir) as base:
            runs += await reads(base, "primary only", args)
        await cluster.caught_up()
        replica = {"DATABASE_REPLICA_URL": cluster.replica.url(database)}
        async with server(primary_url, workdir, **replica) as base:
            runs += await reads(base, "with replica", args)
            writer = await writer_run(base, args.writes)
            await cluster.pause_replay()
            lagging = await writer_run(base, max(1, args.writes // 3), paused=True)
            await cluster.resume_replay()
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                metrics = (await client.get("/metrics")).text
        routed = [
            line
            for line in metrics.splitlines()
            if line.startswith("replica_routed_requests_total")
        ]
        version = cluster.bin.parent.name if cluster.bin else "?"
        lines.append(
            f"directory: {args.clients} clients, {args.duration:g} s per run; statistics: "
            f"{args.samples} one at a time; PostgreSQL {version}, {os.cpu_count()} cores shared "
            "by the servers, both databases and the load"
        )
        lines.append(HEADER)
        lines.extend(run.row() for run in runs)
        lines.extend((writer, lagging))
        lines.append("routing (/metrics of the replica server): " + "; ".join(routed))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per directory run")
    parser.add_argument("--clients", type=int, default=16, help="concurrent directory clients")
    parser.add_argument("--samples", type=int, default=50, help="statistics requests per run")
    parser.add_argument("--writes", type=int, default=30, help="writer's bookings")
    args = parser.parse_args(argv)
    reason = missing_reason()
    if reason is not None:
        print(f"cannot start a primary and a replica here: {reason}", file=sys.stderr)
        return 2
    print(asyncio.run(measure(args)))
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
