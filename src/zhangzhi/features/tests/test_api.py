"""The features API: lists and filters, GeoJSON, create, change, chiefs; jurisdiction; query budgets."""

import datetime as dt

import pytest
from pyproj import Geod

from zhangzhi.conftest import line
from zhangzhi.features import actions as fa
from zhangzhi.features.models import Feature
from zhangzhi.org import actions as oa

pytestmark = pytest.mark.django_db

YU_LINE = line((113.32, 38.06), (113.38, 38.075), (113.45, 38.09))
PD_LINE = line((113.55, 37.85), (113.60, 37.80))


def names(r):
    assert r.status_code == 200, r.content
    return {f["name"] for f in r.json()["features"]}


def test_it_lists_rivers_with_their_place(world, api):
    r = api("city-office").get("/features", kind="river")
    assert r.status_code == 200
    [river] = r.json()["features"]
    assert {k: river[k] for k in ("id", "name", "kind", "level", "code", "region", "parent")} == {
        "id": world.river.pk, "name": "测试河", "kind": "river", "level": "city", "code": "R1",
        "region": "140300", "parent": None}


def test_it_filters_by_kind_level_and_parent(world, api):
    office = api("city-office")
    township_and_village = names(office.get("/features", kind="reach", level="township,village"))
    assert township_and_village == {"测试河秀水镇段", "测试河示例村段"}
    assert names(office.get("/features", kind="river,reach", level="county")) == {"测试河盂县段", "测试河平定段"}
    assert names(office.get("/features", parent=world.river.pk)) == {"测试河盂县段", "测试河平定段"}
    assert names(office.get("/features", kind="lake")) == set()


def test_it_includes_everything_below_a_region(world, api):
    office = api("city-office")
    assert names(office.get("/features", region="140322")) == {"测试河盂县段", "测试河秀水镇段", "测试河示例村段"}
    assert names(office.get("/features", region="140322100")) == {"测试河秀水镇段", "测试河示例村段"}
    assert names(office.get("/features", region="140321")) == {"测试河平定段"}
    assert len(names(office.get("/features", region="140300"))) == 5
    r = office.get("/features", region="999999")
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"region": "unknown"}


def test_it_filters_by_bounding_box(world, api):
    office = api("city-office")
    # around 平定县's reach only
    assert names(office.get("/features", bbox="113.54,37.79,113.61,37.86")) == {"测试河平定段"}
    # a box touching the west end of the river: the river, the 盂县 reach and its township and village reaches
    assert names(office.get("/features", bbox="113.29,38.04,113.31,38.06")) == {
        "测试河", "测试河盂县段", "测试河秀水镇段", "测试河示例村段"}
    # between the village reach's end (113.35) and the township reach's end (113.40)
    assert names(office.get("/features", bbox="113.36,38.0,113.39,38.2")) == {
        "测试河", "测试河盂县段", "测试河秀水镇段"}
    assert names(office.get("/features", bbox="100,20,101,21")) == set()
    for bad in ("113,38,114", "a,b,c,d"):
        r = office.get("/features", bbox=bad)
        assert r.status_code == 422
        assert "bbox" in r.json()["error"]["fields"]


def test_it_returns_geojson_with_ids_and_properties(world, api):
    r = api("county-office").get("/features", format="geojson", kind="reach")
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection"
    by_id = {f["id"]: f for f in body["features"]}
    assert set(by_id) == {world.county_reach.pk, world.town_reach.pk, world.village_reach.pk}
    village = by_id[world.village_reach.pk]
    assert village["type"] == "Feature"
    assert village["geometry"] == line((113.30, 38.05), (113.35, 38.065))
    assert village["properties"]["name"] == "测试河示例村段"
    assert village["properties"]["parent"] == world.town_reach.pk
    assert village["properties"]["region"] == "140322100201"


def test_it_measures_a_line_geodesically(world, api):
    coords = [(113.30, 38.05), (113.40, 38.08), (113.50, 38.10)]
    expected = Geod(ellps="WGS84").line_length([c[0] for c in coords], [c[1] for c in coords])
    [row] = api("city-office").get("/features", kind="river").json()["features"]
    assert row["length_m"] == pytest.approx(expected, rel=0.005)
    assert 18_000 < row["length_m"] < 19_000  # about 18.3 km: 0.2° of longitude at 38°N and a little north


