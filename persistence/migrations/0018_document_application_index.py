"""An application's document is found through an index: the reminder scan asks, of the approved
applications, which were issued a document, and at national volume that read went through the
whole document table."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index


class Migration(migrations.Migration):
    dependencies = [("models", "0017_delivery_send_before")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Document",
            index=Index(fields=["application_id"], name="ix_document_application"),
        ),
    ]
