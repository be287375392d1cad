"""Guards the ORM cannot declare portably: one current passport, one active key, capacity."""

from tortoise import migrations
from tortoise.migrations import operations as ops

_COMMON = [
    'CREATE UNIQUE INDEX "uq_passport_one_current" ON "passport" ("person_id") WHERE is_current',
    # One ACTIVE and one NEXT key per purpose, even when several processes start at once.
    'CREATE UNIQUE INDEX "uq_signing_key_state" ON "signing_key" ("purpose", "state") '
    "WHERE state IN ('ACTIVE', 'NEXT')",
]
_POSTGRES = [
    'ALTER TABLE "slot" ADD CONSTRAINT "ck_slot_capacity" CHECK (booked >= 0 AND booked <= capacity)',
]
# SQLite cannot add a CHECK to an existing table: triggers refuse the same rows.
_SQLITE = [
    """CREATE TRIGGER "ck_slot_capacity_update" BEFORE UPDATE OF booked, capacity ON "slot"
    WHEN NEW.booked < 0 OR NEW.booked > NEW.capacity
    BEGIN SELECT RAISE(ABORT, 'slot capacity exceeded'); END""",
    """CREATE TRIGGER "ck_slot_capacity_insert" BEFORE INSERT ON "slot"
    WHEN NEW.booked < 0 OR NEW.booked > NEW.capacity
    BEGIN SELECT RAISE(ABORT, 'slot capacity exceeded'); END""",
]


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    statements = _COMMON + (_SQLITE if client.capabilities.dialect == "sqlite" else _POSTGRES)
    for statement in statements:
        await client.execute_script(statement)


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    await client.execute_script('DROP INDEX IF EXISTS "uq_passport_one_current"')
    await client.execute_script('DROP INDEX IF EXISTS "uq_signing_key_state"')
    if client.capabilities.dialect == "sqlite":
        await client.execute_script('DROP TRIGGER IF EXISTS "ck_slot_capacity_update"')
        await client.execute_script('DROP TRIGGER IF EXISTS "ck_slot_capacity_insert"')
    else:
        await client.execute_script('ALTER TABLE "slot" DROP CONSTRAINT "ck_slot_capacity"')


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(forward, backward)]
