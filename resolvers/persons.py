"""Registering persons and linking accounts to them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import date

from domain.identifiers import (
    InvalidIdentifier,
    normalise_name,
    normalise_nationality,
    normalise_passport_number,
)
from domain.messages import N_
from domain.persons import IdentityFacts, PersonFacts, names_too_long
from domain.text import name_problem
from persistence import accounts as account_store
from persistence import delegations as delegation_store
from persistence import persons as store
from persistence.models import Passport, Person, Role
from persistence.rate_limits import Quota, address_key
from resolvers import authorization as gate
from resolvers import certificates, delegation_endings
from resolvers.accounts import end_sessions
from resolvers.authorization import is_staff
from resolvers.context import Context
from resolvers.metrics import IDENTITY_MISSES, IDENTITY_MISSES_IN_WINDOW, IDENTITY_MISSES_SLOWED
from resolvers.outcomes import (
    Refusal,
    RefusalKind,
    bad_input,
    forbidden,
    invalid,
    not_permitted,
    rate_limited,
    require_days_in_range,
    require_field_days_in_range,
    unauthenticated,
)
from resolvers.paging import window

log = logging.getLogger(__name__)

_NO_MATCH = N_(
    "No person matches these passport details. Check them against your passport; if they are "
    "right, an officer at any service centre can help."
)


def require_account(ctx: Context) -> None:
    if ctx.account is None:
        raise unauthenticated()


# Characters beyond the Basic Multilingual Plane take 4 bytes: hundreds of them would not fit
# the QR code of the person's certificates (domain/persons.py, MAX_NAME_BYTES).
NAMES_TOO_LONG = N_(
    "These names are too long together for the person's certificates: record them as the "
    "passport's machine-readable zone prints them."
)


SURNAME_FOLDS_TOO_LONG = N_(
    "This surname is too long once written as it is compared (letters such as ß count as "
    "two): record it as the passport's machine-readable zone prints it."
)


def _name(text: str, field_name: str) -> str:
    cleaned = " ".join(text.split())
    if not 1 <= len(cleaned) <= 100:
        raise invalid(N_("Enter 1 to 100 characters."), field_name)
    if problem := name_problem(cleaned):
        raise invalid(problem, field_name)
    return cleaned


def _country(code: str, field_name: str) -> str:
    try:
        return normalise_nationality(code)
    except InvalidIdentifier as exc:
        raise invalid(
            N_("%(problem)s. Use an ISO 3166-1 alpha-3 code such as DEU.", problem=exc.message),
            field_name,
        ) from exc


def _passport_number(number: str) -> str:
    try:
        return normalise_passport_number(number)
    except InvalidIdentifier as exc:
        raise invalid(exc.message, "passportNumber") from exc


def _birth_date(ctx: Context, birth_date: date) -> date:
    if not date(1900, 1, 1) <= birth_date <= ctx.today():
        raise invalid(N_("The birth date must be between 1900-01-01 and today."), "birthDate")
    return birth_date


async def register_person(ctx: Context, facts: PersonFacts) -> Person:
    gate.require_staff(ctx)
    surname = _name(facts.surname, "surname")
    if not 1 <= len(normalise_name(surname)) <= 100:
        # Folded for identity matching, some letters grow (ß is ss; one Arabic ligature is
        # eighteen letters): the folded form is what is kept and compared.
        raise invalid(SURNAME_FOLDS_TOO_LONG, "surname")
    given_names = " ".join(facts.given_names.split())
    if len(given_names) > 200:
        raise invalid(N_("Enter at most 200 characters."), "givenNames")
    if problem := name_problem(given_names):
        raise invalid(problem, "givenNames")
    if names_too_long(surname, given_names):
        raise invalid(NAMES_TOO_LONG, "givenNames")
    checked = replace(
        facts,
        surname=surname,
        given_names=given_names,
        nationality=_country(facts.nationality, "nationality"),
        passport_country=_country(facts.issuing_country, "passportIssuingCountry"),
        passport_number=_passport_number(facts.passport_number),
    )
    _birth_date(ctx, facts.birth_date)
    require_field_days_in_range("passportValidUntil", facts.passport_valid_until)
    if facts.passport_valid_until < ctx.today():
        raise invalid(N_("The passport has expired."), "passportValidUntil")
    person = await store.register(checked, bound_from=ctx.today())
    if person is None:
        raise invalid(
            N_("A passport with this number and country is already registered."), "passportNumber"
        )
    # On the person's own trail, as binding a passport or issuing a card by staff is.
    gate.staff_write(ctx, person.id, "REGISTER_PERSON", checked.passport_number)
    return person


async def find_by_identity(
    ctx: Context,
    *,
    identity: IdentityFacts,
    taken: Callable[[Person], Awaitable[bool]] | None = None,
) -> Person:
    """The person matching all four facts, for the signed-in account; misses are rate-limited
    per account (one count for linkIdentity and addDependant alike, so neither buys guesses
    for the other) and per client address, so new accounts buy no new guesses; a miss says
    nothing of which fact failed. With `taken`, a match counts as a hit only when `taken`
    succeeds with it (links the person, say); else it is answered and counted as a miss, so
    that the limits tell a guesser nothing the answer does not."""
    assert ctx.account is not None
    settings = ctx.settings
    limiter = ctx.services.limiter
    window = settings.identity_attempt_window_s
    # Reserved before matching, so concurrent guesses cannot outrun the limits; only misses
    # keep their reservation: enumeration needs many of them, while a helper adding ten
    # real dependants must not be stopped.
    reservation = await limiter.reserve(
        [
            Quota(
                f"identity:acct:{ctx.account.id}", settings.identity_attempts_per_account, window
            ),
            Quota(
                f"identity:ip:{address_key(ctx.client_ip)}",
                settings.identity_attempts_per_ip,
                window,
            ),
        ]
    )
    if reservation.retry_after is not None:
        raise rate_limited(reservation.retry_after)
    try:
        number = normalise_passport_number(identity.passport_number)
        nationality = normalise_nationality(identity.nationality)
    except InvalidIdentifier as exc:
        await _identity_missed(ctx)
        raise Refusal(RefusalKind.IDENTITY_NOT_FOUND, _NO_MATCH) from exc
    person = await store.match_identity(
        passport_number=number,
        nationality=nationality,
        birth_date=identity.birth_date,
        surname_key=normalise_name(identity.surname),
    )
    if person is None or (taken is not None and not await taken(person)):
        await _identity_missed(ctx)
        raise Refusal(RefusalKind.IDENTITY_NOT_FOUND, _NO_MATCH)
    await limiter.release(reservation)
    return person


async def _identity_missed(ctx: Context) -> None:
    """Count a miss among every client's misses. Many of them mean someone guesses from many
    addresses and accounts: warn, and answer each further miss more slowly (up to the
    maximum delay at twice the alert level), but refuse no one."""
    settings, limiter = ctx.settings, ctx.services.limiter
    IDENTITY_MISSES.inc()
    misses = await limiter.count_event("identity:misses", settings.identity_attempt_window_s)
    IDENTITY_MISSES_IN_WINDOW.set(misses)
    alert = settings.identity_global_misses_alert
    if misses <= alert:
        return
    if await limiter.count_event("identity:misses:warned", 60) == 1:
        log.warning(
            "identity matching: %d misses by all clients in this %d s window (alert at %d)",
            misses,
            settings.identity_attempt_window_s,
            alert,
        )
    IDENTITY_MISSES_SLOWED.inc()
    share = min(1.0, (misses - alert) / max(alert, 1))
    await asyncio.sleep(share * settings.identity_global_slowdown_max_ms / 1000)


async def link_identity(ctx: Context, identity: IdentityFacts) -> Person:
    require_account(ctx)
    account = ctx.account
    assert account is not None
    if not ctx.has_role(Role.APPLICANT):
        raise invalid(N_("Staff accounts are not linked to a person."))
    if account.person_id is not None:
        raise invalid(N_("Your account is already linked to a person."))

    async def link(person: Person) -> bool:
        # A person who has an account already is answered as a mismatch, and counted as one.
        return await account_store.link_person(account.id, person.id)

    person = await find_by_identity(ctx, identity=identity, taken=link)
    account.person_id = person.id
    # The account's open WebSocket connections read it again: their streams now carry what
    # is about the person (its own notifications, its applications to follow).
    ctx.after_commit(lambda: ctx.services.account_changed(account.id))
    return person


async def unlink_identity(ctx: Context, person_id: int | None) -> Person:
    gate.require_staff(ctx)
    if person_id is None:
        raise not_permitted()
    person = await store.person(person_id)
    if person is None:
        raise not_permitted()
    linked = await account_store.account_linked_to(person.id)
    await account_store.unlink_person(person.id)
    if linked is not None:
        # Whoever was signed in as this person is not any more: every session of the account
        # ends (its tokens and subscriptions were issued on the strength of the link), and so
        # does every certificate it obtained as the person.
        await end_sessions(ctx, linked)
        await certificates.revoke_superseded(ctx, person.id, "unlink", issued_by_id=linked)
        # Helpers the account let in, as the person, are let in no longer.
        for delegation in await delegation_store.accepted_open(person.id, ctx.today()):
            await delegation_endings.revoke(ctx, delegation)
    gate.staff_write(ctx, person.id, "UNLINK_IDENTITY")
    return person


def _require_staff_for_field(ctx: Context) -> None:
    """Officers and admins only: anyone else is refused the field (like `statistics`)."""
    if ctx.account is None:
        raise unauthenticated()
    if not is_staff(ctx):
        raise forbidden()


async def search_persons(
    ctx: Context,
    *,
    passport_number: str | None,
    surname: str | None,
    birth_date: date | None,
    first: int | None,
    after: str | None,
) -> tuple[list[Person], int, int]:
    """Staff find a person by a passport number (any one ever bound to them) or by surname
    together with birth date; all given facts must match. A surname or a birth date alone
    matches too many people to show (BAD_USER_INPUT). Others get FORBIDDEN, before the paging
    arguments are read. Returns (rows, offset, size), the rows one more than `size`; each
    person shown is audited as found in their trail."""
    _require_staff_for_field(ctx)
    offset, size = window(ctx, first, after)
    number = None
    if passport_number is not None:
        try:
            number = normalise_passport_number(passport_number)
        except InvalidIdentifier as exc:
            raise bad_input(
                N_("`search.passportNumber`: %(problem)s.", problem=exc.message)
            ) from exc
    surname_key = normalise_name(surname) if surname is not None else None
    if surname is not None and not 1 <= len(surname_key or "") <= 100:
        raise bad_input(N_("`search.surname` must have 1 to 100 characters."))
    require_days_in_range(birth_date)
    if number is None and (surname_key is None or birth_date is None):
        raise bad_input(
            N_(
                "Search by `passportNumber`, or by `surname` together with `birthDate`: a "
                "surname or a birth date alone matches too many people."
            )
        )
    rows = await store.find_persons(
        passport_number=number,
        surname_key=surname_key,
        birth_date=birth_date,
        offset=offset,
        limit=size + 1,
    )
    how = "by passport number" if number is not None else "by surname and birth date"
    for row in rows[:size]:
        await gate.read(ctx, row.id, None, "FIND_PERSON", how)
    return rows, offset, size


# ---------------------------------------------------------------- reading persons

IDENTITY_READ = "READ_IDENTITY"


async def visible(ctx: Context, row: Person | None) -> Person | None:
    """The person if the viewer may see at least their identity, else None (as if missing);
    seeing someone else's identity is recorded in their trail."""
    if row is None:
        return None
    grant = await gate.read(ctx, row.id, None, IDENTITY_READ, f"Person:{row.id}")
    return row if grant else None


async def applicants(ctx: Context) -> list[Person]:
    """Everyone the viewer may act for: their own person, then active dependants (each
    dependant shown is recorded in their trail)."""
    account = ctx.account
    if account is None:
        return []
    ids = [account.person_id] if account.person_id is not None else []
    ids.extend(i for i in await ctx.authorizer.dependant_ids() if i not in ids)
    rows = [r for r in await store.persons_by_ids(ids) if r is not None]
    for row in rows:
        await gate.read(ctx, row.id, None, IDENTITY_READ, f"Person:{row.id}")
    return rows


async def granted_scopes(ctx: Context, person_id: int) -> frozenset[str]:
    return await ctx.authorizer.granted_scopes(person_id)


async def passports_of(ctx: Context, person_id: int) -> list[Passport] | None:
    """The person's passports, current first; None without VIEW_DOCUMENTS."""
    if await gate.read(ctx, person_id, "VIEW_DOCUMENTS", "READ_PASSPORTS") is None:
        return None
    return await ctx.loaders.passports.load(person_id)
