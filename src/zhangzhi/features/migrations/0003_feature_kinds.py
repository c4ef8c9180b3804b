"""Reference data: kinds of managed objects (data, so 林长制 and 路长制 reuse the model)."""

from django.db import migrations

# code, name, system, geometry, is_part, order
KINDS = [
    ("river", "河流", "river", "line", False, 10),
    ("reach", "河段", "river", "line", True, 20),
    ("lake", "湖泊", "river", "polygon", False, 30),
    ("reservoir", "水库", "river", "polygon", False, 40),
    ("spring", "泉域", "river", "point", False, 50),
    ("canal", "渠道", "river", "line", False, 60),
    ("forest_parcel", "林地图斑", "forest", "polygon", False, 110),
    ("farmland_parcel", "耕地图斑", "farmland", "polygon", False, 210),
    ("road", "道路", "road", "line", False, 310),
]


def load(apps, schema_editor):
    System = apps.get_model("org", "System")
    FeatureKind = apps.get_model("features", "FeatureKind")
    systems = {s.code: s for s in System.objects.all()}
    for code, name, system, geometry, is_part, order in KINDS:
        FeatureKind.objects.get_or_create(code=code, defaults={
            "name": name, "system": systems[system], "geometry": geometry, "is_part": is_part, "order": order})


class Migration(migrations.Migration):
    dependencies = [("features", "0002_initial"), ("org", "0002_reference_data")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
