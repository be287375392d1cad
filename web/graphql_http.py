"""The /graphql endpoint over HTTP: reads the request (web/negotiation.py), resolves persisted
queries (web/persisted.py), shares public answers (web/response_cache.py), passes the operation
gate (web/operation_limits.py), runs the operation and answers with the error envelope of
web/errors.py, timing and counting each request.

Follows the GraphQL-over-HTTP specification: `application/graphql-response+json` answers
request errors (parse, validation, variables) with 400 and no `data`; `application/json`
answers them with 200 as legacy clients expect. Mutations are refused over GET.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from graphql import DocumentNode
from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from domain.languages import negotiate
from domain.messages import N_
from persistence import read_replica, statement_counter
from persistence.audit import write_audit
from persistence.database import request_scope
from resolvers import budget
from resolvers.context import Context, Services
from resolvers.metrics import BATCH, LATENCY, REQUESTS, UNPARSED
from translations import render
from web.authentication import Unauthenticated, authenticate
from web.context_factory import build_context, language_of
from web.cors import ALLOWED_METHODS
from web.errors import (
    error_body,
    graphql_error,
    problem_body,
    refusal_body,
    request_error,
    result_body,
)
from web.graphiql import graphiql_page
from web.logging_setup import accepted_request_id, request_id
from web.negotiation import (
    JSON,
    NO_QUERY,
    GraphQLParams,
    RequestProblem,
    read_params,
    response_media_type,
    wants_ide,
)
from web.operation_labels import metrics_label, registered_operation_names, schema_root_fields
from web.operation_limits import Charged, Refusal, admit, admit_batch
from web.parsing import parse_document
from web.persisted import PersistedQueries
from web.response_cache import ResponseCache, StoredAnswer, fast_key, is_public


def encode(payload: Any) -> bytes:
    return orjson.dumps(payload)


log = logging.getLogger(__name__)


def json_response(
    payload: Any, status: int, media: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        encode(payload),
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers=headers,
    )


@dataclass(eq=False)
class GraphQLEndpoint:
    """The ASGI endpoint for POST and GET on /graphql."""

    schema: Any
    services: Services
    persisted: PersistedQueries
    response_cache: ResponseCache
    root_fields: frozenset[str] = field(init=False)
    registered_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.root_fields = schema_root_fields(self.schema._schema)
        self.registered_names = registered_operation_names(
            list((self.persisted.registry or {}).values())
        )

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request, timing it and tagging its logs with a request id."""
        # RequestIdMiddleware set it for the whole request; computed here when run alone.
        rid = request_id.get() or accepted_request_id(request.headers.get("x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        meta = {"operation": UNPARSED}
        if request.method == "GET" and "authorization" not in request.headers:
            # Hits of this key were answered before routing (web/fast_cache.py); a public
            # answer found or made below is stored under it too.
            meta["fast_key"] = self.fast_key(request.scope)
        try:
            with statement_counter.counting() as statements:
                async with request_scope():
                    response = await self.answer(request, rid, meta)
        finally:
            request_id.reset(token)
        response.headers["X-Request-Id"] = rid
        if self.services.settings.report_sql:
            response.headers["X-SQL-Statements"] = str(statements.total)
            if read_replica.configured():
                replica = statements.by_connection.get(read_replica.REPLICA, 0)
                response.headers["X-SQL-Replica-Statements"] = str(replica)
        LATENCY.labels(meta["operation"]).observe(time.perf_counter() - started)
        REQUESTS.labels(meta["operation"], str(response.status_code)).inc()
        return response

    async def answer(self, request: Request, rid: str, meta: dict[str, str]) -> Response:
        settings = self.services.settings
        # The context's language, for what is refused before there is a context.
        language = language_of(request)
        if request.method == "OPTIONS":  # not a CORS preflight (the CORS middleware answers those)
            return Response(status_code=204, headers={"Allow": ALLOWED_METHODS})
        if request.method not in ("GET", "POST"):
            problem = RequestProblem(
                405, N_("GraphQL accepts GET (queries) and POST."), {"Allow": ALLOWED_METHODS}
            )
            return json_response(problem_body(problem, language), 405, JSON, problem.headers)
        if wants_ide(request):
            return graphiql_page()
        try:
            media = response_media_type(request.headers.get("accept"))
        except RequestProblem as problem:
            # The client accepts no type GraphQL answers in: the reason goes in JSON anyway.
            return json_response(problem_body(problem, language), problem.status, JSON)
        try:
            params = await read_params(request, settings.max_body_bytes, settings.max_batch_size)
            if isinstance(params, list):
                meta["operation"] = BATCH
            ctx = await self.context_for(request, rid)
        except RequestProblem as problem:
            body = problem_body(problem, language)
            return json_response(body, problem.status, media, problem.headers)
        except ClientDisconnect:
            # The client went away before its request had arrived (a phone losing its network
            # mid-upload): nothing ran and nobody reads an answer. The client's doing, not a
            # fault of the service: logged at INFO, without a traceback.
            log.info("The client disconnected before its request arrived; nothing ran.")
            return Response(status_code=400)
        if isinstance(params, list):
            items = [await self.persisted.resolve(item, media, ctx.language) for item in params]
            # The batch's summed cost is paid before any of it runs: all of it, or none runs.
            admitted = await admit_batch(
                self.schema._schema, [self.gate_input(item) for item in items], ctx
            )
            if isinstance(admitted, Refusal):
                body, status = refusal_body(admitted, media, ctx.language)
                return json_response(
                    body, status, media, {"Retry-After": str(admitted.retry_after)}
                )
            results = []
            for item, verdict in zip(items, admitted, strict=True):
                if isinstance(item, GraphQLParams):
                    results.append((await self.run(request, item, ctx, media, verdict))[0])
                else:
                    results.append(item[0])
            # A batch is never a shared answer: it may hold anyone's data or tokens.
            headers = {**ctx.response_headers, "Cache-Control": "no-store"}
            return json_response(results, 200, media, headers)
        resolved = await self.persisted.resolve(params, media, ctx.language)
        if not isinstance(resolved, GraphQLParams):
            body, status = resolved
            return json_response(body, status, media)
        params = resolved
        document = parse_document(params.query, settings.max_tokens)
        meta["operation"] = metrics_label(
            document, params.operation_name, self.registered_names, self.root_fields
        )
        anonymous = ctx.account is None
        shared = (
            (anonymous or request.method == "GET")
            and isinstance(document, DocumentNode)
            and is_public(document, params.operation_name, self.schema._schema)
        )
        if not shared:
            # Mutations, private reads and signed-in POSTs always run, and never wait for
            # another request.
            body, status = await self.run(request, params, ctx, media)
            return self.plain_response(body, status, media, ctx)
        assert isinstance(document, DocumentNode)
        cache_key = ResponseCache.key(
            params.query,
            params.variables,
            params.operation_name,
            # The negotiated language, not the header: "ko-KR,ko;q=0.9" and "ko" share answers.
            f"{ctx.language}|{self.cache_period()}",
            media,
        )
        hit = self.response_cache.get(cache_key)
        if hit is not None:
            if fast := meta.get("fast_key"):
                self.response_cache.put(fast, hit[0], hit[1])
            return await self.shared_answer(request, document, params, ctx, hit, media)
        # One execution per key at a time: a crowd missing together waits for the first.
        async with self.response_cache.single_flight(cache_key):
            hit = self.response_cache.get(cache_key)
            if hit is not None:
                return await self.shared_answer(request, document, params, ctx, hit, media)
            generation = self.response_cache.generation
            body, status = await self.run(request, params, ctx, media)
            if status == 200 and "errors" not in body:
                # The cost belongs to the caller that filled the cache, not to later readers.
                public = {k: v for k, v in body.items() if k != "extensions"}
                encoded = encode(public)
                # Not stored when public data changed while it ran (it may have read the data
                # before the change): this caller alone gets it, uncached.
                etag = self.response_cache.put(cache_key, status, encoded, generation)
                if etag is not None:
                    if fast_key := meta.get("fast_key"):
                        self.response_cache.put(fast_key, status, encoded)
                    return self.cached_response(request, (status, encoded, etag), media)
        return self.plain_response(body, status, media, ctx)

    async def shared_answer(
        self,
        request: Request,
        document: DocumentNode,
        params: GraphQLParams,
        ctx: Context,
        hit: StoredAnswer,
        media: str,
    ) -> Response:
        """A cached public answer. A signed-in caller still pays for it from its budget, so
        the cache is no way around the limit; anonymous readers share the filler's cost."""
        if ctx.account is not None:
            verdict = await admit(
                self.schema._schema, document, params.operation_name, params.variables, ctx
            )
            if isinstance(verdict, Refusal):
                body, status = refusal_body(verdict, media, ctx.language)
                headers = {"Cache-Control": "no-store"}
                if verdict.retry_after is not None:
                    headers["Retry-After"] = str(verdict.retry_after)
                return json_response(body, status, media, headers)
        return self.cached_response(request, hit, media)

    def plain_response(
        self, body: dict[str, Any], status: int, media: str, ctx: Context
    ) -> Response:
        """An answer that is not shared: stored by no cache, whoever asked (anonymous ones
        carry tokens, as signIn's do, or a verified document's facts)."""
        headers = dict(ctx.response_headers)
        if status == 405:
            headers["Allow"] = "POST"
        headers.setdefault("Cache-Control", "no-store")
        return json_response(body, status, media, headers)

    def cache_period(self) -> int:
        return self.response_cache.period(self.services.clock.now())

    def fast_key(self, scope: Any) -> str:
        """The key of an anonymous GET, from its raw query string (bytes as sent, so text
        that is not UTF-8 is no error) and its headers; web/fast_cache.py looks hits up by it."""
        headers = Headers(scope=scope)
        return fast_key(
            scope["query_string"].decode("latin-1"),
            headers.get("accept", ""),
            negotiate(headers.get("accept-language")),
            self.cache_period(),
        )

    def cached_response(self, request: Request, stored: StoredAnswer, media: str) -> Response:
        return self.response_cache.answer(
            stored,
            media,
            request.headers.get("if-none-match", ""),
            revalidate=request.method == "GET",
        )

    async def context_for(self, request: Request, rid: str) -> Context:
        try:
            identity = await authenticate(self.services, request.headers.get("authorization"))
        except Unauthenticated as exc:
            raise RequestProblem(
                401, exc.message, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc
        # Known now (authentication read the primary): where its public reads may go.
        await read_replica.decide(identity.account.id if identity is not None else None)
        return build_context(self.services, request, identity, rid)

    def gate_input(
        self, item: GraphQLParams | tuple[dict[str, Any], int]
    ) -> tuple[DocumentNode, str | None, dict[str, Any] | None] | None:
        """What the operation gate assesses of a batch item (None: nothing to run or parse)."""
        if not isinstance(item, GraphQLParams):
            return None
        document = parse_document(item.query, self.services.settings.max_tokens)
        if not isinstance(document, DocumentNode):
            return None
        return document, item.operation_name, item.variables

    async def run(
        self,
        request: Request,
        params: GraphQLParams,
        ctx: Context,
        media: str,
        verdict: Charged | Refusal | None = None,
    ) -> tuple[dict[str, Any], int]:
        """Run one operation through the operation gate, or with the verdict its batch got."""
        settings = self.services.settings
        # A batch's operations share one context: an operation that is not charged (one that
        # does not parse) must not report the cost of the one before it.
        ctx.extras.pop("cost", None)
        if not params.query.strip():  # e.g. a persistedQuery of null with no query
            return request_error(NO_QUERY, "BAD_REQUEST", media, ctx.language)
        document = parse_document(params.query, settings.max_tokens)
        if isinstance(document, DocumentNode):
            if verdict is None:
                verdict = await admit(
                    self.schema._schema, document, params.operation_name, params.variables, ctx
                )
            if isinstance(verdict, Refusal):
                if verdict.retry_after is not None:
                    ctx.response_headers["Retry-After"] = str(verdict.retry_after)
                return refusal_body(verdict, media, ctx.language)
            ctx.extras["cost"] = verdict.report()
            budget.operation_starts(verdict.work)
        # Subscriptions need a stream: they run over the WebSocket, not as one HTTP answer.
        allowed = {OperationType.QUERY, OperationType.MUTATION}
        if request.method == "GET":
            allowed = {OperationType.QUERY}
        try:
            result = await self.schema.execute(
                params.query,
                variable_values=params.variables,
                context_value=ctx,
                operation_name=params.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=params.extensions,
            )
        except CannotGetOperationTypeError:
            return request_error(
                N_("No operation of that name."), "BAD_REQUEST", media, ctx.language
            )
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                return request_error(
                    N_(
                        "Subscriptions run over the WebSocket at /graphql (graphql-transport-ws), "
                        "not as an HTTP request."
                    ),
                    "BAD_REQUEST",
                    media,
                    ctx.language,
                )
            message = N_("Only queries may be sent with GET; send mutations with POST.")
            return error_body(
                graphql_error(render(message, ctx.language), "METHOD_NOT_ALLOWED")
            ), 405
        await write_audit(ctx.take_audit())
        cost = {"cost": ctx.extras["cost"]} if "cost" in ctx.extras else {}
        return result_body(result, media, ctx.request_id, cost, ctx.language)