def test_it_measures_a_lake_geodesically(world, api):
    ring = [(113.40, 38.00), (113.42, 38.00), (113.42, 38.02), (113.40, 38.02), (113.40, 38.00)]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter([c[0] for c in ring], [c[1] for c in ring])
    r = api("county-office").post("/features", {"name": "方湖", "kind": "lake", "level": "county", "region": "140322",
                                                "geometry": {"type": "Polygon", "coordinates": [ring]}})
    assert r.status_code == 201, r.content
    assert r.json()["area_m2"] == pytest.approx(abs(area), rel=0.005)
    assert r.json()["length_m"] is None


# -- create and change -------------------------------------------------------------------------


def test_it_lets_a_county_office_create_a_reach_in_its_county(world, api):
    r = api("county-office").post("/features", {
        "name": "测试河秀水镇二段", "kind": "reach", "level": "township", "region": "140322100",
        "parent": world.county_reach.pk, "code": "R1-YU-2", "geometry": YU_LINE, "start_name": "甲村"})
    assert r.status_code == 201, r.content
    created = Feature.objects.get(pk=r.json()["id"])
    assert (created.parent, created.region, created.start_name) == (world.county_reach, world.yu_town, "甲村")
    assert r.json()["region"] == "140322100"


def test_it_refuses_creating_a_feature_in_another_county(world, api):
    before = Feature.objects.count()
    r = api("county-office").post("/features", {"name": "平定河", "kind": "river", "level": "county",
                                                "region": "140321", "geometry": PD_LINE})
    assert r.status_code == 403
    assert "平定县" in r.json()["error"]["message"]
    assert Feature.objects.count() == before


@pytest.mark.parametrize("persona", ["township-chief", "village-chief", "other-county-chief", "member-unit",
                                     "volunteer"])
def test_it_refuses_creating_anything_without_an_office(world, api, persona):
    before = Feature.objects.count()
    r = api(persona).post("/features", {"name": "镇河", "kind": "river", "level": "township",
                                        "region": "140322100", "geometry": YU_LINE})
    assert r.status_code in (403, 422)
    assert "jurisdiction" in r.json()["error"]["message"]
    assert Feature.objects.count() == before


@pytest.mark.parametrize(("body", "field"), [
    ({"kind": "volcano"}, "feature.properties.kind"),
    ({"level": "galaxy"}, "feature.properties.level"),
    ({"geometry": {"type": "LineString", "coordinates": [[113.3, 38.0]]}}, "feature.geometry"),
    ({"geometry": {"type": "LineString", "coordinates": [[38.06, 113.32], [38.09, 113.45]]}}, "feature.geometry"),
    ({"geometry": {"type": "Point", "coordinates": [113.3, 38.0]}}, "feature.geometry"),
    ({"code": "R1"}, "feature.properties.code"),
    ({"region": None}, "feature.properties.region"),
    ({"kind": "reach"}, "feature.properties.parent"),
])
def test_it_names_the_bad_field_on_create(world, api, body, field):
    before = Feature.objects.count()
    r = api("county-office").post("/features", {"name": "新河", "kind": "river", "level": "county",
                                                "region": "140322", "geometry": YU_LINE, **body})
    assert r.status_code == 422, r.content
    assert field in r.json()["error"]["fields"]
    assert Feature.objects.count() == before


def test_it_refuses_a_reach_outside_its_parents_region_on_create(world, api):
    r = api("city-office").post("/features", {"name": "越界段", "kind": "reach", "level": "county",
                                              "region": "140321", "parent": world.county_reach.pk,
                                              "geometry": PD_LINE})
    assert r.status_code == 422
    assert "盂县" in r.json()["error"]["fields"]["feature.properties.region"]


def test_it_lets_a_county_office_rename_and_redraw_a_reach(world, api):
    r = api("county-office").patch(f"/features/{world.town_reach.pk}",
                                   {"name": "秀水镇段", "end_name": "乙村", "geometry": YU_LINE})
    assert r.status_code == 200, r.content
    assert r.json()["name"] == "秀水镇段"
    f = Feature.objects.get(pk=world.town_reach.pk)
    assert (f.name, f.end_name, f.min_lon, f.max_lon) == ("秀水镇段", "乙村", 113.32, 113.45)
    assert f.length_m == pytest.approx(Geod(ellps="WGS84").line_length([113.32, 113.38, 113.45],
                                                                      [38.06, 38.075, 38.09]), rel=0.005)


