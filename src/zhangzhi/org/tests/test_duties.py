"""三员分立: the system, security and audit administrators, their permissions, and the rule that no
ordinary account is two of them — in the action, the admin, any code path, and the system check."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from zhangzhi.conftest import PASSWORD
from zhangzhi.lib.errors import Forbidden
from zhangzhi.org import actions as oa
from zhangzhi.org import duties, reference

from .admins import admins  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

SYSTEM, SECURITY, AUDIT = "系统管理员", "安全管理员", "审计管理员"


def perms(name: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=name).permissions.select_related("content_type")}


def test_migrate_creates_the_three_roles_with_their_permissions():
    system, security, audit = perms(SYSTEM), perms(SECURITY), perms(AUDIT)
    assert {"org.change_role", "org.add_system", "features.change_featurekind", "cases.change_category",
            "patrols.change_ruleset", "patrols.change_frequencyrule", "monitoring.view_quarantinedframe"} <= system
    assert {"auth.change_user", "auth.add_user", "auth.change_group", "axes.delete_accessattempt",
            "org.delete_apitoken", "otp_totp.delete_totpdevice"} <= security
    assert audit == {"org.view_changelog"}
    # each keeps to its own: no accounts for the system administrator, no log and no business data for the
    # security administrator, nothing but reading for the audit administrator
    assert not any(p.startswith("auth.") or p.startswith("axes.") for p in system)
    assert "org.view_changelog" not in system | security
    business = ("org.change_region", "org.change_unit", "org.change_person", "org.change_post",
                "features.change_feature", "cases.change_case", "patrols.change_patrol")
    assert not set(business) & (system | security | audit)
    assert all(p.split(".")[1].startswith("view_") for p in audit)


def test_the_roles_are_reference_data_restored_after_a_flush():
    Group.objects.filter(name__in=[SYSTEM, SECURITY, AUDIT]).delete()
    reference.ensure_all()
    assert perms(AUDIT) == {"org.view_changelog"}


def test_one_account_cannot_hold_two_of_the_three_roles(world, admins):  # noqa: F811
    with pytest.raises(duties.SeparationOfDuties) as e:
        oa.assign_admin_role(None, admins["security"], "audit")
    assert e.value.status == 409 and e.value.code == "separation_of_duties"
    assert duties.admin_roles_of(admins["security"]) == {"security"}


def test_the_rule_holds_whatever_code_changes_the_groups(world, admins):  # noqa: F811
    audit_group = Group.objects.get(name=AUDIT)
    with pytest.raises(duties.SeparationOfDuties), transaction.atomic():
        admins["system"].groups.add(audit_group)
    with pytest.raises(duties.SeparationOfDuties), transaction.atomic():
        audit_group.user_set.add(admins["security"])
    plain = get_user_model().objects.create_user("plain")
    with pytest.raises(duties.SeparationOfDuties), transaction.atomic():
        plain.groups.add(*Group.objects.filter(name__in=[SYSTEM, SECURITY]))
    assert duties.admin_roles_of(plain) == set() and duties.admin_roles_of(admins["system"]) == {"system"}


def test_a_superuser_is_not_bound_by_it(world):
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    oa.assign_admin_role(None, root, "security")
    oa.assign_admin_role(None, root, "audit")
    assert duties.admin_roles_of(root) == {"security", "audit"}


def test_the_system_check_reports_a_database_that_breaks_the_rule(world, admins):  # noqa: F811
    assert duties.separation_of_duties(None) == []
    through = get_user_model().groups.through  # bulk_create sends no signal: as raw SQL would
    through.objects.bulk_create([through(user=admins["security"], group=Group.objects.get(name=AUDIT))])
    errors = duties.separation_of_duties(None)
    assert [e.id for e in errors] == ["zhangzhi.E010"]
    assert "sec-admin" in errors[0].msg


def test_only_the_security_administrator_assigns_roles_and_never_to_themself(world, admins):  # noqa: F811
    plain = get_user_model().objects.create_user("plain")
    with pytest.raises(Forbidden):
        oa.assign_admin_role(world.users["city-office"], plain, "audit")
    with pytest.raises(Forbidden):
        oa.assign_admin_role(admins["audit"], plain, "audit")
    oa.assign_admin_role(admins["security"], plain, "audit")
    assert duties.admin_roles_of(plain) == {"audit"} and plain.is_staff
    with pytest.raises(Forbidden):
        oa.assign_admin_role(admins["security"], admins["security"], "security")
    oa.remove_admin_role(admins["security"], plain, "audit")
    assert duties.admin_roles_of(plain) == set()


def admin_client(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def test_the_admin_form_refuses_two_roles(world, admins, client):  # noqa: F811
    admin_client(client, "sec-admin")
    user = admins["system"]
    url = f"/admin/auth/user/{user.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("groups", "user_permissions",
                                                                                  "password", "is_superuser")}
    data.update({"groups": list(Group.objects.filter(name__in=[SYSTEM, AUDIT]).values_list("pk", flat=True)),
                 "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-01-01", "date_joined_1": "00:00:00"})
    r = client.post(url, data)
    assert r.status_code == 200
    assert "三员分立" in r.content.decode()
    assert duties.admin_roles_of(user) == {"system"}


def test_the_admin_action_makes_an_account_an_administrator(world, admins, client):  # noqa: F811
    admin_client(client, "sec-admin")
    plain = get_user_model().objects.create_user("new-auditor")
    r = client.post("/admin/auth/user/", {"action": "make_audit_admin", "_selected_action": [plain.pk]})
    assert r.status_code == 302
    assert duties.admin_roles_of(plain) == {"audit"}
    client.post("/admin/auth/user/", {"action": "make_security_admin", "_selected_action": [plain.pk]})
    assert duties.admin_roles_of(plain) == {"audit"}  # refused, with a message


def test_the_security_administrator_cannot_make_superusers_or_see_them(world, admins, client):  # noqa: F811
    root = get_user_model().objects.create_superuser("root", password=PASSWORD)
    admin_client(client, "sec-admin")
    listing = client.get("/admin/auth/user/").content.decode()
    assert "county-office" in listing and ">root<" not in listing
    assert client.get(f"/admin/auth/user/{root.pk}/change/").status_code == 302  # "does not exist"
    page = client.get(f"/admin/auth/user/{world.users['county-office'].pk}/change/")
    fields = page.context["adminform"].form.fields
    assert "is_superuser" not in fields and "user_permissions" not in fields and "groups" in fields
    own = client.get(f"/admin/auth/user/{admins['security'].pk}/change/").context["adminform"].form.fields
    assert "groups" not in own  # not their own groups
    group = Group.objects.get(name=AUDIT)
    assert client.post(f"/admin/auth/group/{group.pk}/change/", {"name": AUDIT}).status_code == 403


@pytest.mark.parametrize(("username", "ok", "refused"), [
    ("sys-admin", ["/admin/org/role/", "/admin/features/featurekind/"],
     ["/admin/auth/user/", "/admin/org/changelog/", "/admin/axes/accessattempt/"]),
    ("sec-admin", ["/admin/auth/user/", "/admin/axes/accessattempt/", "/admin/org/apitoken/"],
     ["/admin/org/changelog/", "/admin/org/role/", "/admin/features/feature/"]),
    ("audit-admin", ["/admin/org/changelog/", "/audit/"],
     ["/admin/auth/user/", "/admin/org/role/", "/admin/axes/accessattempt/", "/admin/features/feature/"]),
])
def test_each_administrator_reaches_their_own_pages_only(world, admins, client, username, ok, refused):  # noqa: F811
    admin_client(client, username)
    for url in ok:
        assert client.get(url).status_code == 200, url
    for url in refused:
        assert client.get(url).status_code == 403, url


def test_the_audit_administrator_changes_nothing(world, admins, client):  # noqa: F811
    from zhangzhi.org.models import ChangeLog

    admin_client(client, "audit-admin")
    row = ChangeLog.objects.visible_to(admins["audit"]).first()
    assert row is not None
    page = client.get(f"/admin/org/changelog/{row.pk}/change/")
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(f"/admin/org/changelog/{row.pk}/delete/").status_code == 403
