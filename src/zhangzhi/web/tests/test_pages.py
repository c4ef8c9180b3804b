"""Pages through Django's test client: what the public sees, what needs a login, past rosters, English."""

from __future__ import annotations

import datetime as dt

import pytest

from zhangzhi.conftest import PASSWORD
from zhangzhi.org import actions as oa


def test_it_shows_a_signboard_to_the_public_with_an_inline_qr_code(client, world):
    r = client.get(f"/s/{world.town_reach.pk}/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "测试河秀水镇段" in html
    for name in ("冯市长", "钱县长", "王镇长", "吴志愿"):
        assert name in html
    assert '<div class="qr"><svg' in html
    assert f"/s/{world.town_reach.pk}/" in r.context["board"]["url"]
    assert "13800000000" not in html  # chiefs' personal phones are not published
    assert "0353-7654321" in html  # the nearest office's hotline: 盂县河长办


def test_it_serves_the_qr_code_as_svg(client, world):
    r = client.get(f"/s/{world.town_reach.pk}/qr.svg")
    assert r.status_code == 200 and r["Content-Type"] == "image/svg+xml"


def test_it_404s_on_a_missing_signboard(client, world):
    assert client.get("/s/999999/").status_code == 404


def test_it_shows_the_roster_to_the_public(client, world):
    r = client.get("/roster/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "河长名录" in html
    for name in ("陈书记", "冯市长", "钱县长", "王镇长", "赵村长", "孙镇长"):
        assert name in html
    assert "13800000000" not in html


def test_it_lists_civic_chiefs_apart_from_the_chiefs(client, world):
    html = client.get("/roster/").content.decode()
    assert '<p class="civic">' in html and "吴志愿" in html


@pytest.mark.parametrize(("q", "found", "not_found"), [
    ("王镇长", "测试河秀水镇段", "钱县长"),  # by person
    ("测试河盂县段", "钱县长", "孙镇长"),  # by reach
    ("冠山", "孙镇长", "王镇长"),  # by region
])
def test_it_searches_the_roster(client, world, q, found, not_found):
    html = client.get("/roster/", {"q": q}).content.decode()
    assert found in html and not_found not in html


def test_it_leads_from_a_region_name_to_its_roster(client, world):
    html = client.get("/roster/", {"q": "平定"}).content.decode()
    assert '<a href="?region=140321">平定县</a>' in html
    html = client.get("/roster/", {"region": "140321"}).content.decode()
    assert "孙镇长" in html and "王镇长" not in html


def test_it_shows_an_ended_post_on_a_past_date(client, world):
    former = oa.create_person(None, name="郑前任")
    post = oa.appoint(None, person=former, role="river-chief", level="township", feature=world.town_reach,
                      valid_from=dt.date(2022, 1, 1))
    oa.end_post(None, post, valid_to=dt.date(2023, 12, 31))

    assert "郑前任" not in client.get("/roster/").content.decode()
    html = client.get("/roster/", {"date": "2023-06-01"}).content.decode()
    assert "郑前任" in html
    assert "2023-06-01" in html
    assert "王镇长" not in html  # appointed 2024-01-01, not yet in post then


def test_it_ignores_a_malformed_date(client, world):
    r = client.get("/roster/", {"date": "yesterday"})
    assert r.status_code == 200 and "王镇长" in r.content.decode()


def test_it_marks_illustrative_data(client, world):
    assert "演示数据" in client.get("/roster/").content.decode()  # 示例村 is synthesised


def test_it_requires_a_login_for_the_dashboard(client, world):
    r = client.get("/map/")
    assert r.status_code == 302
    assert r["Location"] == "/accounts/login/?next=/map/"


def test_it_shows_the_dashboard_after_logging_in(client, world):
    r = client.post("/accounts/login/", {"username": "county-office", "password": PASSWORD, "next": "/map/"})
    assert r.status_code == 302 and r["Location"] == "/map/"
    html = client.get("/map/").content.decode()
    assert 'id="map"' in html and "web/dashboard.js" in html and "县办李" in html


def test_it_says_when_a_login_fails(client, world):
    r = client.post("/accounts/login/", {"username": "county-office", "password": "wrong"})
    assert r.status_code == 200 and "用户名或密码错误" in r.content.decode()


def test_it_sends_the_public_from_home_to_the_roster_and_staff_to_the_map(client, world):
    assert "河长名录" in client.get("/").content.decode()
    client.force_login(world.users["county-office"])
    assert client.get("/")["Location"] == "/map/"


def test_it_renders_the_roster_in_english(client, world, compiled_messages):
    r = client.post("/i18n/setlang/", {"language": "en", "next": "/roster/"})
    assert r.status_code == 302
    html = client.get("/roster/").content.decode()
    assert '<html lang="en">' in html
    assert "Roster of river chiefs" in html
    assert "河长名录" not in html.split("<main>")[1].split("</h1>")[0]
    assert "陈书记" in html  # names are data, never translated


def test_it_renders_chinese_by_default(client, world):
    html = client.get("/roster/").content.decode()
    assert '<html lang="zh-hans">' in html and "<h1>河长名录" in html
