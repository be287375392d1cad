"""Execution plans: one operation's selections compiled once into steps, one per response key
of each object type, each bound to its field, its resolver (or the attribute it reads), its
arguments when they are literals, and a completer specialised for its return type.

The steps and completers reproduce graphql-core's `execute_field` and `complete_value` (same
order of checks, same messages, same error handling through the executor's own
`handle_field_error`), without looking anything up per value: that is the whole gain. Fields
are grouped by graphql-core's own `collect_fields`/`collect_subfields`, so fragments, type
conditions, aliases and `@skip`/`@include` mean exactly what they mean there; a plan holds
for the values the directives' variables had when it was compiled (the plan cache keys on
them). The whole operation is compiled before it first runs (below an interface or union, for
each type its value may have), so an operation no plan can be made for runs on graphql-core's
executor instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any
from uuid import UUID

from graphql import (
    GraphQLAbstractType,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLLeafType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLString,
    ListValueNode,
    Node,
    ObjectValueNode,
    VariableNode,
    is_abstract_type,
    is_leaf_type,
    is_object_type,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_subfields
from graphql.execution.executor import invalid_return_type_error
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, Undefined, is_iterable

from schema.execution.resolver_calls import resolver_call

if TYPE_CHECKING:
    from schema.execution.executor import PlanExecutor

# (executor, info or None, path, resolved value) -> completed value, or an awaitable of it.
Completer = Callable[["PlanExecutor", Any, Path, Any], Any]
# (executor, source, path of the parent) -> completed value, or an awaitable of it.
Runner = Callable[["PlanExecutor", Any, "Path | None"], Any]

GRAPHQL_MIN_INT, GRAPHQL_MAX_INT = -(2**31), 2**31 - 1

# Argument values a resolver cannot change in place: coerced once, they may be shared by
# every call of the field (strawberry converts them into new objects anyway).
_IMMUTABLE = (str, int, float, bool, type(None), Enum, date, datetime, time, Decimal, UUID)

# Values that are never awaitable; cheaper to test than calling `is_awaitable`.
PLAIN = frozenset({str, int, float, bool, type(None), dict, list})

# The Strawberry field behind a graphql-core field (strawberry.schema.schema_converter).
_STRAWBERRY_FIELD = "strawberry-definition"


def shareable(arguments: dict[str, Any]) -> bool:
    return all(isinstance(value, _IMMUTABLE) for value in arguments.values())


def _uses_variables(node: Node | None) -> bool:
    if node is None:
        return False
    if isinstance(node, VariableNode):
        return True
    if isinstance(node, ListValueNode):
        return any(_uses_variables(value) for value in node.values)
    if isinstance(node, ObjectValueNode):
        return any(_uses_variables(field.value) for field in node.fields)
    return False


def _named(type_: GraphQLOutputType) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def _needs_info(type_: GraphQLOutputType) -> bool:
    """Whether completing a value of this type may call something that takes the resolve
    info (a type resolver, `is_type_of`, graphql-core's completion of async iterables)."""
    named = _named(type_)
    if is_abstract_type(named) or (is_object_type(named) and named.is_type_of is not None):
        return True
    wrapped = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    return isinstance(wrapped, GraphQLList)


def default_attribute(field_def: GraphQLField) -> str | None:
    """The attribute a field without a resolver of its own reads (Strawberry's basic fields:
    `getattr(source, python_name)`), or None when the field's resolver must be called."""
    resolve = field_def.resolve
    strawberry_field = (field_def.extensions or {}).get(_STRAWBERRY_FIELD)
    if (
        resolve is None
        or not getattr(resolve, "_is_default", False)
        or hasattr(resolve, "__wrapped__")
        or strawberry_field is None
        or strawberry_field.base_resolver is not None
        or strawberry_field.extensions
        or strawberry_field.default_resolver is not getattr
    ):
        return None
    return strawberry_field.python_name


class ObjectPlan:
    """The steps of one selection on one object type, in response order."""

    __slots__ = ("steps",)

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps


class Selection:
    """The selection below one field for one object type, compiled on first use."""

    __slots__ = ("details", "object_type", "plan")

    def __init__(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> None:
        self.object_type = object_type
        self.details = details
        self.plan: ObjectPlan | None = None

    def get(self, executor: PlanExecutor) -> ObjectPlan:
        plan = self.plan
        if plan is None:
            collected = collect_subfields(
                executor.schema,
                executor.fragments,
                executor.variable_values,
                executor.operation,
                self.object_type,
                self.details,
                executor.hide_suggestions,
            )
            plan = self.plan = object_plan(executor, self.object_type, collected.grouped_field_set)
        return plan


class Step:
    """One response key of a selection: how its value is resolved and completed."""

    __slots__ = (
        "arguments",
        "complete",
        "details",
        "field_def",
        "key",
        "label",
        "node",
        "nodes",
        "parent_type",
        "return_type",
        "run",
        "selections",
        "shared_arguments",
    )

    def __init__(
        self,
        key: str,
        parent_type: GraphQLObjectType,
        field_def: GraphQLField,
        details: FieldDetailsList,
    ) -> None:
        self.key = key
        self.parent_type = parent_type
        self.field_def = field_def
        self.details = details
        self.node = details[0].node
        self.nodes = [d.node for d in details]
        self.return_type = field_def.type
        self.label = f"{parent_type}.{self.node.name.value}"
        # Literal arguments coerced once (None: coerced per call from the variables).
        self.arguments: dict[str, Any] | None = None
        self.shared_arguments = False
        self.complete: Completer = _unset_completer
        self.run: Runner = _unset_runner
        # The object selections below this field, one per object type a value may have.
        self.selections: list[Selection] = []


def _unset_completer(*_: Any) -> Any:  # pragma: no cover - replaced while compiling
    raise AssertionError("step not compiled")


def _unset_runner(*_: Any) -> Any:  # pragma: no cover - replaced while compiling
    raise AssertionError("step not compiled")


def object_plan(
    executor: PlanExecutor,
    parent_type: GraphQLObjectType,
    grouped_field_set: dict[str, FieldDetailsList],
) -> ObjectPlan:
    steps = []
    for key, details in grouped_field_set.items():
        field_def = executor.schema.get_field(parent_type, details[0].node.name.value)
        if field_def is None:
            continue  # graphql-core leaves such a key out of the response too
        steps.append(compile_step(executor, key, parent_type, field_def, details))
    return ObjectPlan(steps)


def compile_operation(
    executor: PlanExecutor,
    root_type: GraphQLObjectType,
    grouped_field_set: dict[str, FieldDetailsList],
) -> ObjectPlan:
    """The plan of an operation, every selection below the root compiled now (for each type
    an abstract field's value may have), so that running it compiles nothing."""
    root = object_plan(executor, root_type, grouped_field_set)
    pending = [root]
    while pending:
        for step in pending.pop().steps:
            pending.extend(selection.get(executor) for selection in step.selections)
    return root


def compile_step(
    executor: PlanExecutor,
    key: str,
    parent_type: GraphQLObjectType,
    field_def: GraphQLField,
    details: FieldDetailsList,
) -> Step:
    step = Step(key, parent_type, field_def, details)
    node = step.node
    if field_def.args or node.arguments:
        if not any(_uses_variables(argument.value) for argument in node.arguments or ()):
            try:
                coerced = get_argument_values(
                    field_def, node, executor.variable_values, None, executor.hide_suggestions
                )
            except GraphQLError:
                coerced = None  # raised again, where graphql-core raises it, on each call
            if coerced is not None and shareable(coerced):
                step.arguments = coerced
        else:
            step.shared_arguments = True
    else:
        step.arguments = {}
    step.complete = completer(step, step.return_type, executor.schema)
    step.run = runner(step)
    return step


# ------------------------------------------------------------------------------ runners


def runner(step: Step) -> Runner:
    """How a step resolves its value: a constant for `__typename`, an attribute read for a
    field without a resolver, else a call of the field's resolver with its arguments (past
    Strawberry's generic wrapper where that would only pass them on, resolver_calls.py)."""
    key, parent_name = step.key, step.parent_type.name
    field_def = step.field_def
    if step.node.name.value == "__typename":

        def typename(executor: PlanExecutor, source: Any, parent_path: Path | None) -> Any:
            return parent_name

        return typename

    attribute = default_attribute(field_def)
    needs_info = _needs_info(step.return_type)
    if attribute is not None:
        return _attribute_runner(step, attribute, needs_info)

    direct = resolver_call(field_def)

    def call(executor: PlanExecutor, source: Any, parent_path: Path | None) -> Any:
        path = Path(parent_path, key, parent_name)
        info = executor.build_resolve_info(field_def, step.nodes, step.parent_type, path)
        try:
            arguments = step.arguments
            if arguments is None:
                arguments = executor.plan_arguments(step)
            if direct is not None:
                result = direct(source, info, arguments)
            else:
                result = (field_def.resolve or executor.field_resolver)(source, info, **arguments)
        except Exception as raw_error:
            executor.handle_field_error(raw_error, field_def.type, step.details, path)
            return None
        return executor.plan_complete(step, info, path, result)

    return call


def _attribute_runner(step: Step, attribute: str, needs_info: bool) -> Runner:
    """A field without a resolver of its own: the attribute is read here, and a String, ID,
    Boolean or 32-bit Int value is its own serialisation, so it is returned as it is."""
    key, parent_name, field_def = step.key, step.parent_type.name, step.field_def
    fast = _fast_class(step.return_type)

    def read(executor: PlanExecutor, source: Any, parent_path: Path | None) -> Any:
        try:
            result = getattr(source, attribute)
        except Exception as raw_error:
            path = Path(parent_path, key, parent_name)
            executor.handle_field_error(raw_error, field_def.type, step.details, path)
            return None
        if result.__class__ is fast and (
            fast is not int or GRAPHQL_MIN_INT <= result <= GRAPHQL_MAX_INT
        ):
            return result
        path = Path(parent_path, key, parent_name)
        info = (
            executor.build_resolve_info(field_def, step.nodes, step.parent_type, path)
            if needs_info
            else None
        )
        return executor.plan_complete(step, info, path, result)

    return read


def _fast_class(type_: GraphQLOutputType) -> type | None:
    """The Python class whose values a built-in scalar serialises to themselves."""
    named = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
    if named is GraphQLString or named is GraphQLID:
        return str
    if named is GraphQLBoolean:
        return bool
    if named is GraphQLInt:
        return int
    return None


# ---------------------------------------------------------------------------- completers


def completer(step: Step, type_: GraphQLOutputType, schema: GraphQLSchema) -> Completer:
    """graphql-core's `complete_value`, specialised for one return type."""
    if isinstance(type_, GraphQLNonNull):
        inner = type_.of_type
        if isinstance(inner, GraphQLNonNull):  # pragma: no cover - not a valid schema
            raise TypeError("non-null of non-null")
        return _kind(step, inner, schema, non_null=True)
    return _kind(step, type_, schema, non_null=False)


def _kind(step: Step, type_: GraphQLOutputType, schema: GraphQLSchema, non_null: bool) -> Completer:
    if isinstance(type_, GraphQLList):
        return _list_completer(step, type_, schema, non_null)
    if is_leaf_type(type_):
        return _leaf_completer(step, type_, non_null)
    if is_abstract_type(type_):
        return _abstract_completer(step, type_, schema, non_null)
    if is_object_type(type_):
        return _object_completer(step, type_, non_null)
    raise TypeError(f"Cannot complete value of unexpected output type: '{type_}'.")


def _null_error(step: Step) -> TypeError:
    return TypeError(f"Cannot return null for non-nullable field {step.label}.")


def _no_value(step: Step, non_null: bool, result: Any) -> None:
    """graphql-core's first checks of `complete_value`, for a result that is an exception,
    None or Undefined: the exception is raised, a null is None unless the field is non-null."""
    if isinstance(result, Exception):
        raise result
    if non_null:
        raise _null_error(step)
    return None


def _leaf_completer(step: Step, type_: GraphQLLeafType, non_null: bool) -> Completer:
    if isinstance(type_, GraphQLEnumType):
        return _enum_completer(step, type_, non_null)
    return _coercing_completer(step, type_, non_null, _fast_class(type_))


def _coercing_completer(
    step: Step, type_: GraphQLLeafType, non_null: bool, fast: type | None
) -> Completer:
    """A leaf value serialised by its type (a value of the class `fast`, if any, returned as
    it is, as the built-in scalars would serialise it)."""
    coerce = type_.coerce_output_value

    def complete_leaf(executor: PlanExecutor, info: Any, path: Path, result: Any) -> Any:
        if result.__class__ is fast and (
            fast is not int or GRAPHQL_MIN_INT <= result <= GRAPHQL_MAX_INT
        ):
            return result
        if result is None or result is Undefined or isinstance(result, Exception):
            return _no_value(step, non_null, result)
        coerced = coerce(result)
        if coerced is Undefined or coerced is None:
            # graphql-core's own message for it.
            return executor.complete_leaf_value(type_, result)
        return coerced

    return complete_leaf


def _enum_completer(step: Step, type_: GraphQLEnumType, non_null: bool) -> Completer:
    """An enum's name for a Python enum member, looked up once per member: Strawberry's enum
    type scans all its values on every call."""
    coerce = type_.coerce_output_value
    names: dict[tuple[type, Enum], Any] = {}
    complete_other = _coercing_completer(step, type_, non_null, None)

    def complete_enum(executor: PlanExecutor, info: Any, path: Path, result: Any) -> Any:
        if isinstance(result, Enum):
            # By class too: members of two str-valued enums may be equal to each other.
            key = (result.__class__, result)
            name = names.get(key)
            if name is None:
                name = coerce(result)
                if name is Undefined or name is None:
                    return executor.complete_leaf_value(type_, result)
                names[key] = name
            return name
        return complete_other(executor, info, path, result)

    return complete_enum


def _object_completer(step: Step, type_: GraphQLObjectType, non_null: bool) -> Completer:
    selection = Selection(type_, step.details)
    step.selections.append(selection)
    is_type_of = type_.is_type_of
    details = step.details

    def complete_object(executor: PlanExecutor, info: Any, path: Path, result: Any) -> Any:
        if result is None or result is Undefined or isinstance(result, Exception):
            return _no_value(step, non_null, result)
        if is_type_of is not None:
            matches = is_type_of(result, info)
            if executor.is_awaitable(matches):
                return executor.plan_checked_object(matches, selection, path, result)
            if not matches:
                raise invalid_return_type_error(type_, result, details)
        plan = selection.plan or selection.get(executor)
        return executor.plan_fields(plan, result, path)

    return complete_object


def _abstract_completer(
    step: Step, type_: GraphQLAbstractType, schema: GraphQLSchema, non_null: bool
) -> Completer:
    details = step.details
    # A completer for every type a value may turn out to have, so all is compiled up front.
    by_type: dict[GraphQLObjectType, Completer] = {
        object_type: _object_completer(step, object_type, non_null)
        for object_type in schema.get_possible_types(type_)
    }

    def for_type(object_type: GraphQLObjectType) -> Completer:
        found = by_type.get(object_type)
        if found is None:  # not a possible type: ensure_valid_runtime_type refused it already
            found = by_type[object_type] = _object_completer(step, object_type, non_null)
        return found

    def complete_abstract(executor: PlanExecutor, info: Any, path: Path, result: Any) -> Any:
        if result is None or result is Undefined or isinstance(result, Exception):
            return _no_value(step, non_null, result)
        resolve_type = type_.resolve_type or executor.type_resolver
        runtime_type = resolve_type(result, info, type_)
        if executor.is_awaitable(runtime_type):
            return executor.plan_resolved_abstract(
                runtime_type, type_, for_type, details, info, path, result
            )
        object_type = executor.ensure_valid_runtime_type(runtime_type, type_, details, info, result)
        return for_type(object_type)(executor, info, path, result)

    return complete_abstract


def _list_completer(
    step: Step, type_: GraphQLList, schema: GraphQLSchema, non_null: bool
) -> Completer:
    item_type = type_.of_type
    complete_item = completer(step, item_type, schema)
    details = step.details
    message = f"Expected Iterable, but did not find one for field '{step.label}'."
    leaf_items = is_leaf_type(
        item_type.of_type if isinstance(item_type, GraphQLNonNull) else item_type
    )

    def complete_list(executor: PlanExecutor, info: Any, path: Path, result: Any) -> Any:
        if result.__class__ is not list:
            if result is None or result is Undefined or isinstance(result, Exception):
                return _no_value(step, non_null, result)
            if executor.is_async_iterable(result):
                return executor.complete_list_value(type_, details, info, path, result, None)
            if not is_iterable(result):
                raise GraphQLError(message)
        return executor.plan_items(
            complete_item, item_type, details, info, path, result, leaf_items
        )

    return complete_list
