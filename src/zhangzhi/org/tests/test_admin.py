"""The Django admin is limited to the user's jurisdiction, as the API is."""

import pytest

from zhangzhi.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def test_it_gives_office_staff_the_admin(world, client):
    r = login(client, "county-office").get("/admin/features/feature/")
    assert r.status_code == 200
    body = r.content.decode()
    assert "测试河秀水镇段" in body
    assert "测试河平定段" not in body


def test_it_hides_other_counties_in_the_admin(world, client):
    login(client, "county-office")
    r = client.get(f"/admin/features/feature/{world.pd_reach.pk}/change/")
    assert r.status_code in (302, 404)  # Django redirects to the list with "doesn't exist"
    r = client.get(f"/admin/features/feature/{world.town_reach.pk}/change/")
    assert r.status_code == 200


def test_it_keeps_chiefs_out_of_the_admin(world, client):
    r = login(client, "township-chief").get("/admin/features/feature/")
    assert r.status_code == 302  # to the admin login: not staff


def test_it_serves_the_openapi_schema(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    for p in ("/api/v1/auth/token", "/api/v1/features", "/api/v1/features/{feature_id}/posts", "/api/v1/roster"):
        assert p in paths
