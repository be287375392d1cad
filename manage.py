"""Operator commands: `python manage.py generate-slots --from 2026-12-01 --to 2026-12-31`,
`python manage.py mark-no-shows`, `python manage.py rotate-signing-key`,
`python manage.py deliver-mail` (the outbox's delivery worker on its own, as the server runs it),
`python manage.py set-role --email a@b.cn --role OFFICER --office BJ-DC` (staff accounts: the
person signs up, then an operator gives the account its role; the first admin is made so)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import settings as settings_module
from domain.accounts import normalise_email
from persistence import accounts as account_store
from persistence import appointments as appointment_store
from persistence import calendar as calendar_store
from persistence import offices as office_store
from persistence.database import close_database
from persistence.models import Role
from persistence.rate_limits import make_rate_limiter
from resolvers import waitlist
from resolvers.context import Clock, Services
from resolvers.mail_delivery import DeliveryWorker, sender_for
from server import open_for_service, password_hasher
from settings import Settings
from signing.keys import KeyRing


@contextlib.asynccontextmanager
async def _opened() -> AsyncIterator[tuple[Settings, KeyRing]]:
    """The database opened as the server opens it (server.open_for_service), closed after."""
    settings = settings_module.load()
    keys = await open_for_service(settings, datetime.now(UTC))
    try:
        yield settings, keys
    finally:
        await close_database()


async def _generate(start: date, end: date) -> None:
    async with _opened() as (settings, keys):
        await calendar_store.seed_years(range(start.year, end.year + 1))
        calendar = await calendar_store.load_calendar()
        services = Services(
            settings=settings,
            keys=keys,
            limiter=make_rate_limiter(None, settings.redis_namespace),
            clock=Clock(),
            hasher=password_hasher(settings),
            calendar=calendar,
        )
        # Places of the new slots go first to those waiting for them (as the server does).
        created = await waitlist.release_slots(
            services,
            lambda offices: appointment_store.generate_slots(
                calendar, start, end, settings.slot_minutes, offices
            ),
        )
        print(f"{created} slots created for {start}..{end} (existing slots were kept)")


async def _no_shows() -> None:
    async with _opened():
        now = datetime.now(UTC)
        released = await appointment_store.release_past_check_ins(now)
        print(f"{released} checked-in appointments of past days no longer hold a booking")
        changed = await appointment_store.mark_no_shows(now)
        print(f"{changed} appointments marked NO_SHOW")


async def _deliver_mail() -> None:
    async with _opened() as (settings, _):
        sender = sender_for(settings)
        if sender is None:
            raise SystemExit("deliver-mail needs SMTP_URL")
        await DeliveryWorker(settings, Clock(), sender).run_forever()


async def _set_role(email: str, role: str, office_code: str | None) -> str:
    """Give the account of `email` the role `role` alone (at `office_code` for an officer);
    what was done, in one line, or an error naming what is wrong."""
    async with _opened():
        account = await account_store.by_email(normalise_email(email))
        if account is None:
            raise SystemExit(f"no account has the e-mail address {email!r}: sign up first")
        if (role == Role.OFFICER) != (office_code is not None):
            raise SystemExit("--office is needed for OFFICER, and only for OFFICER")
        office_id, at = None, ""
        if office_code is not None:
            office = await office_store.office_by_code(office_code)
            if office is None:
                raise SystemExit(f"no office has the code {office_code!r}")
            office_id, at = office.id, f" at {office.code}"
        before = await account_store.roles_of(account.id)
        await account_store.set_only_role(account.id, role, office_id)
        return f"{account.email}: {','.join(before)} -> {role}{at}"


async def _rotate() -> None:
    async with _opened() as (_, keys):
        active, upcoming = await keys.rotate_documents(datetime.now(UTC)) or ("?", "?")
        print(f"signing with {active}; published next key {upcoming}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    generate = commands.add_parser("generate-slots", help="create slots for a range of days")
    generate.add_argument("--from", dest="start", type=date.fromisoformat, required=True)
    generate.add_argument("--to", dest="end", type=date.fromisoformat, required=True)
    commands.add_parser(
        "mark-no-shows",
        help="mark past unattended appointments NO_SHOW; past check-ins stop holding a booking",
    )
    commands.add_parser("rotate-signing-key", help="sign with the next key, publish a new next")
    commands.add_parser("deliver-mail", help="send the outbox's mail (SMTP_URL) until stopped")
    set_role = commands.add_parser("set-role", help="give an account a role alone (staff)")
    set_role.add_argument("--email", required=True)
    set_role.add_argument("--role", required=True, choices=[r.value for r in Role])
    set_role.add_argument("--office", help="the office code of an OFFICER, e.g. BJ-DC")
    args = parser.parse_args()
    if args.command == "generate-slots":
        if args.end < args.start or (args.end - args.start).days > 400:
            parser.error("--to must be on or after --from, at most 400 days later")
        asyncio.run(_generate(args.start, args.end))
    elif args.command == "rotate-signing-key":
        asyncio.run(_rotate())
    elif args.command == "deliver-mail":
        asyncio.run(_deliver_mail())
    elif args.command == "set-role":
        print(asyncio.run(_set_role(args.email, args.role, args.office)))
    else:
        asyncio.run(_no_shows())


if __name__ == "__main__":
    main()
