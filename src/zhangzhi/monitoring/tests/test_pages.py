"""The monitoring pages: daily values kept by ingestion, query budgets, the chart series, names and units."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from zhangzhi.conftest import PASSWORD
from zhangzhi.monitoring import actions, aggregates, parameters, quality
from zhangzhi.monitoring.ingest import Ingestor, Received
from zhangzhi.monitoring.models import Alert, DailyValue, Reading

from .conftest import MN_PD, MN_YU, at, hourly

pytestmark = pytest.mark.django_db

VALUES = {"w01001": 7.6, "w01009": 6.2, "w21003": 0.4, "w21011": 0.12, "w01003": 11.0, "w01014": 510.0}


def send_days(mn: str, days: int, *, first: int = 1, month: int = 3, scale: float = 1.0) -> None:
    """Hourly frames of ``days`` local days, sent as a station sends them (batches of a day)."""
    ingestor = Ingestor(alerts=False)
    start = at(first, month=month)
    for d in range(days):
        frames = []
        for h in range(24):
            vals = {c: round(v * scale * (1 + 0.05 * ((h * 7 + d) % 5 - 2)), 4) for c, v in VALUES.items()}
            frames.append(Received(hourly(mn, start + dt.timedelta(days=d, hours=h), vals)))
        ingestor.process(frames)


def stored_equals_readings() -> None:
    fresh = aggregates.computed()
    stored = {(d.station_id, d.parameter, d.kind, d.day): (d.count, d.total, d.low, d.high)
              for d in DailyValue.objects.all()}
    assert stored.keys() == fresh.keys()
    for key, (n, total, low, high) in fresh.items():
        assert stored[key][0] == n and stored[key][1] == pytest.approx(total) and stored[key][2:] == (low, high), key


# ------------------------------------------------------------------------------------------ daily values


def test_ingestion_keeps_the_daily_values_of_local_days(stations):
    send_days(MN_YU, 2)
    # 00:00-23:00 Beijing time of 1 and 2 March: two local days, although they straddle UTC dates
    days = sorted(set(DailyValue.objects.filter(station=stations["yu"]).values_list("day", flat=True)))
    assert days == [dt.date(2025, 3, 1), dt.date(2025, 3, 2)]
    row = DailyValue.objects.get(station=stations["yu"], parameter="w21003", day=dt.date(2025, 3, 1))
    values = list(Reading.objects.filter(station=stations["yu"], parameter="w21003", time__lt=at(2))
                  .values_list("value", flat=True))
    assert row.count == 24 and row.mean == pytest.approx(sum(values) / 24)
    assert (row.low, row.high) == (min(values), max(values))
    stored_equals_readings()


def test_data_sent_twice_is_counted_once(stations):
    send_days(MN_YU, 1)
    before = {(d.parameter, d.day): (d.count, d.total) for d in DailyValue.objects.all()}
    ingestor = Ingestor(alerts=False)
    # a station resends an hour it already sent, with one hour that is new: the day is recomputed
    ingestor.process([Received(hourly(MN_YU, at(1, 5), {"w21003": 99.0})),
                      Received(hourly(MN_YU, at(1, 5), {"w21003": 99.0})),
                      Received(hourly(MN_YU, at(2, 0), {"w21003": 0.3}))])
    after = DailyValue.objects.get(parameter="w21003", day=dt.date(2025, 3, 1))
    assert (after.count, after.total) == before["w21003", dt.date(2025, 3, 1)]
    assert DailyValue.objects.get(parameter="w21003", day=dt.date(2025, 3, 2)).count == 1
    stored_equals_readings()


def test_imports_and_the_repair_command_keep_the_same_numbers(world, stations):
    lab = actions.create_station(None, name="实验室断面", kind="section", feature=world.town_reach, target_class="III")
    items = [{"parameter": "w21003", "time": f"2025-03-{d:02d}T10:00:00", "value": 0.2 * d, "kind": "sample"}
             for d in range(1, 6)]
    actions.import_readings(None, lab, items)
    actions.import_readings(None, lab, items[:2])  # duplicates: nothing changes
    send_days(MN_PD, 1)
    stored_equals_readings()
    DailyValue.objects.filter(station=lab).update(total=0)
    with pytest.raises(Exception, match="differ"):
        call_command("aggregate_readings", "--check")
    call_command("aggregate_readings", "--rebuild")
    stored_equals_readings()


def test_month_classes_from_daily_values_equal_those_of_the_readings(stations):
    send_days(MN_YU, 2, first=30, month=3)
    send_days(MN_YU, 2, first=1, month=4, scale=4.0)
    s = stations["yu"]
    daily = quality.period_classes(s, "month")
    # a bound that is not local midnight makes the same computation from the readings
    raw = quality.period_classes(s, "month", start=at(1, 0, month=1) + dt.timedelta(seconds=1))
    assert [m["period"] for m in daily] == ["2025-03", "2025-04"]
    assert [(m["period"], m["class"], m["deciding"]) for m in daily] == [
        (m["period"], m["class"], m["deciding"]) for m in raw]
    for a, b in zip(daily, raw, strict=True):
        assert a["means"] == pytest.approx(b["means"])
    assert daily[1]["class"] != daily[0]["class"]  # April's fourfold values grade worse: not a constant


# -------------------------------------------------------------------------------------- pages and budgets


def page_queries(client, url):
    client.get(url)  # warm: the session, the GB 3838 table
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(url)
    assert r.status_code == 200
    return r.content.decode(), [q["sql"] for q in ctx.captured_queries]


def test_the_station_page_reads_daily_values_not_readings_within_a_query_budget(stations, client):
    send_days(MN_YU, 3)
    assert client.login(username="county-office", password=PASSWORD)
    url = f"/monitoring/stations/{stations['yu'].pk}/"
    _, queries = page_queries(client, url)
    assert not [q for q in queries if "monitoring_reading" in q]  # a year of readings is never read here
    assert len(queries) <= 20  # session, user, scope, menu counts; station, parameters, months, alerts
    send_days(MN_YU, 40, first=1, month=4)  # more data, more months: the same queries
    _, more = page_queries(client, url)
    assert len(more) == len(queries)


def test_the_station_list_keeps_its_query_budget_whatever_the_data(world, stations, client):
    send_days(MN_YU, 2)
    assert client.login(username="city-office", password=PASSWORD)
    _, queries = page_queries(client, "/monitoring/")
    assert not [q for q in queries if "monitoring_reading" in q]  # no section has samples: no reading read
    assert len(queries) <= 20
    send_days(MN_PD, 2)
    actions.create_station(None, name="又一断面", kind="auto", mn="A140322_0009", feature=world.county_reach)
    _, more = page_queries(client, "/monitoring/")
    assert len(more) == len(queries)  # not a query per station


def test_the_series_is_compact_parallel_arrays(stations, api):
    send_days(MN_YU, 3)
    r = api("county-office").get(f"/stations/{stations['yu'].pk}/series", parameter="w21003")
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["t"] == ["2025-03-01", "2025-03-02", "2025-03-03"]
    assert len(body["mean"]) == len(body["min"]) == len(body["max"]) == 3
    assert body["min"][0] <= body["mean"][0] <= body["max"][0]
    assert body["name"] == "氨氮(NH3-N)" and body["unit"] == "mg/L"
    hourly = api("county-office").get(f"/stations/{stations['yu'].pk}/series", parameter="w21003",
                                      resolution="hour").json()
    assert len(hourly["t"]) == len(hourly["v"]) == 72 and isinstance(hourly["t"][0], int)
    # another county's station answers as one that does not exist
    assert api("county-office").get(f"/stations/{stations['pd'].pk}/series", parameter="w21003").status_code == 404
    assert api("county-office").get(f"/stations/{stations['yu'].pk}/series", parameter="x").status_code == 422


# ----------------------------------------------------------------------------------------- names and units


def test_the_station_page_names_parameters_and_units_in_chinese(stations, client):
    send_days(MN_YU, 1)
    s = stations["yu"]
    Alert.objects.create(station=s, parameter="class", opened_at=at(1), last_at=at(1), limit="III")
    assert client.login(username="county-office", password=PASSWORD)
    page = client.get(f"/monitoring/stations/{s.pk}/").content.decode()
    options = re.findall(r"<option value=\"(w\d+)\"[^>]*>([^<]*)</option>", page)
    assert dict(options)["w21003"] == "氨氮(NH3-N)" and dict(options)["w01003"] == "浊度"
    assert not [label for code, label in options if code in label]  # never "w01003 (w01003)"
    alerts = page.split("预警", 1)[1]
    assert "<td>水质类别</td>" in alerts and "<td>class</td>" not in alerts
    info = json.loads(re.search(r'id="parameter-info"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert info["w01001"]["unit"] == "无量纲" and info["w21003"]["unit"] == "mg/L"
    assert info["w01014"]["unit"] == "μS/cm" and info["w01003"]["name"] == "浊度"
    assert "dimensionless" not in page


def test_the_station_page_names_parameters_in_english_through_the_data(stations, client):
    send_days(MN_YU, 1)
    Alert.objects.create(station=stations["yu"], parameter="class", opened_at=at(1), last_at=at(1))
    assert client.login(username="county-office", password=PASSWORD)
    client.cookies["django_language"] = "en"
    page = client.get(f"/monitoring/stations/{stations['yu'].pk}/").content.decode()
    assert ">Ammonia nitrogen (NH3-N)</option>" in page and ">Turbidity</option>" in page
    assert "<td>Water-quality class</td>" in page
    info = json.loads(re.search(r'id="parameter-info"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert info["w01001"]["unit"] == "dimensionless"


def test_parameter_names_come_from_the_data_files():
    with translation.override("zh-hans"):
        assert parameters.name("w21011") == "总磷(以P计)"  # GB 3838's row
        assert parameters.name("w01014") == "电导率"  # HJ 212 Table B.1
        assert parameters.name("class") == "水质类别"
        assert parameters.unit("w20115") == "mg/L"  # stored normalised from μg/L
        assert parameters.unit("w02003") == "个/L"
        assert parameters.name("w99999") == "w99999"
    with translation.override("en"):
        assert parameters.name("w01014") == "Conductivity"
        assert parameters.unit("w01001") == "dimensionless"


def test_the_station_list_names_items_over_target_only_when_the_target_is_missed(stations, client):
    send_days(MN_YU, 1)  # TP ≈ 0.12: class III, target III — nothing is over target
    send_days(MN_PD, 1, scale=4.0)  # TP ≈ 0.48 (and pH ≈ 30): 劣V, target II — they are named
    assert client.login(username="city-office", password=PASSWORD)
    page = client.get("/monitoring/").content.decode()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"<a href=\"/monitoring/stations/\d+/\">([^<]+)</a>(.*?)</tr>",
                                                        page, re.S)}
    assert rows["测试河秀水断面"].rstrip().endswith("<td><b>III</b></td>\n  <td></td>")
    assert "总磷(以P计)" in rows["测试河平定断面"] and "⚠" in rows["测试河平定断面"]
