"""Auth, jurisdiction on writes, posts over time, the public roster."""

import datetime as dt

import pytest

pytestmark = pytest.mark.django_db


def test_it_issues_a_token_and_says_who_i_am(world, api):
    me = api("township-chief").get("/auth/me")
    assert me.status_code == 200
    body = me.json()
    assert body["person"]["name"] == "王镇长"
    assert [p["feature"]["id"] for p in body["posts"]] == [world.town_reach.pk]
    assert body["can_edit_regions"] == []


def test_it_refuses_a_wrong_password_with_the_error_shape(world, api):
    r = api().post("/auth/token", {"username": "township-chief", "password": "nope"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "bad_credentials"
    assert set(r.json()["error"]) == {"code", "message", "fields"}


def test_it_requires_login_for_features(world, api):
    r = api().get("/features")
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthenticated"


def test_it_hides_features_of_other_counties(world, api):
    names = {f["name"] for f in api("township-chief").get("/features").json()["features"]}
    assert "测试河秀水镇段" in names
    assert "测试河平定段" not in names
    names = {f["name"] for f in api("other-county-chief").get("/features").json()["features"]}
    assert names == set()  # a 冠山镇 chief with no feature in that town sees nothing of 盂县
    assert api("other-county-chief").get(f"/features/{world.town_reach.pk}").status_code == 404


def test_it_lets_the_county_office_appoint_within_its_county(world, api):
    office = api("county-office")
    person = world.people["volunteer"]
    r = office.post("/posts", {"person": person.pk, "role": "river-patroller", "level": "village",
                               "feature": world.village_reach.pk})
    assert r.status_code == 201, r.content
    assert r.json()["feature"] == world.village_reach.pk


def test_it_refuses_a_post_outside_the_jurisdiction(world, api):
    r = api("county-office").post("/posts", {"person": world.people["volunteer"].pk, "role": "river-chief",
                                             "level": "county", "feature": world.pd_reach.pk})
    # a feature outside the jurisdiction reads like one that does not exist: no probing of ids
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"feature": "unknown"}


def test_it_refuses_writes_by_a_township_chief(world, api):
    chief = api("other-county-chief")
    r = chief.post("/posts", {"person": world.people["volunteer"].pk, "role": "river-chief",
                              "level": "village", "feature": world.village_reach.pk})
    assert r.status_code in (403, 422)
    r = chief.patch(f"/features/{world.town_reach.pk}", {"name": "改名"})
    assert r.status_code == 404  # not even visible
    r = api("township-chief").patch(f"/features/{world.town_reach.pk}", {"name": "改名"})
    assert r.status_code == 403


def test_it_keeps_ended_posts_for_the_roster_of_past_dates(world, api):
    office = api("county-office")
    post = world.people["village-chief"].posts.get()
    r = office.post(f"/posts/{post.pk}/end", {"valid_to": "2025-06-30"})
    assert r.status_code == 200, r.content
    current = office.get("/posts", feature=world.village_reach.pk).json()["posts"]
    assert current == []
    past = office.get("/posts", feature=world.village_reach.pk, date="2025-01-15").json()["posts"]
    assert [p["person"] for p in past] == ["赵村长"]
    post.refresh_from_db()
    assert post.valid_to == dt.date(2025, 6, 30)


def test_it_refuses_ending_a_post_before_it_started(world, api):
    post = world.people["village-chief"].posts.get()
    r = api("county-office").post(f"/posts/{post.pk}/end", {"valid_to": "2020-01-01"})
    assert r.status_code == 422
    assert "valid_to" in r.json()["error"]["fields"]


def test_it_shows_the_roster_to_the_public_without_phones(world, api):
    r = api().get("/roster", region="140300")
    assert r.status_code == 200
    tree = r.json()["tree"]
    assert tree["name"] == "阳泉市"
    assert [p["role"] for p in tree["posts"]] == ["总河长"]
    river = next(f for f in tree["features"] if f["name"] == "测试河")
    assert river["posts"][0]["person"] == "冯市长"
    assert river["posts"][0]["phone"] == ""


def test_it_finds_chiefs_by_person_river_or_region(world, api):
    by_person = api().get("/roster", region="140300", q="王镇长").json()["matches"]
    assert [m["feature_name"] for m in by_person] == ["测试河秀水镇段"]
    by_river = api().get("/roster", region="140300", q="测试河").json()["matches"]
    assert {m["person"] for m in by_river} >= {"冯市长", "钱县长", "王镇长", "赵村长"}
    by_region = api().get("/roster", region="140300", q="冠山镇").json()["matches"]
    assert [m["person"] for m in by_region] == ["孙镇长"]
    by_county = api().get("/roster", region="140300", q="平定县").json()["matches"]
    assert "孙镇长" in {m["person"] for m in by_county}  # a township chief below the county
    assert "王镇长" not in {m["person"] for m in by_county}


def test_it_lists_a_reachs_chiefs_at_every_level_above(world, api):
    r = api("county-office").get(f"/features/{world.village_reach.pk}/posts")
    assert r.status_code == 200
    assert [(p["level"], p["person"]) for p in r.json()["posts"]] == [
        ("city", "冯市长"), ("county", "钱县长"), ("township", "王镇长"), ("township", "吴志愿"),
        ("village", "赵村长")]
    # the city chief's phone is kept by the city office: masked for the county office (PIPL)
    assert r.json()["posts"][0]["phone"] == "137****0000"
    city = api("city-office").get(f"/features/{world.village_reach.pk}/posts").json()["posts"]
    assert city[0]["phone"] == "13700000000"


def test_it_lets_an_office_create_a_village_in_its_county_only(world, api):
    office = api("county-office")
    ok = office.post("/regions", {"name": "新村", "level": "village", "parent": "140322100"})
    assert ok.status_code == 201, ok.content
    no = office.post("/regions", {"name": "别村", "level": "village", "parent": "140321100"})
    assert no.status_code == 403
    bad = office.post("/regions", {"name": "错村", "level": "county", "parent": "140322100"})
    assert bad.status_code == 422


@pytest.mark.parametrize("username,region,status", [
    ("city-office", "140321", 201),   # the city office covers every county
    ("county-office", "140322", 201),
    ("county-office", "140321", 403),  # another county
    ("township-chief", "140322", 403),  # a chief is not an office
    ("member-unit", "140300", 403),
])
def test_it_limits_creating_units_to_the_jurisdiction(world, api, username, region, status):
    r = api(username).post("/units", {"name": f"{username}单位", "kind": "department", "region": region})
    assert r.status_code == status, r.content
    if status != 201:
        assert r.json()["error"]["code"] == "forbidden"


def test_it_limits_adding_people_to_units_of_the_jurisdiction(world, api):
    office = api("county-office")
    ok = office.post("/people", {"name": "新人", "units": [world.units["yu_office"].pk]})
    assert ok.status_code == 201, ok.content
    no = office.post("/people", {"name": "别人", "units": [world.units["pd_office"].pk]})
    assert no.status_code == 422  # another county's unit reads like one that does not exist
    assert no.json()["error"]["fields"] == {"units": "unknown unit id"}
    missing = office.post("/people", {"name": "无单位"})
    assert missing.status_code == 422
    assert "units" in missing.json()["error"]["fields"]


def test_it_refuses_ending_a_post_in_another_county(world, api):
    post = world.people["other-county-chief"].posts.get()
    r = api("county-office").post(f"/posts/{post.pk}/end", {})
    assert r.status_code == 404  # not even visible to 盂县
    r = api("city-office").post(f"/posts/{post.pk}/end", {})
    assert r.status_code == 200


def test_it_rejects_a_bad_body_with_the_field_named(world, api):
    r = api("county-office").post("/posts", {"person": "abc", "role": "river-chief"})
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert any("person" in k for k in fields) and any("level" in k for k in fields)


@pytest.mark.parametrize("path,params", [
    ("/people", {"limit": -5}),
    ("/posts", {"person": 10**30}),
    ("/features", {"parent": -1}),
    ("/cases", {"offset": -10}),
    ("/patrols", {"limit": 0}),
    ("/monitoring/shares", {"year": 0}),
])
def test_it_answers_out_of_range_parameters_with_422(world, api, path, params):
    r = api("city-office").get(path, **params)
    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == "invalid"
    assert r.json()["error"]["fields"]
