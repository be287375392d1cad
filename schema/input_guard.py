"""Refuses argument values no resolver should see, before the resolver runs: text with control
characters (line breaks and tabs only in multi-line texts) and days or moments outside the
calendar the service reasons about.

`guard_arguments` wraps, once, every field of the built schema that takes text, an ID, a Date
or a DateTime anywhere in its arguments, so a new field is guarded without anyone
remembering to, on every transport (HTTP, WebSocket) and every executor that calls the
schema's resolvers. The check sees the arguments exactly as the resolver would: variables,
literals and defaults already coerced. A mutation whose result union lists ValidationError
answers with one (naming the field at fault); every other field answers BAD_USER_INPUT.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import strawberry
from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLUnionType,
    default_field_resolver,
    get_nullable_type,
)

from domain.dates import RANGE_MESSAGE, out_of_range
from domain.messages import N_, Message
from domain.text import text_problem
from resolvers.outcomes import bad_input
from schema.common import ValidationError
from translations import render

# Input fields (`Type.field`) whose text may run over several lines. Every other text, ID
# and code is one line.
MULTI_LINE_TEXTS = frozenset(
    {
        "UpdateApplicationStatusInput.note",
        "AddOfficeClosureInput.reason",
        "RevokeCertificateInput.reason",
    }
)

_UNCHECKED_SCALARS = frozenset({GraphQLInt.name, GraphQLFloat.name, GraphQLBoolean.name})
_GUARDED = "__input_guarded__"


@dataclass(frozen=True)
class Problem:
    """What is wrong with an argument: the argument or input field at fault, and why."""

    field: str
    message: Message


@dataclass(frozen=True)
class _Argument:
    name: str
    out_name: str
    type: GraphQLInputType


def value_problem(
    value: Any, type_: GraphQLInputType, coordinate: str, label: str
) -> Problem | None:
    """The first problem in a coerced argument value of this type, or None. `coordinate`
    (`Type.field`) decides whether text may have lines; `label` names the field at fault."""
    if value is None:
        return None
    type_ = get_nullable_type(type_)
    if isinstance(type_, GraphQLList):
        items = value if isinstance(value, list | tuple) else [value]
        return _first(value_problem(item, type_.of_type, coordinate, label) for item in items)
    if isinstance(type_, GraphQLInputObjectType):
        if not isinstance(value, dict):
            return None
        return _first(
            value_problem(
                value.get(field.out_name or name), field.type, f"{type_.name}.{name}", name
            )
            for name, field in type_.fields.items()
        )
    if isinstance(type_, GraphQLEnumType):
        return None
    return _scalar_problem(value, coordinate, label)


def _scalar_problem(value: Any, coordinate: str, label: str) -> Problem | None:
    if isinstance(value, str):
        reason = text_problem(value, multi_line=coordinate in MULTI_LINE_TEXTS, field=label)
        return Problem(label, reason) if reason else None
    if isinstance(value, datetime) and value.utcoffset() is None:
        return Problem(
            label,
            N_("`%(field)s` must carry a UTC offset, e.g. 2026-12-01T10:00:00+08:00.", field=label),
        )
    if isinstance(value, date) and out_of_range(value):
        return Problem(label, RANGE_MESSAGE)
    # A JSON value: its keys and texts are one-line texts too.
    if isinstance(value, dict):
        return _first(
            _scalar_problem(part, coordinate, label) for item in value.items() for part in item
        )
    if isinstance(value, list | tuple):
        return _first(_scalar_problem(item, coordinate, label) for item in value)
    return None


def _first(problems: Iterator[Problem | None]) -> Problem | None:
    return next((p for p in problems if p is not None), None)


def _may_hold_checked_values(type_: GraphQLInputType, seen: set[str]) -> bool:
    type_ = get_nullable_type(type_)
    if isinstance(type_, GraphQLList):
        return _may_hold_checked_values(type_.of_type, seen)
    if isinstance(type_, GraphQLInputObjectType):
        if type_.name in seen:
            return False
        seen.add(type_.name)
        return any(_may_hold_checked_values(f.type, seen) for f in type_.fields.values())
    return isinstance(type_, GraphQLScalarType) and type_.name not in _UNCHECKED_SCALARS


def arguments_problem(
    arguments: tuple[_Argument, ...], owner: str, kwargs: dict[str, Any]
) -> Problem | None:
    return _first(
        value_problem(kwargs.get(a.out_name), a.type, f"{owner}({a.name})", a.name)
        for a in arguments
    )


def _answers_validation_error(field: GraphQLField) -> bool:
    result = get_nullable_type(field.type)
    return isinstance(result, GraphQLUnionType) and any(
        member.name == ValidationError.__name__ for member in result.types
    )


def _guard(
    resolve: Callable[..., Any],
    arguments: tuple[_Argument, ...],
    owner: str,
    typed_answer: bool,
) -> Callable[..., Any]:
    @functools.wraps(resolve)
    def guarded(source: Any, info: GraphQLResolveInfo, **kwargs: Any) -> Any:
        problem = arguments_problem(arguments, owner, kwargs)
        if problem is None:
            return resolve(source, info, **kwargs)
        if typed_answer:
            message = render(problem.message, info.context.language)
            return ValidationError(message=message, field=problem.field)
        raise bad_input(problem.message)

    setattr(guarded, _GUARDED, True)
    return guarded


def guard_arguments(schema: strawberry.Schema) -> None:
    """Wrap the resolvers of every field whose arguments can hold text, IDs or dates."""
    mutation = schema._schema.mutation_type
    for type_ in schema._schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            arguments = tuple(
                _Argument(arg_name, arg.out_name or arg_name, arg.type)
                for arg_name, arg in field.args.items()
                if _may_hold_checked_values(arg.type, set())
            )
            if not arguments or getattr(field.resolve, _GUARDED, False):
                continue
            owner = f"{type_.name}.{name}"
            typed = type_ is mutation and _answers_validation_error(field)
            field.resolve = _guard(field.resolve or default_field_resolver, arguments, owner, typed)
            if field.subscribe is not None:
                field.subscribe = _guard(field.subscribe, arguments, owner, False)


def guarded_fields(schema: strawberry.Schema) -> list[str]:
    """`Type.field` of every field whose arguments are checked (for tests)."""
    return sorted(
        f"{type_.name}.{name}"
        for type_ in schema._schema.type_map.values()
        if isinstance(type_, GraphQLObjectType)
        for name, field in type_.fields.items()
        if getattr(field.resolve, _GUARDED, False)
    )
