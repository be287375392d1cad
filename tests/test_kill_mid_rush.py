"""A server killed with SIGKILL in the middle of a booking rush loses nothing it confirmed and
leaves nothing half-written: slot counters match their appointments, no appointment points
to a missing slot, and idempotency records agree with the appointments they name."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.conftest import _create_pg_database, _drop_pg_database, _postgres_url
from tests.helpers import (
    CANCEL,
    OFFICE_CODES,
    ROOT,
    SLOTS,
    free_port,
    mutate,
    new_applicant,
    pk_of,
    server_command,
    server_environment,
    wait_ready,
)

APPLICANTS = 8
WORKERS_PER_APPLICANT = 2
SERVICE = "VISA_EXTENSION"
BOOK = """
mutation($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    __typename
    ... on BookingConfirmed { appointment { id } }
  }
}"""


def spawn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(server_command(port), cwd=ROOT, env=env, stdout=out, stderr=out)


async def rows(url: str, sql: str) -> list[tuple]:
    """Read the database directly, as an operator would after the crash."""
    if url.startswith("sqlite://"):
        with contextlib.closing(sqlite3.connect(url.removeprefix("sqlite://"))) as db:
            return db.execute(sql).fetchall()
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return [tuple(r) for r in await connection.fetch(sql)]
    finally:
        await connection.close()


async def rush_slots(c: httpx.AsyncClient) -> list[str]:
    """Three slots at least three days ahead (well outside the cancellation window)."""
    offices = (await c.post("/graphql", json={"query": OFFICE_CODES})).json()
    office = next(
        e["node"]["id"] for e in offices["data"]["offices"]["edges"] if e["node"]["code"] == "BJ-HD"
    )
    today = datetime.now(UTC).date()
    variables = {
        "office": office,
        "service": SERVICE,
        "from": (today + timedelta(days=3)).isoformat(),
        "to": (today + timedelta(days=25)).isoformat(),
    }
    body = (await c.post("/graphql", json={"query": SLOTS, "variables": variables})).json()
    earliest = datetime.now(UTC) + timedelta(days=3)
    slots = [
        s["id"]
        for s in body["data"]["availableSlots"]
        if datetime.fromisoformat(s["startsAt"]) > earliest and s["remaining"] >= 2
    ]
    assert len(slots) >= 3, body
    return slots[:3]


class Acknowledged:
    """What the server confirmed to clients before it died."""

    def __init__(self) -> None:
        self.booked: dict[str, int] = {}  # idempotency key -> appointment
        self.cancelled: set[int] = set()
        self.replayed = 0
        self.enough = asyncio.Event()  # set once the rush is well under way


async def worker(
    c: httpx.AsyncClient,
    token: str,
    person_id: str,
    slots: list[str],
    seen: Acknowledged,
    stop: asyncio.Event,
) -> None:
    """Book, sometimes send the same key again, cancel; until the server is gone."""
    while not stop.is_set():
        key = uuid.uuid4().hex
        variables = {
            "input": {
                "applicantId": person_id,
                "slotId": random.choice(slots),
                "service": SERVICE,
                "idempotencyKey": key,
            }
        }
        try:
            result = await mutate(c, BOOK, token, **variables)
            if result["__typename"] != "BookingConfirmed":
                continue
            appointment = result["appointment"]["id"]
            seen.booked[key] = pk_of(appointment)
            if len(seen.booked) >= 20:
                seen.enough.set()
            if random.random() < 0.5:
                again = await mutate(c, BOOK, token, **variables)
                assert again["appointment"]["id"] == appointment
                seen.replayed += 1
            cancelled = await mutate(c, CANCEL, token, id=appointment)
            if cancelled["__typename"] == "AppointmentCancelled":
                seen.cancelled.add(pk_of(appointment))
        except (httpx.HTTPError, AssertionError, KeyError, ValueError):
            if stop.is_set():
                return
            raise


async def test_kill_9_mid_rush_loses_and_half_writes_nothing(test_settings):
    base = _postgres_url()
    workdir = Path(tempfile.mkdtemp(prefix="kill-mid-rush-"))
    if base is None:
        url, pg_name = f"sqlite://{workdir / 'rush.db'}", None
    else:
        url, pg_name = await _create_pg_database(base)
    env = server_environment(
        test_settings,
        DATABASE_URL=url,
        DATA_DIR=str(workdir / "data"),
        BOOKINGS_PER_ACCOUNT="100000",
    )
    env.pop("REDIS_URL", None)
    log = workdir / "server.log"
    port = free_port()
    server = spawn(env, port, log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        await wait_ready(base_url, server, 300)
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as c:
            applicants = await asyncio.gather(*(new_applicant(c) for _ in range(APPLICANTS)))
            slots = await rush_slots(c)
            seen, stop = Acknowledged(), asyncio.Event()
            workers = [
                asyncio.create_task(worker(c, a.token, a.person_id, slots, seen, stop))
                for a in applicants
                for _ in range(WORKERS_PER_APPLICANT)
            ]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.enough.wait(), 6)
            stop.set()
            os.kill(server.pid, signal.SIGKILL)  # mid-rush: requests are in flight
            server.wait(timeout=10)
            await asyncio.gather(*workers)
        assert len(seen.booked) >= 5, log.read_text()[-3000:]

        # The killed server's database must let a new process start on it.
        server = spawn(env, port, log)
        await wait_ready(base_url, server, 300)

        persons = ",".join(str(pk_of(a.person_id)) for a in applicants)
        counters = await rows(
            url,
            "SELECT s.id, s.booked, (SELECT COUNT(*) FROM appointment a WHERE a.slot_id = s.id "
            "AND a.status NOT IN ('CANCELLED', 'RESCHEDULED')) FROM slot s",
        )
        assert [(i, b, n) for i, b, n in counters if b != n] == []
        orphans = await rows(
            url,
            "SELECT a.id FROM appointment a LEFT JOIN slot s ON s.id = a.slot_id "
            "WHERE s.id IS NULL",
        )
        assert orphans == []
        # Only integers of our own making are put into these statements.
        ours = f"SELECT id, status FROM appointment WHERE applicant_id IN ({persons})"  # noqa: S608
        appointments = dict(await rows(url, ours))
        booked_now = [i for i, status in appointments.items() if status == "BOOKED"]
        assert len(booked_now) <= APPLICANTS  # one active appointment per person and service
        keyed = (
            "SELECT r.key, r.outcome FROM idempotency_record r JOIN account a ON a.id = "  # noqa: S608
            f"r.account_id WHERE a.person_id IN ({persons}) AND r.operation = 'bookAppointment'"
        )
        records = await rows(url, keyed)
        outcomes = {key: json.loads(outcome) for key, outcome in records}
        # Each record names the appointment its booking made, and each appointment has one.
        assert all(set(o) == {"appointment"} for o in outcomes.values()), outcomes
        assert sorted(o["appointment"] for o in outcomes.values()) == sorted(appointments)
        # Nothing the server confirmed is lost.
        for key, appointment in seen.booked.items():
            assert outcomes[key] == {"appointment": appointment}
        assert all(appointments[a] == "CANCELLED" for a in seen.cancelled)
    finally:
        server.kill()
        server.wait(timeout=10)
        if pg_name is not None:
            await _drop_pg_database(base, pg_name)
