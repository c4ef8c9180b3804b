"""Stations are the office's: quarantine, frames over HTTP, bulk readings and imports stay in its jurisdiction,
and every upload answers a clear 4xx whatever its bytes (issue 8)."""

from __future__ import annotations

import io
import random

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhangzhi.conftest import PASSWORD
from zhangzhi.lib.errors import InvalidInput
from zhangzhi.monitoring import actions, hj212
from zhangzhi.monitoring.ingest import Ingestor, Received
from zhangzhi.monitoring.models import Quarantine, RawFrame, Reading, Station

from .conftest import MN_PD, MN_YU, at, hourly

pytestmark = pytest.mark.django_db
UNKNOWN = "A999999_0001"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


def _admin_user():
    """A system administrator (系统管理员): no jurisdiction, but the permission to see every frame."""
    user = get_user_model().objects.create_user("sysadmin", password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="view_quarantinedframe"))
    return user


def _quarantine_three(stations):
    """A frame of each county's station and one of no station, all quarantined (the stations are inactive)."""
    Station.objects.update(active=False)
    Ingestor().process([Received(hourly(mn, at(1), {"w21003": 0.4}), "10.9.8.7:4000")
                        for mn in (MN_YU, MN_PD, UNKNOWN)])
    assert Quarantine.objects.filter(reason="unknown_mn").count() == 3


def test_it_shows_an_office_only_the_quarantine_of_its_stations(stations, api):
    _quarantine_three(stations)
    county = api("county-office").get("/monitoring/quarantine").json()["quarantine"]
    assert [r["mn"] for r in county] == [MN_YU]
    assert county[0]["peer"] is None  # where stations connect from is not the office's business
    city = api("city-office").get("/monitoring/quarantine", status="all").json()["quarantine"]
    assert sorted(r["mn"] for r in city) == sorted([MN_YU, MN_PD])
    assert api("township-chief").get("/monitoring/quarantine").status_code == 403


def test_it_shows_every_frame_and_its_peer_to_the_system_administrator(stations, api):
    _quarantine_three(stations)
    _admin_user()
    rows = api("sysadmin").get("/monitoring/quarantine").json()["quarantine"]
    assert sorted(r["mn"] for r in rows) == sorted([MN_YU, MN_PD, UNKNOWN])
    assert {r["peer"] for r in rows} == {"10.9.8.7:4000"}


def test_it_replays_only_the_frames_of_stations_the_office_edits(stations, api):
    _quarantine_three(stations)
    Station.objects.update(active=True)
    ids = list(Quarantine.objects.values_list("pk", flat=True))
    r = api("county-office").post("/monitoring/quarantine/replay", {"ids": ids})
    assert r.json() == {"replayed": 1, "still_quarantined": 0}
    assert set(Reading.objects.values_list("station__mn", flat=True)) == {MN_YU}
    assert set(Quarantine.objects.filter(status="open").values_list("mn", flat=True)) == {MN_PD, UNKNOWN}
    assert api("township-chief").post("/monitoring/quarantine/replay", {}).status_code == 403
    _admin_user()
    assert api("sysadmin").post("/monitoring/quarantine/replay", {}).json() == {
        "replayed": 1, "still_quarantined": 1}  # the unknown MN is still unknown


def _frames(api_client, *frames):
    return api_client.post("/monitoring/frames", {"frames": [f.decode() for f in frames]})


def test_it_takes_frames_only_for_stations_the_caller_edits(stations, api):
    office = api("county-office")
    ok = _frames(office, hourly(MN_YU, at(1), {"w21003": 0.4}))
    assert ok.status_code == 200 and "CN=9014" in ok.json()["replies"][0]
    archived = RawFrame.objects.count()
    foreign = _frames(office, hourly(MN_YU, at(2), {"w21003": 0.4}), hourly(MN_PD, at(2), {"w21003": 0.4}))
    unknown = _frames(office, hourly(MN_YU, at(2), {"w21003": 0.4}), hourly(UNKNOWN, at(2), {"w21003": 0.4}))
    assert foreign.status_code == unknown.status_code == 403
    assert foreign.json() == unknown.json()  # nothing tells whether the MN exists
    assert foreign.json()["error"]["fields"] == {"frames[1]": "not yours"}
    assert RawFrame.objects.count() == archived and Reading.objects.count() == 1  # all or nothing
    assert _frames(api("township-chief"), hourly(MN_YU, at(3), {"w21003": 0.4})).status_code == 403
    assert _frames(api("city-office"), hourly(MN_PD, at(3), {"w21003": 0.4})).status_code == 200


