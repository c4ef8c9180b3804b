"""The category tree shipped with the code (categories.json), loaded by migration 0002.

`ensure()` reloads it for tests that flush the database (live_server) and for a repair.
"""

from __future__ import annotations

import json
from pathlib import Path

from .models import Category

FILE = Path(__file__).resolve().parent / "categories.json"


def ensure() -> int:
    rows = json.loads(FILE.read_text(encoding="utf-8"))
    made: dict[str, Category] = {}
    for i, r in enumerate(rows):
        obj, _ = Category.objects.get_or_create(code=r["code"], defaults={
            "name": r["name"], "name_en": r.get("name_en", ""), "parent": made.get(r.get("parent")),
            "days": r.get("days", 15), "transfer_to": r.get("transfer_to", ""), "public": r.get("public", True),
            "order": (i + 1) * 10})
        made[r["code"]] = obj
    return len(made)
