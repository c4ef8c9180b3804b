"""The category tree as data (cases/categories.json); editable afterwards in the admin."""

import json
from pathlib import Path

from django.db import migrations


def load(apps, schema_editor):
    Category = apps.get_model("cases", "Category")
    rows = json.loads((Path(__file__).resolve().parents[1] / "categories.json").read_text(encoding="utf-8"))
    made = {}
    for i, r in enumerate(rows):
        obj, _ = Category.objects.update_or_create(code=r["code"], defaults={
            "name": r["name"], "name_en": r.get("name_en", ""), "parent": made.get(r.get("parent")),
            "days": r.get("days", 15), "transfer_to": r.get("transfer_to", ""), "public": r.get("public", True),
            "order": (i + 1) * 10})
        made[r["code"]] = obj


class Migration(migrations.Migration):
    dependencies = [("cases", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
