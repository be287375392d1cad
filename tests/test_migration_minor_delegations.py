"""Migration 0015 on a database that holds delegations made before a minor's representation
ended at 18: those ACTIVE for a minor without an account (neither answered nor confirmed) get
the day before the 18th birthday as their last day, a helper's earlier last day kept; those
an officer confirmed or the dependant accepted stay as they are. On a fresh database of its
own (SQLite, or PostgreSQL in that pass), migrated in a fresh interpreter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from tests.migration_scenarios import in_fresh_database, insert_account, run_steps

BEFORE = "models.0014_delegation_one_open"


def _scenario(database_url: str) -> dict[str, Any]:
    async def steps() -> dict[str, Any]:
        from tortoise import Tortoise
        from tortoise.migrations.api import migrate

        import settings as settings_module
        from persistence.models import Delegation, Person

        config = settings_module.Settings(database_url=database_url).tortoise_config()
        await migrate(config=config, target=BEFORE)
        await Tortoise.init(config=config)
        helper = await insert_account("helper@migration.test")
        officer = await insert_account("officer@migration.test")

        async def person(n: int, born: date) -> int:
            row = await Person.create(
                surname=f"Minor{n}",
                given_names="Test",
                surname_key=f"MINOR{n}",
                nationality="GBR",
                birth_date=born,
                sex="F",
                subject=f"migration-0015-{n}",
            )
            return row.id

        async def delegation(person_id: int, **values: Any) -> int:
            row = await Delegation.create(
                helper_id=helper.id,
                dependant_id=person_id,
                relationship="CHILD",
                scopes=["BOOK_APPOINTMENTS"],
                **{"status": "ACTIVE", **values},
            )
            return row.id

        at = datetime(2020, 5, 1, tzinfo=UTC)
        made = {
            "open_ended": await delegation(await person(1, date(2010, 6, 15))),
            "later_end": await delegation(
                await person(2, date(2008, 2, 29)), valid_until=date(2030, 1, 1)
            ),
            "earlier_end": await delegation(
                await person(3, date(2010, 6, 15)), valid_until=date(2027, 1, 1)
            ),
            "confirmed": await delegation(
                await person(4, date(2010, 6, 15)), confirmed_by_id=officer.id, responded_at=at
            ),
            "accepted": await delegation(await person(5, date(2010, 6, 15)), responded_at=at),
            "pending": await delegation(await person(6, date(2010, 6, 15)), status="PENDING"),
        }
        await Tortoise.close_connections()

        await migrate(config=config)
        await Tortoise.init(config=config)
        return {name: (await Delegation.get(id=i)).valid_until for name, i in made.items()}

    return run_steps(steps)


async def test_migration_0015_ends_a_minors_delegation_at_coming_of_age(database_url: str):
    outcome = await in_fresh_database(_scenario, "migration-0015")

    assert outcome == {
        "open_ended": date(2028, 6, 14),
        "later_end": date(2026, 2, 28),  # born 29 February: 18 on 1 March
        "earlier_end": date(2027, 1, 1),
        "confirmed": None,
        "accepted": None,
        "pending": None,
    }, outcome