def test_it_refuses_a_frame_crafted_to_name_two_stations(stations, api):
    # the first 'MN=' (what a frame that fails to parse is filed under) is the office's, the header's is not
    segment = (f"QN=20250301000000000;ST=21;CN=2061;PW=xMN={MN_YU};MN={MN_PD};Flag=5;"
               "CP=&&DataTime=20250301000000;w21003-Avg=0.4&&")
    r = _frames(api("county-office"), hj212.build_frame(segment))
    assert r.status_code == 403 and Reading.objects.count() == 0


def test_it_takes_frames_with_the_station_password_and_no_account(stations, api):
    office = api("county-office")
    assert office.post(f"/stations/{stations['yu'].pk}/password", {"password": "s3cret"}).status_code == 204
    assert "password" not in office.get(f"/stations/{stations['yu'].pk}").json()
    anonymous = api()
    good = _frames(anonymous, hourly(MN_YU, at(1), {"w21003": 0.4}, pw="s3cret"))
    assert good.status_code == 200 and Reading.objects.count() == 1
    wrong = _frames(anonymous, hourly(MN_YU, at(2), {"w21003": 0.4}, pw="guess"))
    no_password = _frames(anonymous, hourly(MN_PD, at(2), {"w21003": 0.4}, pw=""))
    unknown = _frames(anonymous, hourly(UNKNOWN, at(2), {"w21003": 0.4}, pw="s3cret"))
    assert wrong.status_code == no_password.status_code == unknown.status_code == 403
    assert wrong.json() == no_password.json() == unknown.json()
    assert Reading.objects.count() == 1


def test_only_the_office_sets_a_station_password(stations, api):
    sid = stations["pd"].pk
    assert api("township-chief").post(f"/stations/{sid}/password", {"password": "x"}).status_code == 404
    assert api("county-office").post(f"/stations/{sid}/password", {"password": "x"}).status_code == 404
    bad = api("city-office").post(f"/stations/{sid}/password", {"password": "a;b"})
    assert bad.status_code == 422
    assert Station.objects.get(pk=sid).password == ""


def test_it_takes_bulk_readings_only_for_stations_the_caller_edits(stations, api):
    body = {"readings": [{"parameter": "w21003", "time": "2025-03-01T08:00:00", "value": 0.5}]}
    office = api("county-office")
    foreign = office.post(f"/stations/{stations['pd'].pk}/readings", body)
    missing = office.post("/stations/999999/readings", body)
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    assert api("township-chief").post(f"/stations/{stations['yu'].pk}/readings", body).status_code == 404
    assert office.post(f"/stations/{stations['yu'].pk}/readings", body).json()["stored"] == 1


