"""The build fails if a page, an API handler or the admin reads a region-owned model without
jurisdiction: `Model.objects.<anything>` must start with `visible_to`, `editable_by` or an explicit
`unrestricted("why")`, and `get_object_or_404(Model, …)` is not allowed for those models."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from zhangzhi.org.jurisdiction import region_owned_models

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("api.py", "views.py", "admin.py", "open311.py", "signboard.py", "roster.py", "compliance.py",
           "queries.py")
ALLOWED = {"visible_to", "editable_by", "unrestricted", "public", "none"}  # public(): the model's published subset


def checked_files() -> list[Path]:
    files = [p for p in ROOT.rglob("*.py") if "tests" not in p.parts and "migrations" not in p.parts
             and (p.name in CHECKED or "commands" in p.parts)]
    return sorted(files)


def offences(path: Path, names: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        # Model.objects.method(...)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr in ("objects", "_default_manager") and isinstance(node.value.value, ast.Name) \
                and node.value.value.id in names and node.attr not in ALLOWED:
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value.value.id}.objects.{node.attr}")
        # get_object_or_404(Model, ...)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                "get_object_or_404", "get_list_or_404") and node.args and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in names:
            out.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.func.id}({node.args[0].id}, …)")
    return out


@pytest.mark.django_db
def test_no_handler_reads_a_region_owned_model_without_jurisdiction():
    names = {m.__name__ for m in region_owned_models(include_public=False)}
    assert {"Unit", "Person", "Post", "Feature", "Patrol", "Case", "Station", "Reading", "Alert",
            "Quarantine", "RawFrame", "Attachment"} <= names
    found = [o for f in checked_files() for o in offences(f, names)]
    assert found == [], "bare queries on region-owned models:\n" + "\n".join(found)


def test_the_checker_finds_a_bare_query(tmp_path):
    bad = tmp_path / "api.py"
    bad.write_text("def f(request, pk):\n    return Case.objects.get(pk=pk), get_object_or_404(Feature, pk=pk)\n"
                   "def g(request):\n    return Case.objects.visible_to(request.user).get(pk=1)\n")
    global ROOT
    old, ROOT = ROOT, tmp_path
    try:
        assert len(offences(bad, {"Case", "Feature"})) == 2
    finally:
        ROOT = old


@pytest.mark.django_db
def test_a_new_model_pointing_at_a_region_must_declare_its_jurisdiction():
    from django.db import models
    from django.test.utils import isolate_apps

    from zhangzhi.org.checks import unscoped_models
    from zhangzhi.org.jurisdiction import Jurisdiction, RestrictedQuerySet
    from zhangzhi.org.models import Region

    with isolate_apps("zhangzhi.org"):
        class Ledger(models.Model):  # noqa: DJ008
            region = models.ForeignKey(Region, models.PROTECT)

            class Meta:
                app_label = "org"

        class ScopedLedger(models.Model):  # noqa: DJ008
            region = models.ForeignKey(Region, models.PROTECT)
            objects = RestrictedQuerySet.as_manager()
            jurisdiction = Jurisdiction()

            class Meta:
                app_label = "org"

        Ledger.__module__ = ScopedLedger.__module__ = "zhangzhi.ledger.models"
        errors = unscoped_models([Ledger, ScopedLedger])
    assert [e.id for e in errors] == ["zhangzhi.E021"]
    assert "Ledger" in errors[0].msg
