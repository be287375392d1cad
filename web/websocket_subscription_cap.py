"""At most MAX_SUBSCRIPTIONS_PER_ACCOUNT live subscriptions per account, over all its
connections and (with Redis) all server processes. A subscribe beyond it is refused with
graphql-transport-ws's `error` message (RATE_LIMITED) before its cost is charged. The slot is
taken around the whole operation task, so it is given back however the subscription ends:
completed by the server, an `error`, the client's `complete`, or the socket closing (Strawberry
cancels the task and waits for it)."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, OperationType, get_operation_ast
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from domain.messages import N_, N_plural
from persistence.subscription_slots import Slot
from resolvers.context import Context
from translations import render
from web.errors import graphql_error
from web.parsing import parse_document


def too_many(limit: int, language: str) -> dict[str, Any]:
    message = N_plural(
        "This account already has %(count)s live subscription, the most it may have at once "
        "(over all its connections). Complete one, or close a connection, before starting "
        "another.",
        "This account already has %(count)s live subscriptions, the most it may have at once "
        "(over all its connections). Complete one, or close a connection, before starting "
        "another.",
        limit,
    )
    return graphql_error(render(message, language), "RATE_LIMITED", maxSubscriptions=limit)


def is_subscription(operation: Operation[Context, Any], max_tokens: int) -> bool:
    """Whether the operation is a subscription; False for what cannot be parsed or has no
    such operation (the gate and Strawberry refuse those)."""
    if not isinstance(operation.query, str):
        return False
    document = parse_document(operation.query, max_tokens)
    if isinstance(document, GraphQLError):
        return False
    name = operation.operation_name if isinstance(operation.operation_name, str) else None
    definition = get_operation_ast(document, name)
    return definition is not None and definition.operation is OperationType.SUBSCRIPTION


class SubscriptionCapTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """Holds a slot of the account's subscriptions for as long as a subscription runs."""

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        ctx = self.context
        settings = ctx.services.settings
        if ctx.account is None or not is_subscription(operation, settings.max_tokens):
            # Anonymous subscriptions are refused where they start (UNAUTHENTICATED).
            await super().run_operation(operation)
            return
        limit = settings.max_subscriptions_per_account
        slots = ctx.services.subscriptions
        slot: Slot | None = None
        try:
            slot = await slots.acquire(str(ctx.account.id), limit)
            error = None if slot is not None else too_many(limit, ctx.language)
        except Exception as exc:  # the shared count cannot be reached: refused, logged
            await self.handle_task_exception(exc)
            message = N_("Internal error: the subscription could not be admitted.")
            error = graphql_error(render(message, ctx.language), "INTERNAL_SERVER_ERROR")
        if slot is None:
            await operation.send_operation_message(
                {"id": operation.id, "type": "error", "payload": [error]}  # type: ignore[typeddict-item]
            )
            return
        if self.operations.get(operation.id) is not operation:
            # Completed (or its socket closed) while the slot was being taken: the cancel of
            # this task can be lost when it lands as Redis answers (asyncio.wait_for in the
            # client keeps the result). Run nothing no one tracks; give the slot back.
            await self._give_back(slot)
            return
        try:
            await super().run_operation(operation)
        finally:
            await self._give_back(slot)

    async def _give_back(self, slot: Slot) -> None:
        try:
            await self.context.services.subscriptions.release(slot)
        except Exception as exc:  # Redis away: the slot's lease is no longer renewed
            await self.handle_task_exception(exc)
