"""Patrol upload through the API: hand-made tracks judged on arrival, idempotency, GPX, bad input."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from zhangzhi.demo import track_simulator as simulate
from zhangzhi.lib.chinacoords import wgs84_to_gcj02
from zhangzhi.patrols.models import Finding, Patrol
from zhangzhi.patrols.tracks import Track

from .conftest import T0, gpx, payload, reach_coords, walk

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9aw"
                       "AAAABJRU5ErkJggg==")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def raw_files(media) -> list[Path]:
    return list(Path(media).rglob("*.gz"))


def post_gpx(client, token, data: bytes, **form):
    f = SimpleUploadedFile("track.gpx", data, content_type="application/gpx+xml")
    return client.post("/api/v1/patrols", {"file": f, **form}, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_it_judges_a_walk_along_the_river_effective(world, rules, api, media):
    chief = api("township-chief")
    r = chief.post("/patrols", payload(world.town_reach, walk(world.town_reach)))
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["effective"] is True, body["reasons"]
    assert body["reasons"] == []
    m = body["metrics"]
    assert m["duration_s"] > 3600 and m["length_m"] > 5000
    assert m["within_buffer_share"] > 0.95 and 0.55 < m["coverage"] < 0.75
    assert m["max_speed_kmh"] < 20
    p = Patrol.objects.get(pk=body["id"])
    assert p.person == world.people["township-chief"] and p.level == "township"
    assert len(bytes(p.track)) < 3.5 * p.n_points  # one compact blob, not a row per point
    assert len(raw_files(media)) == 1  # the upload as received is archived


def test_it_rejects_a_drive_along_a_road_1_km_away(world, rules, api):
    drive = simulate.drive_along_offset(reach_coords(world.town_reach), T0, np.random.default_rng(2))
    r = api("township-chief").post("/patrols", payload(world.town_reach, drive))
    assert r.status_code == 201
    body = r.json()
    assert body["effective"] is False
    assert body["metrics"]["within_buffer_share"] == 0 and body["metrics"]["coverage"] == 0
    assert "driving" in body["flags"]
    assert any(x.startswith("轨迹偏离河道") for x in body["reasons"])
    assert any(x.startswith("疑似驾车巡河") for x in body["reasons"])


def test_it_rejects_a_phone_left_on_a_table(world, rules, api):
    reach = reach_coords(world.town_reach)
    phone = simulate.phone_on_table(reach.mean(axis=0), T0, 3600.0, np.random.default_rng(3))
    body = api("township-chief").post("/patrols", payload(world.town_reach, phone)).json()
    assert body["effective"] is False
    assert body["metrics"]["duration_s"] >= 3600
    assert any(x.startswith("河段覆盖率不足30%") for x in body["reasons"])
    assert any(x.startswith("巡河里程不足") for x in body["reasons"])


def test_it_flags_a_copied_track(world, rules, api):
    chief = api("township-chief")
    first = walk(world.town_reach)
    assert chief.post("/patrols", payload(world.town_reach, first)).json()["effective"]
    copy = simulate.copy_track(first, np.random.default_rng(5), tiny_noise_m=0.5, time_shift_s=3 * 86400)
    body = chief.post("/patrols", payload(world.town_reach, copy)).json()
    assert body["effective"] is False
    assert body["flags"] == ["duplicate"]
    assert any(x.startswith("疑似作弊：轨迹与此前巡河记录几乎相同") for x in body["reasons"])


def test_a_copy_of_a_colleagues_track_is_flagged_too(world, rules, api):
    first = walk(world.town_reach, seed=11)
    assert api("township-chief").post("/patrols", payload(world.town_reach, first)).json()["effective"]
    copy = simulate.copy_track(first, np.random.default_rng(6), time_shift_s=86400)
    body = api("volunteer").post("/patrols", payload(world.town_reach, copy)).json()
    assert "duplicate" in body["flags"]


@pytest.fixture
def north_reach(world):
    """A north–south reach, across the GCJ-02 offset (which near Yangquan points mostly east)."""
    import datetime as dt

    from zhangzhi.conftest import line
    from zhangzhi.features import actions as fa
    from zhangzhi.org import actions as oa

    reach = fa.create_feature(None, name="测试沟", kind="river", level="township", region=world.yu_town,
                              code="G1-YU-1", geometry=line((113.32, 38.02), (113.325, 38.055), (113.33, 38.09)))
    oa.appoint(None, person=world.people["township-chief"], role="river-chief", level="township", feature=reach,
               valid_from=dt.date(2024, 1, 1))
    return reach


def test_it_converts_a_gcj02_track_and_catches_one_mislabelled_as_wgs84(world, rules, api, north_reach):
    chief = api("township-chief")
    track = walk(north_reach, seed=8)
    glon, glat = wgs84_to_gcj02(track.lon, track.lat)
    gcj = Track(glon, glat, track.t)
    ok = chief.post("/patrols", payload(north_reach, gcj, crs="gcj02")).json()
    assert ok["effective"] is True, ok["reasons"]
    stored = chief.get(f"/patrols/{ok['id']}").json()["track"]["coordinates"]
    err = np.abs(np.array(stored) - np.column_stack([track.lon, track.lat])).max()
    assert err < 2e-6  # converted back to WGS84 within a few decimetres
    # the same GCJ-02 coordinates sent as WGS84 land ~500 m off the river
    wrong = chief.post("/patrols", payload(north_reach, gcj, crs="wgs84", client_id=uuid.uuid4())).json()
    assert wrong["effective"] is False
    assert wrong["metrics"]["within_buffer_share"] < 0.2
    assert any(x.startswith("轨迹偏离河道") for x in wrong["reasons"])


def test_it_stores_one_patrol_for_one_client_id(world, rules, api):
    chief = api("township-chief")
    body = payload(world.town_reach, walk(world.town_reach))
    first = chief.post("/patrols", body)
    again = chief.post("/patrols", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Patrol.objects.count() == 1


def test_it_returns_the_track_with_the_patrol(world, rules, api):
    chief = api("township-chief")
    track = walk(world.town_reach)
    pid = chief.post("/patrols", payload(world.town_reach, track)).json()["id"]
    body = chief.get(f"/patrols/{pid}").json()
    assert body["effective"] is True and set(body["metrics"]) >= {"duration_s", "length_m", "within_buffer_share",
                                                                    "coverage", "max_speed_kmh"}
    assert len(body["track"]["coordinates"]) == len(track.t) == len(body["track"]["times"])
    assert body["track"]["times"][0].endswith("Z")
    assert api("county-office").get(f"/patrols/{pid}").status_code == 200
    assert api("other-county-chief").get(f"/patrols/{pid}").status_code == 404


def test_it_accepts_a_gpx_file(world, rules, api, client):
    token = api("township-chief").token
    r = post_gpx(client, token, gpx(walk(world.town_reach)), client_id=str(uuid.uuid4()),
                 feature=str(world.town_reach.pk))
    assert r.status_code == 201, r.content
    assert r.json()["effective"] is True
    assert Patrol.objects.get().source == "gpx"


def test_it_marks_a_second_patrol_within_the_interval(world, rules, api):
    chief = api("village-chief")
    assert chief.post("/patrols", payload(world.village_reach, walk(world.village_reach))).json()["effective"]
    later = walk(world.village_reach, seed=2, start=T0 + 1800)
    body = chief.post("/patrols", payload(world.village_reach, later)).json()
    assert body["effective"] is False
    assert any(x.startswith("距上次巡河不足60分钟") for x in body["reasons"])


def test_it_files_findings_as_patrol_cases(world, rules, api):
    from zhangzhi.cases.models import Case

    track = walk(world.town_reach)
    finding = {"category": "garbage", "note": "河岸堆放生活垃圾", "lon": float(track.lon[50]),
               "lat": float(track.lat[50]), "photo": "data:image/png;base64," + base64.b64encode(PNG).decode()}
    body = api("township-chief").post("/patrols", payload(world.town_reach, track, findings=[finding])).json()
    f = Finding.objects.get(patrol_id=body["id"])
    assert f.photo and f.case is not None, f.file_error
    case = Case.objects.get(pk=f.case_id)
    assert case.source == "patrol" and case.feature_id == world.town_reach.pk
    assert case.description == "河岸堆放生活垃圾"


# -- bad input: a clear 4xx, nothing stored ---------------------------------------------------------

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<gpx version="1.1"><trk><name>&lol4;</name><trkseg></trkseg></trk></gpx>"""


