"""The person staff unlinked an account from (a wrong identity match), so that the account
cannot link itself to them again."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0015_minor_delegations_end_at_majority')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='unlinked_person_id',
            field=fields.IntField(null=True),
        ),
    ]
