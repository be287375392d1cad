"""The reminder scan reads the documents ending in the coming weeks of every person: an index on
valid_until, so at national volume (5 million documents) it reads a few percent of the table
instead of all of it every round (tests/test_hot_statement_plans.py)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0012_waitlist')]

    initial = False

    operations = [
        ops.AddIndex(
            model_name='Document',
            index=Index(fields=['valid_until'], name='ix_document_valid_until'),
        ),
    ]
