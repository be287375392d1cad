"""One open (PENDING or ACTIVE) delegation per helper and dependant, kept by the database: a
partial unique index on delegation (helper_id, dependant_id).

addDependant looks for an open delegation and then inserts one; concurrent calls for the same
person all found none and all inserted (PostgreSQL), so revoking one left another granting.
Duplicates made that way before this migration would stop the index from being made: of each
pair's open delegations the ACTIVE one (else the earliest) stays open, the others are ended
as REVOKED now. Backward drops the index; the delegations it ended stay ended."""

from datetime import UTC, datetime

from tortoise import migrations
from tortoise.migrations import operations as ops

_OPEN = "('PENDING', 'ACTIVE')"
# An open delegation another open one of the same pair goes before (ACTIVE first, then by id).
_END_DUPLICATES = f"""
UPDATE "delegation" SET "status" = 'REVOKED', "ended_at" = {{now}}
WHERE "status" IN {_OPEN} AND EXISTS (
  SELECT 1 FROM "delegation" AS "kept"
  WHERE "kept"."helper_id" = "delegation"."helper_id"
    AND "kept"."dependant_id" = "delegation"."dependant_id"
    AND "kept"."status" IN {_OPEN}
    AND "kept"."id" <> "delegation"."id"
    AND ("kept"."status" = 'ACTIVE' AND "delegation"."status" = 'PENDING'
         OR "kept"."status" = "delegation"."status" AND "kept"."id" < "delegation"."id")
)
"""
_INDEX = (
    'CREATE UNIQUE INDEX "uq_delegation_one_open" ON "delegation" ("helper_id", "dependant_id") '
    f'WHERE "status" IN {_OPEN}'
)


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    placeholder = "?" if client.capabilities.dialect == "sqlite" else "$1"
    await client.execute_query(
        _END_DUPLICATES.format(now=placeholder), [datetime.now(UTC)]
    )
    await client.execute_script(_INDEX)


async def backward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script('DROP INDEX IF EXISTS "uq_delegation_one_open"')


class Migration(migrations.Migration):
    dependencies = [("models", "0013_document_valid_until_index")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
