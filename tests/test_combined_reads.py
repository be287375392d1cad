"""Combined reads (persistence/combined_reads.py) return exactly what Tortoise's own queries
return, alone or many in one statement: every model's every column with its value and Python
type, the database's own order, pages, comparisons; and reads inside a transaction stay in
it. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tortoise import Tortoise
from tortoise.exceptions import OperationalError
from tortoise.models import Model
from tortoise.transactions import in_transaction

from persistence import statement_counter
from persistence.combined_reads import combining, select
from persistence.demo.records import person_with_records
from persistence.models import Account, Application, Appointment, Document, Office


def same_rows(expected: list[Model], found: list[Model]) -> None:
    assert [row.pk for row in found] == [row.pk for row in expected]
    for want, got in zip(expected, found, strict=True):
        for name in type(want)._meta.fields_db_projection:
            a, b = getattr(want, name), getattr(got, name)
            assert a == b, (type(want).__name__, name, a, b)
            assert type(a) is type(b), (type(want).__name__, name, type(a), type(b))


async def rows_of_every_model() -> dict[type[Model], list[Model]]:
    """Up to five rows of each model the session database has rows of, read by Tortoise."""
    found = {}
    for model in Tortoise.apps["models"].values():
        try:
            rows = await model.all().order_by(model._meta.pk_attr).limit(5)
        except OperationalError:  # a table another change has not migrated yet
            continue
        if rows:
            found[model] = rows
    return found


async def test_every_model_reads_the_same_alone_and_all_in_one_statement(app):
    await person_with_records(2, surname="Combined", now=datetime(2026, 11, 1, tzinfo=UTC))
    expected = await rows_of_every_model()
    assert len(expected) >= 20, sorted(m.__name__ for m in expected)

    for model, rows in expected.items():
        same_rows(rows, await select(model, {model._meta.pk_attr: [r.pk for r in rows]}))

    with statement_counter.counting() as count, combining():
        found = await asyncio.gather(
            *(select(m, {m._meta.pk_attr: [r.pk for r in rows]}) for m, rows in expected.items())
        )
    for rows, got in zip(expected.values(), found, strict=True):
        same_rows(rows, got)
    assert count.total == 1


async def test_order_pages_and_comparisons_are_the_databases(app):
    email = await person_with_records(9, surname="Paged", now=datetime(2026, 11, 1, tzinfo=UTC))
    person_id = (await Account.get(email=email)).person_id
    office = await Office.get(code="BJ-DC")
    # The middle appointment's start, in UTC (as the code compares times: SQLite compares
    # the stored text, and Tortoise, like these reads, sends an aware time as it is).
    starts = await Appointment.filter(applicant_id=person_id).order_by("starts_at", "id")
    since = starts[len(starts) // 2].starts_at.astimezone(UTC)

    async def both() -> list[list[Model]]:
        return list(
            await asyncio.gather(
                select(Document, {"person_id": [person_id]}, ("-valid_until", "-id")),
                select(Application, {"applicant_id": [person_id]}, ("-submitted_at", "-id")),
                select(
                    Application,
                    {"applicant_id": [person_id], "status": ["UNDER_REVIEW"]},
                    ("-submitted_at", "-id"),
                    offset=2,
                    limit=3,
                ),
                select(Application, {"office_id": [office.id]}, ("submitted_at", "id"), offset=4),
                select(
                    Appointment,
                    {"applicant_id": [person_id], "starts_at__gte": since},
                    ("starts_at", "id"),
                    limit=4,
                ),
                select(Appointment, {"applicant_id": [person_id], "starts_at__lt": since}),
            )
        )

    expected = [
        await Document.filter(person_id=person_id).order_by("-valid_until", "-id"),
        await Application.filter(applicant_id=person_id).order_by("-submitted_at", "-id"),
        await Application.filter(applicant_id=person_id, status="UNDER_REVIEW")
        .order_by("-submitted_at", "-id")
        .offset(2)
        .limit(3),
        await Application.filter(office_id=office.id).order_by("submitted_at", "id").offset(4),
        await Appointment.filter(applicant_id=person_id, starts_at__gte=since)
        .order_by("starts_at", "id")
        .limit(4),
        await Appointment.filter(applicant_id=person_id, starts_at__lt=since).order_by("id"),
    ]
    assert len(expected[0]) == 9 and len(expected[2]) == 3 and len(expected[4]) == 4
    assert expected[5], "the appointments are split by the comparison"
    alone = await both()
    with combining():
        combined = await both()
    for want, got_alone, got_combined in zip(expected, alone, combined, strict=True):
        same_rows(want, got_alone)
        same_rows(want, got_combined)


async def test_nothing_asked_for_sends_nothing(app):
    with statement_counter.counting() as count, combining():
        assert await select(Office, {"id": []}) == []
        assert await select(Office, {"id": [1]}, limit=0) == []
    assert count.total == 0


async def test_reads_inside_a_transaction_see_its_writes(app):
    office = await Office.get(code="BJ-DC")
    with combining():
        async with in_transaction():
            await Office.filter(id=office.id).update(phone="+86 10 0000 0000")
            inside, _ = await asyncio.gather(
                select(Office, {"id": [office.id]}), select(Office, {"code": ["SH-PD"]})
            )
            assert inside[0].phone == "+86 10 0000 0000"
            await Office.filter(id=office.id).update(phone=office.phone)
    assert (await select(Office, {"id": [office.id]}))[0].phone == office.phone


async def test_a_failed_statement_fails_every_read_in_it(app):
    with combining():
        results = await asyncio.gather(
            select(Office, {"code": ["BJ-DC"]}),
            select(Application, {"no_such_field": [1]}),
            return_exceptions=True,
        )
        assert all(isinstance(r, KeyError) for r in results), results
        assert [o.code for o in await select(Office, {"code": ["BJ-DC"]})] == ["BJ-DC"]
