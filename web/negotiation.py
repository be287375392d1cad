"""What the HTTP request asks for: the media type to answer with (Accept), and the GraphQL
parameters read from the query string or the JSON body, within the body and batch limits."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from domain.messages import N_, Message, N_plural

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"

QUERY_NOT_TEXT = N_("`query` must be a string.")
VARIABLES_NOT_OBJECT = N_("`%(name)s` must be a JSON object.", name="variables")
OPERATION_NAME_NOT_TEXT = N_("`operationName` must be a string.")

# No input of this schema nests more than a few levels; JSON parsers accept a thousand, more
# than Python's own encoder (the public cache's key) and recursion limits take.
MAX_VARIABLES_DEPTH = 32


class RequestProblem(Exception):
    """The HTTP request itself is wrong: answered before any GraphQL runs."""

    def __init__(
        self, status: int, message: Message, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    @property
    def code(self) -> str:
        """The `extensions.code` of the error that answers it."""
        return {
            401: "UNAUTHENTICATED",
            405: "METHOD_NOT_ALLOWED",
            406: "NOT_ACCEPTABLE",
            413: "PAYLOAD_TOO_LARGE",
            415: "UNSUPPORTED_MEDIA_TYPE",
        }.get(self.status, "BAD_REQUEST")


@dataclass(frozen=True)
class GraphQLParams:
    """One operation as the client sent it (a persisted query's `query` may still be empty)."""

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
        raise RequestProblem(
            406, N_("Accept %(graphql)s or %(json)s.", graphql=GRAPHQL_RESPONSE, json=JSON)
        )
    return best[2]


def stored_answer_media_type(accept: str) -> str | None:
    """The media type of a stored public answer, negotiated as for any answer (quality values
    included); None when the client accepts neither (the full path answers it: 406)."""
    try:
        return response_media_type(accept)
    except RequestProblem:
        return None


def _json_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value == "":
            return None
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise RequestProblem(400, N_("`%(name)s` is not valid JSON.", name=name)) from exc
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RequestProblem(400, N_("`%(name)s` must be a JSON object.", name=name))
    if problem := nesting_problem(value, name):
        raise RequestProblem(400, problem)
    return value


def nesting_problem(value: Any, name: str) -> Message | None:
    """Why `value` (the `variables` or `extensions` named `name`) nests too deeply to be
    read, or None; on every transport."""
    if not _nested_deeper(value, MAX_VARIABLES_DEPTH):
        return None
    return N_(
        "`%(name)s` nests more than %(maximum)s levels of objects and lists.",
        name=name,
        maximum=MAX_VARIABLES_DEPTH,
    )


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels in `value` (without recursion,
    which is what too deep a value would exhaust)."""
    level: list[Any] = [value]
    for _ in range(limit):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


NO_QUERY = N_("The request has no `query`.")


def params_from(raw: Any, *, from_query_string: bool) -> GraphQLParams:
    if not isinstance(raw, dict):
        raise RequestProblem(400, N_("The request body must be a JSON object."))
    query = raw.get("query")
    extensions = _json_object(raw.get("extensions"), "extensions")
    if query is not None and not isinstance(query, str):
        raise RequestProblem(400, QUERY_NOT_TEXT)
    # A blank query stands for nothing; only a persisted query's hash may stand for one.
    if not (query or "").strip() and not (extensions and "persistedQuery" in extensions):
        raise RequestProblem(400, NO_QUERY)
    variables = raw.get("variables")
    if from_query_string or isinstance(variables, str):
        if not from_query_string:
            raise RequestProblem(400, VARIABLES_NOT_OBJECT)
    variables = _json_object(variables, "variables")
    operation_name = raw.get("operationName")
    if operation_name == "":
        operation_name = None
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestProblem(400, OPERATION_NAME_NOT_TEXT)
    return GraphQLParams(query or "", variables, operation_name, extensions)


async def read_params(
    request: Request, max_body: int, max_batch: int
) -> list[GraphQLParams] | GraphQLParams:
    if request.method == "GET":
        return params_from(dict(request.query_params), from_query_string=True)
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";")[0].strip().lower()
    if media != JSON:
        raise RequestProblem(415, N_("Send the request as %(media)s.", media=JSON))
    charset = _charset(content_type)
    if charset not in (None, "utf-8", "utf8"):
        raise RequestProblem(415, N_("Send the request body in UTF-8."))
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "identity"):
        # A compressed body read as JSON would be refused as "not JSON", and one merely labelled
        # compressed would be read as plain text: either way the label is not honoured.
        raise RequestProblem(
            415, N_("Send the request body uncompressed: Content-Encoding is not supported.")
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_body:
        raise RequestProblem(413, _too_large(max_body))
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > max_body:
            raise RequestProblem(413, _too_large(max_body))
    if not body:
        raise RequestProblem(400, N_("The request body is empty."))
    try:
        raw = orjson.loads(bytes(body))
    except orjson.JSONDecodeError as exc:
        raise RequestProblem(400, N_("The request body is not valid JSON.")) from exc
    if isinstance(raw, list):
        if not raw:
            raise RequestProblem(400, N_("A batch must hold at least one operation."))
        if len(raw) > max_batch:
            raise RequestProblem(
                400,
                N_plural(
                    "A batch may hold at most %(count)s operation.",
                    "A batch may hold at most %(count)s operations.",
                    max_batch,
                ),
            )
        return [params_from(item, from_query_string=False) for item in raw]
    return params_from(raw, from_query_string=False)


def _too_large(max_body: int) -> Message:
    return N_plural(
        "The request body is larger than %(count)s byte.",
        "The request body is larger than %(count)s bytes.",
        max_body,
    )


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
