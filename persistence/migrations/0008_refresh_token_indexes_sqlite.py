"""The refresh-token indexes again, where 0005 lost them: on SQLite, Tortoise alters a column
by rebuilding the table (create a copy, copy the rows, drop, rename), and the rebuild of
`refresh_token` for `revoked_at` dropped the indexes on `family` (0001) and `account_id`
(0004) and never made the one on `revoked_at` that 0005 declares. PostgreSQL altered the
column in place and has all three, so there this migration finds them and does nothing.
The names are the ones Tortoise gave them on PostgreSQL."""

from tortoise import migrations
from tortoise.migrations import operations as ops

_INDEXES = (
    'CREATE INDEX IF NOT EXISTS "idx_refresh_tok_family_00f3ac" ON "refresh_token" ("family");\n'
    'CREATE INDEX IF NOT EXISTS "idx_refresh_tok_revoked_fe62ab" ON "refresh_token" ("revoked_at");\n'
    'CREATE INDEX IF NOT EXISTS "ix_refresh_token_account" ON "refresh_token" ("account_id");'
)


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_INDEXES)


async def backward(apps, schema_editor) -> None:
    return None  # the indexes belong to 0001, 0004 and 0005: they stay


class Migration(migrations.Migration):
    dependencies = [("models", "0007_office_queue_index")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
