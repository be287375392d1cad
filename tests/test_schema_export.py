"""The committed schema.graphql is what the code exports, and everything is described."""

from pathlib import Path

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLUnionType,
)

from schema import schema

ROOT = Path(__file__).resolve().parent.parent


def test_schema_graphql_is_up_to_date():
    committed = (ROOT / "schema.graphql").read_text()
    assert committed.strip() == schema.as_str().strip(), (
        "schema.graphql is stale: run `make schema` and review the diff as a client would"
    )


def test_every_type_field_and_argument_has_a_description():
    missing = []
    for name, gtype in schema._schema.type_map.items():
        if name.startswith("__") or name in {"String", "Int", "Float", "Boolean", "ID"}:
            continue
        if not gtype.description:
            missing.append(name)
        if isinstance(gtype, GraphQLObjectType | GraphQLInterfaceType | GraphQLInputObjectType):
            for field_name, field in gtype.fields.items():
                if not field.description:
                    missing.append(f"{name}.{field_name}")
                for arg_name, arg in getattr(field, "args", {}).items():
                    if not arg.description:
                        missing.append(f"{name}.{field_name}({arg_name})")
        if isinstance(gtype, GraphQLEnumType):
            missing.extend(f"{name}.{v}" for v, val in gtype.values.items() if not val.description)
    assert missing == []


def _conflicts(members: list[GraphQLObjectType]) -> list[str]:
    """Fields of the same name with different types (or arguments) in two members: selecting
    both in one selection set without aliases is invalid (OverlappingFieldsCanBeMerged)."""
    found = []
    for i, first in enumerate(members):
        for second in members[i + 1 :]:
            for name in first.fields.keys() & second.fields.keys():
                a, b = first.fields[name], second.fields[name]
                if str(a.type) != str(b.type):
                    found.append(f"{first.name}.{name}: {a.type} vs {second.name}.{name}: {b.type}")
    return found


def test_no_two_members_of_a_union_share_a_field_name_with_different_types():
    conflicts = []
    for name, gtype in schema._schema.type_map.items():
        if isinstance(gtype, GraphQLUnionType):
            conflicts += [f"{name}: {c}" for c in _conflicts(list(gtype.types))]
    assert conflicts == [], "rename one of the fields so clients can select both without aliases"


def test_the_union_check_finds_a_conflict_when_there_is_one():
    from graphql import GraphQLField, GraphQLNonNull, GraphQLString

    nullable = GraphQLObjectType("A", {"x": GraphQLField(GraphQLString)})
    required = GraphQLObjectType("B", {"x": GraphQLField(GraphQLNonNull(GraphQLString))})
    assert _conflicts([nullable, required]) == ["A.x: String vs B.x: String!"]


def test_the_natural_booking_query_of_a_client_is_valid():
    from graphql import parse, validate

    document = parse(
        """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
          __typename
          ... on BookingConfirmed { appointment { id reference } }
          ... on AlreadyBooked { message existing { id reference } }
          ... on SlotUnavailable { message }
          ... on NotPermitted { message }
          ... on ValidationError { message field }
          ... on RateLimited { message retryAfterSeconds } } }"""
    )
    assert validate(schema._schema, document) == []
