from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_certificate_presentations')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ServiceType',
            name='name_ar',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceType',
            name='name_es',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceType',
            name='name_fr',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceType',
            name='name_ja',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceType',
            name='name_ko',
            field=fields.CharField(null=True, max_length=200),
        ),
        ops.AddField(
            model_name='ServiceType',
            name='name_ru',
            field=fields.CharField(null=True, max_length=200),
        ),
    ]
