"""The root Subscription type (graphql-transport-ws)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from persistence import records as record_store
from persistence.audit import write_audit
from resolvers.context import Context
from resolvers.events import ACCOUNT_CHANGED
from resolvers.outcomes import ClientError, unauthenticated
from schema.common import from_global_id
from schema.records import ApplicationEvent

SCOPE = "VIEW_APPLICATIONS"
NO_SUCH_APPLICANT = "No such applicant, or you may not follow their applications."
SESSION_ENDED = (
    "Your session has ended (signed out, password changed, identity unlinked, or the access "
    "token expired). Connect again with a fresh access token."
)


def session_ended() -> ClientError:
    return ClientError(SESSION_ENDED, "UNAUTHENTICATED")


@strawberry.type(description="Live updates.")
class Subscription:
    @strawberry.subscription(
        description="Every status change of the applicant's applications, as it happens. Needs "
        "VIEW_APPLICATIONS; completes when that right ends (e.g. the delegation is revoked), "
        "and ends with an UNAUTHENTICATED error when the session does (sign-out, password "
        "change, unlinked identity, or the access token's expiry)."
    )
    async def application_updates(
        self,
        info: Info,
        applicant_id: Annotated[
            strawberry.ID, strawberry.argument(description="The applicant to follow.")
        ],
    ) -> AsyncGenerator[ApplicationEvent, None]:
        ctx: Context = info.context
        # Checked before the stream starts, so a refusal is an `error` message, not an event.
        if ctx.account is None:
            raise unauthenticated()
        if await ctx.session_has_ended():
            raise session_ended()
        decoded = from_global_id(applicant_id, "Person")
        person_id = decoded[1] if decoded else None
        if person_id is None or await ctx.fresh_authorizer().may_act_for(person_id, SCOPE) is None:
            raise ClientError(NO_SUCH_APPLICANT, "NOT_FOUND")
        return _updates(ctx, person_id)


def _seconds_left(ctx: Context) -> float | None:
    if ctx.session_expires_at is None:
        return None
    return max(0.05, (ctx.session_expires_at - ctx.now()).total_seconds())


async def _updates(ctx: Context, person_id: int) -> AsyncGenerator[ApplicationEvent, None]:
    """Events of the person's applications while the session lasts and the viewer may still
    see them. Nothing is polled: the session and the right are re-checked on each event, on
    each change of the account's rights (sign-out, password change, unlink, revoked
    delegation: published on the event bus), and once at the access token's expiry. Rights
    that lapse without an event (a delegation's end date) last at most until that expiry."""
    assert ctx.services.events is not None and ctx.account is not None
    bus = ctx.services.events
    async with bus.subscribe(person_id) as queue, bus.watch_account(ctx.account.id, queue):
        # Listening before checking again: a change made since the first check is not missed.
        queue.put_nowait(ACCOUNT_CHANGED)
        while True:
            try:
                item = await asyncio.wait_for(queue.get(), _seconds_left(ctx))
            except TimeoutError:
                item = None  # the access token's expiry
            if await ctx.session_has_ended():
                raise session_ended()
            if item is None:
                continue
            grant = await ctx.fresh_authorizer().may_act_for(person_id, SCOPE)
            if grant is None:
                return
            if item is ACCOUNT_CHANGED:
                continue
            ctx.forget_cached()  # each event shows its application as it is now
            row = await record_store.event(item)
            if row is not None:
                ctx.authorizer.record(grant, "READ_APPLICATIONS", f"event:{item}")
                await write_audit(ctx.take_audit())
                yield ApplicationEvent.from_row(row)
