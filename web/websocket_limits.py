"""The operation gate on the WebSocket: every `subscribe` message (a query, a mutation or a
subscription) is parsed under the token limit, assessed and paid for from the caller's budget
before Strawberry runs it, exactly as an HTTP request is. A refusal is graphql-transport-ws's
`error` message, carrying the error HTTP would answer with (same message, same
`extensions.code`); the connection stays open. In registered-only mode
(PERSISTED_QUERIES_FILE) a document that is not registered is refused as over HTTP."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)

from domain.messages import N_
from resolvers import budget
from resolvers.context import Context
from translations import render
from web.errors import format_error, graphql_error
from web.negotiation import (
    OPERATION_NAME_NOT_TEXT,
    QUERY_NOT_TEXT,
    VARIABLES_NOT_OBJECT,
    nesting_problem,
)
from web.operation_limits import Refusal, admit
from web.parsing import parse_document
from web.persisted import UNREGISTERED, sha256


class GatedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, Any]):
    """Strawberry's graphql-transport-ws handler, with the operation gate before each run."""

    async def run_operation(self, operation: Operation[Context, Any]) -> None:
        try:
            errors = await self.refusal(operation)
        except Exception as error:  # an outage of the budget store, say: refused, logged
            await self.handle_task_exception(error)
            message = N_("Internal error: the operation could not be admitted.")
            errors = [
                graphql_error(render(message, self.context.language), "INTERNAL_SERVER_ERROR")
            ]
        if errors is not None:
            await operation.send_operation_message(
                {"id": operation.id, "type": "error", "payload": errors}  # type: ignore[typeddict-item]
            )
            return
        if self.operations.get(operation.id) is not operation:
            # Completed (or its socket closed) while it was being paid for: the cancel of this
            # task can be lost as the budget's Redis answers (see websocket_subscription_cap).
            return
        await super().run_operation(operation)

    async def refusal(self, operation: Operation[Context, Any]) -> list[dict[str, Any]] | None:
        """The errors refusing the operation, or None when it may run (and has been paid)."""
        ctx = self.context
        if not isinstance(operation.query, str):
            return [graphql_error(render(QUERY_NOT_TEXT, ctx.language), "BAD_REQUEST")]
        # As HTTP refuses them (web/negotiation.py), before anything would read them.
        if operation.variables is not None and not isinstance(operation.variables, dict):
            return [graphql_error(render(VARIABLES_NOT_OBJECT, ctx.language), "BAD_REQUEST")]
        if operation.variables and (problem := nesting_problem(operation.variables, "variables")):
            return [graphql_error(render(problem, ctx.language), "BAD_REQUEST")]
        if operation.operation_name is not None and not isinstance(operation.operation_name, str):
            return [graphql_error(render(OPERATION_NAME_NOT_TEXT, ctx.language), "BAD_REQUEST")]
        registry = getattr(self.view, "registry", None)
        if registry is not None and sha256(operation.query) not in registry:
            # Registered-only mode holds on every transport: the WebSocket runs no document
            # that HTTP would refuse.
            return [graphql_error(render(UNREGISTERED, ctx.language), "PERSISTED_QUERY_REQUIRED")]
        document = parse_document(operation.query, ctx.services.settings.max_tokens)
        if isinstance(document, GraphQLError):
            # Answered as HTTP answers it, instead of closing the whole connection.
            return [format_error(document, ctx.request_id, ctx.language)]
        verdict = await admit(
            self.schema._schema, document, operation.operation_name, operation.variables, ctx
        )  # type: ignore[attr-defined]
        if isinstance(verdict, Refusal):
            return [verdict.error(ctx.language)]
        # In the operation's own task: its drawings are counted alone, against what it paid.
        budget.operation_starts(verdict.work)
        return None
