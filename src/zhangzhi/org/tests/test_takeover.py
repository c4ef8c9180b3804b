"""The three-step take-over of issue 8, written against the admin, and the rules that stop it.

A 盂县 office user tried: (1) add a unit in *another* county, (2) add a region (whose path the admin
left empty), (3) attach an office unit of that region to themselves. Their scope became '' and
`path__startswith('')` matched every row. Each step must now be refused, and nothing may widen
their scope.
"""

import pytest

from zhangzhi.conftest import PASSWORD
from zhangzhi.org import scope
from zhangzhi.org.models import Person, Region, Unit

pytestmark = pytest.mark.django_db


def login(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def fresh_scope(user):
    for attr in ("_zz_read_paths", "_zz_write_paths"):
        if hasattr(user, attr):
            delattr(user, attr)
    return scope.write_paths(user), scope.read_paths(user)


def test_it_refuses_a_unit_in_another_county(world, client):
    login(client, "county-office")
    r = client.post("/admin/org/unit/add/", {"name": "平定县假办", "kind": "office", "region": world.pd.pk,
                                              "phone": ""})
    assert r.status_code == 200  # the form again, with the error on the region
    assert "region" in r.context["adminform"].form.errors
    assert not Unit.objects.unrestricted("test").filter(name="平定县假办").exists()


def test_it_refuses_moving_a_unit_to_another_county(world, client):
    login(client, "county-office")
    unit = Unit.objects.unrestricted("test").create(name="秀水镇河长办", kind="office", region=world.yu_town)
    r = client.post(f"/admin/org/unit/{unit.pk}/change/", {"name": unit.name, "kind": "office",
                                                           "region": world.pd.pk, "phone": ""})
    assert r.status_code == 200
    assert "region" in r.context["adminform"].form.errors
    unit.refresh_from_db()
    assert unit.region == world.yu_town


def test_it_derives_the_path_of_a_region_added_in_the_admin(world, client):
    login(client, "county-office")
    r = client.post("/admin/org/region/add/", {"name": "新村", "level": "village", "parent": world.yu_town.pk,
                                                "code": "", "illustrative": "on"})
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    new = Region.objects.unrestricted("test").get(name="新村")
    assert new.path == f"{world.yu_town.path}{new.pk}/"


def test_it_refuses_a_region_without_a_parent_or_outside(world, client):
    login(client, "county-office")
    for parent in ("", world.pd_town.pk, world.city.pk):
        r = client.post("/admin/org/region/add/", {"name": "假县", "level": "county", "parent": parent, "code": ""})
        assert r.status_code == 200
        assert r.context["adminform"].form.errors
    assert not Region.objects.unrestricted("test").filter(name="假县").exists()


def test_the_three_step_takeover_fails_and_the_scope_stays(world, client):
    user = world.users["county-office"]
    before = fresh_scope(user)
    login(client, "county-office")
    # 1. a unit in another county
    client.post("/admin/org/unit/add/", {"name": "平定县假办", "kind": "office", "region": world.pd.pk})
    # 2. a top-level region (path would have been empty)
    client.post("/admin/org/region/add/", {"name": "根", "level": "province", "parent": "", "code": ""})
    # 3. attach an office unit of it to themselves
    me = world.people["county-office"]
    for unit in Unit.objects.unrestricted("test").exclude(pk__in=me.units.values("pk")):
        client.post(f"/admin/org/person/{me.pk}/change/", {
            "name": me.name, "title": me.title, "phone": me.phone, "units": [unit.pk, world.units["yu_office"].pk]})
    assert set(me.units.values_list("pk", flat=True)) == {world.units["yu_office"].pk}
    assert not Region.objects.unrestricted("test").filter(path="").exists()
    assert fresh_scope(user) == before == ([world.yu.path], [world.yu.path])


def test_an_empty_path_is_never_a_scope(world):
    with pytest.raises(Exception):  # noqa: B017 - the database's CHECK constraint, whatever the backend's class
        from django.db import transaction

        with transaction.atomic():
            Region.objects.unrestricted("test").filter(pk=world.yu.pk).update(path="")
    assert scope._minimal({"", "/", world.yu.path}) == [world.yu.path]


def test_it_refuses_self_appointment(world, api):
    me = world.people["county-office"]
    r = api("county-office").post("/posts", {"person": me.pk, "role": "river-chief", "level": "county",
                                             "feature": world.county_reach.pk})
    assert r.status_code == 403
    assert not me.posts.exists()


def test_it_answers_alike_for_missing_and_foreign_ids_when_appointing(world, api):
    office = api("county-office")
    foreign = Person.objects.unrestricted("test").create(name="外县人")
    foreign_unit = Unit.objects.unrestricted("test").create(name="平定某局", kind="department", region=world.pd)
    foreign.units.add(foreign_unit)
    body = {"role": "river-chief", "level": "township", "feature": world.town_reach.pk}
    outside = office.post("/posts", {**body, "person": foreign.pk})
    missing = office.post("/posts", {**body, "person": 10**9})
    assert outside.status_code == missing.status_code == 422
    assert outside.json()["error"]["fields"] == missing.json()["error"]["fields"] == {"person": "unknown"}
    feat_out = office.post("/posts", {**body, "person": world.people["township-chief"].pk,
                                      "feature": world.pd_reach.pk})
    feat_missing = office.post("/posts", {**body, "person": world.people["township-chief"].pk, "feature": 10**9})
    assert feat_out.status_code == feat_missing.status_code == 422


def test_it_offers_only_editable_regions_as_choices(world, client):
    login(client, "county-office")
    r = client.get("/admin/org/unit/add/")
    field = r.context["adminform"].form.fields["region"]
    choices = set(field.queryset.values_list("pk", flat=True))
    assert world.yu.pk in choices and world.yu_town.pk in choices
    assert world.pd.pk not in choices and world.city.pk not in choices


def test_it_keeps_reference_data_for_the_system_administrator(world, client):
    login(client, "county-office")
    assert client.get("/admin/org/role/add/").status_code == 403
    assert client.get("/admin/cases/category/add/").status_code == 403
    assert client.get("/admin/patrols/ruleset/add/").status_code == 403


def test_it_logs_admin_writes_like_the_api(world, client):
    from zhangzhi.org.models import ChangeLog

    login(client, "county-office")
    r = client.post("/admin/org/unit/add/", {"name": "盂县水利局", "kind": "department", "region": world.yu.pk})
    assert r.status_code == 302
    unit = Unit.objects.unrestricted("test").get(name="盂县水利局")
    entry = ChangeLog.objects.filter(model="org.Unit", object_id=str(unit.pk)).get()
    assert entry.actor == world.users["county-office"]
