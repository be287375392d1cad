"""Application events keep the capacity their actor acted in (OFFICER, ADMIN, SYSTEM, ...).

Older rows: only staff have ever recorded application events (recordApplication and
updateApplicationStatus require an officer or an admin), so an event whose actor still holds
ADMIN is read as ADMIN and one whose actor still holds OFFICER as OFFICER, the same rule the
audit trail uses. Events whose actor is gone or holds neither role stay null (actor unknown)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_BACKFILL = """
UPDATE "application_event" SET "actor_kind" = CASE
  WHEN EXISTS (SELECT 1 FROM "account_role" WHERE "account_role"."account_id" = "application_event"."actor_id"
               AND "account_role"."role" = 'ADMIN') THEN 'ADMIN'
  ELSE 'OFFICER' END
WHERE "actor_kind" IS NULL AND "actor_id" IS NOT NULL AND EXISTS (
  SELECT 1 FROM "account_role" WHERE "account_role"."account_id" = "application_event"."actor_id"
  AND "account_role"."role" IN ('ADMIN', 'OFFICER'))
"""


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_BACKFILL)


async def backward(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0005_session_end")]

    initial = False

    operations = [
        ops.AddField(
            model_name="ApplicationEvent",
            name="actor_kind",
            field=fields.CharField(null=True, max_length=10),
        ),
        ops.RunPython(forward, backward),
    ]
