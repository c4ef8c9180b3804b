"""The monitoring pages in English (Chinese msgids, English translations)."""

from __future__ import annotations

import re

from zhangzhi.conftest import PASSWORD

CJK = re.compile(r"[\u3400-\u9fff]")


def h1(page: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)


def test_the_station_list_renders_in_english_with_the_language_cookie(stations, client):
    assert client.login(username="county-office", password=PASSWORD)
    client.cookies["django_language"] = "en"
    page = client.get("/monitoring/").content.decode()
    assert "Monitoring stations" in h1(page) and not CJK.search(h1(page))
    assert "Assessment level" in page and "Latest class" in page and "Parameters over target" in page
    assert "automatic station" in page and "city" in page  # the station kind and level, from the choices
    assert "考核级别" not in page and "最新水质" not in page and "自动监测站" not in page


def test_the_station_page_renders_in_english(stations, client):
    from zhangzhi.monitoring.ingest import Ingestor, Received

    from .conftest import MN_YU, at, hourly

    Ingestor(alerts=False).process([Received(hourly(MN_YU, at(1), {"w21003": 0.4}))])  # data: the chart is shown
    assert client.login(username="county-office", password=PASSWORD)
    client.cookies["django_language"] = "en"
    page = client.get(f"/monitoring/stations/{stations['yu'].pk}/").content.decode()
    assert "Monthly water-quality class" in page and "Alerts" in page and "Class {k}" in page
    assert "月度水质类别" not in page and "预警" not in page


def test_the_station_list_stays_chinese_by_default(stations, client):
    assert client.login(username="county-office", password=PASSWORD)
    page = client.get("/monitoring/").content.decode()
    assert "监测站点" in h1(page) and "考核级别" in page and "自动监测站" in page
    assert "Monitoring stations" not in page


def test_it_names_items_instead_of_codes():
    from django.utils import translation

    from zhangzhi.monitoring.templatetags.water import item_name, item_names

    with translation.override("zh-hans"):
        assert item_names(["w21003", "w21011"]) == "氨氮(NH3-N)、总磷(以P计)"
        assert item_name("w99999") == "w99999"  # not a GB 3838 item: the code stays
    with translation.override("en"):
        assert item_name("w21011") == "Total phosphorus (as P)"
