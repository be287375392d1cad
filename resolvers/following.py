"""Following an applicant's applications live: who may, and the events while they still may."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from domain.messages import N_
from persistence import records as record_store
from persistence.models import ApplicationEvent
from resolvers import authorization as gate
from resolvers.context import Context
from resolvers.events import ACCOUNT_CHANGED
from resolvers.outcomes import ClientError, unauthenticated
from resolvers.unit_of_work import write_recorded_reads

SCOPE = "VIEW_APPLICATIONS"
NO_SUCH_APPLICANT = N_("No such applicant, or you may not follow their applications.")
SESSION_ENDED = N_(
    "Your session has ended (signed out, password changed, identity unlinked, or the access "
    "token expired). Connect again with a fresh access token."
)


def session_ended() -> ClientError:
    return ClientError(SESSION_ENDED, "UNAUTHENTICATED")


async def start_following(ctx: Context, person_id: int | None) -> int:
    """The person to follow, checked before the stream starts (so a refusal is an `error`
    message, not an event): UNAUTHENTICATED without a live session, NOT_FOUND without
    VIEW_APPLICATIONS."""
    if ctx.account is None:
        raise unauthenticated()
    if await ctx.session_has_ended():
        raise session_ended()
    await ctx.reload_account()  # linked to a person since the connection opened, say
    if person_id is None or await ctx.fresh_authorizer().may_act_for(person_id, SCOPE) is None:
        raise ClientError(NO_SUCH_APPLICANT, "NOT_FOUND")
    return person_id


def _seconds_left(ctx: Context) -> float | None:
    if ctx.session_expires_at is None:
        return None
    return max(0.05, (ctx.session_expires_at - ctx.now()).total_seconds())


async def next_while_signed_in(ctx: Context, queue: asyncio.Queue[Any]) -> Any:
    """The next item a live stream's queue gets, or None at the access token's expiry; after
    every wait, the session-ended error if the session has ended meanwhile."""
    try:
        item = await asyncio.wait_for(queue.get(), _seconds_left(ctx))
    except TimeoutError:
        item = None  # the access token's expiry
    if await ctx.session_has_ended():
        raise session_ended()
    if item is ACCOUNT_CHANGED:
        await ctx.reload_account()  # a person linked to it meanwhile, say
    return item


async def application_events(
    ctx: Context, person_id: int
) -> AsyncGenerator[ApplicationEvent, None]:
    """Events of the person's applications while the session lasts and the viewer may still
    see them. Nothing is polled: the session and the right are re-checked on each event, on
    each change of the account's rights (sign-out, password change, unlink, revoked
    delegation: published on the event bus), and once at the access token's expiry. Rights
    that lapse without an event (a delegation's end date) last at most until that expiry.
    Each event shown is recorded in the person's trail as it is sent."""
    assert ctx.services.events is not None and ctx.account is not None
    bus = ctx.services.events
    async with bus.subscribe(person_id) as queue, bus.watch_account(ctx.account.id, queue):
        # Listening before checking again: a change made since the first check is not missed.
        queue.put_nowait(ACCOUNT_CHANGED)
        while True:
            item = await next_while_signed_in(ctx, queue)
            if item is None:
                continue
            grant = await ctx.fresh_authorizer().may_act_for(person_id, SCOPE)
            if grant is None:
                return
            if item is ACCOUNT_CHANGED:
                continue
            ctx.forget_cached()  # each event shows its application as it is now
            # Only the person's own: an id published for them is looked up as theirs.
            row = await record_store.event_of_applicant(item, person_id)
            if row is not None:
                gate.acted(ctx, grant, "READ_APPLICATIONS", f"event:{item}")
                await write_recorded_reads(ctx)
                yield row
