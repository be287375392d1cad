"""What aliases of a month of `availableSlots`, each slot with its office's services and
guidance, cost a real server: for each number of aliases, the estimated cost, the answer
(QUERY_TOO_COMPLEX past MAX_QUERY_COST, else data), how long it took, how many bytes came back,
and how long a bystander's public query sent at the same moment waited. Before the estimate
counted a slot list at its days (it counted any plain list as 1 point), 5 aliases (605 points)
held one process for seconds and the bystander with it.

    .venv/bin/python bench/slot_flood.py                 # SQLite, 1, 2, 5 and 10 aliases
    .venv/bin/python bench/slot_flood.py --aliases 5 --plain
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import database_arguments, served

BYSTANDER = {"query": "{ services { code } }"}
OFFICE = '{ offices(filter: {text: "BJ-DC"}) { edges { node { id } } } }'
SLOTS = "availableSlots(officeId: $o, service: VISA_EXTENSION, from: $f, to: $t)"
NESTED = " { id office { services { guidance { steps } } } }"
PLAIN = " { id startsAt endsAt remaining }"


async def timed(client: httpx.AsyncClient, body: dict) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = await client.post("/graphql", json=body)
    return (time.perf_counter() - started) * 1000, response


async def measure(args: argparse.Namespace) -> None:
    async with served(args, "bench-slots-", {}) as (_, base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
            office = (await client.post("/graphql", json={"query": OFFICE})).json()
            office_id = office["data"]["offices"]["edges"][0]["node"]["id"]
            today = datetime.now(UTC).date()
            variables = {"o": office_id, "f": str(today), "t": str(today + timedelta(days=30))}
            await timed(client, BYSTANDER)  # warm
            selection = PLAIN if args.plain else NESTED
            header = ("aliases", "cost", "answer", "ms", "bytes", "bystander ms")
            print("{:>7} {:>7} {:>18} {:>9} {:>9} {:>13}".format(*header))
            for k in args.aliases or (1, 2, 5, 10):
                fields = " ".join(f"a{i}: {SLOTS}{selection}" for i in range(k))
                query = f"query($o: ID!, $f: Date!, $t: Date!) {{ {fields} }}"
                flood = asyncio.create_task(timed(client, {"query": query, "variables": variables}))
                await asyncio.sleep(0)  # the flood's request goes out first
                waited, _ = await timed(client, BYSTANDER)
                took, response = await flood
                body = response.json()
                errors = body.get("errors") or []
                code = errors[0].get("extensions", {}).get("code", "error") if errors else "data"
                cost = (body.get("extensions") or {}).get("cost", {}).get("requestedQueryCost")
                if cost is None and errors:  # "This query would cost N points; ..."
                    cost = next((w for w in errors[0]["message"].split() if w.isdigit()), "")
                print(
                    f"{k:>7} {cost!s:>7} {code:>18} {took:>9.1f} {len(response.content):>9} "
                    f"{waited:>13.1f}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument("--aliases", type=int, action="append", help="aliases (repeatable)")
    parser.add_argument("--plain", action="store_true", help="slots without their office")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
