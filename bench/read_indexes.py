"""The dashboard's and the authorization's SQL at national volume, without and with the read
indexes of migration 0004 (PostgreSQL).

1. Creates a throw-away database, migrates it and loads the offices and the catalogue.
2. Drops the indexes 0004 adds and puts back the three it replaced (the schema of 0003), then
   loads `--persons` persons' records set-based (persistence/demo/bulk.py: per person two
   documents, an application with three events, an appointment, passports, ...) and ANALYZEs.
3. Times, for random persons, the queries the dashboard's loaders run (the real functions of
   persistence/), and the authorization's (a helper's delegations), one person after another.
4. Builds the 0004 indexes (timed: what the migration costs at this volume) and times again.

    .venv/bin/python bench/read_indexes.py --persons 200000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

from harness import POSTGRES_URL, percentile, pg_admin, pg_url

# (name, table, columns) of the indexes migration 0004 adds, and of the ones it replaced.
READ_INDEXES = [
    ("ix_application_applicant", "application", "applicant_id, submitted_at, id"),
    ("ix_application_event_app", "application_event", "application_id, at, id"),
    ("ix_appointment_applicant", "appointment", "applicant_id, starts_at, id"),
    ("ix_appointment_office", "appointment", "office_id, starts_at, id"),
    ("ix_appointment_slot", "appointment", "slot_id"),
    ("ix_appointment_rescheduled_from", "appointment", "rescheduled_from_id"),
    ("ix_audit_event_subject", "audit_event", "subject_id, at, id"),
    ("ix_certificate_person", "certificate", "person_id"),
    ("ix_delegation_helper", "delegation", "helper_id, created_at, id"),
    ("ix_delegation_dependant", "delegation", "dependant_id, created_at, id"),
    ("ix_document_person", "document", "person_id, valid_until, id"),
    ("ix_office_hours_office", "office_hours", "office_id, weekday, opens"),
    ("ix_passport_person", "passport", "person_id, is_current, bound_from"),
    ("ix_pr_card_person", "pr_card", "person_id, issued_on, id"),
    ("ix_refresh_token_account", "refresh_token", "account_id"),
]
REPLACED = [
    ("bench_old_application", "application", "applicant_id, submitted_at"),
    ("bench_old_appointment", "appointment", "applicant_id, created_at"),
    ("bench_old_audit_event", "audit_event", "subject_id, at"),
]


def dashboard_reads(person_id: int) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """The persistence calls of an applicant's dashboard that depend only on the person (the
    bulk account of person n has id n), each as (name, call)."""
    from persistence import accounts, appointments, persons, records

    return [
        ("account_with_roles", lambda: accounts.account_with_roles(person_id)),
        ("persons_by_ids", lambda: persons.persons_by_ids([person_id])),
        ("applications_pages", lambda: records.applications_pages([(person_id, None, 0, 21)])),
        ("documents_by_person", lambda: records.documents_by_person([person_id])),
        ("appointments_pages", lambda: appointments.appointments_pages([(person_id, 0, 21)])),
        ("cards_by_person", lambda: records.cards_by_person([person_id])),
        ("passports_by_person", lambda: persons.passports_by_person([person_id])),
    ]


async def one_dashboard(person_id: int, timings: dict[str, list[float]]) -> float:
    from persistence import appointments, delegations, offices, records

    started = time.perf_counter()
    results: dict[str, object] = {}
    for name, call in dashboard_reads(person_id):
        t = time.perf_counter()
        results[name] = await call()
        timings[name].append(time.perf_counter() - t)
    applications = results["applications_pages"][0]  # type: ignore[index]
    appointment_rows = results["appointments_pages"][0]  # type: ignore[index]
    follow = [
        ("events_by_application", records.events_by_application([a.id for a in applications])),
        ("rescheduled_to", appointments.rescheduled_to([a.id for a in appointment_rows])),
        (
            "offices_by_ids",
            offices.offices_by_ids(sorted({a.office_id for a in appointment_rows})),
        ),
    ]
    for name, awaitable in follow:
        t = time.perf_counter()
        await awaitable
        timings[name].append(time.perf_counter() - t)
    total = time.perf_counter() - started
    # Authorization and the viewer's delegation lists (every request acting for someone).
    for name, call in (
        ("granting_for_helper", lambda: delegations.granting_for_helper(person_id)),
        ("of_helper", lambda: delegations.of_helper(person_id)),
        ("of_dependant", lambda: delegations.of_dependant(person_id)),
        ("audit_of", lambda: delegations.audit_of(person_id, 0, 21)),
    ):
        t = time.perf_counter()
        await call()
        timings[name].append(time.perf_counter() - t)
    return total


async def measure(persons: int, samples: int, seconds: float) -> tuple[list[float], dict]:
    """Dashboards of random persons, one after another, until `samples` or `seconds`."""
    timings: dict[str, list[float]] = defaultdict(list)
    totals: list[float] = []
    rng = random.Random(7)
    for _ in range(3):  # warm the connection pool and the caches
        await one_dashboard(rng.randint(1, persons), defaultdict(list))
    deadline = time.monotonic() + seconds
    while len(totals) < samples and time.monotonic() < deadline:
        totals.append(await one_dashboard(rng.randint(1, persons), timings))
    return totals, timings


async def run(base_url: str, persons: int, samples: int, seconds: float) -> None:
    import asyncpg

    import settings as settings_module
    from persistence.database import close_database, open_database
    from persistence.demo import bulk
    from persistence.demo.load import load_offices, load_reference_data

    name = f"bench_read_indexes_{random.randrange(16**8):08x}"
    url = pg_url(base_url, name)
    await pg_admin(base_url, f'CREATE DATABASE "{name}"')
    connection = None
    try:
        settings = settings_module.load().with_(
            database_url=url, data_dir=Path(tempfile.mkdtemp()), redis_url=None
        )
        await open_database(settings)
        await load_reference_data()
        await load_offices()
        connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        for index, _, _ in READ_INDEXES:
            await connection.execute(f'DROP INDEX "{index}"')
        for index, table, columns in REPLACED:
            await connection.execute(f'CREATE INDEX "{index}" ON "{table}" ({columns})')
        t = time.perf_counter()
        await bulk.load(connection, persons)
        counts = {
            table: await connection.fetchval(f'SELECT count(*) FROM "{table}"')  # noqa: S608
            for table in ("person", "document", "application", "application_event", "delegation")
        }
        print(f"loaded in {time.perf_counter() - t:.1f} s: {counts}")

        before, before_parts = await measure(persons, samples, seconds)

        t = time.perf_counter()
        for index, _, _ in REPLACED:
            await connection.execute(f'DROP INDEX "{index}"')
        for index, table, columns in READ_INDEXES:
            await connection.execute(f'CREATE INDEX "{index}" ON "{table}" ({columns})')
        for table in bulk.TABLES:
            await connection.execute(f'ANALYZE "{table}"')
        print(f"building the 0004 indexes at this volume took {time.perf_counter() - t:.1f} s")

        after, after_parts = await measure(persons, samples, seconds)
        report(persons, before, before_parts, after, after_parts)
    finally:
        if connection is not None:
            await connection.close()
        await close_database()
        await pg_admin(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(
    persons: int, before: list[float], before_parts: dict, after: list[float], after_parts: dict
) -> None:
    def ms(values: list[float], p: float) -> str:
        return f"{percentile(values, p) * 1000:9.2f}" if values else "        -"

    print(f"\n{persons} persons; milliseconds per call, p50 (one call at a time)")
    print(f"{'query':36} {'0003 p50':>9} {'0004 p50':>9}")
    print("-" * 56)
    for name in after_parts:
        print(f"{name:36} {ms(before_parts[name], 50)} {ms(after_parts[name], 50)}")
    print("-" * 56)
    for label, p in (("dashboard SQL p50", 50), ("dashboard SQL p99", 99)):
        print(f"{label:36} {ms(before, p)} {ms(after, p)}")
    rate_before = len(before) / sum(before) if before else 0
    rate_after = len(after) / sum(after) if after else 0
    print(f"{'dashboards/s (SQL only, 1 at a time)':36} {rate_before:9.1f} {rate_after:9.1f}")
    print(f"samples: {len(before)} before, {len(after)} after")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, default=200_000)
    parser.add_argument("--samples", type=int, default=300, help="dashboards per measurement")
    parser.add_argument("--seconds", type=float, default=20, help="time cap per measurement")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    args = parser.parse_args()
    asyncio.run(run(args.postgres_url, args.persons, args.samples, args.seconds))


if __name__ == "__main__":
    main()
