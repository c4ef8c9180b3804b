"""安全审计: every write, login, permission change and export is recorded with who, when, from
which IP, what, before and after, and its region; nobody changes or deletes the record; the audit
administrator reads it for their jurisdiction only."""

from __future__ import annotations

import datetime as dt
import io
import os
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from zhangzhi.conftest import PASSWORD
from zhangzhi.org import actions as oa
from zhangzhi.org import audit
from zhangzhi.org.models import AppendOnlyError, ChangeLog

pytestmark = pytest.mark.django_db

IP = "10.20.30.40"


@pytest.fixture
def auditor(world):
    """An audit administrator (审计管理员) of 盂县: reads the log of the county, writes nothing."""
    unit = oa.create_unit(None, name="盂县网信办", kind="other", region=world.yu)
    person = oa.create_person(None, name="审计员", units=[unit], username="county-auditor", password=PASSWORD)
    person.user.user_permissions.add(Permission.objects.get(codename="view_changelog"))
    return person.user


def token(client, username):
    r = client.post("/api/v1/auth/token", {"username": username, "password": PASSWORD},
                    content_type="application/json", REMOTE_ADDR=IP)
    assert r.status_code == 200, r.content
    return {"HTTP_AUTHORIZATION": f"Bearer {r.json()['token']}", "REMOTE_ADDR": IP}


def last(**filters) -> ChangeLog:
    row = ChangeLog.objects.filter(**filters).order_by("-pk").first()
    assert row is not None, f"no audit record {filters}"
    return row


# -- what is recorded ------------------------------------------------------------------------------


def test_it_records_an_api_write_with_who_ip_region_before_and_after(world, client):
    post = world.people["village-chief"].posts.get()
    r = client.post(f"/api/v1/posts/{post.pk}/end", {"valid_to": "2026-06-30"}, content_type="application/json",
                    **token(client, "county-office"))
    assert r.status_code == 200, r.content
    row = last(action="end", model="org.Post", object_id=str(post.pk))
    assert row.kind == "write"
    assert row.actor == world.users["county-office"] and row.username == "county-office"
    assert row.ip == IP and row.via == "api"
    assert row.region == world.village and row.region_path == world.village.path
    assert row.before == {"valid_to": None} and row.after == {"valid_to": "2026-06-30"}


def test_it_records_case_writes_in_the_same_log(world, client):
    from zhangzhi.cases import actions as ca
    from zhangzhi.cases import reference

    reference.ensure()
    case = ca.report(world.users["county-office"], category="garbage", description="垃圾", lat=38.058, lon=113.325,
                     source="office")
    row = last(model="cases.Case", object_id=str(case.pk))
    assert row.action == "case_report" and row.username == "county-office"
    assert row.after == {"state": case.state}
    assert row.region is not None and world.yu.contains(row.region)


def test_it_records_logins_logouts_and_failed_logins_with_the_ip(world, client):
    r = client.post("/accounts/login/", {"username": "county-office", "password": PASSWORD}, REMOTE_ADDR=IP)
    assert r.status_code == 302
    login = last(kind="login")
    assert login.username == "county-office" and login.ip == IP and login.region == world.yu
    client.post("/accounts/logout/", REMOTE_ADDR=IP)
    assert last(kind="logout").username == "county-office"
    client.post("/accounts/login/", {"username": "county-office", "password": "wrong-password"}, REMOTE_ADDR=IP)
    failed = last(kind="login_failed")
    assert failed.username == "county-office" and failed.ip == IP and failed.actor is None
    assert failed.region == world.yu  # the county's audit reader sees attacks on its accounts
    client.post("/accounts/login/", {"username": "nobody-here", "password": "x"}, REMOTE_ADDR=IP)
    assert last(kind="login_failed").summary == {"account_exists": False}


def test_it_records_token_logins_and_failures(world, client):
    token(client, "township-chief")
    row = last(kind="login")
    assert (row.action, row.username, row.ip, row.via) == ("login_token", "township-chief", IP, "api")
    r = client.post("/api/v1/auth/token", {"username": "township-chief", "password": "nope"},
                    content_type="application/json", REMOTE_ADDR=IP)
    assert r.status_code in (401, 422, 429)
    assert last(kind="login_failed").username == "township-chief"


