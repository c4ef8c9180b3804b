from django.db import migrations


def load(apps, schema_editor):
    from zhangzhi.org.reference import ensure

    ensure(apps)


class Migration(migrations.Migration):
    dependencies = [("features", "0002_initial"), ("org", "0002_reference_data")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
