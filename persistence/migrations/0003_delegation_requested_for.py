"""What a helper typed when adding a dependant, kept on the delegation (backfilled for older
rows from the matched person, which is what the helper typed then)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

_BACKFILL = """
UPDATE "delegation" SET
  "requested_surname" = (SELECT "surname" FROM "person" WHERE "person"."id" = "delegation"."dependant_id"),
  "requested_nationality" = (SELECT "nationality" FROM "person" WHERE "person"."id" = "delegation"."dependant_id"),
  "requested_birth_date" = (SELECT "birth_date" FROM "person" WHERE "person"."id" = "delegation"."dependant_id")
WHERE "requested_surname" = ''
"""


async def forward(apps, schema_editor) -> None:
    await schema_editor.client.execute_script(_BACKFILL)


async def backward(apps, schema_editor) -> None:
    return None


class Migration(migrations.Migration):
    dependencies = [("models", "0002_integrity_guards")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Delegation",
            name="requested_birth_date",
            field=fields.DateField(null=True),
        ),
        ops.AddField(
            model_name="Delegation",
            name="requested_nationality",
            field=fields.CharField(default="", max_length=3),
        ),
        ops.AddField(
            model_name="Delegation",
            name="requested_surname",
            field=fields.CharField(default="", max_length=100),
        ),
        ops.RunPython(forward, backward),
    ]
