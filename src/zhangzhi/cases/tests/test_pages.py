"""Pages and read endpoints: inbox per role, list, detail, statistics, exports, query budgets."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from zhangzhi.cases import actions

from .conftest import T0

PASSWORD_OK = "test-pass-123"


@pytest.fixture
def cases(loop, new_case):
    """Eight cases in every state the inbox cares about."""
    out = [new_case() for _ in range(8)]
    office = loop.users["county-office"]
    for c in out[2:]:
        actions.act(office, c, "assign", assignee=loop.units["eco"].pk, at=T0)
    for c in out[4:]:
        actions.act(None, c, "take", at=T0)
    for c in out[6:]:
        actions.act(None, c, "reply", note="done", at=T0)
    actions.act(office, out[7], "verify", at=T0)
    return out


def login(client, username):
    assert client.login(username=username, password=PASSWORD_OK)
    return client


def test_the_inbox_shows_what_waits_for_each_role(cases, api, django_assert_max_num_queries):
    office = api("county-office")
    with django_assert_max_num_queries(12):  # see test_inbox.API_BUDGET
        body = office.get("/cases/inbox").json()
    assert body["counts"]["to_accept"] == 2 and body["counts"]["to_verify"] == 1
    unit = api("member-unit").get("/cases/inbox").json()
    assert unit["counts"]["to_take"] == 2 and unit["counts"]["to_reply"] == 2
    chief = api("township-chief").get("/cases/inbox").json()
    assert chief["counts"] == {"to_rate": 1, "on_reaches": 7}  # the open ones lie on the village reach below theirs


def test_the_case_list_has_a_query_budget(cases, api, django_assert_max_num_queries):
    office = api("county-office")
    with django_assert_max_num_queries(8):
        body = office.get("/cases", limit=100).json()
    assert body["count"] == 8
    assert office.get("/cases", state="assigned").json()["count"] == 2
    assert office.get("/cases", region="140321").json()["count"] == 0
    assert office.get("/cases", region="999").status_code == 422


def test_stats_have_a_query_budget(cases, api, django_assert_max_num_queries):
    city = api("city-office")
    with django_assert_max_num_queries(11):  # auth 2, jurisdiction 3, totals 1, groups 5
        s = city.get("/cases/stats").json()
    assert s["total"] == 8 and s["closed"] == 1 and s["closure_rate"] == 0.125
    assert s["by_county"] == [{"key": "140322", "name": "盂县", "count": 8}]
    assert {r["key"] for r in s["by_state"]} == {"new", "assigned", "in_progress", "replied", "closed"}


def test_the_pages_render_for_staff(cases, client):
    login(client, "county-office")
    assert "待受理" in client.get("/cases/").content.decode()
    assert cases[0].code in client.get("/cases/list/").content.decode()
    page = client.get(f"/cases/{cases[6].pk}/").content.decode()
    assert "核查通过" in page and "重办" in page and "casemap" in page
    assert "ECharts" in client.get("/cases/stats/").content.decode() or "echarts" in \
        client.get("/cases/stats/").content.decode()


def test_the_detail_page_takes_actions(cases, client):
    login(client, "county-office")
    c = cases[0]
    r = client.post(f"/cases/{c.pk}/act", {"action": "accept", "version": c.version})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.state == "accepted"
    client.post(f"/cases/{c.pk}/act", {"action": "accept", "version": 1})
    assert "已受理" in client.get(f"/cases/{c.pk}/").content.decode()


def test_pages_hide_other_counties(cases, client):
    login(client, "other-county-chief")
    assert client.get(f"/cases/{cases[0].pk}/").status_code == 404
    assert client.post(f"/cases/{cases[0].pk}/act", {"action": "accept"}).status_code == 404
    assert cases[0].code not in client.get("/cases/list/").content.decode()


def test_it_exports_csv_and_excel_without_personal_data(cases, client):
    login(client, "county-office")
    body = b"".join(client.get("/cases/export.csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][0] == "code" and len(rows) == 9
    wb = load_workbook(io.BytesIO(client.get("/cases/export.xlsx").getvalue()))
    assert wb.active.max_row == 9
    assert "13800000000" not in body


def test_pages_need_a_login(loop, client):
    assert client.get("/cases/").status_code == 302
    assert client.get("/cases/export.csv").status_code == 302