def test_it_records_every_permission_change(world):
    user = world.users["volunteer"]
    group = Group.objects.create(name="测试组")
    perm = Permission.objects.get(codename="view_changelog")
    user.groups.add(group)
    assert last(kind="permission", action="groups_added").after == {"groups_added": ["测试组"]}
    user.user_permissions.add(perm)
    assert last(kind="permission", action="user_permissions_added").after == {
        "user_permissions_added": ["org.view_changelog"]}
    group.permissions.add(perm)
    assert last(kind="permission", action="permissions_added").model == "auth.Group"
    group.user_set.remove(user)  # from the other side
    assert last(kind="permission", action="groups_removed").object_id == str(user.pk)
    user.is_superuser = True
    user.save()
    row = last(kind="permission", action="change_user_flags")
    assert row.before == {"is_superuser": False} and row.after == {"is_superuser": True}
    user.user_permissions.clear()
    assert last(kind="permission", action="user_permissions_removed").after == {
        "user_permissions_removed": ["org.view_changelog"]}
    user.set_password("a-new-long-password-1")
    user.save()
    row = last(kind="permission", action="set_password")
    assert "password" not in str(row.after) and row.after == {}  # never the hash


def test_it_does_not_record_a_plain_last_login_update_as_a_permission_change(world):
    before = ChangeLog.objects.filter(kind="permission").count()
    user = world.users["volunteer"]
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    assert ChangeLog.objects.filter(kind="permission").count() == before


def test_it_records_admin_saves_that_bypass_the_actions(world, client):
    from django.contrib.auth import get_user_model

    from zhangzhi.org.models import System

    admin = get_user_model().objects.create_superuser("root-admin", password=PASSWORD)
    client.force_login(admin)
    system = System.objects.get(code="river")
    r = client.post(f"/admin/org/system/{system.pk}/change/", {"code": "river", "name": "河湖长制（改）"},
                    REMOTE_ADDR=IP)
    if r.status_code == 200 and b"errornote" in r.content:
        pytest.fail(r.content.decode()[:2000])
    assert r.status_code == 302, r.status_code
    row = last(model="org.System", object_id=str(system.pk))
    assert row.action == "admin_change" and row.username == "root-admin" and row.via == "admin" and row.ip == IP
    assert row.before == {"name": "河湖长制"} and row.after == {"name": "河湖长制（改）"}


