"""The helpers every app shares instead of writing them again: office-only, and a region code as a scope."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied

from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.org import scope


def test_require_office_refuses_everyone_but_office_staff(world):
    scope.require_office(world.users["county-office"])
    scope.require_office(world.users["city-office"])
    for who in ("township-chief", "volunteer", "member-unit"):
        with pytest.raises(Forbidden):
            scope.require_office(world.users[who])
    with pytest.raises(Forbidden):
        scope.require_office(AnonymousUser())


def test_require_office_is_a_403_for_pages_and_the_api(world, client):
    with pytest.raises(PermissionDenied):  # what Django turns into a 403 page
        scope.require_office(world.users["township-chief"])
    client.force_login(world.users["township-chief"])
    assert client.get("/cases/moderation/").status_code == 403
    client.force_login(world.users["county-office"])
    assert client.get("/cases/moderation/").status_code == 200


def test_it_narrows_a_queryset_to_a_region_code_and_below(world):
    qs = Feature.objects.visible_to(world.users["city-office"])
    assert set(scope.within_region(qs, "140321")) == {world.pd_reach}
    assert world.village_reach in scope.within_region(qs, "140322100")
    assert scope.within_region(qs, None).count() == scope.within_region(qs, "").count() == qs.count() == 5


def test_it_refuses_an_unknown_region_code_naming_the_field(world):
    with pytest.raises(InvalidInput) as exc:
        scope.within_region(Feature.objects.all(), "999999", field="under")
    assert exc.value.fields == {"under": "unknown"}
    assert scope.region_by_code(" 140322 ") == world.yu


def test_the_api_answers_an_unknown_region_code_with_422(world, api):
    for path in ("/features", "/cases", "/patrols", "/units", "/posts"):
        r = api("county-office").get(path, region="999999")
        assert r.status_code == 422 and r.json()["error"]["fields"] == {"region": "unknown"}, path
