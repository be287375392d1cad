"""Refusals: the expected ways a request fails, carried back to the schema as union members."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from enum import Enum, auto
from typing import Any

from graphql import GraphQLError

from domain.dates import RANGE_MESSAGE, out_of_range
from domain.messages import N_, Message, N_plural

# The one message for an object that is missing or not the caller's: the two look alike.
NOT_PERMITTED = N_("No such object, or you are not permitted to act on it.")


class RefusalKind(Enum):
    """The expected ways a request fails; the schema maps each to its one error type."""

    NOT_PERMITTED = auto()
    VALIDATION = auto()
    RATE_LIMITED = auto()
    INVALID_CREDENTIALS = auto()
    EMAIL_TAKEN = auto()
    INVALID_REFRESH_TOKEN = auto()
    IDENTITY_NOT_FOUND = auto()
    SLOT_UNAVAILABLE = auto()
    ALREADY_BOOKED = auto()
    CHANGE_WINDOW_CLOSED = auto()
    RESCHEDULE_LIMIT_REACHED = auto()
    LIMIT_REACHED = auto()
    NOT_PERMANENT_RESIDENT = auto()
    INVALID_TRANSITION = auto()
    INVALID_TOKEN = auto()
    ALREADY_WAITING = auto()
    PLACES_AVAILABLE = auto()
    OFFER_EXPIRED = auto()


@dataclass
class Refusal(Exception):
    """A user-caused failure of a `kind`; `fields` fill the extras of its error type. The
    message is rendered in the request's language when the error type is built.

    Raise it to roll back the mutation's transaction; return it to keep what was written
    (e.g. revoking a token family when a refresh token is reused). Either way the reads in
    `shown` are written (resolvers.authorization.showing).
    """

    kind: RefusalKind
    message: Message
    fields: dict[str, Any] = field(default_factory=dict)
    # Audit entries of someone's records the refusal shows (an existing appointment, say):
    # kept in the trail when the unit of work rolls back, as a read of them would be.
    shown: list[Any] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.kind.name}: {self.message}"


class Replay(Exception):
    """Roll back and answer with the outcome `load` gives: the same idempotency key came
    again, or a concurrent request with that key committed first."""

    def __init__(self, load: Callable[[], Awaitable[Any]]) -> None:
        super().__init__("replay")
        self.load = load


def not_permitted() -> Refusal:
    return Refusal(RefusalKind.NOT_PERMITTED, NOT_PERMITTED)


def invalid(message: Message, field_name: str | None = None) -> Refusal:
    return Refusal(RefusalKind.VALIDATION, message, {"field": field_name})


def rate_limited(retry_after: int) -> Refusal:
    return Refusal(
        RefusalKind.RATE_LIMITED,
        N_plural(
            "Too many attempts. Try again in %(count)s second.",
            "Too many attempts. Try again in %(count)s seconds.",
            retry_after,
        ),
        {"retry_after_seconds": retry_after},
    )


class ClientError(GraphQLError):
    """A top-level error the client caused; its message and code are safe to show. The
    message is English until the schema renders `text` in the request's language."""

    def __init__(self, message: Message, code: str) -> None:
        super().__init__(message, extensions={"code": code})
        self.text = message


def internal_error(request_id: str) -> Message:
    """What a fault of the service says instead of its details (they are in the log)."""
    return N_(
        "Internal error. Quote request id %(request_id)s if you report it.", request_id=request_id
    )


def unauthenticated() -> ClientError:
    return ClientError(N_("Sign in to use this field."), "UNAUTHENTICATED")


def forbidden() -> ClientError:
    return ClientError(N_("Your role may not use this field."), "FORBIDDEN")


def bad_input(message: Message) -> ClientError:
    return ClientError(message, "BAD_USER_INPUT")


def require_days_in_range(*days: date | None) -> None:
    """For query arguments: a day far outside the service's range is BAD_USER_INPUT."""
    if out_of_range(*days):
        raise bad_input(RANGE_MESSAGE)


def require_field_days_in_range(field_name: str, *days: date | None) -> None:
    """For mutation inputs: a day far outside the service's range is a ValidationError."""
    if out_of_range(*days):
        raise invalid(RANGE_MESSAGE, field_name)
