"""Calling a Strawberry resolver the way Strawberry's own field wrapper would, where that
wrapper has nothing to do but build the resolver's `Info` and hand over arguments unchanged.

Strawberry wraps every resolver in a generic function (`from_resolver`'s `_resolver` and
`_async_resolver`) that, per call, builds an `Info`, converts each argument into its Python
value, runs the field's extensions (permission classes among them) and exception handlers,
and passes `self`, `root`/`parent` and `info` where the resolver asks for them. It costs about
six times the resolver itself. A plan decides once, for each field, whether all of that is a
fixed recipe: no field extensions, no exception handlers, and only arguments whose conversion
is the identity (scalars and enums, optional or not); it then calls the resolver with exactly
the values the wrapper would have passed, and `Info` made by the wrapper's own function. Any
other field (input objects, lists, `Maybe`, global IDs, extensions, a wrapper of the
service's such as the input guard around it) keeps Strawberry's wrapper.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from graphql import GraphQLField
from strawberry.types.base import StrawberryMaybe, StrawberryOptional, has_object_definition
from strawberry.types.enum import StrawberryEnumDefinition, has_enum_definition
from strawberry.types.lazy_type import LazyType
from strawberry.types.scalar import ScalarDefinition

_WRAPPER_MODULE = "strawberry/schema/schema_converter.py"
_SYNC_WRAPPER = "GraphQLCoreConverter.from_resolver.<locals>._resolver"
_ASYNC_WRAPPER = "GraphQLCoreConverter.from_resolver.<locals>._async_resolver"
_STRAWBERRY_FIELD = "strawberry-definition"
# Python types Strawberry hands to a resolver as graphql-core coerced them.
_AS_COERCED = (str, int, float, bool, date, datetime, time, Decimal, UUID)


@dataclass(frozen=True)
class ResolverCall:
    """How to call one field's resolver: its function, how `Info` is made, and where the
    source, the info and each GraphQL argument go."""

    function: Callable[..., Any]
    make_info: Callable[[Any], Any]
    source_first: bool
    source_names: tuple[str, ...]
    info_name: str | None
    arguments: tuple[tuple[str, str], ...]  # (GraphQL name, Python name)

    def __call__(self, source: Any, info: Any, coerced: dict[str, Any]) -> Any:
        kwargs = {python: coerced[name] for name, python in self.arguments if name in coerced}
        for name in self.source_names:
            kwargs[name] = source
        if self.info_name is not None:
            kwargs[self.info_name] = self.make_info(info)
        if self.source_first:
            return self.function(source, **kwargs)
        return self.function(**kwargs)


def _closure(function: Callable[..., Any]) -> dict[str, Any]:
    code = function.__code__
    cells = function.__closure__ or ()
    return {name: cell.cell_contents for name, cell in zip(code.co_freevars, cells, strict=True)}


def _passed_as_coerced(type_: Any) -> bool:
    """Whether Strawberry converts a value of this argument type into itself."""
    if isinstance(type_, StrawberryMaybe):
        return False  # wrapped in Some()
    if isinstance(type_, StrawberryOptional):
        type_ = type_.of_type
    if isinstance(type_, LazyType):
        type_ = type_.resolve_type()
    if has_enum_definition(type_) or isinstance(type_, StrawberryEnumDefinition):
        return True  # graphql-core already gives the enum member
    if has_object_definition(type_) or isinstance(type_, ScalarDefinition):
        return False
    # strawberry.ID and other NewTypes of plain scalars.
    type_ = getattr(type_, "__supertype__", type_)
    return isinstance(type_, type) and issubclass(type_, _AS_COERCED)


def resolver_call(field_def: GraphQLField) -> ResolverCall | None:
    """The direct call of the field's resolver, or None when Strawberry's wrapper must run."""
    resolve = field_def.resolve
    code = getattr(resolve, "__code__", None)
    strawberry_field = (field_def.extensions or {}).get(_STRAWBERRY_FIELD)
    if (
        code is None
        or strawberry_field is None
        or not code.co_filename.endswith(_WRAPPER_MODULE)
        or code.co_qualname not in (_SYNC_WRAPPER, _ASYNC_WRAPPER)
        or strawberry_field.extensions
        or strawberry_field.base_resolver is None
    ):
        return None
    closure = _closure(resolve)  # type: ignore[arg-type]
    make_info = closure.get("_strawberry_info_from_graphql")
    if closure.get("field_exception_handlers") or make_info is None:
        return None
    resolver = strawberry_field.base_resolver
    function = resolver.wrapped_func
    if not callable(function):
        return None
    if code.co_qualname == _ASYNC_WRAPPER and not inspect.iscoroutinefunction(function):
        # The wrapper would defer even a synchronous failure to the await: keep it.
        return None
    converter = _closure(make_info).get("self")
    config = getattr(converter, "config", None)
    if config is None:
        return None
    names = []
    for argument in strawberry_field.arguments:
        if not _passed_as_coerced(argument.type):
            return None
        names.append((config.name_converter.from_argument(argument), argument.python_name))
    parent, root, info = resolver.parent_parameter, resolver.root_parameter, resolver.info_parameter
    return ResolverCall(
        function=function,
        make_info=make_info,
        source_first=resolver.self_parameter is not None,
        source_names=tuple(p.name for p in (parent, root) if p is not None),
        info_name=info.name if info is not None else None,
        arguments=tuple(names),
    )
