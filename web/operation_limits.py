"""The operation gate: what every GraphQL operation passes before it runs, over HTTP (each
request, or a whole batch) and over the WebSocket (each `subscribe`, subscriptions included).

Depth, aliases and tokens are checked by the schema's extensions (schema/app.py) on every
transport; this gate adds what needs the caller: one operation must be named when a document
holds several, the estimated cost (schema/limits.py) must stay under `max_query_cost`, and it
is drawn from the caller's per-minute budget, one bucket per account (per address when
anonymous) shared by HTTP and the WebSocket. A refusal carries the same message and
`extensions.code` whichever transport asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from graphql import DocumentNode, GraphQLSchema, OperationDefinitionNode

from domain.messages import N_, Message, N_plural
from resolvers.budget import BUDGET_WINDOW_S, spend
from resolvers.context import Context
from schema.limits import Cost, estimate, expanded_size
from settings import Settings
from translations import render
from web.errors import graphql_error


@dataclass(frozen=True)
class Refusal:
    """An operation that may not run; `status` is the HTTP status it is answered with."""

    message: Message
    code: str
    status: int = 400
    retry_after: int | None = None

    def error(self, language: str) -> dict[str, Any]:
        """The GraphQL error in `language`, as HTTP and the WebSocket both send it."""
        message = render(self.message, language)
        if self.retry_after is None:
            return graphql_error(message, self.code)
        return graphql_error(message, self.code, retryAfterSeconds=self.retry_after)


@dataclass(frozen=True)
class Charged:
    """An admitted operation: what it cost and what is left of the caller's budget."""

    requested: int
    maximum: int
    remaining: int
    # Of `requested`: the declared work (QR codes) the estimate paid for (Cost.work).
    work: int = 0

    def report(self) -> dict[str, int]:
        """The `extensions.cost` of the response."""
        return {
            "requestedQueryCost": self.requested,
            "maximumAvailable": self.maximum,
            "remaining": self.remaining,
        }


def operation_problem(document: DocumentNode, operation_name: str | None) -> Message | None:
    """GraphQL's GetOperation: several operations need an operationName that names one."""
    names = [
        d.name.value if d.name else None
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    if not names:
        return N_("The document has no operation to run.")
    if operation_name is None and len(names) > 1:
        return N_("The document has several operations: name the one to run in operationName.")
    if operation_name is not None and operation_name not in names:
        return N_("The document has no operation named %(name)r.", name=operation_name)
    return None


def assess(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    settings: Settings,
) -> Cost | Refusal:
    """The operation's estimated cost, or why it may not run whatever the budget."""
    problem = operation_problem(document, operation_name)
    if problem is not None:
        return Refusal(problem, "BAD_REQUEST")
    # First, before anything walks the operation with its fragments spread out.
    most = settings.max_expanded_fields
    if expanded_size(document, most) > most:
        return Refusal(
            N_(
                "This document selects more than %(maximum)s fields once its fragments are "
                "spread out. Spread fewer fragments, or ask for fewer fields.",
                maximum=most,
            ),
            "QUERY_TOO_COMPLEX",
        )
    estimated = estimate(schema, document, operation_name, variables, settings)
    cost = estimated.requested
    max_query_cost = settings.max_query_cost
    if cost > max_query_cost:
        return Refusal(
            N_plural(
                "This query would cost %(count)s point; the most one query may cost is "
                "%(maximum)s. Ask for fewer items or fields.",
                "This query would cost %(count)s points; the most one query may cost is "
                "%(maximum)s. Ask for fewer items or fields.",
                cost,
                maximum=max_query_cost,
            ),
            "QUERY_TOO_COMPLEX",
        )
    return estimated


async def charge(ctx: Context, points: int) -> Charged | Refusal:
    """Draw the points from the caller's budget for this minute, all of them or none."""
    budget = ctx.services.settings.cost_budget_per_minute
    remaining = await spend(ctx, points)
    if remaining is None:
        return Refusal(
            N_("Query budget used up for this minute; try again shortly."),
            "RATE_LIMITED",
            status=429,
            retry_after=BUDGET_WINDOW_S,
        )
    return Charged(points, budget, remaining)


async def admit(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    ctx: Context,
) -> Charged | Refusal:
    """The gate for one operation: assessed, then paid for from the caller's budget."""
    assessed = assess(schema, document, operation_name, variables, ctx.services.settings)
    if isinstance(assessed, Refusal):
        return assessed
    paid = await charge(ctx, assessed.requested)
    return replace(paid, work=assessed.work) if isinstance(paid, Charged) else paid


async def admit_batch(
    schema: GraphQLSchema,
    operations: list[tuple[DocumentNode, str | None, dict[str, Any] | None] | None],
    ctx: Context,
) -> list[Charged | Refusal | None] | Refusal:
    """The gate for an HTTP batch: every operation assessed, then the sum of the admissible
    ones paid at once. The whole batch is refused (RATE_LIMITED) when the budget cannot cover
    that sum, so none of it runs; an operation refused on its own (too complex, unnamed) is
    answered in its place and costs nothing. `None` stands for what has no document to assess
    (it fails before execution) and gets `None` back."""
    settings = ctx.services.settings
    assessed: list[Cost | Refusal | None] = [
        None if op is None else assess(schema, op[0], op[1], op[2], settings) for op in operations
    ]
    total = sum(a.requested for a in assessed if isinstance(a, Cost))
    paid = await charge(ctx, total)
    if isinstance(paid, Refusal):
        return paid
    return [
        Charged(a.requested, paid.maximum, paid.remaining, a.work) if isinstance(a, Cost) else a
        for a in assessed
    ]
