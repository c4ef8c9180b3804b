from django.db import migrations


def forward(apps, schema_editor):
    from zhangzhi.patrols.reference import ensure

    ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("patrols", "0001_initial"), ("org", "0002_reference_data")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
