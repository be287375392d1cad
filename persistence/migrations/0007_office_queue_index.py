"""Indexes for an office's queue of applications (`Office.applications`): oldest submitted
first, of one status or of all, so officers' lists read an index range, never the table."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0006_event_actor_kind")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Application",
            index=Index(
                fields=["office_id", "status", "submitted_at", "id"],
                name="ix_application_office_status",
            ),
        ),
        ops.AddIndex(
            model_name="Application",
            index=Index(fields=["office_id", "submitted_at", "id"], name="ix_application_office"),
        ),
    ]
