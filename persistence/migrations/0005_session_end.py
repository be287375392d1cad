"""Sessions that end: the revocations of the last minutes are found by an index when a process
starts, and a rotated refresh token keeps its successor (sealed) for the reuse grace window."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


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
    ]
