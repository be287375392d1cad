"""GraphQL over HTTP: request parsing, content negotiation, status codes, authentication.

Follows the GraphQL-over-HTTP specification: `application/graphql-response+json` answers
request errors (parse, validation, variables) with 400 and no `data`; `application/json`
answers them with 200 as legacy clients expect. Mutations are refused over GET.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
)
from starlette.requests import Request
from starlette.responses import Response
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

from persistence import statement_counter
from persistence.audit import write_audit
from resolvers.context import Context, Services
from resolvers.metrics import BATCH, CACHED, LATENCY, OTHER, REQUESTS, UNPARSED, operation_label
from schema.app import is_server_fault
from web.authentication import Unauthenticated, authenticate
from web.caching import PersistedQueries, ResponseCache, is_public, sha256
from web.client_address import of_connection
from web.graphiql import graphiql_page
from web.logging_setup import accepted_request_id, request_id
from web.operation_limits import Charged, Refusal, admit, admit_batch

log = logging.getLogger("graphql")

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"


class RequestProblem(Exception):
    """The HTTP request itself is wrong: answered before any GraphQL runs."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


def response_media_type(accept: str | None) -> str:
    """The media type to answer with, per the Accept header (406 when none is acceptable)."""
    if not accept or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for index, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE or media == "application/*+json":
            chosen = GRAPHQL_RESPONSE
        elif media in (JSON, "application/*", "*/*"):
            chosen = JSON
        else:
            continue
        candidate = (quality, -index, chosen)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    if best is None:
        raise RequestProblem(406, f"Accept {GRAPHQL_RESPONSE} or {JSON}.")
    return best[2]


def _json_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value == "":
            return None
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise RequestProblem(400, f"`{name}` is not valid JSON.") from exc
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestProblem(400, f"`{name}` must be a JSON object.")
    return value


def params_from(raw: Any, *, from_query_string: bool) -> GraphQLParams:
    if not isinstance(raw, dict):
        raise RequestProblem(400, "The request body must be a JSON object.")
    query = raw.get("query")
    extensions = _json_object(raw.get("extensions"), "extensions")
    if query is None and not (extensions and "persistedQuery" in extensions):
        raise RequestProblem(400, "The request has no `query`.")
    if query is not None and not isinstance(query, str):
        raise RequestProblem(400, "`query` must be a string.")
    variables = raw.get("variables")
    if from_query_string or isinstance(variables, str):
        if not from_query_string:
            raise RequestProblem(400, "`variables` must be a JSON object.")
    variables = _json_object(variables, "variables")
    operation_name = raw.get("operationName")
    if operation_name == "":
        operation_name = None
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestProblem(400, "`operationName` must be a string.")
    return GraphQLParams(query or "", variables, operation_name, extensions)


