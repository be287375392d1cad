"""Migration 0019 on a database that holds documents issued before replacements were recorded:
each document issued on an extension, renewal or reissuance application marks the holder's
earlier documents of its kind still valid on the day it took effect as replaced by it, from
that day (its issue day in Beijing, or its first valid day when later); first issuances,
documents of another kind or another person, and documents ended before, stay as they were. On
a fresh database of its own (SQLite, or PostgreSQL in that pass), in a fresh interpreter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from tests.migration_scenarios import in_fresh_database, insert_account, run_steps

BEFORE = "models.0018_document_application_index"


def _scenario(database_url: str) -> dict[str, Any]:
    async def steps() -> dict[str, Any]:
        from tortoise import Tortoise, connections
        from tortoise.migrations.api import migrate

        import settings as settings_module
        from persistence.models import Application, Document, Office, Person

        config = settings_module.Settings(database_url=database_url).tortoise_config()
        await migrate(config=config, target=BEFORE)
        await Tortoise.init(config=config)
        officer = await insert_account("officer@migration.test")
        office = await Office.create(
            code="MIG-1",
            name_en="Office",
            name_zh="办公室",
            address_en="Road 1",
            address_zh="路1号",
            province="Beijing",
            province_code="11",
            city="Beijing",
            latitude=39.9,
            longitude=116.4,
            phone="010-1",
        )
        client = connections.get("default")
        sqlite = client.capabilities.dialect == "sqlite"
        columns = (
            '"person_id", "application_id", "kind", "category", "number", "valid_from", '
            '"valid_until", "issued_at"'
        )
        marks = ", ".join("?" if sqlite else f"${n}" for n in range(1, 9))
        insert = f'INSERT INTO "document" ({columns}) VALUES ({marks}) RETURNING "id"'  # noqa: S608 (constant text)

        async def person(n: int) -> int:
            row = await Person.create(
                surname=f"Holder{n}",
                given_names="Test",
                surname_key=f"HOLDER{n}",
                nationality="GBR",
                birth_date=date(1980, 1, 1),
                sex="F",
                subject=f"migration-0019-{n}",
            )
            return row.id

        async def document(
            holder: int, service: str | None, kind: str, first: date, last: date, issued: datetime
        ) -> int:
            application = None
            if service is not None:
                application = (
                    await Application.create(
                        number=f"MIG{len(made)}",
                        applicant_id=holder,
                        service=service,
                        office_id=office.id,
                        status="APPROVED",
                        submitted_at=issued,
                        recorded_by_id=officer.id,
                    )
                ).id
            number = f"N{len(made)}"
            rows = await client.execute_query_dict(
                insert, [holder, application, kind, "WORK", number, first, last, issued]
            )
            return int(rows[0]["id"])

        made: dict[str, int] = {}
        one, two = await person(1), await person(2)
        permit = "RESIDENCE_PERMIT"
        at = datetime(2025, 5, 31, 17, 0, tzinfo=UTC)  # 1 June in Beijing
        made["first"] = await document(
            one,
            "RESIDENCE_PERMIT_ISSUANCE",
            permit,
            date(2024, 1, 10),
            date(2026, 1, 9),
            datetime(2024, 1, 10, 2, tzinfo=UTC),
        )
        made["ended_before"] = await document(
            one, None, permit, date(2020, 1, 1), date(2021, 1, 1), datetime(2020, 1, 1, tzinfo=UTC)
        )
        made["visa"] = await document(
            one,
            None,
            "VISA",
            date(2024, 1, 1),
            date(2026, 12, 31),
            datetime(2024, 1, 1, tzinfo=UTC),
        )
        made["renewed"] = await document(
            one, "RESIDENCE_PERMIT_RENEWAL", permit, date(2025, 6, 1), date(2028, 5, 31), at
        )
        made["reissued"] = await document(
            one,
            "RESIDENCE_PERMIT_REISSUANCE",
            permit,
            date(2025, 9, 1),
            date(2028, 5, 31),
            datetime(2025, 8, 20, 3, tzinfo=UTC),  # valid from a later day than its issue
        )
        made["other_first"] = await document(
            two,
            "RESIDENCE_PERMIT_ISSUANCE",
            permit,
            date(2024, 3, 1),
            date(2026, 3, 1),
            datetime(2024, 3, 1, tzinfo=UTC),
        )
        made["other_second"] = await document(
            two,
            "RESIDENCE_PERMIT_ISSUANCE",
            permit,
            date(2025, 3, 1),
            date(2027, 3, 1),
            datetime(2025, 3, 1, tzinfo=UTC),
        )
        # Lost and reissued, with the extension that continues it kept.
        three = await person(3)
        rows = {
            "lost": ("RESIDENCE_PERMIT_ISSUANCE", date(2025, 1, 1), date(2025, 12, 31), 1),
            "follows": ("RESIDENCE_PERMIT_EXTENSION", date(2026, 1, 1), date(2026, 12, 31), 300),
            "reissue": ("RESIDENCE_PERMIT_REISSUANCE", date(2025, 11, 15), date(2025, 12, 31), 318),
        }
        for name, (service, first, last, day) in rows.items():
            issued = datetime(2025, 1, 1, 2, tzinfo=UTC) + timedelta(days=day - 1)
            made[name] = await document(three, service, permit, first, last, issued)
        # A renewal not yet in force when a reissuance in force at once replaced both.
        four = await person(4)
        rows = {
            "held": ("RESIDENCE_PERMIT_ISSUANCE", date(2025, 1, 1), date(2025, 12, 31), 1),
            "renewal": ("RESIDENCE_PERMIT_RENEWAL", date(2025, 12, 20), date(2027, 12, 19), 330),
            "reissue2": ("RESIDENCE_PERMIT_REISSUANCE", date(2025, 12, 2), date(2027, 12, 19), 336),
        }
        for name, (service, first, last, day) in rows.items():
            issued = datetime(2025, 1, 1, 2, tzinfo=UTC) + timedelta(days=day - 1)
            made[name] = await document(four, service, permit, first, last, issued)
        await Tortoise.close_connections()

        await migrate(config=config)
        await Tortoise.init(config=config)
        names = {i: name for name, i in made.items()}
        outcome: dict[str, Any] = {}
        for name, i in made.items():
            row = await Document.get(id=i)
            outcome[name] = (names.get(row.superseded_by_id), row.superseded_on)
        await Tortoise.close_connections()

        # Backward: the columns go, the table's indexes stay (SQLite rebuilds the table).
        await migrate(config=config, target=BEFORE)
        await Tortoise.init(config=config)
        client = connections.get("default")
        if client.capabilities.dialect == "sqlite":
            _, rows = await client.execute_query('PRAGMA table_info("document")')
            columns = {r["name"] for r in rows}
            _, rows = await client.execute_query(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'document'"
            )
        else:
            _, rows = await client.execute_query(
                "SELECT column_name AS name FROM information_schema.columns "
                "WHERE table_name = 'document'"
            )
            columns = {r["name"] for r in rows}
            _, rows = await client.execute_query(
                "SELECT indexname AS name FROM pg_indexes WHERE tablename = 'document'"
            )
        outcome["backward"] = (
            sorted(c for c in columns if c.startswith("superseded")),
            sorted(r["name"] for r in rows if r["name"].startswith("ix_")),
        )
        return outcome

    return run_steps(steps)


async def test_migration_0019_marks_the_documents_replaced_before_it(database_url: str):
    outcome = await in_fresh_database(_scenario, "migration-0019")

    assert outcome == {
        "first": ("renewed", date(2025, 6, 1)),
        "ended_before": (None, None),
        "visa": (None, None),
        "renewed": ("reissued", date(2025, 9, 1)),
        "reissued": (None, None),
        "other_first": (None, None),
        "other_second": (None, None),
        "lost": ("reissue", date(2025, 11, 15)),
        "follows": (None, None),
        "reissue": (None, None),
        "held": ("reissue2", date(2025, 12, 2)),
        "renewal": ("reissue2", date(2025, 12, 2)),
        "reissue2": (None, None),
        "backward": (
            [],
            ["ix_document_application", "ix_document_person", "ix_document_valid_until"],
        ),
    }, outcome
