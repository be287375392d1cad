"""Mutation results: each refusal kind's error type, and running a mutation into its union.

A mutation declares its result union once; the refusals it answers with are the union's
error members, derived from it here.
"""

from __future__ import annotations

import functools
import inspect
import operator
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from resolvers import unit_of_work
from resolvers.context import Context
from resolvers.outcomes import Refusal, RefusalKind

T = TypeVar("T")

# Each refusal kind's one error type (filled by `error_type`).
ERROR_TYPES: dict[RefusalKind, type] = {}


@strawberry.type(description="What every error member of a result union says.")
class RefusalMessage:
    message: str = strawberry.field(description="What went wrong, for people.")


def error_type(kind: RefusalKind, description: str) -> Callable[[type], type]:
    """Declare the GraphQL error type (a RefusalMessage, with `description`) that answers
    refusals of `kind`."""

    def register(cls: type) -> type:
        if kind in ERROR_TYPES:
            raise TypeError(f"{kind.name} already answered by {ERROR_TYPES[kind].__name__}")
        if not issubclass(cls, RefusalMessage):
            raise TypeError(f"{cls.__name__} must extend RefusalMessage")
        ERROR_TYPES[kind] = strawberry.type(cls, description=description)
        return ERROR_TYPES[kind]

    return register


def result_union(mutation: str, success: type, *errors: type) -> Any:
    """The result union of `mutation`, named after it (signUp: SignUpResult): its success type
    and the error types it answers with, which are the refusals `run_mutation` handles."""
    name = f"{mutation[0].upper()}{mutation[1:]}Result"
    members = functools.reduce(operator.or_, errors, success)
    return Annotated[members, strawberry.union(name, description=f"The outcome of {mutation}.")]


def union_members(result: Any) -> tuple[type, ...]:
    """The member types of a union made by `result_union` (`Annotated[A | B, union]`)."""
    union, *_ = typing.get_args(result)
    return typing.get_args(union)


def error_member(refusal: Refusal, allowed: tuple[type, ...]) -> Any:
    """The union member for a refusal; a refusal the union does not list is a programming error."""
    cls = ERROR_TYPES[refusal.kind]
    if cls not in allowed:
        raise TypeError(f"{refusal.kind.name} is not a member of this result union")
    factory = getattr(cls, "from_refusal", None)
    if factory is not None:
        return factory(refusal.message, **refusal.fields)
    return cls(message=refusal.message, **refusal.fields)


async def run_mutation(
    info: Info,
    result: Any,
    work: Callable[[Context], Awaitable[T | Refusal]],
    success: Callable[[T], Any],
) -> Any:
    """Run `work` on the request's context as one unit of work and answer with a member of the
    `result` union: a refusal becomes its error type (which the union must list), a value goes
    to `success`, which builds the success member (directly or as a coroutine)."""
    ctx: Context = info.context
    value = await unit_of_work.run(ctx, lambda: work(ctx))
    if isinstance(value, Refusal):
        return error_member(value, union_members(result))
    answer = success(value)
    return await answer if inspect.isawaitable(answer) else answer