def assert_nothing_stored(media):
    assert Patrol.objects.count() == 0
    assert raw_files(media) == []


@pytest.mark.parametrize("data,code", [
    (b"<gpx><trk><trkseg><trkpt lat='38' lon='113'>", "malformed"),
    (b"not xml at all", "malformed"),
    (BOMB, "unsafe_xml"),
    (b"<kml></kml>", "malformed"),
])
def test_it_refuses_bad_gpx(world, rules, api, client, media, data, code):
    r = post_gpx(client, api("township-chief").token, data, client_id=str(uuid.uuid4()),
                 feature=str(world.town_reach.pk))
    assert r.status_code == 422, r.content
    assert r.json()["error"]["code"] == code
    assert r.json()["error"]["message"].startswith("file")
    assert_nothing_stored(media)


def bad_tracks(world):
    track = walk(world.town_reach)
    unsorted = payload(world.town_reach, track)
    t = unsorted["track"]["times"]
    t[10], t[11] = t[11], t[10]
    repeated = payload(world.town_reach, track)
    repeated["track"]["times"][20] = repeated["track"]["times"][19]
    outside = payload(world.town_reach, track)
    outside["track"]["coordinates"] = [[lat, lon] for lon, lat in outside["track"]["coordinates"]]  # swapped
    empty = payload(world.town_reach, track)
    empty["track"]["coordinates"], empty["track"]["times"] = [], []
    no_times = payload(world.town_reach, track)
    del no_times["track"]["times"]
    naive = payload(world.town_reach, track)
    naive["track"]["times"][0] = "2026-05-12T09:00:00"
    return {
        "unsorted": (unsorted, "track.times[11]", "bad_times"),
        "repeated": (repeated, "track.times[20]", "bad_times"),
        "outside": (outside, "track.coordinates[0]", "outside_china"),
        "empty": (empty, "track.coordinates", "empty_track"),
        "no_times": (no_times, "track.times", "invalid"),
        "naive": (naive, "track.times[0]", "invalid"),
    }


