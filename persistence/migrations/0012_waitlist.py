"""The fair waitlist: its entries, the places held for offers on slots (`Slot.held`), and the
capacity guard counting them: `booked + held` never exceeds capacity."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index


_POSTGRES = [
    'ALTER TABLE "slot" ADD CONSTRAINT "ck_slot_held" '
    "CHECK (held >= 0 AND booked + held <= capacity)",
]
# SQLite cannot add a CHECK to an existing table: triggers refuse the same rows.
_SQLITE = [
    """CREATE TRIGGER "ck_slot_held_update" BEFORE UPDATE OF booked, held, capacity ON "slot"
    WHEN NEW.held < 0 OR NEW.booked + NEW.held > NEW.capacity
    BEGIN SELECT RAISE(ABORT, 'slot capacity exceeded'); END""",
    """CREATE TRIGGER "ck_slot_held_insert" BEFORE INSERT ON "slot"
    WHEN NEW.held < 0 OR NEW.booked + NEW.held > NEW.capacity
    BEGIN SELECT RAISE(ABORT, 'slot capacity exceeded'); END""",
]


async def forward(apps, schema_editor) -> None:
    client = schema_editor.client
    for statement in _SQLITE if client.capabilities.dialect == "sqlite" else _POSTGRES:
        await client.execute_script(statement)


async def backward(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        await client.execute_script('DROP TRIGGER IF EXISTS "ck_slot_held_update"')
        await client.execute_script('DROP TRIGGER IF EXISTS "ck_slot_held_insert"')
    else:
        await client.execute_script('ALTER TABLE "slot" DROP CONSTRAINT "ck_slot_held"')


class Migration(migrations.Migration):
    dependencies = [('models', '0011_service_type_names')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WaitlistEntry',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('applicant', fields.ForeignKeyField('models.Person', source_field='applicant_id', db_constraint=True, to_field='id', related_name='waitlist_entries', on_delete=OnDelete.RESTRICT)),
                ('service', fields.CharField(max_length=40)),
                ('service_group', fields.CharField(max_length=20)),
                ('office', fields.ForeignKeyField('models.Office', source_field='office_id', db_constraint=True, to_field='id', related_name='waitlist_entries', on_delete=OnDelete.RESTRICT)),
                ('first_day', fields.DateField()),
                ('last_day', fields.DateField()),
                ('status', fields.CharField(max_length=10)),
                ('active_key', fields.CharField(null=True, unique=True, max_length=80)),
                ('joined_by', fields.ForeignKeyField('models.Account', source_field='joined_by_id', db_constraint=True, to_field='id', related_name='waitlist_joins', on_delete=OnDelete.RESTRICT)),
                ('joined_by_kind', fields.CharField(max_length=10)),
                ('delegation', fields.ForeignKeyField('models.Delegation', source_field='delegation_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_entries', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('offer_slot', fields.ForeignKeyField('models.Slot', source_field='offer_slot_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_offers', on_delete=OnDelete.SET_NULL)),
                ('offered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('offer_expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('appointment', fields.ForeignKeyField('models.Appointment', source_field='appointment_id', null=True, db_constraint=True, to_field='id', related_name='waitlist_entries', on_delete=OnDelete.SET_NULL)),
                ('ended_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'waitlist_entry', 'app': 'models', 'indexes': [Index(fields=['office_id', 'service_group', 'status', 'id'], name='ix_waitlist_line'), Index(fields=['status', 'offer_expires_at'], name='ix_waitlist_offer_expiry'), Index(fields=['applicant_id', 'created_at', 'id'], name='ix_waitlist_applicant')], 'pk_attr': 'id', 'table_description': 'A person waiting for a place at an office for a service on one of a range of days.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Slot',
            name='held',
            field=fields.SmallIntField(default=0, db_default=0),
        ),
        ops.RunPython(forward, backward),
    ]
