"""The Date and DateTime scalars: the spellings clients send, and what a client is told when a
value is none of them.

Strawberry's own parse with `date.fromisoformat` and `dateutil`: they take spellings clients
never send ("20260203", "2026-W05-1" as a Date) and answer a wrong one with the parser's words
("Invalid isoformat string", "Expected 4 digits, got 'tomo'"). Here a Date is exactly
YYYY-MM-DD, and a value that is not one says what was expected, with an example. A variable
such a value is given in is the client's bad input (BAD_USER_INPUT, web/errors.py); the same
value written into the document makes the document invalid (GRAPHQL_VALIDATION_FAILED).

Days and moments outside the calendar the service reasons about (before 1900, after 2199)
and moments without an offset are refused later, by schema/input_guard.py, where a mutation
can answer them with its ValidationError.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import dateutil.parser
from graphql import StringValueNode, ValueNode, print_ast
from strawberry.exceptions import StrawberryInputCoercionError
from strawberry.schema.types.base_scalars import DateDefinition, DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

from domain.messages import N_, Message

_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DAY_EXAMPLE = "2026-03-01"
_MOMENT_EXAMPLE = "2026-03-01T09:30:00+08:00"


def _shown(value: object) -> str:
    """The value as the message quotes it: short, and on one line."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= 40 else text[:40] + "..."


class UnreadableValue(StrawberryInputCoercionError):
    """A Date or DateTime value that is none: its message in English, and `text` for the
    schema to render in the request's language (schema/app.py: process_errors)."""

    def __init__(self, text: Message, node: ValueNode | None = None) -> None:
        super().__init__(text, node)
        self.text = text


def _not_one(expected: Message, value: object) -> UnreadableValue:
    return UnreadableValue(
        N_('%(expected)s; "%(value)s" is not one.', expected=expected, value=_shown(value))
    )


def _day_expected() -> Message:
    return N_("Expected a calendar day as YYYY-MM-DD, e.g. %(example)s", example=_DAY_EXAMPLE)


def parse_day(value: object) -> dt.date:
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise _not_one(_day_expected(), value)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UnreadableValue(
            N_(
                '%(expected)s; "%(value)s" is no day of the calendar.',
                expected=_day_expected(),
                value=value,
            )
        ) from None


def parse_moment(value: object) -> dt.datetime:
    expected = N_(
        "Expected a date and time in ISO 8601 with an offset, e.g. %(example)s",
        example=_MOMENT_EXAMPLE,
    )
    if not isinstance(value, str):
        raise _not_one(expected, value)
    try:
        return dateutil.parser.isoparse(value)
    except (ValueError, OverflowError):
        raise _not_one(expected, value) from None


def _literal(parse: Callable[[object], object]) -> Callable[..., object]:
    """The parse of a value written into the document: `parse` of its text, the error
    pointing at where it stands."""

    def parse_literal(node: ValueNode, _variables: dict[str, Any] | None = None) -> object:
        value = node.value if isinstance(node, StringValueNode) else print_ast(node)
        try:
            return parse(value)
        except UnreadableValue as error:
            raise UnreadableValue(error.text, node) from None

    return parse_literal


Day = ScalarDefinition(
    name=DateDefinition.name,
    description=(
        f"A calendar day, ISO 8601 YYYY-MM-DD (e.g. {_DAY_EXAMPLE}). Days of an office are in "
        "its time zone."
    ),
    specified_by_url=None,
    serialize=DateDefinition.serialize,
    parse_value=parse_day,
    parse_literal=_literal(parse_day),
    origin=dt.date,
)

Moment = ScalarDefinition(
    name=DateTimeDefinition.name,
    description=(
        "A moment, ISO 8601 date and time with its offset from UTC (e.g. "
        f"{_MOMENT_EXAMPLE}); one sent without an offset is refused."
    ),
    specified_by_url=None,
    serialize=DateTimeDefinition.serialize,
    parse_value=parse_moment,
    parse_literal=_literal(parse_moment),
    origin=dt.datetime,
)

OVERRIDES = {dt.date: Day, dt.datetime: Moment}
