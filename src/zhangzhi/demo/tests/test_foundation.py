"""The Yangquan demo foundation: built through the actions, complete, and safe for production."""

import json
import random

import pytest
from django.core.management import call_command
from shapely.geometry import shape

from zhangzhi.conftest import DATA_DIR
from zhangzhi.demo.build import Demo, build_foundation
from zhangzhi.features.models import Feature
from zhangzhi.org.checks import DEMO_USERNAMES, no_demo_users_in_production
from zhangzhi.org.models import ChangeLog, Post, Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    from zhangzhi.org import reference

    reference.ensure()
    d = Demo()
    build_foundation(d, random.Random(7))
    return d


def test_it_builds_every_level_of_reach_with_a_chief(demo):
    reaches = Feature.objects.filter(kind__code="reach")
    assert {lvl for lvl in reaches.values_list("level", flat=True)} == {"county", "township", "village"}
    assert Feature.objects.filter(kind__code="river").count() == 7
    without_chief = reaches.exclude(posts__role__code="river-chief").count()
    assert without_chief == 0
    # a reach lies in its parent's region
    for reach in reaches.select_related("region", "parent__region")[:200]:
        assert reach.region.path.startswith(reach.parent.region.path)


def test_it_cuts_county_reaches_at_the_real_county_borders(demo):
    for reach in Feature.objects.filter(kind__code="reach", level="county").select_related("region"):
        border = shape(reach.region.boundary)
        inside = shape(reach.geometry).intersection(border.buffer(0.0005)).length / shape(reach.geometry).length
        assert inside > 0.99, reach.name


def test_it_converts_borders_from_gcj02(demo):
    raw = json.loads((DATA_DIR / "regions" / "boundaries" / "140300-counties.geojson").read_text())
    yu_raw = shape(next(f for f in raw["features"] if f["properties"]["adcode"] == 140322)["geometry"])
    yu = shape(Region.objects.get(code="140322").boundary)
    dx = yu.centroid.x - yu_raw.centroid.x
    dy = yu.centroid.y - yu_raw.centroid.y
    # GCJ-02 is offset north-east of WGS84 in Shanxi by a few hundred metres
    assert -0.01 < dx < -0.002 and -0.005 < dy < 0.0


def test_it_has_the_roster_the_issue_asks_for(demo):
    current = Post.objects.current()
    assert current.filter(role__code="general-river-chief", region__code="140300").count() == 1
    for code in ("140302", "140303", "140311", "140321", "140322"):
        assert current.filter(role__code="river-police-chief", region__code=code).count() == 1
        assert current.filter(role__code="procurator-liaison", region__code=code).count() == 1
    civic = current.filter(role__code__in=["civic-river-chief", "river-patroller"]).count()
    assert 280 <= civic <= 320
    assert Post.objects.filter(valid_to__isnull=False).exists()  # ended posts are kept
    assert Region.objects.filter(level="zone", code__isnull=True).exists()  # 高新区


def test_it_creates_the_demo_logins_through_the_actions(demo):
    from django.contrib.auth import authenticate

    for username in DEMO_USERNAMES:
        assert authenticate(username=username, password="zhangzhi-demo") is not None, username
    assert ChangeLog.objects.filter(action="appoint").count() == Post.objects.count()
    yu = Region.objects.get(code="140322")
    village_chief = demo.people["village-chief"]
    assert village_chief.posts.get().region.path.startswith(yu.path)
    other = demo.people["other-county-chief"]
    assert all(p.region.path.startswith(Region.objects.get(code="140321").path) for p in other.posts.all())


def test_it_refuses_production_while_demo_users_exist(demo, settings):
    settings.PRODUCTION = True
    errors = no_demo_users_in_production(None)
    assert [e.id for e in errors] == ["zhangzhi.E001"]
    settings.PRODUCTION = False
    assert no_demo_users_in_production(None) == []


def test_load_demo_refuses_a_production_database(settings):
    settings.PRODUCTION = True
    with pytest.raises(Exception, match="production"):
        call_command("load_demo")
