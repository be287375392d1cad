"""Mail that must not go out after a moment (a one-time link's expiry, a reminder's appointment,
a waitlist offer's end) keeps that moment; the worker gives it up from then on. Mail already
queued keeps no such moment and is sent as before."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0016_account_unlinked_person')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Delivery',
            name='send_before',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
    ]
