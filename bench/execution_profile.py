"""What an executed GraphQL request costs, part by part, in one process and without HTTP: the
office directory and the dashboard run by the schema with plans and with graphql-core's
executor, next to the same data read with the ORM alone and the hand-written directory, in
CPU milliseconds per request; then a cProfile of the planned runs filed by package, to show
what bounds them now.

    .venv/bin/python bench/execution_profile.py                     # SQLite, 200 requests
    .venv/bin/python bench/execution_profile.py --database postgres -n 100

CPU time is the process's (time.process_time: both the event loop and the SQLite driver's
thread), so a machine shared with other work disturbs it less than wall-clock throughput;
each variant runs interleaved with the others, in rounds, and the median round is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from harness import (
    create_database,
    database_arguments,
    drop_database,
    in_process_settings,
    package_group,
)
from public_reads import DASHBOARD, OFFICES


async def cpu_ms(work: Callable[[], Awaitable[Any]], n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        await work()
    return (time.process_time() - started) / n * 1000


def by_package(profile: cProfile.Profile) -> list[tuple[str, float]]:
    """Each package's share of the profiled self time."""
    stats = pstats.Stats(profile)
    totals: Counter[str] = Counter()
    for (file, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        self_time = row[2]
        totals[package_group(f"{file}:{function}")] += self_time
    whole = sum(totals.values()) or 1
    return [(group, t / whole) for group, t in totals.most_common()]


async def run(args: argparse.Namespace) -> None:
    from bench.baseline_app import office_directory
    from persistence import offices as office_store
    from persistence.demo.records import person_with_records
    from persistence.models import Account
    from schema.app import create_schema
    from server import create_app
    from web.authentication import Identity
    from web.context_factory import build_context

    workdir = Path(tempfile.mkdtemp(prefix="execution-profile-"))
    database_url, pg_name = await create_database(args.database, args.postgres_url, workdir)
    settings = in_process_settings(database_url, workdir / "data", cost_budget_per_minute=10**12)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            services = app.state.services
            email = await person_with_records(
                args.records, surname="Profile", now=datetime.now(UTC) - timedelta(days=30)
            )
            account = await Account.get(email=email)
            identity = Identity(account=account, roles=frozenset({"APPLICANT"}), session=None)
            from starlette.requests import Request

            scope = {
                "type": "http",
                "method": "POST",
                "path": "/graphql",
                "headers": [],
                "client": ("127.0.0.1", 1),
                "query_string": b"",
            }
            schemas = {
                "plans": create_schema(settings),
                "graphql-core": create_schema(settings.with_(execution_plans=False)),
            }

            def executed(schema: Any, query: str) -> Callable[[], Awaitable[Any]]:
                async def work() -> None:
                    context = build_context(services, Request(scope), identity, "profile")
                    result = await schema.execute(query, context_value=context)
                    if result.errors:
                        raise RuntimeError(result.errors)

                return work

            async def orm_directory() -> None:
                # What the directory's resolvers ask the ORM for, without GraphQL.
                offices = await office_store.find_offices(
                    province=None, city=None, service=None, text=None
                )
                ids = [o.id for o in offices[:20]]
                await office_store.hours_by_office(ids)
                await office_store.services_by_office(ids)
                await office_store.service_types()

            variants: dict[str, Callable[[], Awaitable[Any]]] = {
                "directory, plans": executed(schemas["plans"], OFFICES),
                "directory, graphql-core": executed(schemas["graphql-core"], OFFICES),
                "directory, the ORM reads alone": orm_directory,
                "directory, hand-written (ORM + orjson)": office_directory,
                "dashboard, plans": executed(schemas["plans"], DASHBOARD),
                "dashboard, graphql-core": executed(schemas["graphql-core"], DASHBOARD),
            }
            for work in variants.values():
                for _ in range(5):
                    await work()
            rounds: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(args.rounds):
                for name, work in variants.items():
                    rounds[name].append(await cpu_ms(work, args.n))
            print(
                f"execution profile: {args.database}, {args.n} requests x {args.rounds} rounds "
                f"per variant, interleaved; CPU ms per request (median round)"
            )
            for name, values in rounds.items():
                each = " ".join(f"{v:.2f}" for v in values)
                print(f"  {name:<42}{statistics.median(values):>8.2f}   (rounds: {each})")
            medians = {name: statistics.median(values) for name, values in rounds.items()}
            directory = medians["directory, plans"]
            hand_written = medians["directory, hand-written (ORM + orjson)"]
            print(
                "  directory: graphql-core / plans "
                f"{medians['directory, graphql-core'] / directory:.2f}, "
                f"plans / hand-written {directory / hand_written:.2f}; dashboard: graphql-core "
                f"/ plans {medians['dashboard, graphql-core'] / medians['dashboard, plans']:.2f}"
            )
            for query_name, query in (("directory", OFFICES), ("dashboard", DASHBOARD)):
                # The event loop's thread CPU only: waiting (epoll, the driver's queue) is none.
                profile = cProfile.Profile(time.thread_time)
                work = executed(schemas["plans"], query)
                profile.enable()
                for _ in range(args.n):
                    await work()
                profile.disable()
                print(f"cProfile of the {query_name} from plans: self time by package")
                for group, share in by_package(profile):
                    print(f"  {100 * share:5.1f}%  {group}")
                if args.functions:
                    pstats.Stats(profile).sort_stats("tottime").print_stats(args.functions)
    finally:
        await drop_database(args.postgres_url, pg_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument("-n", type=int, default=200, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (3)")
    parser.add_argument("--records", type=int, default=20, help="dashboard records of each kind")
    parser.add_argument(
        "--functions", type=int, default=0, help="also print the top N functions of each profile"
    )
    args = parser.parse_args(argv)
    asyncio.run(run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
