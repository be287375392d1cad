"""Mail from the outbox: how soon after its commit a mail reaches the SMTP server, and how many
per second the server's delivery worker sends.

Starts the real server on a throw-away database with SMTP_URL pointing at an SMTP server run
here (aiosmtpd, 127.0.0.1), signs up N accounts over HTTP, C at a time (each sign-up commits
a verification mail), and times each mail from the sign-up's answer to its arrival.

    .venv/bin/python bench/mail_outbox.py                       # SQLite, N = 200, C = 10
    .venv/bin/python bench/mail_outbox.py --database postgres -n 500 -c 20
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from harness import database_arguments, free_port, percentile, served

SIGN_UP = """mutation($email: String!) { signUp(input: {email: $email,
  password: "a-Strong-passphrase-1", displayName: "Bench"}) { __typename } }"""


class Arrivals:
    """An SMTP handler that notes when each recipient's mail arrived."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        now = time.monotonic()
        for address in envelope.rcpt_tos:
            self.at.setdefault(address, now)
        return "250 OK"


async def run(args: argparse.Namespace) -> int:
    arrivals = Arrivals()
    smtp_port = free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env = {
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SIGNUPS_PER_IP": "1000000",
        "REMINDER_EVERY_SECONDS": "3600",
    }
    committed: dict[str, float] = {}
    try:
        async with served(args, "bench-mail-", env) as (_, base_url):
            async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
                # Mail of the demo data (reminders) goes first; wait until it is out.
                await asyncio.sleep(2)
                emails = [f"bench-{secrets.token_hex(6)}@example.test" for _ in range(args.n)]
                queue: asyncio.Queue[str] = asyncio.Queue()
                for email in emails:
                    queue.put_nowait(email)

                async def sign_ups() -> None:
                    while not queue.empty():
                        email = queue.get_nowait()
                        response = await client.post(
                            "/graphql", json={"query": SIGN_UP, "variables": {"email": email}}
                        )
                        kind = response.json()["data"]["signUp"]["__typename"]
                        if kind != "AuthSession":
                            raise RuntimeError(f"sign-up refused: {kind}")
                        committed[email] = time.monotonic()

                began = time.monotonic()
                await asyncio.gather(*(sign_ups() for _ in range(args.c)))
                for _ in range(2400):  # at most 120 s
                    if all(e in arrivals.at for e in emails):
                        break
                    await asyncio.sleep(0.05)
                lost = [e for e in emails if e not in arrivals.at]
                if lost:
                    print(f"{len(lost)} mails did not arrive within 120 s", file=sys.stderr)
                    return 1
                last = max(arrivals.at[e] for e in emails)
    finally:
        controller.stop()
    waits = [(arrivals.at[e] - committed[e]) * 1000 for e in emails]
    print(f"database {args.database}, {args.n} sign-ups, {args.c} at a time")
    print(
        f"commit to arrival (ms): p50 {percentile(waits, 50):.0f}  p95 "
        f"{percentile(waits, 95):.0f}  p99 {percentile(waits, 99):.0f}  max {max(waits):.0f}"
    )
    print(f"all {args.n} mails out in {last - began:.1f} s: {args.n / (last - began):.0f} mails/s "
          "(sign-ups included)")  # fmt: skip
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_arguments(parser, "sqlite", "postgres", default="sqlite")
    parser.add_argument("-n", type=int, default=200, help="sign-ups (one mail each)")
    parser.add_argument("-c", type=int, default=10, help="sign-ups at a time")
    sys.exit(asyncio.run(run(parser.parse_args())))


if __name__ == "__main__":
    main()
