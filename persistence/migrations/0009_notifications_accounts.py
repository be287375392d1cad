"""Notifications (inbox, scheduled reminders, the mail outbox), account tokens, and the
account's verification, language and notification preferences."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_refresh_token_indexes_sqlite')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AccountToken',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='tokens', on_delete=OnDelete.CASCADE)),
                ('purpose', fields.CharField(max_length=20)),
                ('token_hash', fields.CharField(unique=True, max_length=64)),
                ('email', fields.CharField(max_length=254)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'account_token', 'app': 'models', 'indexes': [Index(fields=['account_id', 'purpose'], name='ix_account_token_account')], 'pk_attr': 'id', 'table_description': 'A single-use token mailed to an account for e-mail verification or password reset.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('person', fields.ForeignKeyField('models.Person', source_field='person_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharField(max_length=40)),
                ('subject_type', fields.CharField(null=True, max_length=40)),
                ('subject_id', fields.IntField(null=True)),
                ('facts', fields.JSONField(encoder=JSON_DUMPS, decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['account_id', 'created_at', 'id'], name='ix_notification_account'), Index(fields=['account_id', 'read_at'], name='ix_notification_unread')], 'pk_attr': 'id', 'table_description': 'A message in the inbox of one account, about one person.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Delivery',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('models.Account', source_field='account_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.SET_NULL)),
                ('notification', fields.ForeignKeyField('models.Notification', source_field='notification_id', null=True, db_constraint=True, to_field='id', related_name='deliveries', on_delete=OnDelete.SET_NULL)),
                ('kind', fields.CharField(max_length=40)),
                ('to_address', fields.CharField(max_length=254)),
                ('message_id', fields.CharField(unique=True, max_length=200)),
                ('subject', fields.CharField(max_length=300)),
                ('body', fields.TextField(unique=False)),
                ('secret', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('claimed_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('failed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
            ],
            options={'table': 'delivery', 'app': 'models', 'indexes': [Index(fields=['sent_at', 'failed_at', 'next_attempt_at'], name='ix_delivery_due')], 'pk_attr': 'id', 'table_description': 'A mail in the transactional outbox, kept with when it was sent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ScheduledReminder',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharField(max_length=40)),
                ('subject_type', fields.CharField(max_length=40)),
                ('subject_id', fields.IntField()),
                ('due_on', fields.DateField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'scheduled_reminder', 'app': 'models', 'unique_together': (('kind', 'subject_type', 'subject_id', 'due_on'),), 'pk_attr': 'id', 'table_description': 'A reminder the scheduler has made, once per kind, subject and due day.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Account',
            name='email_verified_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Account',
            name='language',
            field=fields.CharField(null=True, max_length=2),
        ),
        ops.AddField(
            model_name='Account',
            name='notification_preferences',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Account',
            name='signin_language',
            field=fields.CharField(null=True, max_length=2),
        ),
    ]