@pytest.mark.parametrize("case", ["unsorted", "repeated", "outside", "empty", "no_times", "naive"])
def test_it_refuses_bad_tracks_with_the_reason(world, rules, api, media, case):
    body, field, code = bad_tracks(world)[case]
    r = api("township-chief").post("/patrols", body)
    assert r.status_code == 422, r.content
    err = r.json()["error"]
    assert err["code"] == code and field in err["fields"], err
    assert_nothing_stored(media)


def test_it_refuses_a_track_for_someone_elses_reach(world, rules, api, media):
    r = api("other-county-chief").post("/patrols", payload(world.town_reach, walk(world.town_reach)))
    assert r.status_code == 403
    assert "no post" in r.json()["error"]["message"]
    assert_nothing_stored(media)


def test_it_refuses_an_office_user_without_a_post(world, rules, api, media):
    r = api("county-office").post("/patrols", payload(world.town_reach, walk(world.town_reach)))
    assert r.status_code == 403
    assert_nothing_stored(media)


def test_it_refuses_an_oversized_upload(world, rules, api, client, media, monkeypatch):
    from zhangzhi.patrols import actions

    monkeypatch.setattr(actions, "MAX_UPLOAD_BYTES", 20_000)
    big = json.dumps(payload(world.town_reach, walk(world.town_reach)))
    assert len(big) > 50_000
    r = api("township-chief").post("/patrols", json.loads(big))
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    r = post_gpx(client, api("township-chief").token, b"<gpx>" + b" " * 200_000 + b"</gpx>",
                 client_id=str(uuid.uuid4()), feature=str(world.town_reach.pk))
    assert r.status_code == 413
    assert_nothing_stored(media)


def test_it_refuses_an_unknown_reach_and_a_bad_client_id(world, rules, api, media):
    body = payload(world.town_reach, walk(world.town_reach))
    r = api("township-chief").post("/patrols", {**body, "feature": 999999})
    assert r.status_code == 422 and "feature" in r.json()["error"]["fields"]
    r = api("township-chief").post("/patrols", {**body, "client_id": "not-a-uuid"})
    assert r.status_code == 422 and "client_id" in r.json()["error"]["fields"]
    assert_nothing_stored(media)


def test_it_needs_a_login(world, rules, api):
    r = api().post("/patrols", payload(world.town_reach, walk(world.town_reach)))
    assert r.status_code == 401


def test_it_lists_patrols_with_filters_within_a_query_budget(world, rules, api, django_assert_max_num_queries):
    chief = api("township-chief")
    chief.post("/patrols", payload(world.town_reach, walk(world.town_reach)))
    drive = simulate.drive_along_offset(reach_coords(world.town_reach), T0 + 86400, np.random.default_rng(2))
    chief.post("/patrols", payload(world.town_reach, drive))
    office = api("county-office")
    with django_assert_max_num_queries(8):
        body = office.get("/patrols").json()
    assert body["count"] == 2
    assert office.get("/patrols", effective="false").json()["count"] == 1
    assert office.get("/patrols", flag="driving").json()["count"] == 1
    assert office.get("/patrols", region="140322100", since="2026-05-13").json()["count"] == 1
    assert api("other-county-chief").get("/patrols").json()["count"] == 0
