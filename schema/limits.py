"""What a query may cost: an estimate in the style of GitHub's and Shopify's, made before any
resolver runs, from the document and the schema's types alone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)

DEFAULT_PAGE = 20
MAX_PAGE = 100
# A plain list field of unknown length is assumed to hold this many items.
LIST_ESTIMATE = 10
MUTATION_COST = 10


@dataclass(frozen=True)
class Cost:
    requested: int


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


class _Estimator:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection(
        self,
        selection_set: SelectionSetNode | None,
        parent: Any,
        seen: frozenset[str] = frozenset(),
    ) -> int:
        if selection_set is None:
            return 0
        total = 0
        for node in selection_set.selections:
            if isinstance(node, FieldNode):
                total += self.field(node, parent, seen)
            elif isinstance(node, InlineFragmentNode):
                target = parent
                if node.type_condition is not None:
                    target = self.schema.get_type(node.type_condition.name.value) or parent
                total += self.selection(node.selection_set, target, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                target = self.schema.get_type(fragment.type_condition.name.value) or parent
                total += self.selection(fragment.selection_set, target, seen | {name})
        return total

    def field(self, node: FieldNode, parent: Any, seen: frozenset[str]) -> int:
        name = node.name.value
        if name.startswith("__"):
            return 0
        if isinstance(parent, GraphQLUnionType) or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return 0
        definition = parent.fields.get(name)
        if definition is None:
            return 0
        named, is_list = _unwrap(definition.type)
        if node.selection_set is None:
            return 0
        first = _first(node, self.variables)
        if "first" in definition.args:
            multiplier = min(max(first if first is not None else DEFAULT_PAGE, 0), MAX_PAGE)
        elif name == "edges":
            multiplier = 1  # the connection's page size already counts its edges
        elif is_list:
            multiplier = LIST_ESTIMATE
        else:
            multiplier = 1
        children = self.selection(node.selection_set, named, seen)
        return 1 + multiplier * children if multiplier else 1


def estimate(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: dict[str, Any] | None,
) -> Cost:
    """The cost of the operation that would run: 1 per object field, multiplied by the page
    size (`first`, default 20, at most 100) or a list estimate for what sits below lists."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    chosen = next(
        (
            o
            for o in operations
            if operation_name is None or (o.name and o.name.value == operation_name)
        ),
        None,
    )
    if chosen is None:
        return Cost(0)
    root = {
        "query": schema.query_type,
        "mutation": schema.mutation_type,
        "subscription": schema.subscription_type,
    }[chosen.operation.value]
    estimator = _Estimator(schema, fragments, variables or {})
    cost = estimator.selection(chosen.selection_set, root)
    if chosen.operation.value == "mutation":
        cost += MUTATION_COST
    return Cost(cost)
