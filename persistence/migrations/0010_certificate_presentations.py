"""Selective-disclosure presentations of certificates: token id -> certificate, server-side only."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0009_notifications_accounts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CertificatePresentation',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('jti', fields.CharField(unique=True, max_length=64)),
                ('certificate', fields.ForeignKeyField('models.Certificate', source_field='certificate_id', db_constraint=True, to_field='id', related_name='presentations', on_delete=OnDelete.CASCADE)),
                ('presented_by', fields.ForeignKeyField('models.Account', source_field='presented_by_id', db_constraint=True, to_field='id', related_name='presentations_made', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'certificate_presentation', 'app': 'models', 'indexes': [Index(fields=['certificate_id'], name='ix_certificate_presentation_certificate')], 'pk_attr': 'id', 'table_description': 'A selective-disclosure presentation made of a certificate, kept by its random token id.'},
            bases=['Model'],
        ),
    ]
