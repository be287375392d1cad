"""Assembles the schema from the per-domain modules."""

from __future__ import annotations

import logging

import strawberry
from graphql import GraphQLError, VariableDefinitionNode
from strawberry.extensions import (
    MaxAliasesLimiter,
    MaxTokensLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from domain.languages import SOURCE_LANGUAGE
from resolvers.context import Context
from resolvers.outcomes import ClientError, internal_error
from resolvers.unit_of_work import write_recorded_reads
from schema.account_recovery import AccountRecoveryMutations
from schema.accounts import Account
from schema.appointments import Appointment, AppointmentMutations, Slot
from schema.certificates import Certificate, CertificateMutations
from schema.delegations import AuditEvent, Delegation, DelegationMutations
from schema.execution.documents import CachedDocuments, ValidationVerdicts
from schema.execution.executor import executor_class
from schema.i18n import explicit_language
from schema.input_guard import guard_arguments
from schema.mutation import AccountMutations
from schema.notifications import Notification, NotificationMutations
from schema.offices import Office
from schema.persons import Passport, Person
from schema.query import Query
from schema.records import Application, Document, PermanentResidentCard, RecordMutations
from schema.scalars import OVERRIDES as SCALAR_OVERRIDES
from schema.scalars import UnreadableValue
from schema.subscription import Subscription
from schema.waitlist import WaitlistEntry, WaitlistMutations
from settings import Settings
from translations import render

Mutation = merge_types(
    "Mutation",
    (
        AccountMutations,
        AppointmentMutations,
        RecordMutations,
        DelegationMutations,
        CertificateMutations,
        NotificationMutations,
        AccountRecoveryMutations,
        WaitlistMutations,
    ),
)
Mutation.__strawberry_definition__.description = "Everything that changes state."

log = logging.getLogger("graphql.errors")


def is_server_fault(error: GraphQLError) -> bool:
    """An exception the service did not expect (a bug, an outage); everything else (syntax,
    validation, variables, ClientError such as BAD_USER_INPUT) was caused by the client."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


def client_error_code(error: GraphQLError) -> str:
    """The code of an error the client caused: its own, else (graphql-core makes some without
    one) BAD_USER_INPUT for a variable whose value does not fit its type or is missing (the
    error points at the variable's definition: validation has passed by then, so the document
    is sound and the value is at fault), GRAPHQL_VALIDATION_FAILED for anything else found
    before execution, BAD_REQUEST for an error under a field."""
    code = (error.extensions or {}).get("code")
    if code:
        return code
    if error.path:
        return "BAD_REQUEST"
    if error.nodes and all(isinstance(node, VariableDefinitionNode) for node in error.nodes):
        return "BAD_USER_INPUT"
    return "GRAPHQL_VALIDATION_FAILED"


class ServiceSchema(strawberry.Schema):
    """Strawberry's schema, logging what clients got wrong at INFO without a traceback, so
    ERROR (with the traceback) means a fault of the service."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        context = execution_context.context if execution_context is not None else None
        request_id = getattr(context, "request_id", None) or "unknown"
        language = getattr(context, "language", SOURCE_LANGUAGE)
        for error in errors:
            if is_server_fault(error):
                log.error(
                    "unexpected error at %s: %s",
                    error.path,
                    error.message,
                    exc_info=error.original_error,
                )
                # Masked where it stands, so that every transport (HTTP, the WebSocket's
                # `next` and `error` messages) sends the same text and no internal detail.
                error.message = render(internal_error(request_id), language)
                error.extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
            else:
                # Every transport's errors carry a code, the ones graphql-core makes too.
                code = client_error_code(error)
                error.extensions = {**(error.extensions or {}), "code": code}
                # Logged in English, the language of the code and of whoever reads the log.
                log.info("client error %s at %s: %s", code, error.path, error.message)
                original = error.original_error or error
                if isinstance(original, UnreadableValue):
                    # graphql-core puts its own English before the value's message ("Variable
                    # '$day' has invalid value: ..."): only the service's part is translated.
                    english = str(original.text)
                    error.message = error.message.replace(english, render(original.text, language))
                elif isinstance(original, ClientError):
                    # In the language of the `lang` argument of the field it happened under,
                    # else in the request's.
                    chosen = language
                    if execution_context is not None:
                        chosen = (
                            explicit_language(
                                execution_context.graphql_document,
                                execution_context.operation_name,
                                execution_context.variables,
                                error.path,
                            )
                            or language
                        )
                    error.message = render(original.text, chosen)


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
            await write_recorded_reads(context)


class CodedRequestErrors(SchemaExtension):
    """Errors found before execution (validation, the depth and alias limits) carry the code
    GraphQL over HTTP gives them, GRAPHQL_VALIDATION_FAILED, on every transport."""

    def on_validate(self):  # type: ignore[no-untyped-def]
        yield
        for error in self.execution_context.pre_execution_errors or ():
            if "code" not in (error.extensions or {}):
                error.extensions = {**(error.extensions or {}), "code": "GRAPHQL_VALIDATION_FAILED"}


def create_schema(settings: Settings) -> ServiceSchema:
    """The schema with the document limits of `settings` (depth, aliases, tokens), each
    document text parsed and validated once, and operations run from compiled plans unless
    `settings.execution_plans` is off."""
    verdicts = ValidationVerdicts()
    built = ServiceSchema(
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
            Notification,
            WaitlistEntry,
        ],
        config=StrawberryConfig(auto_camel_case=True),
        scalar_overrides=SCALAR_OVERRIDES,
        extensions=[
            # First, so that the verdict it keeps is the one the other extensions finished.
            lambda: CachedDocuments(verdicts),
            FreshCachesPerOperation,
            CodedRequestErrors,
            lambda: QueryDepthLimiter(max_depth=settings.max_query_depth),
            lambda: MaxAliasesLimiter(max_alias_count=settings.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=settings.max_tokens),
        ],
        execution_context_class=executor_class(settings.execution_plans),
    )
    # Control characters, and days outside the service's calendar, never reach a resolver.
    guard_arguments(built)
    return built


# With the default limits: what `strawberry export-schema schema:schema` prints (the limits do
# not change the schema's types); the server builds its own with create_schema(settings).
schema = create_schema(Settings())
