"""Mutation results: each refusal kind's error type, and running a mutation into its union.

A mutation declares its result union once; the refusals it answers with are the union's
error members, derived from it here.
"""

from __future__ import annotations

import functools
import inspect
import operator
import sys
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info
from strawberry.types.lazy_type import LazyType

from domain.languages import SOURCE_LANGUAGE
from resolvers import unit_of_work
from resolvers.context import Context
from resolvers.outcomes import Refusal, RefusalKind
from translations import render

T = TypeVar("T")

# Each refusal kind's one error type (filled by `error_type`), and back.
ERROR_TYPES: dict[RefusalKind, type] = {}
KINDS: dict[type, RefusalKind] = {}


@strawberry.type(description="What every error member of a result union says.")
class RefusalMessage:
    message: str = strawberry.field(
        description="What went wrong, for people, in the language the request negotiated "
        "(Accept-Language; a WebSocket's connection_init `language`)."
    )

    @strawberry.field(
        description="What went wrong, for programs: a stable code that never changes with "
        "the language (the refusal's kind, e.g. NOT_PERMITTED, VALIDATION, RATE_LIMITED)."
    )
    def code(self) -> str:
        kind = KINDS.get(type(self))
        return kind.name if kind is not None else _upper_snake(type(self).__name__)


def _upper_snake(name: str) -> str:
    """A type name as a code (AlreadyWaiting: ALREADY_WAITING), for error types that answer
    no refusal kind."""
    return "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name)).upper()


def error_type(kind: RefusalKind, description: str) -> Callable[[type], type]:
    """Declare the GraphQL error type (a RefusalMessage, with `description`) that answers
    refusals of `kind`."""

    def register(cls: type) -> type:
        if kind in ERROR_TYPES:
            raise TypeError(f"{kind.name} already answered by {ERROR_TYPES[kind].__name__}")
        if not issubclass(cls, RefusalMessage):
            raise TypeError(f"{cls.__name__} must extend RefusalMessage")
        ERROR_TYPES[kind] = strawberry.type(cls, description=description)
        KINDS[ERROR_TYPES[kind]] = kind
        return ERROR_TYPES[kind]

    return register


def plain_error_types(descriptions: dict[RefusalKind, str]) -> tuple[Any, ...]:
    """The error types, in the order given, that answer refusals of each kind with nothing but
    their message: each named after its kind (NOT_PERMITTED: NotPermitted), described by the
    text it maps to, and declared in the calling module."""
    module = sys._getframe(1).f_globals["__name__"]  # as collections.namedtuple does
    return tuple(
        error_type(kind, description)(
            type(kind.name.title().replace("_", ""), (RefusalMessage,), {"__module__": module})
        )
        for kind, description in descriptions.items()
    )


def node_results(groups: dict[tuple[Any, str], dict[str, tuple[str, str]]]) -> tuple[Any, ...]:
    """Success members that each hold one value in one field, in the order given: each group,
    keyed by the value's type and the field's name, maps a member's name to its description
    and its field's ({(Delegation, "delegation"): {"DelegationRevoked": ("The delegation has
    ended.", "The delegation.")}}). Declared in the calling module."""
    module = sys._getframe(1).f_globals["__name__"]  # as collections.namedtuple does
    return tuple(
        strawberry.type(
            type(
                name,
                (),
                {
                    "__module__": module,
                    "__annotations__": {field: node},
                    field: strawberry.field(description=about),
                },
            ),
            description=description,
        )
        for (node, field), members in groups.items()
        for name, (description, about) in members.items()
    )


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


def error_member(
    refusal: Refusal, allowed: tuple[type, ...], language: str = SOURCE_LANGUAGE
) -> Any:
    """The union member for a refusal, its message in `language`; a refusal the union does
    not list is a programming error."""
    cls = ERROR_TYPES[refusal.kind]
    if cls not in allowed:
        raise TypeError(f"{refusal.kind.name} is not a member of this result union")
    message = render(refusal.message, language)
    factory = getattr(cls, "from_refusal", None)
    if factory is not None:
        return factory(message, **refusal.fields)
    return cls(message=message, **refusal.fields)


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
        return error_member(value, union_members(result), ctx.language)
    answer = success(value)
    return await answer if inspect.isawaitable(answer) else answer


def success_member(result: Any) -> Callable[[Any], Any]:
    """How a mutation whose union's success member holds one value builds it from what the
    work returns: a row becomes its node (AppointmentCancelled(appointment=
    Appointment.from_row(row))); a value of the field's type already (a message, a count, a
    Document) is held as it is (SignedOut(message=text)). A node whose from_row loads more
    (Account: its roles) makes the member a coroutine, which `run_mutation` awaits."""
    success = union_members(result)[0]
    # The field's type as Strawberry resolved it: a lazy one (Annotated[..., strawberry.lazy])
    # is imported now; a type that is not a class (a list, an optional) needs `success=`.
    (declared,) = success.__strawberry_definition__.fields
    field, node = declared.python_name, declared.type
    if isinstance(node, LazyType):
        node = node.resolve_type()
    if not isinstance(node, type):
        raise TypeError(
            f"{success.__name__}.{field} is a {node!r}, not one type: pass the mutation a "
            "`success=` that builds it"
        )

    async def loaded(held: Awaitable[Any]) -> Any:
        return success(**{field: await held})

    def build(value: Any) -> Any:
        held = value if isinstance(value, node) else node.from_row(value)
        return loaded(held) if inspect.isawaitable(held) else success(**{field: held})

    return build


def mutation(
    description: str,
    *,
    success: Callable[[Any], Any] | None = None,
    answered: Callable[[str, Any], None] | None = None,
) -> Callable[[Callable[..., Awaitable[Any]]], Any]:
    """Declare a mutation field whose method is its work: the method runs as one unit of work
    (see `run_mutation`) and returns a value or a Refusal; the field answers with a member of
    the union the method is annotated to return. The success member is built by `success`,
    or, by default, from the work's row or value into the success member's one field (see
    `success_member`). `answered` sees each answer with the field's name, after the unit of
    work (a metric, say): part of the resolver, so every executor runs it.

        @mutation("Cancel a booked appointment.")
        async def cancel_appointment(self, info: Info, id: IdArg) -> CancelAppointmentResult:
            return await resolve.cancel(info.context, pk_of(id, "Appointment"))
    """

    def declare(method: Callable[..., Awaitable[Any]]) -> Any:
        @functools.cache
        def declared() -> tuple[Any, Callable[[Any], Any]]:
            result = typing.get_type_hints(method, include_extras=True)["return"]
            return result, success or success_member(result)

        @functools.wraps(method)
        async def field(self: Any, info: Info, **arguments: Any) -> Any:
            result, build = declared()
            answer = await run_mutation(
                info, result, lambda _ctx: method(self, info, **arguments), build
            )
            if answered is not None:
                answered(info.field_name, answer)
            return answer

        return strawberry.mutation(description=description)(field)

    return declare