async def read_params(
    request: Request, max_body: int, max_batch: int
) -> list[GraphQLParams] | GraphQLParams:
    if request.method == "GET":
        return params_from(dict(request.query_params), from_query_string=True)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != JSON:
        raise RequestProblem(415, f"Send the request as {JSON}.")
    charset = _charset(content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise RequestProblem(415, "Send the request body in UTF-8.")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise RequestProblem(413, f"The request body is larger than {max_body} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_body:
            raise RequestProblem(413, f"The request body is larger than {max_body} bytes.")
    if not body:
        raise RequestProblem(400, "The request body is empty.")
    try:
        raw = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise RequestProblem(400, "The request body is not valid JSON.") from exc
    if isinstance(raw, list):
        if not raw:
            raise RequestProblem(400, "A batch must hold at least one operation.")
        if len(raw) > max_batch:
            raise RequestProblem(400, f"A batch may hold at most {max_batch} operations.")
        return [params_from(item, from_query_string=False) for item in raw]
    return params_from(raw, from_query_string=False)


def _charset(content_type: str) -> str | None:
    for param in content_type.split(";")[1:]:
        key, _, value = param.strip().partition("=")
        if key.lower() == "charset":
            return value.strip().strip('"').lower()
    return None


def wants_ide(request: Request) -> bool:
    if request.method != "GET" or "query" in request.query_params:
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def client_ip(request: Request, trusted_proxies: tuple[str, ...] = ()) -> str:
    return of_connection(request, trusted_proxies)


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """The error as the client sees it; anything not caused by the client is masked."""
    if is_server_fault(error):  # logged with its traceback by the schema's process_errors
        masked: dict[str, Any] = {
            "message": f"Internal error. Quote request id {request_id} if you report it.",
            "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
        }
        if error.path:
            masked["path"] = error.path
        return masked
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    if "code" not in extensions:
        extensions["code"] = "GRAPHQL_VALIDATION_FAILED" if not error.path else "BAD_REQUEST"
    formatted["extensions"] = extensions
    return dict(formatted)


@functools.lru_cache(maxsize=512)
def _parse_cached(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    try:
        return parse(query, max_tokens=max_tokens)
    except GraphQLError as error:
        return error


def parse_document(query: str, max_tokens: int) -> DocumentNode | GraphQLError:
    """The parsed document, or the syntax (or token limit) error; modest documents are cached
    so the cache cannot hold much memory."""
    if len(query) <= 20_000:
        return _parse_cached(query, max_tokens)
    return _parse_cached.__wrapped__(query, max_tokens)


def metrics_label(
    document: DocumentNode | GraphQLError,
    operation_name: str | None,
    registered: frozenset[str],
    root_fields: frozenset[str],
) -> str:
    """The operation's label in the metrics: its name when a registered document declares it,
    else its root field when it selects exactly one of the schema's, else `other`."""
    if not isinstance(document, DocumentNode):
        return OTHER
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return OTHER
    if chosen.name is not None and chosen.name.value in registered:
        return chosen.name.value
    selections = [
        s
        for s in chosen.selection_set.selections
        if not (isinstance(s, FieldNode) and s.name.value == "__typename")
    ]
    if len(selections) == 1 and isinstance(selections[0], FieldNode):
        return operation_label(selections[0].name.value, root_fields)
    return OTHER


def registered_operation_names(documents: list[str]) -> frozenset[str]:
    """The operation names of the registered documents (PERSISTED_QUERIES_FILE)."""
    names = set()
    for query in documents:
        document = parse_document(query, 1_000_000)
        if isinstance(document, DocumentNode):
            names.update(
                d.name.value
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode) and d.name is not None
            )
    return frozenset(names)


def schema_root_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Every field of Query, Mutation and Subscription: a fixed set of labels."""
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return frozenset(name for root in roots if root is not None for name in root.fields)


def fast_key(query_string: str, accept: str, language: str, period: int) -> str:
    """The cache key of an anonymous GET: raw query string and negotiation headers, so a hit
    needs no parsing at all."""
    return sha256(f"GET|{query_string}|{accept}|{language}|{period}")


def request_error(message: str, code: str, media: str) -> tuple[dict[str, Any], int]:
    """A refusal before execution: 400 without data for graphql-response+json, else 200."""
    error = {"message": message, "extensions": {"code": code}}
    if media == GRAPHQL_RESPONSE:
        return {"errors": [error]}, 400
    return {"data": None, "errors": [error]}, 200


def refusal_body(refusal: Refusal, media: str) -> tuple[dict[str, Any], int]:
    """An operation the gate refused: 429 for the budget, else a request error."""
    if refusal.status == 429:
        return {"errors": [refusal.error()]}, 429
    return request_error(refusal.message, refusal.code, media)


def is_request_error(result: ExecutionResult) -> bool:
    """Parse, validation and variable errors: no data, and no error tied to a field path."""
    return result.data is None and bool(result.errors) and all(not e.path for e in result.errors)


def encode(payload: Any) -> bytes:
    return orjson.dumps(payload)


def json_response(
    payload: Any, status: int, media: str, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        encode(payload),
        status_code=status,
        media_type=f"{media}; charset=utf-8",
        headers=headers,
    )


class GraphQLEndpoint:
    """The ASGI endpoint for POST and GET on /graphql."""

    def __init__(
        self,
        schema: Any,
        services: Services,
        persisted: PersistedQueries,
        response_cache: ResponseCache,
    ) -> None:
        self.schema = schema
        self.services = services
        self.persisted = persisted
        self.response_cache = response_cache
        self.root_fields = schema_root_fields(schema._schema)
        self.registered_names = registered_operation_names(
            list((persisted.registry or {}).values())
        )

    async def handle(self, request: Request) -> Response:
        """Answer one HTTP request, timing it and tagging its logs with a request id."""
        # RequestIdMiddleware set it for the whole request; computed here when run alone.
        rid = request_id.get() or accepted_request_id(request.headers.get("x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        meta = {"operation": UNPARSED}
        if request.method == "GET" and "authorization" not in request.headers:
            # The fast path for CDNs and mini-programs: a public answer, before any parsing.
            meta["fast_key"] = self.fast_key(request)
            hit = self.response_cache.get(meta["fast_key"])
            if hit is not None:
                status, body, etag = hit
                media = (
                    GRAPHQL_RESPONSE
                    if GRAPHQL_RESPONSE in request.headers.get("accept", "")
                    else JSON
                )
                response = self.cached_response(request, status, body, etag, media)
                response.headers["X-Request-Id"] = rid
                REQUESTS.labels(CACHED, str(response.status_code)).inc()
                request_id.reset(token)
                return response
        try:
            with statement_counter.counting() as statements:
                response = await self.answer(request, rid, meta)
        finally:
            request_id.reset(token)
        response.headers["X-Request-Id"] = rid
        if self.services.settings.report_sql:
            response.headers["X-SQL-Statements"] = str(statements.total)
        LATENCY.labels(meta["operation"]).observe(time.perf_counter() - started)
        REQUESTS.labels(meta["operation"], str(response.status_code)).inc()
        return response

    async def answer(self, request: Request, rid: str, meta: dict[str, str]) -> Response:
        settings = self.services.settings
        if request.method not in ("GET", "POST"):
            return Response(
                "GraphQL accepts GET (queries) and POST.",
                status_code=405,
                headers={"Allow": "GET, POST"},
            )
        if wants_ide(request):
            return graphiql_page()
        try:
            media = response_media_type(request.headers.get("accept"))
        except RequestProblem as problem:
            return Response(problem.message, status_code=problem.status)
        try:
            params = await read_params(request, settings.max_body_bytes, settings.max_batch_size)
            if isinstance(params, list):
                meta["operation"] = BATCH
            ctx = await self.context_for(request, rid)
        except RequestProblem as problem:
            return json_response(
                {"errors": [{"message": problem.message, "extensions": {"code": _code(problem)}}]},
                problem.status,
                media,
                problem.headers,
            )
        if isinstance(params, list):
            items = [await self.resolve_persisted(item, media) for item in params]
            # The batch's summed cost is paid before any of it runs: all of it, or none runs.
            admitted = await admit_batch(
                self.schema._schema, [self.gate_input(item) for item in items], ctx
            )
            if isinstance(admitted, Refusal):
                body, status = refusal_body(admitted, media)
                return json_response(
                    body, status, media, {"Retry-After": str(admitted.retry_after)}
                )
            results = []
            for item, verdict in zip(items, admitted, strict=True):
                if isinstance(item, GraphQLParams):
                    results.append((await self.run(request, item, ctx, media, verdict))[0])
                else:
                    results.append(item[0])
            return json_response(results, 200, media, ctx.response_headers)
        resolved = await self.resolve_persisted(params, media)
        if not isinstance(resolved, GraphQLParams):
            body, status = resolved
            return json_response(body, status, media)
        params = resolved
        meta["operation"] = metrics_label(
            parse_document(params.query, settings.max_tokens),
            params.operation_name,
            self.registered_names,
            self.root_fields,
        )
        anonymous = ctx.account is None
        document = parse_document(params.query, settings.max_tokens)
        shared = (
            (anonymous or request.method == "GET")
            and isinstance(document, DocumentNode)
            and is_public(document, params.operation_name, self.schema._schema)
        )
        if not shared:
            # Mutations, private reads and signed-in POSTs always run, and never wait for
            # another request.
            body, status = await self.run(request, params, ctx, media)
            return self.plain_response(body, status, media, ctx, anonymous)
        assert isinstance(document, DocumentNode)
        cache_key = ResponseCache.key(
            params.query,
            params.variables,
            params.operation_name,
            f"{request.headers.get('accept-language', '')}|{self.cache_period()}",
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
            body, status = await self.run(request, params, ctx, media)
            if status == 200 and "errors" not in body:
                # The cost belongs to the caller that filled the cache, not to later readers.
                public = {k: v for k, v in body.items() if k != "extensions"}
                encoded = encode(public)
                etag = self.response_cache.put(cache_key, status, encoded)
                if fast_key := meta.get("fast_key"):
                    self.response_cache.put(fast_key, status, encoded)
                return self.cached_response(request, status, encoded, etag, media)
        return self.plain_response(body, status, media, ctx, anonymous)

    async def shared_answer(
        self,
        request: Request,
        document: DocumentNode,
        params: GraphQLParams,
        ctx: Context,
        hit: tuple[int, bytes, str],
        media: str,
    ) -> Response:
        """A cached public answer. A signed-in caller still pays for it from its budget, so
        the cache is no way around the limit; anonymous readers share the filler's cost."""
        if ctx.account is not None:
            verdict = await admit(
                self.schema._schema, document, params.operation_name, params.variables, ctx
            )
            if isinstance(verdict, Refusal):
                body, status = refusal_body(verdict, media)
                headers = {"Cache-Control": "no-store"}
                if verdict.retry_after is not None:
                    headers["Retry-After"] = str(verdict.retry_after)
                return json_response(body, status, media, headers)
        return self.cached_response(request, *hit, media)

    def plain_response(
        self, body: dict[str, Any], status: int, media: str, ctx: Context, anonymous: bool
    ) -> Response:
        headers = dict(ctx.response_headers)
        if status == 405:
            headers["Allow"] = "POST"
        headers.setdefault("Cache-Control", "no-cache" if anonymous else "no-store")
        return json_response(body, status, media, headers)

    def cache_period(self) -> int:
        """The time bucket keeps answers that depend on "now" (opening state, the guidance in
        force) from outliving their period, whatever the clock does."""
        ttl = max(1, self.services.settings.public_cache_seconds)
        return int(self.services.clock.now().timestamp() // ttl)

    def fast_key(self, request: Request) -> str:
        return fast_key(
            request.url.query,
            request.headers.get("accept", ""),
            request.headers.get("accept-language", ""),
            self.cache_period(),
        )

    def cached_response(
        self, request: Request, status: int, body: bytes, etag: str, media: str
    ) -> Response:
        """A public answer: cacheable by CDNs and clients, revalidated by ETag."""
        ttl = int(self.services.settings.public_cache_seconds)
        headers = {
            "ETag": etag,
            "Cache-Control": f"public, max-age={ttl}",
            "Vary": "Accept, Accept-Language, Authorization",
        }
        if request.method == "GET" and etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(
            body, status_code=status, media_type=f"{media}; charset=utf-8", headers=headers
        )

    async def resolve_persisted(
        self, params: GraphQLParams, media: str
    ) -> GraphQLParams | tuple[dict[str, Any], int]:
        """Apply automatic persisted queries: a known hash stands for its document."""
        persisted = (params.extensions or {}).get("persistedQuery")
        registry_only = self.persisted.registry is not None
        if not isinstance(persisted, dict):
            if registry_only and sha256(params.query) not in self.persisted.registry:
                return request_error(
                    "Only registered documents are accepted here.",
                    "PERSISTED_QUERY_REQUIRED",
                    media,
                )
            return params
        digest = persisted.get("sha256Hash")
        if persisted.get("version") != 1 or not isinstance(digest, str):
            return request_error("Unsupported persistedQuery extension.", "BAD_REQUEST", media)
        if not params.query:
            stored = await self.persisted.get(digest)
            if stored is None:
                error = {
                    "message": "PersistedQueryNotFound",
                    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
                }
                return {"errors": [error]}, 200
            return GraphQLParams(stored, params.variables, params.operation_name, params.extensions)
        if sha256(params.query) != digest:
            return request_error("The query does not match its sha256Hash.", "BAD_REQUEST", media)
        if registry_only and digest not in self.persisted.registry:
            return request_error(
                "Only registered documents are accepted here.", "PERSISTED_QUERY_REQUIRED", media
            )
        await self.persisted.put(digest, params.query)
        return params

    async def context_for(self, request: Request, rid: str) -> Context:
        try:
            identity = await authenticate(self.services, request.headers.get("authorization"))
        except Unauthenticated as exc:
            raise RequestProblem(
                401, str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            ) from exc
        return Context(
            services=self.services,
            account=identity.account if identity else None,
            roles=identity.roles if identity else frozenset(),
            session_family=identity.session if identity else None,
            client_ip=client_ip(request, self.services.settings.trusted_proxies),
            accept_language=request.headers.get("accept-language"),
            request_id=rid,
        )

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
        document = parse_document(params.query, settings.max_tokens)
        if isinstance(document, DocumentNode):
            if verdict is None:
                verdict = await admit(
                    self.schema._schema, document, params.operation_name, params.variables, ctx
                )
            if isinstance(verdict, Refusal):
                if verdict.retry_after is not None:
                    ctx.response_headers["Retry-After"] = str(verdict.retry_after)
                return refusal_body(verdict, media)
            ctx.extras["cost"] = verdict.report()
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
            error = {"message": "No operation of that name.", "extensions": {"code": "BAD_REQUEST"}}
            if media == GRAPHQL_RESPONSE:
                return {"errors": [error]}, 400
            return {"data": None, "errors": [error]}, 200
        except InvalidOperationTypeError as exc:
            if exc.operation_type is OperationType.SUBSCRIPTION:
                return request_error(
                    "Subscriptions run over the WebSocket at /graphql (graphql-transport-ws), "
                    "not as an HTTP request.",
                    "BAD_REQUEST",
                    media,
                )
            message = "Only queries may be sent with GET; send mutations with POST."
            return {
                "errors": [{"message": message, "extensions": {"code": "METHOD_NOT_ALLOWED"}}]
            }, 405
        await write_audit(ctx.take_audit())
        body: dict[str, Any] = {}
        failed_request = is_request_error(result)
        if not (failed_request and media == GRAPHQL_RESPONSE):
            body["data"] = result.data
        if result.errors:
            body["errors"] = [format_error(e, ctx.request_id) for e in result.errors]
        extensions = dict(result.extensions or {})
        if "cost" in ctx.extras:
            extensions["cost"] = ctx.extras["cost"]
        if extensions:
            body["extensions"] = extensions
        status = 400 if failed_request and media == GRAPHQL_RESPONSE else 200
        return body, status


def _code(problem: RequestProblem) -> str:
    return {401: "UNAUTHENTICATED", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE"}.get(
        problem.status, "BAD_REQUEST"
    )
