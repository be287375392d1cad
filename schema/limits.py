"""What a query may cost: an estimate in the style of GitHub's and Shopify's, made before any
resolver runs, from the document and the schema's types alone.

Introspection is costed like any other selection (1 per object, multiplied by list sizes), but
its lists are estimated at the served schema's real sizes, since the data it reads is the schema
itself: `__schema { types }` counts every type, a type's `fields` the mean number of fields per
type (so `types { fields }` counts every field once), and `__type(name: "X")` the sizes of X
itself. GraphiQL's standard introspection query thus costs about the number of objects its
answer holds (about 1,700 here), while an alias flood of `__schema` costs that many times over.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SchemaMetaFieldDef,
    SelectionSetNode,
    StringValueNode,
    TypeMetaFieldDef,
    VariableNode,
    value_from_ast_untyped,
)

# LIST_ESTIMATE: a plain list field of unknown length is assumed to hold this many items.
# Work beyond reading, in points (QR_PNG_POINTS, QR_SVG_POINTS, PDF_POINTS), is declared on the
# field (`strawberry.field(metadata={"cost": n})`) and added to its cost; resolvers/budget.py
# holds these figures, with what is paid as it is done.
from resolvers.budget import LIST_ESTIMATE, PDF_POINTS, QR_PNG_POINTS, QR_SVG_POINTS  # noqa: F401
from settings import Settings

DEFAULT_PAGE = 20
MUTATION_COST = 10


@dataclass(frozen=True)
class Cost:
    requested: int
    # Of which: the points of the work fields declare (drawing QR codes), as many times as
    # the estimate counted them; what is drawn beyond them is paid as it is drawn.
    work: int = 0


def _metadata(definition: Any) -> dict[str, Any]:
    field = (getattr(definition, "extensions", None) or {}).get("strawberry-definition")
    return getattr(field, "metadata", None) or {}


def declared_cost(definition: Any) -> int:
    """The points a field declares for the work it does beyond reading (0 when none)."""
    return int(_metadata(definition).get("cost", 0))


def declared_items(
    definition: Any, node: FieldNode, variables: dict[str, Any], settings: Settings
) -> int | None:
    """How many items a list field declares it may answer, from its arguments
    (`strawberry.field(metadata={"items": f})`, f(arguments by name, settings)); None when
    it declares nothing."""
    items = _metadata(definition).get("items")
    if items is None:
        return None
    arguments = {
        argument.name.value: value_from_ast_untyped(argument.value, variables)
        for argument in node.arguments or ()
    }
    return max(int(items(arguments, settings)), 0)


def _unwrap(gtype: Any) -> tuple[Any, bool]:
    is_list = False
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        if isinstance(gtype, GraphQLList):
            is_list = True
        gtype = gtype.of_type
    return gtype, is_list


def _first(node: FieldNode, variables: dict[str, Any]) -> int | None:
    for argument in node.arguments or ():
        if argument.name.value != "first":
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return int(value.value)
        if isinstance(value, VariableNode):
            raw = variables.get(value.name.value)
            return raw if isinstance(raw, int) else None
    return None


# Sizes of introspection lists: (introspection type, field) -> how many items one holds.
Sizes = dict[tuple[str, str], float]


def _type_sizes(schema: GraphQLSchema, named: GraphQLNamedType) -> Sizes:
    """The real sizes of the lists of one type's `__Type` description."""
    fields = named.fields if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else {}
    interfaces = (
        named.interfaces if isinstance(named, GraphQLObjectType | GraphQLInterfaceType) else ()
    )
    possible = (
        schema.get_possible_types(named)
        if isinstance(named, GraphQLInterfaceType | GraphQLUnionType)
        else ()
    )
    return {
        ("__Type", "fields"): len(fields),
        ("__Type", "interfaces"): len(interfaces),
        ("__Type", "possibleTypes"): len(possible),
        ("__Type", "enumValues"): len(named.values) if isinstance(named, GraphQLEnumType) else 0,
        ("__Type", "inputFields"): (
            len(named.fields) if isinstance(named, GraphQLInputObjectType) else 0
        ),
    }


