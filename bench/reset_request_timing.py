"""Whether a stopwatch tells a known address from an unknown one through requestPasswordReset:
N accounts are signed up, then requestPasswordReset is sent alternately for a known and an
unknown address (interleaved, through the app in process over ASGI, limits raised so that none
is refused), and the latency percentiles and SQL statements of each group are printed. The
two groups should do the same work: the same statements, and medians within the noise."""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    create_database,
    database_arguments,
    drop_database,
    in_process_settings,
)
from resolvers.context import Clock
from server import create_app

REQUEST = "mutation($e: String!) { requestPasswordReset(email: $e) { __typename } }"
SIGN_UP = """mutation($e: String!) { signUp(input: {email: $e, password: "a-Strong-passphrase-1",
  displayName: "Bench"}) { __typename } }"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


async def measure(database: str, postgres_url: str, count: int) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-reset-"))
    url, name = await create_database(database, postgres_url, workdir)
    settings = in_process_settings(
        url,
        workdir,
        report_sql=True,
        signups_per_ip=1_000_000,
        password_resets_per_ip=1_000_000,
    )
    app = create_app(settings, Clock())
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.77.0.1", 4000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
                known = [f"known-{secrets.token_hex(5)}@example.test" for _ in range(count)]
                for email in known:
                    await client.post(
                        "/graphql", json={"query": SIGN_UP, "variables": {"e": email}}
                    )
                times: dict[str, list[float]] = {"known": [], "unknown": []}
                statements: dict[str, set[str]] = {"known": set(), "unknown": set()}
                for i, email in enumerate(known):
                    unknown = f"unknown-{secrets.token_hex(5)}@example.test"
                    pairs = [("known", email), ("unknown", unknown)]
                    for group, address in pairs if i % 2 else reversed(pairs):
                        started = time.perf_counter()
                        response = await client.post(
                            "/graphql", json={"query": REQUEST, "variables": {"e": address}}
                        )
                        times[group].append((time.perf_counter() - started) * 1000)
                        statements[group].add(response.headers.get("x-sql-statements", "?"))
        for group, values in times.items():
            print(
                f"{database:8s} {group:8s} n={len(values)}"
                f"  median {statistics.median(values):6.2f} ms"
                f"  p10 {percentile(values, 0.1):6.2f}  p90 {percentile(values, 0.9):6.2f}"
                f"  SQL statements {sorted(statements[group])}"
            )
    finally:
        await drop_database(postgres_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    database_arguments(parser, "sqlite", "postgres", "both", default="both")
    parser.add_argument("--count", type=int, default=150, help="requests per group")
    args = parser.parse_args()
    for database in ("sqlite", "postgres") if args.database == "both" else (args.database,):
        asyncio.run(measure(database, args.postgres_url, args.count))


if __name__ == "__main__":
    main()