def _upload(client, api, data: bytes, name: str = "lab.csv"):
    token = api("county-office").token
    f = io.BytesIO(data)
    f.name = name
    return client.post("/api/v1/monitoring/import", {"file": f}, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_it_imports_only_stations_the_caller_edits_naming_the_line(stations, api, client):
    csv_data = (f"station,time,w21003\n{MN_YU},2025-03-05 10:00,0.8\n{MN_PD},2025-03-05 10:00,0.9\n").encode()
    foreign = _upload(client, api, csv_data)
    missing = _upload(client, api, csv_data.replace(MN_PD.encode(), b"NO_SUCH_MN"))
    assert foreign.status_code == missing.status_code == 422
    assert foreign.json()["error"]["fields"] == {"line 3.station": "unknown"}
    assert foreign.json()["error"]["message"].replace(MN_PD, "?") == \
        missing.json()["error"]["message"].replace("NO_SUCH_MN", "?")
    assert Reading.objects.count() == 0  # all or nothing


def test_it_names_each_bad_row_and_stores_nothing(stations, api, client):
    csv_data = (f"station,time,parameter,value\n{MN_YU},2025-03-05 10:00,w21003,0.8\n"
                f"{MN_YU},2025-03-05 10:00,w21011,lots\n{MN_YU},yesterday,w01009,7\n").encode()
    r = _upload(client, api, csv_data)
    assert r.status_code == 422
    assert r.json()["error"]["fields"] == {"line 3.value": "a finite number", "line 4.time": "ISO 8601 time"}
    assert Reading.objects.count() == 0


def test_it_reads_a_gbk_csv_from_excel_on_windows(stations, api, client):
    text = "station,time,w21003,w01009\r\n测试河秀水断面,2025-03-05 10:00,0.8,6.2\r\n"
    r = _upload(client, api, text.encode("gbk"))
    assert r.status_code == 200, r.content
    assert r.json()["stored"] == 2


@pytest.mark.parametrize(("data", "name", "message"), [
    (PNG, "photo.png", "not a CSV text file"),
    (PNG, "lab.csv", "not a CSV text file"),
    (random.Random(8).randbytes(4096), "lab.csv", "not a CSV text file"),
    (b"", "lab.csv", "empty file"),
    (b"\r\n  \r\n", "lab.csv", "empty file"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "lab.xls", "not a CSV text file"),  # old binary .xls
    (b"PK\x03\x04" + bytes(60), "lab.xlsx", "not an Excel workbook"),
    (b"station,time,w21003\n" + b"x" * 200_000, "lab.csv", "cannot be read"),  # a field over csv's limit
])
def test_every_upload_answers_a_clear_4xx(stations, api, client, data, name, message):
    r = _upload(client, api, data, name)
    assert r.status_code == 422, r.content
    assert message in r.json()["error"]["message"]


def test_a_truncated_workbook_answers_422(stations, api, client):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["station", "time", "w21003"])
    for h in range(200):
        wb.active.append([MN_YU, f"2025-03-05T{h % 24:02d}:00:00", 0.1])
    buf = io.BytesIO()
    wb.save(buf)
    whole = buf.getvalue()
    for cut in (len(whole) // 3, len(whole) - 40):
        r = _upload(client, api, whole[:cut], "lab.xlsx")
        assert r.status_code == 422, r.content
        assert "Excel" in r.json()["error"]["message"]
    assert Reading.objects.count() == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(st.binary(max_size=600), st.text(max_size=300).map(lambda t: t.encode("utf-8")),
                      st.text(max_size=300).map(lambda t: ("station,time,w21003\n" + t).encode("gb18030"))))
def test_any_bytes_give_a_result_or_invalid_input(world, data):
    user = world.users["county-office"]
    for importer in (actions.import_csv, actions.import_excel):
        try:
            importer(user, data)
        except InvalidInput:
            pass


def test_it_keeps_the_raw_archive_for_the_system_administrator(stations, world):
    Ingestor().process([Received(hourly(MN_YU, at(1), {"w21003": 0.4}))])
    assert RawFrame.objects.count() == 1
    assert not RawFrame.objects.visible_to(world.users["county-office"]).exists()
    assert not RawFrame.objects.visible_to(world.users["city-office"]).exists()
    assert RawFrame.objects.visible_to(_admin_user()).count() == 1


def test_it_throttles_password_guessing_without_an_account(stations, api):
    from django.core.cache import cache

    cache.clear()
    try:
        anonymous = api()
        frame = hourly(MN_YU, at(1), {"w21003": 0.4}, pw="guess")
        answers = [_frames(anonymous, frame).status_code for _ in range(61)]
        assert answers[:60] == [403] * 60 and answers[60] == 429
        assert _frames(api("county-office"), hourly(MN_YU, at(1), {"w21003": 0.4})).status_code == 200
    finally:
        cache.clear()