@functools.lru_cache(maxsize=8)
def _introspection_sizes(schema: GraphQLSchema) -> Sizes:
    """Mean sizes of the introspection lists over the whole schema: a list under every type
    (`types { fields }`) then counts each of the schema's fields once."""
    types = list(schema.type_map.values())
    totals: dict[tuple[str, str], float] = {}
    field_count = arg_count = 0
    references: list[Any] = [a.type for d in schema.directives for a in d.args.values()]
    for named in types:
        for key, size in _type_sizes(schema, named).items():
            totals[key] = totals.get(key, 0) + size
        if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
            field_count += len(named.fields)
            arg_count += sum(len(f.args) for f in named.fields.values())
            for f in named.fields.values():
                references += [f.type, *(a.type for a in f.args.values())]
        elif isinstance(named, GraphQLInputObjectType):
            references += [f.type for f in named.fields.values()]
    sizes: Sizes = {key: total / max(len(types), 1) for key, total in totals.items()}
    directive_args = sum(len(d.args) for d in schema.directives)
    sizes[("__Schema", "types")] = len(types)
    sizes[("__Schema", "directives")] = len(schema.directives)
    sizes[("__Directive", "args")] = directive_args / max(len(schema.directives), 1)
    sizes[("__Field", "args")] = arg_count / max(field_count, 1)
    # `ofType` is set on wrappers (NON_NULL, LIST) only: counted at the rate wrappers occur
    # among the types fields and arguments refer to, a chain costs its mean length.
    wrappers = sum(_wrapper_depth(t) for t in references)
    sizes[("__Type", "ofType")] = wrappers / max(wrappers + len(references), 1)
    return sizes


def _wrapper_depth(gtype: Any) -> int:
    depth = 0
    while isinstance(gtype, GraphQLNonNull | GraphQLList):
        depth += 1
        gtype = gtype.of_type
    return depth


def _type_argument(node: FieldNode, variables: dict[str, Any]) -> str | None:
    for argument in node.arguments or ():
        if argument.name.value != "name":
            continue
        if isinstance(argument.value, StringValueNode):
            return argument.value.value
        if isinstance(argument.value, VariableNode):
            raw = variables.get(argument.value.name.value)
            return raw if isinstance(raw, str) else None
    return None


@dataclass(eq=False)
class _Estimator:
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    variables: dict[str, Any]
    settings: Settings
    # True: count only the declared work (each field's "cost" metadata times the items the
    # estimate takes its lists for), nothing for reading.
    work_only: bool = False
    introspection: Sizes = field(init=False)
    # A fragment's cost on its type condition, by name (and the sizes in force): worked out
    # once however often it is spread, or fragments spreading fragments twice would cost
    # 2^n visits.
    spread: dict[tuple[str, int], float] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.introspection = _introspection_sizes(self.schema)

    def selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        seen: frozenset[str] = frozenset(),
        sizes: Sizes | None = None,
    ) -> float:
        """The cost of a selection on `parent`; `sizes` are the real list sizes of the one
        type a `__type(name:)` selection describes."""
        if selection_set is None:
            return 0
        total = 0.0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, seen, sizes)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value) or parent
                total += self.selection(node.selection_set, target, seen, sizes)
            elif isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value, parent, seen, sizes)
        return total

    def fragment(self, name: str, parent: Any, seen: frozenset[str], sizes: Sizes | None) -> float:
        fragment = self.fragments.get(name)
        if fragment is None or name in seen:
            return 0
        target = self.schema.get_type(fragment.type_condition.name.value)
        key = (name, id(sizes)) if target is not None else (name, id(parent))
        if key not in self.spread:
            self.spread[key] = self.selection(
                fragment.selection_set, target or parent, seen | {name}, sizes
            )
        return self.spread[key]

    def field(
        self, node: FieldNode, parent: Any, seen: frozenset[str], sizes: Sizes | None = None
    ) -> float:
        name = node.name.value
        if isinstance(parent, GraphQLUnionType) or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        if name == "__schema":
            definition = SchemaMetaFieldDef
        elif name == "__type":
            definition = TypeMetaFieldDef
        else:
            definition = parent.fields.get(name)  # `__typename` is a scalar: not found, free
        if definition is None:
            return 0
        named, is_list = _unwrap(definition.type)
        if node.selection_set is None:
            return declared_cost(definition)
        child_sizes: Sizes | None = None
        # Each item of a plain list is an object of its own (1 point), as each node of a page
        # is; a page's edges count theirs already.
        per_item = 0
        first = _first(node, self.variables)
        if parent.name.startswith("__") and (is_list or name == "ofType"):
            key = (parent.name, name)
            multiplier: float = (sizes or self.introspection).get(
                key, self.introspection.get(key, LIST_ESTIMATE)
            )
        elif name == "__type":
            described = self.schema.get_type(_type_argument(node, self.variables) or "")
            if described is None:
                return 0 if self.work_only else 1  # answered with null
            multiplier = 1
            child_sizes = _type_sizes(self.schema, described)
        elif "first" in definition.args:
            page = first if first is not None else DEFAULT_PAGE
            multiplier = min(max(page, 0), self.settings.max_page_size)
        elif name == "edges":
            multiplier = 1  # the connection's page size already counts its edges
        elif is_list:
            declared = declared_items(definition, node, self.variables, self.settings)
            multiplier = LIST_ESTIMATE if declared is None else declared
            per_item = 1
        else:
            multiplier = 1
        children = self.selection(node.selection_set, named, seen, child_sizes)
        if self.work_only:
            return multiplier * children
        return 1 + multiplier * (per_item + children) if multiplier else 1


