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
from resolvers.outcomes import ClientError, unauthenticated
from schema.common import from_global_id
from schema.records import ApplicationEvent

# How often a quiet subscription re-checks that its delegation still holds.
RECHECK_SECONDS = 5.0
SCOPE = "VIEW_APPLICATIONS"
NO_SUCH_APPLICANT = "No such applicant, or you may not follow their applications."


@strawberry.type(description="Live updates.")
class Subscription:
    @strawberry.subscription(
        description="Every status change of the applicant's applications, as it happens. Needs "
        "VIEW_APPLICATIONS; ends when that right ends."
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
        decoded = from_global_id(applicant_id, "Person")
        person_id = decoded[1] if decoded else None
        if person_id is None or await ctx.fresh_authorizer().may_act_for(person_id, SCOPE) is None:
            raise ClientError(NO_SUCH_APPLICANT, "NOT_FOUND")
        return _updates(ctx, person_id)


async def _updates(ctx: Context, person_id: int) -> AsyncGenerator[ApplicationEvent, None]:
    """Events of the person's applications while the viewer may still see them."""
    assert ctx.services.events is not None
    async with ctx.services.events.subscribe(person_id) as queue:
        while True:
            try:
                event_id = await asyncio.wait_for(queue.get(), RECHECK_SECONDS)
            except TimeoutError:
                event_id = None
            grant = await ctx.fresh_authorizer().may_act_for(person_id, SCOPE)
            if grant is None:
                return
            if event_id is None:
                continue
            ctx.forget_cached()  # each event shows its application as it is now
            row = await record_store.event(event_id)
            if row is not None:
                ctx.authorizer.record(grant, "READ_APPLICATIONS", f"event:{event_id}")
                await write_audit(ctx.take_audit())
                yield ApplicationEvent.from_row(row)
