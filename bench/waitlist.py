"""What the waitlist costs the booking paths: SQL statements (the server's own count,
X-SQL-Statements) and in-process latency of availableSlots, bookAppointment and
cancelAppointment, and of the waitlist's own mutations, with 50 people in line.

Runs the app in this process on a throw-away database (an SQLite file, or a new PostgreSQL
database dropped afterwards). `--root DIR` runs another checkout's app (for example the commit
before the waitlist, `git archive <commit> | tar -x -C DIR`) for a before/after: the waitlist's
own rows are then left out.

    .venv/bin/python bench/waitlist.py --database sqlite
    .venv/bin/python bench/waitlist.py --database postgres --root /tmp/before
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402  (after the path set-up)

PASSWORD = "waitlist-bench-pass-2026"  # noqa: S105 (throw-away accounts, throw-away database)
OFFICE_CODE = "BJ-DC"
IN_LINE = 50

SLOTS = """query($office: ID!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: VISA_EXTENSION, from: $from, to: $to) {
    id remaining } }"""
BOOK = """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
  __typename ... on BookingConfirmed { appointment { id } } } }"""
CANCEL = "mutation($id: ID!) { cancelAppointment(id: $id) { __typename } }"
JOIN = """mutation($input: JoinWaitlistInput!) { joinWaitlist(input: $input) {
  __typename ... on WaitlistJoined { entry { id } } } }"""
ACCEPT = "mutation($id: ID!) { acceptWaitlistOffer(id: $id) { __typename } }"
LEAVE = "mutation($id: ID!) { leaveWaitlist(id: $id) { __typename } }"
OFFICES = "{ offices(first: 100) { edges { node { id code } } } }"
SIGN_IN = """mutation($email: String!, $password: String!) {
  signIn(input: {email: $email, password: $password}) {
    ... on AuthSession { accessToken } } }"""


class Measured:
    """Statements and milliseconds of each request, per operation."""

    def __init__(self) -> None:
        self.statements: dict[str, list[int]] = {}
        self.ms: dict[str, list[float]] = {}

    async def post(
        self, client: httpx.AsyncClient, name: str, query: str, token: str | None = None, **v: Any
    ) -> dict:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json={"query": query, "variables": v}, headers=headers
        )
        self.ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        self.statements.setdefault(name, []).append(int(response.headers["x-sql-statements"]))
        body = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def book(
        self, client: httpx.AsyncClient, token: str, person_id: int, slot_id: str
    ) -> str:
        """The ID of the VISA_EXTENSION appointment booked for the person in the slot."""
        data = await self.post(
            client,
            "bookAppointment",
            BOOK,
            token,
            input={
                "applicantId": gid("Person", person_id),
                "slotId": slot_id,
                "service": "VISA_EXTENSION",
            },
        )
        return data["bookAppointment"]["appointment"]["id"]

    def report(self) -> None:
        print(f"{'operation':<44} {'statements':>10} {'p50 ms':>8} {'n':>5}")
        for name, counts in self.statements.items():
            spread = (
                f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)}-{max(counts)}"
            )
            p50 = statistics.median(self.ms[name])
            print(f"{name:<44} {spread:>10} {p50:>8.1f} {len(counts):>5}")


def gid(type_name: str, pk: int) -> str:
    from schema.common import to_global_id

    return str(to_global_id(type_name, pk))


async def run(args: argparse.Namespace) -> None:
    from domain.dates import HOME_ZONE as tz  # in every checkout since "one today"
    from resolvers.context import Clock
    from server import create_app

    with_waitlist = (Path(args.root or HERE.parent) / "resolvers" / "waitlist.py").exists()
    workdir = Path(tempfile.mkdtemp(prefix="waitlist-bench-"))
    url, pg_name = await harness.create_database(args.database, args.postgres_url, workdir)
    # By day in Beijing, so that offers are held from the moment they are made.
    today = datetime.now(UTC).astimezone(tz).date()

    class Daytime(Clock):
        def now(self) -> datetime:
            return datetime.combine(today, clock_time(10), tzinfo=tz).astimezone(UTC)

    settings = harness.in_process_settings(
        url, workdir / "data", report_sql=True, bookings_per_account=1_000_000
    )
    app = create_app(settings, Daytime())
    m = Measured()
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("10.9.0.1", 4000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as c:
                people = await harness.create_applicants(IN_LINE + 2, PASSWORD, "Waiting")
                tokens = []
                for email, _ in people:
                    data = await m.post(c, "signIn", SIGN_IN, email=email, password=PASSWORD)
                    tokens.append(data["signIn"]["accessToken"])
                offices = (await m.post(c, "offices", OFFICES))["offices"]["edges"]
                office = next(e["node"]["id"] for e in offices if e["node"]["code"] == OFFICE_CODE)
                calendar = app.state.services.calendar
                day = calendar.add_working_days(today, 4)
                window = {"office": office, "from": day.isoformat(), "to": day.isoformat()}
                week = {**window, "to": (day + timedelta(days=6)).isoformat()}
                for _ in range(args.requests):
                    await m.post(c, "availableSlots (7 days)", SLOTS, **week)
                slot_id = (await m.post(c, "availableSlots (7 days)", SLOTS, **week))[
                    "availableSlots"
                ][0]["id"]
                booker, booker_token = people[0], tokens[0]
                for _ in range(args.requests // 4):
                    appointment = await m.book(c, booker_token, booker[1], slot_id)
                    await m.post(
                        c,
                        "cancelAppointment (nobody waiting)",
                        CANCEL,
                        booker_token,
                        id=appointment,
                    )
                if with_waitlist:
                    await waitlist_rows(c, m, people, tokens, window, day, tz)
    finally:
        await harness.drop_database(args.postgres_url, pg_name)
    print(f"database: {args.database}   app: {args.root or 'this checkout'}")
    m.report()


async def waitlist_rows(
    c: httpx.AsyncClient,
    m: Measured,
    people: list[tuple[str, int]],
    tokens: list[str],
    window: dict[str, str],
    day: date,
    tz: ZoneInfo,
) -> None:
    """The day made full, one place booked in it, 50 in line; then cancel (the place offered),
    decline (passed on), accept; and polling with the line waiting."""
    from persistence.models import Office, Slot

    office = await Office.get(code=OFFICE_CODE)
    start = datetime.combine(day, clock_time(0), tzinfo=tz).astimezone(UTC)
    rows = await Slot.filter(
        office_id=office.id,
        service_group="VISA",
        starts_at__gte=start,
        starts_at__lt=start + timedelta(days=1),
    ).order_by("starts_at")
    for row in rows:
        await Slot.filter(id=row.id).update(capacity=row.booked)
    await Slot.filter(id=rows[0].id).update(capacity=rows[0].booked + 1)
    holder, holder_token = people[-1], tokens[-1]
    appointment = await m.book(c, holder_token, holder[1], gid("Slot", rows[0].id))
    entries = []
    for (_, person), token in zip(people[1 : IN_LINE + 1], tokens[1 : IN_LINE + 1], strict=True):
        data = await m.post(
            c,
            "joinWaitlist",
            JOIN,
            token,
            input={
                "applicantId": gid("Person", person),
                "officeId": window["office"],
                "service": "VISA_EXTENSION",
                "from": window["from"],
                "to": window["to"],
            },
        )
        entries.append(data["joinWaitlist"]["entry"]["id"])
    for _ in range(50):
        await m.post(c, "availableSlots (1 day, 50 in line)", SLOTS, **window)
    await m.post(c, "cancelAppointment (place offered)", CANCEL, holder_token, id=appointment)
    await m.post(c, "leaveWaitlist (offer declined, passed on)", LEAVE, tokens[1], id=entries[0])
    await m.post(c, "acceptWaitlistOffer", ACCEPT, tokens[2], id=entries[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument("--root", help="another checkout whose app to run")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    sys.path.insert(0, str(Path(args.root).resolve() if args.root else HERE.parent))
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