def expanded_size(document: DocumentNode, limit: int) -> int:
    """How many fields the document's operations select once every fragment spread is
    replaced by its fragment (what any walk of the operations visits), counted with each
    fragment's size worked out once: a 1 KB document whose fragments each spread the next
    twice selects 2^n fields. Counting stops a little past `limit` (the result is then
    greater than `limit`); cycles count nothing (validation refuses them)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    sizes: dict[str, int] = {}
    visiting: set[str] = set()

    def spread(name: str) -> int:
        if name not in sizes:
            fragment = fragments.get(name)
            if fragment is None or name in visiting:
                return 0
            visiting.add(name)
            sizes[name] = selection(fragment.selection_set)
            visiting.discard(name)
        return sizes[name]

    def selection(selection_set: SelectionSetNode | None) -> int:
        total = 0
        for node in selection_set.selections if selection_set is not None else ():
            if isinstance(node, FieldNode):
                total += 1 + selection(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                total += selection(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                total += spread(node.name.value)
            if total > limit:
                return limit + 1
        return total

    total = 0
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            total = min(total + selection(definition.selection_set), limit + 1)
    return total


def selected_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation of `document` that would run: the one named, or the first when no name
    is given; None when the document names no such operation."""
    return next(
        (
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (operation_name is None or (d.name and d.name.value == operation_name))
        ),
        None,
    )


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    settings: Settings | None = None,
) -> Cost:
    """The cost of the operation that would run: 1 per object field and per item of a plain
    list, multiplied by the page size (`first`, default 20, at most the MAX_PAGE_SIZE setting)
    or a list's estimate for what sits below lists: the items the field declares it may
    answer, else LIST_ESTIMATE (introspection lists: their real sizes in this schema)."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    chosen = selected_operation(document, operation_name)
    if chosen is None:
        return Cost(0)
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[chosen.operation.value]
    # A variable the request leaves out takes its default from the operation, as it will
    # when the operation runs: `query($n: Int = 100)` pages 100, not the default page.
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in chosen.variable_definitions or ()
        if d.default_value is not None
    }
    values, settings = {**defaults, **(variables or {})}, settings or Settings()
    estimator = _Estimator(schema, fragments, values, settings)
    cost = math.ceil(round(estimator.selection(chosen.selection_set, root), 6))
    if chosen.operation.value == "mutation":
        cost += MUTATION_COST
    worker = _Estimator(schema, fragments, values, settings, work_only=True)
    work = math.ceil(round(worker.selection(chosen.selection_set, root), 6))
    return Cost(cost, work)
