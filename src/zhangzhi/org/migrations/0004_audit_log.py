"""The change log becomes the audit log (安全审计): kind, username, IP, channel, region, before/after.

Existing rows are migrated (kind "write", the actor's username, the region of the object where it
can be found), then the database triggers that make the table append-only are installed.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def region_id_for(apps, label: str, object_id: str):
    """The region of a logged object, from the historical models (no jurisdiction declarations here)."""
    try:
        model = apps.get_model(label)
    except (LookupError, ValueError):
        return None
    try:
        pk = model._meta.pk.to_python(object_id)
    except Exception:  # noqa: BLE001  an id of another shape: no region
        return None
    if label == "org.Region":
        return pk if model.objects.filter(pk=pk).exists() else None
    names = {f.name for f in model._meta.get_fields()}
    if "region" in names:
        return model.objects.filter(pk=pk).values_list("region_id", flat=True).first()
    if "units" in names:  # a person: where they work, else where they hold a post
        region = model.objects.filter(pk=pk).values_list("units__region_id", flat=True).first()
        if region is None and "posts" in names:
            region = model.objects.filter(pk=pk).values_list("posts__region_id", flat=True).first()
        return region
    return None


def backfill(apps, schema_editor):
    ChangeLog = apps.get_model("org", "ChangeLog")
    Region = apps.get_model("org", "Region")
    User = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    names = dict(User.objects.values_list("pk", "username"))
    paths = dict(Region.objects.values_list("pk", "path"))
    rows = list(ChangeLog.objects.all())
    for row in rows:
        row.kind = "write"
        row.username = names.get(row.actor_id, "") if row.actor_id else ""
        row.region_id = region_id_for(apps, row.model, row.object_id)
        row.region_path = paths.get(row.region_id, "") if row.region_id else ""
    ChangeLog.objects.bulk_update(rows, ["kind", "username", "region_id", "region_path"], batch_size=1000)


def guard(apps, schema_editor):
    from zhangzhi.org import audit

    audit.install_guard(schema_editor.connection)


def unguard(apps, schema_editor):
    from zhangzhi.org import audit

    audit.remove_guard(schema_editor.connection)


class Migration(migrations.Migration):

    dependencies = [
        ('org', '0003_region_path_not_empty'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='changelog',
            options={'ordering': ['-at', '-pk'], 'verbose_name': 'audit record', 'verbose_name_plural': 'audit log'},
        ),
        migrations.AddField(
            model_name='changelog',
            name='after',
            field=models.JSONField(blank=True, default=dict, verbose_name='after'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='before',
            field=models.JSONField(blank=True, default=dict, verbose_name='before'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='ip',
            field=models.CharField(blank=True, max_length=45, verbose_name='IP address'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='kind',
            field=models.CharField(choices=[('write', '写操作'), ('login', '登录'), ('login_failed', '登录失败'), ('logout', '退出'), ('permission', '权限变更'), ('export', '导出')], default='write', max_length=16, verbose_name='kind'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='region',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='org.region', verbose_name='region'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='region_path',
            field=models.CharField(blank=True, max_length=255),
        ),
        migrations.AddField(
            model_name='changelog',
            name='username',
            field=models.CharField(blank=True, max_length=150, verbose_name='username'),
        ),
        migrations.AddField(
            model_name='changelog',
            name='via',
            field=models.CharField(blank=True, help_text='web, api, admin or command', max_length=16, verbose_name='channel'),
        ),
        migrations.AddField(
            model_name='person',
            name='published_phone',
            field=models.CharField(blank=True, help_text='shown on signboards when ZHANGZHI_SIGNBOARD_PHONE=published', max_length=32, verbose_name='published phone'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='action',
            field=models.CharField(max_length=40, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='actor',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='time'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='model',
            field=models.CharField(blank=True, max_length=100, verbose_name='object type'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='object_id',
            field=models.CharField(blank=True, max_length=64, verbose_name='object id'),
        ),
        migrations.AlterField(
            model_name='changelog',
            name='summary',
            field=models.JSONField(blank=True, default=dict, verbose_name='details'),
        ),
        migrations.AddIndex(
            model_name='changelog',
            index=models.Index(fields=['region_path', 'at'], name='changelog_region_at_idx'),
        ),
        migrations.AddIndex(
            model_name='changelog',
            index=models.Index(fields=['kind', 'at'], name='changelog_kind_at_idx'),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
