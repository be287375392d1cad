"""Refusals: the expected ways a request fails, carried back to the schema as union members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from graphql import GraphQLError

from domain.dates import RANGE_MESSAGE, out_of_range

# The one message for an object that is missing or not the caller's: the two look alike.
NOT_PERMITTED = "No such object, or you are not permitted to act on it."


@dataclass
class Refusal(Exception):
    """A user-caused failure. `kind` names the GraphQL error type; `fields` fill its extras.

    Raise it to roll back the mutation's transaction; return it to keep what was written
    (e.g. revoking a token family when a refresh token is reused).
    """

    kind: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class Replay(Exception):
    """Roll back and answer with the outcome `load` gives: the same idempotency key came
    again, or a concurrent request with that key committed first."""

    def __init__(self, load: Callable[[], Awaitable[Any]]) -> None:
        super().__init__("replay")
        self.load = load


def not_permitted() -> Refusal:
    return Refusal("NotPermitted", NOT_PERMITTED)


def invalid(message: str, field_name: str | None = None) -> Refusal:
    return Refusal("ValidationError", message, {"field": field_name})


def rate_limited(retry_after: int) -> Refusal:
    return Refusal(
        "RateLimited",
        f"Too many attempts. Try again in {retry_after} seconds.",
        {"retry_after_seconds": retry_after},
    )


class ClientError(GraphQLError):
    """A top-level error the client caused; its message and code are safe to show."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message, extensions={"code": code})


def unauthenticated() -> ClientError:
    return ClientError("Sign in to use this field.", "UNAUTHENTICATED")


def forbidden() -> ClientError:
    return ClientError("Your role may not use this field.", "FORBIDDEN")


def bad_input(message: str) -> ClientError:
    return ClientError(message, "BAD_USER_INPUT")


def require_days_in_range(*days: date | None) -> None:
    """For query arguments: a day far outside the service's range is BAD_USER_INPUT."""
    if out_of_range(*days):
        raise bad_input(RANGE_MESSAGE)


def require_field_days_in_range(field_name: str, *days: date | None) -> None:
    """For mutation inputs: a day far outside the service's range is a ValidationError."""
    if out_of_range(*days):
        raise invalid(RANGE_MESSAGE, field_name)
