"""The response envelope: every error this service answers with, over HTTP and the WebSocket,
is built here, so a client sees one shape (`message` in the negotiated language, a stable
`extensions.code`) whatever refused it; and the body of an executed operation, whose `data`
and status follow the media type."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from strawberry.types import ExecutionResult

from resolvers.outcomes import internal_error
from schema.app import client_error_code, is_server_fault
from translations import render
from web.negotiation import GRAPHQL_RESPONSE, RequestProblem

if TYPE_CHECKING:
    from domain.messages import Message
    from web.operation_limits import Refusal


def graphql_error(message: str, code: str, **extensions: Any) -> dict[str, Any]:
    """One error as GraphQL sends it (`message` already in the client's language, see
    `render`); `extensions` beyond the code are added as given."""
    return {"message": message, "extensions": {"code": code, **extensions}}


def error_body(*errors: dict[str, Any], data: bool = False) -> dict[str, Any]:
    """A response body carrying only errors; `data: null` first when asked for."""
    body: dict[str, Any] = {"data": None} if data else {}
    body["errors"] = list(errors)
    return body


def request_error(
    message: Message, code: str, media: str, language: str
) -> tuple[dict[str, Any], int]:
    """A refusal before execution: 400 without data for graphql-response+json, else 200."""
    error = graphql_error(render(message, language), code)
    if media == GRAPHQL_RESPONSE:
        return error_body(error), 400
    return error_body(error, data=True), 200


def problem_body(problem: RequestProblem, language: str) -> dict[str, Any]:
    """The body answering a malformed HTTP request (sent with the problem's own status)."""
    return error_body(graphql_error(render(problem.message, language), problem.code))


def refusal_body(refusal: Refusal, media: str, language: str) -> tuple[dict[str, Any], int]:
    """An operation the gate refused: 429 for the budget, else a request error."""
    if refusal.status == 429:
        return error_body(refusal.error(language)), 429
    return request_error(refusal.message, refusal.code, media, language)


def format_error(error: GraphQLError, request_id: str, language: str) -> dict[str, Any]:
    """The error as the client sees it; anything not caused by the client is masked. (Errors
    of execution are already in the request's language: the schema's process_errors.)"""
    if is_server_fault(error):  # logged with its traceback by the schema's process_errors
        masked = graphql_error(
            render(internal_error(request_id), language),
            "INTERNAL_SERVER_ERROR",
            requestId=request_id,
        )
        if error.path:
            masked["path"] = error.path
        return masked
    formatted = error.formatted
    formatted["extensions"] = {
        **(formatted.get("extensions") or {}),
        "code": client_error_code(error),
    }
    return dict(formatted)


def is_request_error(result: ExecutionResult) -> bool:
    """Parse, validation and variable errors: no data, and no error tied to a field path."""
    return result.data is None and bool(result.errors) and all(not e.path for e in result.errors)


def result_body(
    result: ExecutionResult,
    media: str,
    request_id: str,
    extensions: dict[str, Any],
    language: str,
) -> tuple[dict[str, Any], int]:
    """The body and status of an executed operation; a request error (parse, validation,
    variables) has no `data` and status 400 for graphql-response+json, as the spec says."""
    failed_request = is_request_error(result) and media == GRAPHQL_RESPONSE
    body: dict[str, Any] = {}
    if not failed_request:
        body["data"] = result.data
    if result.errors:
        body["errors"] = [format_error(e, request_id, language) for e in result.errors]
    extensions = {**(result.extensions or {}), **extensions}
    if extensions:
        body["extensions"] = extensions
    return body, 400 if failed_request else 200
