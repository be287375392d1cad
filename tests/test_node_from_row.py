"""Node.from_row: the global ID from the GraphQL type name, same-named row fields copied (an
enum field's text as its member), what is passed wins, and a relation that is not loaded is
refused rather than served."""

from __future__ import annotations

import strawberry

from persistence.models import Office as OfficeRow
from persistence.models import Person as PersonRow
from schema.common import Node, described_enum, from_global_id
from schema.offices import Office
from schema.persons import Person


async def test_fields_are_copied_and_the_id_is_the_graphql_type_names(app):
    row = await OfficeRow.get(code="BJ-DC")
    office = Office.from_row(row)
    assert from_global_id(office.id) == ("Office", row.id)
    assert (office.code, office.city, office.phone) == (row.code, row.city, row.phone)
    assert office.row is row
    assert (office.location.latitude, office.location.longitude) == (row.latitude, row.longitude)


async def test_a_value_passed_wins_over_the_rows(app):
    row = await PersonRow.all().first()
    person = Person.from_row(row, surname="Elsewhere")
    assert (person.surname, person.given_names) == ("Elsewhere", row.given_names)


async def test_a_relation_that_is_not_loaded_is_refused(app):
    @strawberry.type(name="Probe")
    class Probe(Node):
        hours: int

    row = await OfficeRow.get(code="BJ-DC")
    try:
        Probe.from_row(row)
    except TypeError as exc:
        assert "Probe.hours" in str(exc)
    else:
        raise AssertionError("an unloaded relation was copied into a field")


Colour = described_enum("Colour", "A colour.", {"RED": "Red.", "BLUE": "Blue."})


@strawberry.type(name="Paint")
class Paint(Node):
    code: Colour
    city: Colour | None


async def test_an_enum_fields_text_becomes_its_member_and_null_stays_null():
    class Row:
        id, code, city = 1, "BLUE", None

    paint = Paint.from_row(Row())
    assert (paint.code, paint.city) == (Colour.BLUE, None)
    assert Paint.from_row(Row(), city="RED").city == "RED"  # a value passed is taken as given
