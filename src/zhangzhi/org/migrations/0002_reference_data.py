from django.db import migrations


def load(apps, schema_editor):
    from zhangzhi.org.reference import ensure

    ensure(apps, kinds=False)


class Migration(migrations.Migration):
    dependencies = [("org", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
