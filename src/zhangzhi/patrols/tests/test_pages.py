"""Patrol pages: list, detail, compliance, exports, the PWA manifest and service worker."""

from __future__ import annotations

import io
import uuid

import pytest

from zhangzhi.conftest import PASSWORD
from zhangzhi.patrols import actions

from .conftest import payload, walk


@pytest.fixture
def patrol(world, rules):
    p, _ = actions.do_upload_patrol(None, payload(world.town_reach, walk(world.town_reach), client_id=uuid.uuid4()),
                                    person=world.people["township-chief"])
    return p


def login(client, who):
    assert client.login(username=who, password=PASSWORD)
    return client


def test_the_county_office_sees_the_patrol_list_detail_and_exports(world, patrol, client,
                                                                     django_assert_max_num_queries):
    login(client, "county-office")
    # the page's own: count, rows, the region picker; the rest is the session, the user's scope
    # and the menu's 待办 counts (issue 9)
    with django_assert_max_num_queries(16):
        r = client.get("/patrols/", {"effective": "true"})
    assert r.status_code == 200 and "测试河秀水镇段" in r.content.decode()
    r = client.get(f"/patrols/{patrol.pk}/")
    assert r.status_code == 200 and "有效巡河" in r.content.decode()
    csv = client.get("/patrols/", {"format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    text = csv.getvalue().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("编号,巡河人") and "王镇长" in text
    xlsx = client.get("/patrols/", {"format": "xlsx"})
    from openpyxl import load_workbook

    ws = load_workbook(io.BytesIO(xlsx.getvalue())).active
    assert ws["B2"].value == "王镇长"


def test_another_county_sees_no_patrol(world, patrol, client):
    login(client, "other-county-chief")
    assert client.get(f"/patrols/{patrol.pk}/").status_code == 404
    assert "测试河秀水镇段" not in client.get("/patrols/").content.decode()


def test_the_compliance_page_drills_down_and_exports(world, patrol, client):
    login(client, "city-office")
    r = client.get("/patrols/compliance/", {"start": "2026-05-01", "end": "2026-06-01", "region": "140322"})
    html = r.content.decode()
    assert r.status_code == 200 and "秀水镇" in html and "钱县长" in html and "未巡河" in html
    assert 'href="?region=140322100' in html
    r = client.get("/patrols/compliance/", {"start": "2026-05-01", "end": "2026-06-01", "format": "csv"})
    assert "王镇长" in r.content.decode("utf-8-sig")


def test_the_mobile_page_lists_the_chiefs_reaches_and_is_installable(world, rules, client):
    login(client, "township-chief")
    html = client.get("/m/patrol").content.decode()
    assert "测试河秀水镇段" in html and "开始巡河" in html and 'rel="manifest"' in html
    sw = client.get("/sw.js")
    assert sw["Content-Type"].startswith("application/javascript") and sw["Service-Worker-Allowed"] == "/"
    assert "/static/patrols/mobile.js" in sw.content.decode()
    assert client.get("/manifest.webmanifest").json()["start_url"] == "/m/patrol"
