"""The label of an operation in the metrics: a fixed set (registered operation names and the
schema's root fields), so a client cannot grow the metrics by naming its operations."""

from __future__ import annotations

from graphql import DocumentNode, FieldNode, GraphQLError, GraphQLSchema, OperationDefinitionNode

from resolvers.metrics import OTHER, operation_label
from schema.limits import selected_operation
from web.parsing import parse_document


def metrics_label(
    document: DocumentNode | GraphQLError,
    operation_name: str | None,
    registered: frozenset[str],
    root_fields: frozenset[str],
) -> str:
    """The operation's label in the metrics: its name when a registered document declares it,
    else its root field when it selects exactly one of the schema's, else `other`."""
    if not isinstance(document, DocumentNode):
        return OTHER
    chosen = selected_operation(document, operation_name)
    if chosen is None:
        return OTHER
    if chosen.name is not None and chosen.name.value in registered:
        return chosen.name.value
    selections = [
        s
        for s in chosen.selection_set.selections
        if not (isinstance(s, FieldNode) and s.name.value == "__typename")
    ]
    if len(selections) == 1 and isinstance(selections[0], FieldNode):
        return operation_label(selections[0].name.value, root_fields)
    return OTHER


def registered_operation_names(documents: list[str]) -> frozenset[str]:
    """The operation names of the registered documents (PERSISTED_QUERIES_FILE)."""
    names = set()
    for query in documents:
        document = parse_document(query, 1_000_000)
        if isinstance(document, DocumentNode):
            names.update(
                d.name.value
                for d in document.definitions
                if isinstance(d, OperationDefinitionNode) and d.name is not None
            )
    return frozenset(names)


def schema_root_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Every field of Query, Mutation and Subscription: a fixed set of labels."""
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return frozenset(name for root in roots if root is not None for name in root.fields)
