"""Every benchmark, one after the other, each one's output printed as it comes (`make bench`).

    .venv/bin/python bench/run_all.py
    .venv/bin/python bench/run_all.py --duration 5 --clients 50

1. bench/public_reads.py --database both: the office directory through GraphQL (cached GET,
   authenticated POST) against a hand-written endpoint and fixed bytes; the dashboard.
2. bench/booking_rush.py on SQLite and on PostgreSQL, with a small number of applicants.
3. bench/signing.py, in process (no --http).
4. bench/certificate_pdf.py, in process (no --http): PDF rendering and QR drawing times.

Every step runs even when an earlier one failed; the exit status is 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from harness import POSTGRES_URL, ROOT

BENCH = ROOT / "bench"


def steps(args: argparse.Namespace) -> list[tuple[str, list[str]]]:
    public = [
        "public_reads.py",
        "--database",
        "both",
        "--duration",
        f"{args.duration:g}",
        "--postgres-url",
        args.postgres_url,
    ]
    found: list[tuple[str, list[str]]] = [("public reads (SQLite and PostgreSQL)", public)]
    for database in ("sqlite", "postgres"):
        found.append(
            (
                f"booking rush ({database}, {args.clients} applicants)",
                [
                    "booking_rush.py",
                    "--database",
                    database,
                    "--clients",
                    str(args.clients),
                    "--postgres-url",
                    args.postgres_url,
                ],
            )
        )
    found.append(("signing (in process)", ["signing.py", "-n", str(args.signatures)]))
    found.append(("certificate PDFs and QR codes (in process)", ["certificate_pdf.py", "-n", "20"]))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="public_reads: s per run")
    parser.add_argument("--clients", type=int, default=50, help="booking_rush: applicants (50)")
    parser.add_argument("--signatures", type=int, default=2000, help="signing: N (2000)")
    parser.add_argument(
        "--postgres-url",
        default=POSTGRES_URL,
        help="server in which the benchmarks create and drop their temporary databases",
    )
    args = parser.parse_args(argv)

    failed: list[str] = []
    for title, command in steps(args):
        print(f"\n=== {title}: {' '.join(command)}", flush=True)
        began = time.monotonic()
        # Output goes straight to this process's stdout and stderr, as it comes.
        done = subprocess.run([sys.executable, str(BENCH / command[0]), *command[1:]], cwd=ROOT)
        print(f"=== {title}: exit {done.returncode}, {time.monotonic() - began:.0f} s", flush=True)
        if done.returncode != 0:
            failed.append(title)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", flush=True)
        return 1
    print("\nall benchmarks finished", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
