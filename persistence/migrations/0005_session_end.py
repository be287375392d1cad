"""Sessions that end: the revocations of the last minutes are found by an index when a process
starts, and a rotated refresh token keeps its successor (sealed) for the reuse grace window."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

# Upkeep drops sealed successors once their grace window is over: a tiny partial index keeps
# that from reading the whole table (PostgreSQL and SQLite spell it alike).
_SEALED_INDEX = (
    'CREATE INDEX "ix_refresh_token_sealed" ON "refresh_token" ("used_at") '
    'WHERE "successor_sealed" IS NOT NULL'
)


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_SEALED_INDEX)


async def backward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script('DROP INDEX IF EXISTS "ix_refresh_token_sealed"')


class Migration(migrations.Migration):
    dependencies = [("models", "0004_read_indexes")]

    initial = False

    operations = [
        ops.AlterField(
            model_name="RefreshToken",
            name="revoked_at",
            field=fields.DatetimeField(
                null=True, db_index=True, auto_now=False, auto_now_add=False
            ),
        ),
        ops.AddField(
            model_name="RefreshToken",
            name="successor_sealed",
            field=fields.TextField(null=True, unique=False),
        ),
        ops.RunPython(forward, backward),
    ]