def test_it_refuses_a_broken_geometry_on_change(world, api):
    r = api("county-office").patch(f"/features/{world.town_reach.pk}",
                                   {"geometry": {"type": "LineString", "coordinates": [[113.3, 38.0]]}})
    assert r.status_code == 422, r.content
    assert "geometry" in r.json()["error"]["fields"]
    assert Feature.objects.get(pk=world.town_reach.pk).geometry["coordinates"] == [[113.30, 38.05], [113.40, 38.08]]


def test_it_refuses_changes_outside_the_jurisdiction(world, api):
    assert api("county-office").patch(f"/features/{world.pd_reach.pk}", {"name": "改名"}).status_code == 404
    assert api("township-chief").patch(f"/features/{world.town_reach.pk}", {"name": "改名"}).status_code == 403
    assert api().patch(f"/features/{world.town_reach.pk}", {"name": "改名"}).status_code == 401
    assert Feature.objects.get(pk=world.town_reach.pk).name == "测试河秀水镇段"


# -- chiefs ------------------------------------------------------------------------------------


def test_it_lists_only_current_posts_of_a_feature(world, api):
    post = world.people["village-chief"].posts.get()
    oa.end_post(None, post, valid_to=dt.date(2024, 6, 30))
    r = api("county-office").get(f"/features/{world.village_reach.pk}/posts")
    assert [p["person"] for p in r.json()["posts"]] == ["冯市长", "钱县长", "王镇长", "吴志愿"]


def test_it_hides_the_chiefs_of_features_outside_the_jurisdiction(world, api):
    assert api("other-county-chief").get(f"/features/{world.town_reach.pk}/posts").status_code == 404
    assert api().get(f"/features/{world.town_reach.pk}/posts").status_code == 401


def test_it_refuses_a_post_on_a_feature_outside_the_jurisdiction(world, api):
    r = api("county-office").post("/posts", {"person": world.people["volunteer"].pk, "role": "river-patroller",
                                             "level": "county", "feature": world.pd_reach.pk})
    assert r.status_code == 422  # as for a feature that does not exist: no probing of ids
    error = r.json()["error"]
    assert "测试河平定段" not in error["message"]
    assert error["fields"] == {"feature": "unknown"}
    assert not world.people["volunteer"].posts.filter(feature=world.pd_reach).exists()


# -- query budgets: O(1) in the number of features -------------------------------------------


@pytest.fixture
def many_reaches(world):
    """50 more village reaches under the township reach, each with a chief."""
    since = dt.date(2024, 1, 1)
    chief = oa.create_person(None, name="许村长", phone="13600000000")
    made = []
    for i in range(50):
        x = 113.30 + i * 0.001
        f = fa.create_feature(None, name=f"村段{i}", kind="reach", level="village", region=world.village,
                              parent=world.town_reach, code=f"R1-YU-1-V{i}",
                              geometry=line((x, 38.05), (x + 0.001, 38.051)))
        oa.appoint(None, person=chief, role="river-chief", level="village", feature=f, valid_from=since)
        made.append(f)
    return made


@pytest.mark.parametrize("params", [{}, {"format": "geojson"}, {"kind": "reach", "region": "140322"},
                                    {"bbox": "113.0,37.0,114.0,39.0", "format": "geojson"}])
def test_it_lists_features_in_a_fixed_number_of_queries(world, api, many_reaches, params,
                                                        django_assert_max_num_queries):
    office = api("county-office")
    with django_assert_max_num_queries(6):
        r = office.get("/features", **params)
    assert r.status_code == 200
    assert len(r.json()["features"]) >= 50


def test_it_builds_the_roster_in_a_fixed_number_of_queries(world, api, many_reaches,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(5):
        r = api().get("/roster", region="140300")
    assert r.status_code == 200
    with django_assert_max_num_queries(5):
        r = api().get("/roster", region="140300", q="许村长")
    assert len(r.json()["matches"]) == 50


def test_it_lists_a_features_chiefs_in_a_fixed_number_of_queries(world, api, many_reaches,
                                                                 django_assert_max_num_queries):
    office = api("county-office")
    # +1: the caller's write scope (are phones whole or masked); +1: the token's last use is recorded
    with django_assert_max_num_queries(8):
        r = office.get(f"/features/{many_reaches[-1].pk}/posts")
    assert [p["person"] for p in r.json()["posts"]][-1] == "许村长"
    with django_assert_max_num_queries(7):  # +1: the export's audit record
        r = office.get("/features/export", region="140322")
    assert len(r.json()["features"]) == 53
