"""The root Subscription type (graphql-transport-ws)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable
from typing import Annotated, TypeVar

import strawberry
from strawberry.types import Info

from resolvers import following
from resolvers import notifications as notification_stream
from resolvers.context import Context
from resolvers.following import session_ended
from schema.common import pk_of
from schema.notifications import Notification
from schema.records import ApplicationEvent

__all__ = ["Subscription", "session_ended"]  # web/ ends sessions with the same error

R = TypeVar("R")
T = TypeVar("T")


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
        person_id = await following.start_following(ctx, pk_of(applicant_id, "Person"))
        return _each(following.application_events(ctx, person_id), ApplicationEvent.from_row)

    @strawberry.subscription(
        description="The viewer's new notifications as they are made: their own and their "
        "dependants' within the delegation's scopes (checked on each one, so a dependant's "
        "stop once the delegation or scope ends). Ends with an UNAUTHENTICATED error when the "
        "session does."
    )
    async def notifications(self, info: Info) -> AsyncGenerator[Notification, None]:
        ctx: Context = info.context
        account_id = await notification_stream.start_stream(ctx)
        return _each(notification_stream.stream(ctx, account_id), Notification.from_row)


async def _each(rows: AsyncGenerator[R, None], node: Callable[[R], T]) -> AsyncGenerator[T, None]:
    """Each row of a live stream as its schema object; ending the subscription closes the
    stream (and with it what it listens to on the event bus)."""
    async with contextlib.aclosing(rows) as opened:
        async for row in opened:
            yield node(row)
