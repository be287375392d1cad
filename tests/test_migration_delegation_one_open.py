"""Migration 0014 on a database that already holds what the unlocked addDependant made: several
open delegations of one helper for one dependant. It ends the duplicates (the ACTIVE one, else
the earliest, stays open), then the database refuses a second open delegation for the pair;
backward lets it again. On a fresh database of its own (SQLite, or PostgreSQL in that pass),
migrated in a fresh interpreter: Tortoise keeps one set of connections per process."""

from __future__ import annotations

from datetime import date
from typing import Any

from tests.migration_scenarios import Inserted, in_fresh_database, insert_account, run_steps

BEFORE = "models.0013_document_valid_until_index"


def _scenario(database_url: str) -> dict[str, Any]:
    async def steps() -> dict[str, Any]:
        from tortoise import Tortoise
        from tortoise.exceptions import IntegrityError
        from tortoise.migrations.api import migrate

        import settings as settings_module
        from persistence.models import Delegation, Person

        config = settings_module.Settings(database_url=database_url).tortoise_config()
        await migrate(config=config, target=BEFORE)
        await Tortoise.init(config=config)
        persons = [
            await Person.create(
                surname=f"Dup{n}",
                given_names="Test",
                surname_key=f"DUP{n}",
                nationality="GBR",
                birth_date=date(1980, 1, 1),
                sex="F",
                subject=f"migration-0014-{n}",
            )
            for n in range(3)
        ]
        helpers = [await insert_account(f"helper{n}@migration.test") for n in range(2)]

        async def delegation(helper: Inserted, person: Person, status: str) -> int:
            row = await Delegation.create(
                helper_id=helper.id,
                dependant_id=person.id,
                relationship="CHILD",
                scopes=["BOOK_APPOINTMENTS"],
                status=status,
            )
            return row.id

        made = {
            # PENDING before ACTIVE: the ACTIVE one stays.
            "pending_then_active": [
                await delegation(helpers[0], persons[0], s) for s in ("PENDING", "ACTIVE", "ACTIVE")
            ],
            # Two PENDING: the earlier stays.
            "two_pending": [
                await delegation(helpers[0], persons[1], s) for s in ("PENDING", "PENDING")
            ],
            # No duplicate: one ended, one open; another helper for the same person.
            "ended_and_open": [
                await delegation(helpers[0], persons[2], s) for s in ("REVOKED", "PENDING")
            ],
            "other_helper": [await delegation(helpers[1], persons[0], "ACTIVE")],
        }
        await Tortoise.close_connections()

        await migrate(config=config)
        await Tortoise.init(config=config)
        statuses = {
            name: [(await Delegation.get(id=i)).status for i in ids] for name, ids in made.items()
        }
        ended = made["pending_then_active"][::2] + made["two_pending"][1:]
        ended_at_set = all([(await Delegation.get(id=i)).ended_at is not None for i in ended])
        try:
            await delegation(helpers[0], persons[2], "ACTIVE")
            refused_after = False
        except IntegrityError:
            refused_after = True
        await Tortoise.close_connections()

        await migrate(config=config, target=BEFORE)
        await Tortoise.init(config=config)
        try:
            await delegation(helpers[0], persons[2], "ACTIVE")
            refused_backward = False
        except IntegrityError:
            refused_backward = True
        await Tortoise.close_connections()
        return {
            "statuses": statuses,
            "ended_at_set": ended_at_set,
            "refused_after": refused_after,
            "refused_backward": refused_backward,
        }

    return run_steps(steps)


async def test_migration_0014_ends_duplicate_open_delegations_then_refuses_them(
    database_url: str,
) -> None:
    outcome = await in_fresh_database(_scenario, "migration-0014")

    assert outcome["statuses"] == {
        "pending_then_active": ["REVOKED", "ACTIVE", "REVOKED"],
        "two_pending": ["PENDING", "REVOKED"],
        "ended_and_open": ["REVOKED", "PENDING"],
        "other_helper": ["ACTIVE"],
    }, outcome
    assert outcome["ended_at_set"]
    assert outcome["refused_after"], "a second open delegation for the pair was accepted"
    assert not outcome["refused_backward"], "backward left the index in place"
