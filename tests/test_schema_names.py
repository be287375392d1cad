"""Types declared from tables (node_results, plain_error_types, connection_types) are bound to
Python names by position: a name bound to another table entry's type would make a union list
the wrong member. Every type a schema module declares is bound to the name it has in GraphQL."""

from __future__ import annotations

import importlib
import pkgutil
from enum import Enum

import pytest

import schema

MODULES = [
    importlib.import_module(f"schema.{m.name}")
    for m in pkgutil.iter_modules(schema.__path__)
    if not m.ispkg
]


def declared(module: object) -> list[tuple[str, str]]:
    """(Python name, GraphQL name) of each type or enum the module declares itself."""
    found = []
    for name, value in vars(module).items():
        definition = getattr(value, "__strawberry_definition__", None)
        enum_definition = getattr(value, "_enum_definition", None)
        graphql = definition or enum_definition
        if graphql is None or getattr(value, "__module__", None) != module.__name__:
            continue
        found.append((name, graphql.name))
    return found


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_declared_type_is_bound_to_its_graphql_name(module: object) -> None:
    assert [(n, g) for n, g in declared(module) if n != g] == []


def test_the_table_declared_types_are_checked() -> None:
    from schema.common import NotPermitted, SlotUnavailable
    from schema.delegations import DelegationRevoked

    names = {n for m in MODULES for n, _ in declared(m)}
    assert {"NotPermitted", "SlotUnavailable", "DelegationRevoked", "AppointmentStatus"} <= names
    assert NotPermitted.__strawberry_definition__.name == "NotPermitted"
    assert SlotUnavailable.__strawberry_definition__.name == "SlotUnavailable"
    assert DelegationRevoked.__strawberry_definition__.name == "DelegationRevoked"
    assert issubclass(importlib.import_module("schema.appointments").AppointmentStatus, Enum)
