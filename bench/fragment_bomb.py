"""What a small document whose fragments each spread the next twice costs a real server: for
each n, the document's size in bytes, the answer (QUERY_TOO_COMPLEX past MAX_EXPANDED_FIELDS,
else data), how long it took, and how long a bystander's public query sent at the same moment
waited. Before the fix a 952-byte document (n = 20) held the process for seconds and the
bystander with it; now each is answered in milliseconds.

    .venv/bin/python bench/fragment_bomb.py                 # SQLite, n = 10, 14, 18, 20, 24, 30
    .venv/bin/python bench/fragment_bomb.py --n 20 --n 40
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import database_arguments, served

BYSTANDER = {"query": "{ services { code } }"}


def doubling_fragments(n: int) -> str:
    """F0 spreads F1 twice, ..., Fn selects `code`: 2^n + 1 fields spread out."""
    chain = "".join(
        f"fragment F{i} on ServiceType {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(n)
    )
    return "{ services { ...F0 } }\n" + chain + f"fragment F{n} on ServiceType {{ code }}\n"


async def timed(client: httpx.AsyncClient, body: dict) -> tuple[float, dict]:
    started = time.perf_counter()
    response = await client.post("/graphql", json=body)
    return (time.perf_counter() - started) * 1000, response.json()


async def measure(args: argparse.Namespace) -> None:
    async with served(args, "bench-fragments-", {}) as (_, base_url):
        async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:
            await timed(client, BYSTANDER)  # warm
            print(f"{'n':>3} {'bytes':>6} {'answer':>20} {'ms':>9} {'bystander ms':>13}")
            for n in args.n or (10, 14, 18, 20, 24, 30):
                document = doubling_fragments(n)
                bomb = asyncio.create_task(timed(client, {"query": document}))
                await asyncio.sleep(0)  # the bomb's request goes out first
                waited, _ = await timed(client, BYSTANDER)
                took, answer = await bomb
                errors = answer.get("errors") or []
                code = errors[0].get("extensions", {}).get("code", "error") if errors else "data"
                print(f"{n:>3} {len(document):>6} {code:>20} {took:>9.1f} {waited:>13.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument("--n", type=int, action="append", help="fragment levels (repeatable)")
    asyncio.run(measure(parser.parse_args()))


if __name__ == "__main__":
    main()
