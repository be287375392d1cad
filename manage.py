"""Operator commands: `python manage.py generate-slots --from 2026-12-01 --to 2026-12-31`,
`python manage.py mark-no-shows`, `python manage.py rotate-signing-key`."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, date, datetime

import settings as settings_module
from persistence import appointments as appointment_store
from persistence import calendar as calendar_store
from persistence.database import close_database, open_database


async def _generate(start: date, end: date) -> None:
    s = settings_module.load()
    await open_database(s)
    try:
        await calendar_store.seed_years(range(start.year, end.year + 1))
        calendar = await calendar_store.load_calendar()
        created = await appointment_store.generate_slots(calendar, start, end, s.slot_minutes)
        print(f"{created} slots created for {start}..{end} (existing slots were kept)")
    finally:
        await close_database()


async def _no_shows() -> None:
    await open_database(settings_module.load())
    try:
        changed = await appointment_store.mark_no_shows(datetime.now(UTC))
        print(f"{changed} appointments marked NO_SHOW")
    finally:
        await close_database()


async def _rotate() -> None:
    from signing.keys import KeyRing

    s = settings_module.load()
    await open_database(s)
    try:
        ring = KeyRing(s)
        await ring.ensure(datetime.now(UTC))
        active, upcoming = await ring.rotate_documents(datetime.now(UTC)) or ("?", "?")
        print(f"signing with {active}; published next key {upcoming}")
    finally:
        await close_database()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate-slots", help="create slots for a range of days")
    generate.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    generate.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    commands.add_parser("mark-no-shows", help="mark past unattended appointments NO_SHOW")
    commands.add_parser("rotate-signing-key", help="sign with the next key, publish a new next")
    args = parser.parse_args()
    if args.command == "generate-slots":
        if args.end < args.start or (args.end - args.start).days > 400:
            parser.error("--to must be on or after --from, at most 400 days later")
        asyncio.run(_generate(args.start, args.end))
    elif args.command == "rotate-signing-key":
        asyncio.run(_rotate())
    else:
        asyncio.run(_no_shows())


if __name__ == "__main__":
    main()
