"""Assistance by relatives or friends: adding dependants, answering, confirming, revoking."""

from __future__ import annotations

import math
from datetime import date, timedelta

from domain.delegation import (
    OPEN_STATUSES,
    TypedFacts,
    effective_status,
    initial_status,
    represented_until,
    scope_problem,
)
from domain.identifiers import normalise_nationality
from domain.messages import N_, N_plural
from domain.persons import IdentityFacts
from persistence import accounts as account_store
from persistence import delegations as store
from persistence.models import AuditEvent, Delegation, Role
from persistence.rate_limits import Quota, Reservation
from resolvers import authorization as gate
from resolvers import delegation_endings as endings
from resolvers import notices
from resolvers.authorization import is_staff
from resolvers.context import Context
from resolvers.outcomes import (
    Refusal,
    RefusalKind,
    invalid,
    not_permitted,
    require_field_days_in_range,
    unauthenticated,
)
from resolvers.paging import Position
from resolvers.persons import find_by_identity

_ALREADY_ADDED = N_("You have already added this person; see your dependants.")


def status_of(ctx: Context, delegation: Delegation) -> str:
    return effective_status(
        delegation.status,
        valid_until=delegation.valid_until,
        pending_until=delegation.pending_until,
        now=ctx.now(),
        today=ctx.today(),
    )


def shows_dependant(ctx: Context, delegation: Delegation) -> bool:
    """Whether `Delegation.dependant` shows the person: always to the dependant themselves and
    to staff; to the helper only while the delegation is ACTIVE (before, the helper has only
    what it typed; after, it keeps nothing of the person)."""
    account = ctx.account
    if account is None:
        return False
    if account.person_id == delegation.dependant_id or is_staff(ctx):
        return True
    return account.id == delegation.helper_id and status_of(ctx, delegation) == "ACTIVE"


async def add_dependant(
    ctx: Context,
    *,
    identity: IdentityFacts,
    relationship: str,
    scopes: list[str],
    valid_until: date | None,
) -> Delegation:
    if ctx.account is None:
        raise unauthenticated()
    account = ctx.account
    if not ctx.has_role(Role.APPLICANT):
        # Officers, admins and analysts reach people through their roles, within them and on
        # the record; a delegation would let them act (or an analyst see a person) outside.
        raise invalid(N_("Staff accounts do not help dependants; use an applicant account."))
    problem = scope_problem(scopes)
    if problem:
        raise invalid(problem, "scopes")
    today = ctx.today()
    require_field_days_in_range("validUntil", valid_until)
    if valid_until is not None and valid_until < today:
        raise invalid(N_("validUntil must not be in the past."), "validUntil")
    # A helper at the limit is told so whoever the facts name: checked after the match, the
    # answer (LimitReached, or IdentityNotFound) said whether those facts are a person's.
    await _within_limit(ctx, account.id)
    person = await find_by_identity(ctx, identity=identity)
    if person.id == account.person_id:
        raise invalid(N_("You act for yourself already; add someone else."))
    await store.lock_helper(account.id)  # the count below stays true until this commits
    # What has ended already (read as EXPIRED everywhere) is written down first, so that it
    # neither counts as open below nor holds the one-open-per-person index.
    await store.expire_due(ctx.now(), today, helper_id=account.id)
    if await store.open_between(account.id, person.id):
        raise invalid(_ALREADY_ADDED)
    await _within_limit(ctx, account.id)  # again, under the lock: concurrent additions
    has_account = await account_store.person_has_account(person.id)
    status = initial_status(
        dependant_has_account=has_account, birth_date=person.birth_date, today=today
    )
    if status == "ACTIVE":  # represented as a minor: no longer than until they come of age
        valid_until = represented_until(person.birth_date, valid_until)
    asking = None
    if status == "PENDING" and has_account:
        asking = await _may_ask(ctx, account.id, person.id)
    now = ctx.now()
    try:
        delegation = await store.create(
            helper_id=account.id,
            dependant_id=person.id,
            typed=TypedFacts.read(
                identity.surname, normalise_nationality(identity.nationality), identity.birth_date
            ),
            relationship=relationship,
            scopes=sorted(set(scopes)),
            status=status,
            valid_until=valid_until,
            pending_until=now + timedelta(days=ctx.settings.pending_delegation_days)
            if status == "PENDING"
            else None,
        )
    except store.AlreadyOpen:
        # A concurrent call for the same person inserted first (open_between above could not
        # see it yet): the answer a later call gets.
        if asking is not None:
            await ctx.services.limiter.release(asking)
        raise invalid(_ALREADY_ADDED) from None
    endings.trail(ctx, delegation, "ADD_DEPENDANT")
    if status == "PENDING" and has_account:
        await notices.delegation_requested(delegation, account)
    return delegation