def test_it_records_a_bulk_delete_in_the_admin(world, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("root-admin", password=PASSWORD)
    client.force_login(admin)
    groups = [Group.objects.create(name=n) for n in ("甲组", "乙组")]
    r = client.post("/admin/auth/group/", {"action": "delete_selected", "post": "yes",
                                           "_selected_action": [g.pk for g in groups]}, REMOTE_ADDR=IP)
    assert r.status_code == 302 and not Group.objects.filter(name__in=["甲组", "乙组"]).exists()
    rows = ChangeLog.objects.filter(action="admin_delete", model="auth.Group")
    assert sorted(row.before["name"] for row in rows) == ["乙组", "甲组"]
    assert {(row.username, row.ip) for row in rows} == {("root-admin", IP)}


def test_it_records_exports_with_their_filters(world, client):
    assert client.login(username="county-office", password=PASSWORD)
    r = client.get("/cases/export.csv", {"state": "new"}, REMOTE_ADDR=IP)
    assert r.status_code == 200
    b"".join(r.streaming_content)
    row = last(kind="export")
    assert (row.model, row.username, row.ip) == ("cases.Case", "county-office", IP)
    assert row.summary["format"] == "csv" and row.summary["filters"] == {"state": "new"}
    assert row.region == world.yu
    r = client.get("/patrols/", {"format": "xlsx"})
    assert r.status_code == 200
    row = last(kind="export")
    assert row.model == "patrols.Patrol" and row.summary["personal_data"] is True


def test_it_records_feature_exports_from_the_api_and_the_command(world, client, capsys):
    r = client.get("/api/v1/features/export", {"region": "140322"}, **token(client, "county-office"))
    assert r.status_code == 200
    row = last(kind="export")
    assert (row.model, row.username, row.via, row.region) == ("features.Feature", "county-office", "api", world.yu)
    call_command("export_features", "--region", "140322")
    row = last(kind="export")
    assert row.model == "features.Feature" and row.via == "command" and row.actor is None


# -- append-only ------------------------------------------------------------------------------------


def test_the_application_cannot_change_or_delete_a_record(world):
    row = ChangeLog.objects.first()
    row.action = "forged"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        ChangeLog.objects.filter(pk=row.pk).update(action="forged")
    with pytest.raises(AppendOnlyError):
        ChangeLog.objects.all().delete()
    with pytest.raises(AppendOnlyError), transaction.atomic():
        ChangeLog.objects.bulk_update([row], ["action"])
    assert ChangeLog.objects.get(pk=row.pk).action != "forged"


def test_the_database_refuses_raw_updates_and_deletes(world):
    row = ChangeLog.objects.first()
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE org_changelog SET action = 'forged' WHERE id = %s", [row.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM org_changelog WHERE id = %s", [row.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM org_changelog")
    assert ChangeLog.objects.filter(pk=row.pk, action=row.action).exists()


def test_the_database_lets_only_rows_past_180_days_go(world):
    old = ChangeLog.objects.create(action="old", at=timezone.now() - dt.timedelta(days=181))
    young = ChangeLog.objects.create(action="young", at=timezone.now() - dt.timedelta(days=179))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM org_changelog WHERE id = %s", [old.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM org_changelog WHERE id = %s", [young.pk])
    assert not ChangeLog.objects.filter(pk=old.pk).exists() and ChangeLog.objects.filter(pk=young.pk).exists()


def test_prune_keeps_the_retention_and_records_itself(world, settings):
    settings.AUDIT_RETENTION_DAYS = 365
    now = timezone.now()
    gone = ChangeLog.objects.create(action="ancient", at=now - dt.timedelta(days=400))
    kept = ChangeLog.objects.create(action="recent", at=now - dt.timedelta(days=300))
    out = io.StringIO()
    call_command("prune_audit", stdout=out)
    assert "deleted 1 " in out.getvalue()
    assert not ChangeLog.objects.filter(pk=gone.pk).exists() and ChangeLog.objects.filter(pk=kept.pk).exists()
    row = last(action="prune")
    assert row.summary["deleted"] == 1 and row.via == "command"
    with pytest.raises(CommandError, match="at least 180"):
        call_command("prune_audit", "--days", "90")


def test_a_retention_under_180_days_is_refused_at_start_up():
    env = {**os.environ, "ZHANGZHI_AUDIT_RETENTION_DAYS": "90", "DJANGO_SETTINGS_MODULE": "zhangzhi.settings"}
    r = subprocess.run([sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode != 0 and "ZHANGZHI_AUDIT_RETENTION_DAYS must be at least 180" in r.stderr


def test_the_check_reports_a_missing_guard(world):
    from zhangzhi.org.checks import audit_log_is_guarded

    assert audit_log_is_guarded(None, databases=["default"]) == []
    audit.remove_guard(connection)
    try:
        errors = audit_log_is_guarded(None, databases=["default"])
    finally:
        audit.install_guard(connection)
    assert [e.id for e in errors] == ["zhangzhi.E002"]


def test_flush_is_refused_in_production(world, settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="audit log"):
        call_command("flush", interactive=False, verbosity=0)


def test_existing_rows_get_their_region_from_the_object(world):
    import importlib

    from django.apps import apps

    mod = importlib.import_module("zhangzhi.org.migrations.0004_audit_log")
    post = world.people["village-chief"].posts.get()
    assert mod.region_id_for(apps, "org.Post", str(post.pk)) == world.village.pk
    assert mod.region_id_for(apps, "org.Person", str(world.people["county-office"].pk)) == world.yu.pk
    assert mod.region_id_for(apps, "org.Region", str(world.pd.pk)) == world.pd.pk
    assert mod.region_id_for(apps, "features.Feature", str(world.pd_reach.pk)) == world.pd.pk
    assert mod.region_id_for(apps, "no.Such", "1") is None


# -- reading ----------------------------------------------------------------------------------------


def test_the_audit_administrator_reads_their_jurisdiction_only(world, auditor, client):
    oa.create_unit(None, name="平定县某局", kind="department", region=world.pd)
    oa.create_unit(None, name="盂县某局", kind="department", region=world.yu)
    assert client.login(username="county-auditor", password=PASSWORD)
    r = client.get("/audit/", {"model": "org.Unit"})
    assert r.status_code == 200
    html = r.content.decode()
    rows = list(r.context["page"])
    assert rows and all(row.region_path.startswith(world.yu.path) for row in rows)
    assert any(row.summary.get("name") == "盂县某局" for row in rows)
    assert "平定县某局" not in html
    r = client.get("/audit/", {"kind": "login", "who": "county-auditor"})
    assert [row.username for row in r.context["page"]] == ["county-auditor"]


def test_the_superuser_reads_everything(world, client):
    from django.contrib.auth import get_user_model

    oa.create_unit(None, name="平定县某局", kind="department", region=world.pd)
    client.force_login(get_user_model().objects.create_superuser("root-admin", password=PASSWORD))
    html = client.get("/audit/", {"model": "org.Unit"}).content.decode()
    assert "平定县某局" in html


def test_others_get_403_or_the_login_page(world, client):
    assert client.get("/audit/").status_code == 302
    assert client.get("/audit/export.csv").status_code == 302
    for who in ("county-office", "city-office", "township-chief"):
        client.login(username=who, password=PASSWORD)
        assert client.get("/audit/").status_code == 403
        assert client.get("/audit/export.xlsx").status_code == 403
        client.logout()


def test_the_audit_export_is_itself_recorded(world, auditor, client):
    from openpyxl import load_workbook

    assert client.login(username="county-auditor", password=PASSWORD)
    r = client.get("/audit/export.csv", {"kind": "login"}, REMOTE_ADDR=IP)
    body = b"".join(r.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0].startswith("time,kind,user,ip")
    assert "county-auditor" in body
    row = last(kind="export", model="org.ChangeLog")
    assert row.username == "county-auditor" and row.ip == IP and row.summary["filters"] == {"kind": "login"}
    wb = load_workbook(io.BytesIO(client.get("/audit/export.xlsx").getvalue()))
    values = [c.value for c in next(wb.active.iter_rows())]
    assert values[:3] == ["time", "kind", "user"]


def test_the_api_serves_the_log_to_the_audit_administrator_only(world, auditor, client):
    oa.create_unit(None, name="平定县某局", kind="department", region=world.pd)
    r = client.get("/api/v1/audit", {"model": "org.Unit"}, **token(client, "county-auditor"))
    assert r.status_code == 200
    records = r.json()["records"]
    assert records and all(rec["model"] == "org.Unit" for rec in records)
    assert "平定县某局" not in r.content.decode()
    assert client.get("/api/v1/audit", **token(client, "county-office")).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_there_is_no_api_to_change_the_log(world, client):
    headers = token(client, "city-office")
    for method in ("post", "put", "patch", "delete"):
        r = getattr(client, method)("/api/v1/audit", {}, content_type="application/json", **headers)
        assert r.status_code == 405, (method, r.status_code)


@pytest.mark.django_db(transaction=True)
def test_tests_that_flush_the_database_still_can(world):
    """live_server and transactional tests end with `flush`: the guard is lifted for it and put back."""
    assert ChangeLog.objects.filter(action="appoint").exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not ChangeLog.objects.filter(action="appoint").exists()
    assert audit.installed_guard(connection) >= audit.GUARD_TRIGGERS[connection.vendor]


def test_the_audit_page_speaks_chinese_first_and_english(world, auditor, client):
    assert client.login(username="county-auditor", password=PASSWORD)
    html = client.get("/audit/").content.decode()
    assert "审计日志" in html and "登录" in html
    client.cookies["django_language"] = "en"
    html = client.get("/audit/").content.decode()
    assert "Audit log" in html and "Read-only" in html and "审计日志" not in html


def test_the_log_keeps_that_a_phone_changed_not_the_number(world):
    person = world.people["volunteer"]
    oa.log_change(None, "change", person, diff={"phone": ["13800000000", "13611112222"]})
    row = last(action="change", model="org.Person")
    assert row.before == {"phone": "138****0000"} and row.after == {"phone": "136****2222"}


def test_the_audit_page_shows_fields_not_a_python_repr():
    from zhangzhi.org.templatetags.audit_tags import fields

    html = fields({"name": "温河<b>", "mn": None})
    assert "{" not in html and "name" in html and "温河&lt;b&gt;" in html and "—" in html
    assert fields({}) == "" and fields(None) == ""
