"""Choosing the language of a text: a field's `lang` argument, else the language the request
negotiated (the context's), else EN; and, for an error, the `lang` of the field it happened
under."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import (
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
)

from domain.languages import LANGUAGES
from resolvers.context import Context
from schema.common import Language
from schema.limits import selected_operation

LANG_ARGUMENT = "lang"


def language(ctx: Context, lang: Language | None) -> Language:
    """The language of a field's text: its `lang` argument wins over the negotiated one."""
    if lang is not None:
        return lang
    return Language(ctx.language.upper())


def pick(ctx: Context, lang: Language | None, en: str, zh: str) -> str:
    return zh if language(ctx, lang) is Language.ZH and zh else en


def _fields(
    selection_set: SelectionSetNode,
    key: str,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[FieldNode]:
    """The fields of a selection answering under response key `key` (an alias or a name),
    through inline fragments and fragment spreads."""
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            if (node.alias or node.name).value == key:
                yield node
        elif isinstance(node, InlineFragmentNode):
            yield from _fields(node.selection_set, key, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                yield from _fields(fragment.selection_set, key, fragments, seen | {node.name.value})


def _lang_given(
    field: FieldNode, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> str | None:
    """The language code a field's `lang` argument names (a literal or a variable)."""
    for argument in field.arguments or ():
        if argument.name.value != LANG_ARGUMENT:
            continue
        value: Any = argument.value
        if isinstance(value, VariableNode):
            name = value.name.value
            if name in variables:
                value = variables[name]
            else:
                value = next(
                    (
                        d.default_value
                        for d in operation.variable_definitions or ()
                        if d.variable.name.value == name
                    ),
                    None,
                )
        if isinstance(value, EnumValueNode | StringValueNode):
            value = value.value
        if isinstance(value, Language):
            value = value.value
        if isinstance(value, str) and value.lower() in LANGUAGES:
            return value.lower()
    return None


def explicit_language(
    document: DocumentNode | None,
    operation_name: str | None,
    variables: dict[str, Any] | None,
    path: Sequence[str | int] | None,
) -> str | None:
    """The language the nearest field on an error's `path` (itself or an ancestor) asks for
    with its `lang` argument; None when none of them has one."""
    if document is None or not path:
        return None
    operation = selected_operation(document, operation_name)
    if operation is None:
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    selection_sets = [operation.selection_set]
    found = None
    for key in path:
        if isinstance(key, int):  # an index into a list: the same fields go on
            continue
        fields = [f for s in selection_sets for f in _fields(s, key, fragments)]
        if not fields:
            break
        for field in fields:
            found = _lang_given(field, operation, variables or {}) or found
        selection_sets = [f.selection_set for f in fields if f.selection_set is not None]
    return found