async def _within_limit(ctx: Context, helper_id: int) -> None:
    held = [d for d in await store.open_count(helper_id) if status_of(ctx, d) != "EXPIRED"]
    limit = ctx.settings.max_active_dependants
    if len(held) >= limit:
        raise Refusal(
            RefusalKind.LIMIT_REACHED,
            N_plural(
                "You can assist at most %(count)s person at a time.",
                "You can assist at most %(count)s people at a time.",
                limit,
            ),
            {"limit": limit},
        )


async def _may_ask(ctx: Context, helper_id: int, person_id: int) -> Reservation:
    """Count one request that will notify and mail the person; refused (RATE_LIMITED) past
    DELEGATION_REQUESTS_PER_PERSON in the window, so withdrawing and asking again cannot
    flood someone's inbox. Misses are limited by find_by_identity; this limits the hits."""
    settings = ctx.settings
    reservation = await ctx.services.limiter.reserve(
        [
            Quota(
                f"delegation-request:{helper_id}:{person_id}",
                settings.delegation_requests_per_person,
                settings.delegation_request_window_s,
            )
        ]
    )
    if reservation.retry_after is None:
        return reservation
    days = max(1, math.ceil(reservation.retry_after / 86400))
    raise Refusal(
        RefusalKind.RATE_LIMITED,
        N_plural(
            "You have asked this person too often for now: ask again in %(count)s day.",
            "You have asked this person too often for now: ask again in %(count)s days.",
            days,
        ),
        {"retry_after_seconds": reservation.retry_after},
    )


async def _delegation(delegation_id: int | None) -> Delegation:
    delegation = await store.delegation(delegation_id) if delegation_id is not None else None
    if delegation is None:
        raise not_permitted()
    return delegation


async def respond(ctx: Context, delegation_id: int | None, accept: bool) -> Delegation:
    if ctx.account is None:
        raise unauthenticated()
    delegation = await _delegation(delegation_id)
    if ctx.account.person_id != delegation.dependant_id:
        raise not_permitted()
    if status_of(ctx, delegation) != "PENDING":
        raise not_permitted()
    target = "ACTIVE" if accept else "DECLINED"
    if not await store.move(delegation.id, ["PENDING"], target, responded_at=ctx.now()):
        raise not_permitted()
    await notices.delegation_answered(delegation, target)
    return await _delegation(delegation.id)


async def revoke(ctx: Context, delegation_id: int | None) -> Delegation:
    if ctx.account is None:
        raise unauthenticated()
    delegation = await _delegation(delegation_id)
    account = ctx.account
    if account.id != delegation.helper_id and account.person_id != delegation.dependant_id:
        raise not_permitted()
    if status_of(ctx, delegation) in OPEN_STATUSES:
        await endings.revoke(ctx, delegation)
    return await _delegation(delegation.id)


async def confirm(ctx: Context, delegation_id: int | None) -> Delegation:
    gate.require_staff(ctx)
    assert ctx.account is not None
    delegation = await _delegation(delegation_id)
    if status_of(ctx, delegation) != "PENDING":
        raise not_permitted()
    if await account_store.person_has_account(delegation.dependant_id):
        # A person with an account answers for themselves.
        raise not_permitted()
    if not await store.move(
        delegation.id, ["PENDING"], "ACTIVE", confirmed_by_id=ctx.account.id, responded_at=ctx.now()
    ):
        raise not_permitted()
    endings.trail(ctx, delegation, "CONFIRM_DELEGATION")
    await notices.delegation_answered(delegation, "CONFIRMED")
    return await _delegation(delegation.id)


async def requested_facts(ctx: Context, row: Delegation) -> TypedFacts:
    """What the helper typed when adding the dependant. A delegation made another way (at a
    counter, by an import) has none stored: the facts the identity was matched on are the
    person's own, so they are what was asked for."""
    if row.requested_birth_date is not None:
        return TypedFacts(
            row.requested_surname, row.requested_nationality, row.requested_birth_date
        )
    person = await ctx.loaders.person.load(row.dependant_id)
    return TypedFacts.read(person.surname, person.nationality, person.birth_date)


# ---------------------------------------------------------------- the viewer's delegations


async def of_helper(ctx: Context) -> list[Delegation]:
    """Delegations where the viewer is the helper, newest first."""
    return await store.of_helper(ctx.account.id) if ctx.account is not None else []


async def of_dependant(ctx: Context) -> list[Delegation]:
    """Delegations where the viewer's person is the dependant, newest first."""
    account = ctx.account
    if account is None or account.person_id is None:
        return []
    return await store.of_dependant(account.person_id)


async def my_trail(ctx: Context, after: Position, size: int) -> tuple[list[AuditEvent], int | None]:
    """A page of what others read or did on the viewer's records (one row more than `size`)
    and its offset (None: after a key). Paged by key: entries recorded while the person reads
    (a helper acting meanwhile) move none past their cursor."""
    account = ctx.account
    offset = None if after.keyed else after.offset
    if account is None or account.person_id is None:
        return [], offset
    before = (after.moment, after.pk) if after.moment is not None else None
    rows = await store.audit_of(account.person_id, after.offset, size + 1, before)
    return rows, offset
