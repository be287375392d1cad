"""A WebSocket connection lives no longer than its session: no operation starts once the
access token of connection_init has expired or its sign-in has ended, and a subscription that
ends because of it gets graphql-transport-ws's `error` message (not `next` + `complete`)."""

from __future__ import annotations

from typing import Any

from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import Message

from resolvers.context import Context
from schema.subscription import session_ended
from translations import render


class SessionBoundTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """Refuses operations of an ended session; sends a stream's failure as `error`."""

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        if self.context.account is not None and await self.context.session_has_ended():
            error = session_ended()
            error.message = render(error.text, self.context.language)
            await operation.send_operation_message(
                {"id": operation.id, "type": "error", "payload": [error.formatted]}  # type: ignore[typeddict-item]
            )
            return
        await super().run_operation(operation)

    async def send_message(self, message: Message) -> None:
        payload: Any = message.get("payload")
        if (
            message["type"] == "next"
            and isinstance(payload, dict)
            and payload.get("data") is None
            and payload.get("errors")
            and all("path" not in error for error in payload["errors"])
        ):
            # The source stream itself failed (e.g. the session ended): that ends the operation,
            # which graphql-transport-ws says with `error`, after which no `complete` follows.
            operation = self.operations.get(message["id"])
            if operation is not None:
                operation.completed = True
                self.forget_id(operation.id)
            message = {"id": message["id"], "type": "error", "payload": payload["errors"]}  # type: ignore[typeddict-item]
        await super().send_message(message)
