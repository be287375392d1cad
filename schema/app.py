"""Assembles the schema from the per-domain modules."""

from __future__ import annotations

import strawberry
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types

import settings
from persistence.audit import write_audit
from resolvers.context import Context
from schema.accounts import Account
from schema.appointments import Appointment, AppointmentMutations, Slot
from schema.certificates import Certificate, CertificateMutations
from schema.delegations import AuditEvent, Delegation, DelegationMutations
from schema.input_guard import guard_arguments
from schema.mutation import AccountMutations
from schema.offices import Office
from schema.persons import Passport, Person
from schema.query import Query
from schema.records import Application, Document, PermanentResidentCard, RecordMutations
from schema.subscription import Subscription

Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        AppointmentMutations,
        RecordMutations,
        DelegationMutations,
        CertificateMutations,
    ),
)
Mutation.__strawberry_definition__.description = "Everything that changes state."

_limits = settings.load()


class FreshCachesPerOperation(SchemaExtension):
    """Each operation (of a batch, or on a WebSocket) starts without cached loads or grants,
    and ends with its reads written to the audit trail."""

    def on_operation(self):  # type: ignore[no-untyped-def]
        context = self.execution_context.context
        if isinstance(context, Context):
            context.forget_cached()
        yield

    async def on_execute(self):  # type: ignore[no-untyped-def]
        yield
        context = self.execution_context.context
        if isinstance(context, Context):
            # Written before the result leaves: a client that disconnects at once has still
            # been recorded (WebSocket operations have no HTTP handler to do it).
            await write_audit(context.take_audit())


class CodedRequestErrors(SchemaExtension):
    """Errors found before execution (validation, the depth and alias limits) carry the code
    GraphQL over HTTP gives them, GRAPHQL_VALIDATION_FAILED, on every transport."""

    def on_validate(self):  # type: ignore[no-untyped-def]
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}


schema = strawberry.Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    types=[
        Office,
        Person,
        Passport,
        Account,
        Slot,
        Appointment,
        Application,
        Document,
        PermanentResidentCard,
        Delegation,
        AuditEvent,
        Certificate,
    ],
    config=StrawberryConfig(auto_camel_case=True),
    extensions=[
        FreshCachesPerOperation,
        CodedRequestErrors,
        lambda: QueryDepthLimiter(max_depth=_limits.max_query_depth),
        lambda: MaxAliasesLimiter(max_alias_count=_limits.max_aliases),
        lambda: MaxTokensLimiter(max_token_count=_limits.max_tokens),
    ],
)
# Control characters, and days outside the service's calendar, never reach a resolver.
guard_arguments(schema)
