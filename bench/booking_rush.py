"""Booking rush: many applicants book a few small slots at the same moment, over HTTP.

Creates a fresh database (an SQLite file in a temporary folder, or a new PostgreSQL database
that is dropped afterwards), starts the real server on it as a subprocess, creates N
applicants straight in the database once the server has migrated it, sets K open slots to
the given capacity, signs every applicant in, then fires N bookAppointment requests at once
(each for one of the K slots at random) and reports what happened. A slot must never hold
more bookings than its capacity: the script exits with status 1 when anything was oversold.

    .venv/bin/python bench/booking_rush.py --database sqlite --clients 200
    .venv/bin/python bench/booking_rush.py --database postgres --clients 200
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
from harness import (
    booking_outcome,
    create_applicants,
    database_arguments,
    percentile,
    served,
    sign_in,
)

PASSWORD = "booking-rush-pass-2026"  # noqa: S105 (throw-away accounts in a throw-away database)
SERVICE = "VISA_EXTENSION"
OFFICE_CODE = "BJ-DC"

BOOK = """
mutation($input: BookAppointmentInput!) {
  bookAppointment(input: $input) {
    __typename
    ... on BookingConfirmed { appointment { id reference } }
  }
}"""

SLOTS = """
query($office: ID!, $service: ServiceCode!, $from: Date!, $to: Date!) {
  availableSlots(officeId: $office, service: $service, from: $from, to: $to) {
    id startsAt remaining
  }
}"""

OFFICES = "{ offices(first: 100) { edges { node { id code } } } }"


# ------------------------------------------------------------------------ setting the scene


async def choose_slots(client: httpx.AsyncClient, k: int, capacity: int) -> list[tuple[str, int]]:
    """K open, unbooked slots starting at least a day ahead, set to `capacity` places:
    (global id, primary key)."""
    from persistence.models import Slot
    from schema.common import from_global_id

    offices = (await client.post("/graphql", json={"query": OFFICES})).json()
    office = next(
        e["node"]["id"]
        for e in offices["data"]["offices"]["edges"]
        if e["node"]["code"] == OFFICE_CODE
    )
    today = datetime.now(UTC).date()
    body = (
        await client.post(
            "/graphql",
            json={
                "query": SLOTS,
                "variables": {
                    "office": office,
                    "service": SERVICE,
                    "from": (today + timedelta(days=1)).isoformat(),
                    "to": (today + timedelta(days=30)).isoformat(),
                },
            },
        )
    ).json()
    earliest = datetime.now(UTC) + timedelta(days=1)
    candidates = []
    for s in body["data"]["availableSlots"]:
        if datetime.fromisoformat(s["startsAt"]) < earliest:
            continue
        decoded = from_global_id(s["id"], "Slot")
        assert decoded is not None
        row = await Slot.get(id=decoded[1])
        if row.booked == 0 and row.open:
            candidates.append((s["id"], row.id))
    if len(candidates) < k:
        raise RuntimeError(f"only {len(candidates)} open slots found, {k} wanted")
    chosen = random.sample(candidates, k)
    await Slot.filter(id__in=[pk for _, pk in chosen]).update(capacity=capacity, booked=0)
    return chosen


async def sign_in_all(client: httpx.AsyncClient, emails: list[str]) -> list[str]:
    gate = asyncio.Semaphore(32)

    async def one(email: str) -> str:
        async with gate:
            return await sign_in(client, email, PASSWORD)

    return await asyncio.gather(*(one(e) for e in emails))


# ---------------------------------------------------------------------------------- rush


async def rush(
    client: httpx.AsyncClient,
    tokens: list[str],
    applicants: list[tuple[str, int]],
    slots: list[tuple[str, int]],
) -> tuple[list[str], list[float], float]:
    from schema.common import to_global_id

    start = asyncio.Event()

    async def one(token: str, person_id: int) -> tuple[str, float]:
        slot_id, _ = random.choice(slots)
        variables = {
            "input": {
                "applicantId": to_global_id("Person", person_id),
                "slotId": slot_id,
                "service": SERVICE,
            }
        }
        await start.wait()
        began = time.perf_counter()
        outcome = await booking_outcome(client, BOOK, variables, token)
        return outcome, (time.perf_counter() - began) * 1000

    tasks = [
        asyncio.create_task(one(token, person_id))
        for token, (_, person_id) in zip(tokens, applicants, strict=True)
    ]
    await asyncio.sleep(0.1)  # let every task reach the gate
    began = time.perf_counter()
    start.set()
    done = await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - began
    return [o for o, _ in done], [ms for _, ms in done], elapsed


async def measure(args: argparse.Namespace, database_url: str, base_url: str) -> int:
    from tortoise import Tortoise

    import settings as settings_module
    from persistence.models import Appointment, Slot

    config = settings_module.Settings(database_url=database_url).tortoise_config()
    await Tortoise.init(config=config)
    try:
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        async with httpx.AsyncClient(base_url=base_url, timeout=300, limits=limits) as client:
            t0 = time.perf_counter()
            applicants = await create_applicants(args.clients, PASSWORD, "Rush")
            slots = await choose_slots(client, args.slots, args.capacity)
            tokens = await sign_in_all(client, [email for email, _ in applicants])
            setup_s = time.perf_counter() - t0
            outcomes, latencies, elapsed = await rush(client, tokens, applicants, slots)

        counts = Counter(outcomes)
        confirmed = counts.pop("BookingConfirmed", 0)
        per_slot = []
        for _, pk in slots:
            row = await Slot.get(id=pk)
            appointments = await Appointment.filter(slot_id=pk, status="BOOKED").count()
            per_slot.append((pk, row.capacity, row.booked, appointments))
    finally:
        await Tortoise.close_connections()

    oversold_slots = [max(0, booked - capacity) for _, capacity, booked, _ in per_slot]
    over_confirmed = max(0, confirmed - args.slots * args.capacity)
    mismatched = [pk for pk, _, booked, rows in per_slot if booked != rows]
    oversold = sum(oversold_slots) + over_confirmed

    print(f"database:           {args.database}")
    print(f"clients:            {args.clients}   slots: {args.slots}   capacity: {args.capacity}")
    print(f"setup:              {setup_s:.1f} s (applicants, slots, sign-ins)")
    print(f"attempts:           {len(outcomes)}")
    print(f"confirmed:          {confirmed}   (places: {args.slots * args.capacity})")
    rejected = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())) or "none"
    print(f"rejected:           {sum(counts.values())}   ({rejected})")
    print(
        f"oversold:           {oversold}   (per slot: {oversold_slots}; "
        f"confirmed beyond capacity: {over_confirmed})"
    )
    print(
        "slots (id, capacity, booked, BOOKED rows): "
        + "; ".join(f"{pk}: {c}/{b}/{r}" for pk, c, b, r in per_slot)
    )
    if mismatched:
        print(f"MISMATCH between slot.booked and appointments on slots {mismatched}")
    print(f"latency p50:        {percentile(latencies, 50):.1f} ms")
    print(f"latency p99:        {percentile(latencies, 99):.1f} ms")
    print(f"wall time:          {elapsed:.2f} s")
    print(
        f"bookings/s:         {len(outcomes) / elapsed:.1f} requests/s, "
        f"{confirmed / elapsed:.1f} confirmed/s"
    )
    return 1 if oversold or mismatched else 0


async def main_async(args: argparse.Namespace) -> int:
    extra_env = {"BOOKINGS_PER_ACCOUNT": "1000000"}
    async with served(args, "booking-rush-", extra_env, keep=args.keep) as (database_url, url):
        return await measure(args, database_url, url)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200, help="concurrent applicants (200)")
    parser.add_argument("--slots", type=int, default=3, help="slots they compete for (3)")
    parser.add_argument("--capacity", type=int, default=5, help="places per slot (5)")
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder when the run fails"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or args.slots < 1 or args.capacity < 1:
        parser.error("--clients, --slots and --capacity must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
