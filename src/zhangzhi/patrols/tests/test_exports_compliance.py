"""Issue 9: patrol and compliance exports stream and open in Excel; the compliance page tells the
truth (who met their duty, rate bands, a short city page); the patrol filter picks a region."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from zhangzhi.org.models import ChangeLog, Person, Post, Role
from zhangzhi.patrols import actions, compliance

from .conftest import payload, walk
from .test_pages import login
from .test_rules import upload

MAY = {"start": "2026-05-01", "end": "2026-06-01"}


@pytest.fixture
def patrol(world, rules):
    p, _ = actions.do_upload_patrol(None, payload(world.town_reach, walk(world.town_reach), client_id=uuid.uuid4()),
                                    person=world.people["township-chief"])
    return p


# -- exports ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_patrol_exports_stream_with_a_chinese_file_name_and_are_audited(world, patrol, client, fmt):
    login(client, "county-office")
    r = client.get("/patrols/", {"format": fmt, "effective": "true"})
    assert r.status_code == 200
    assert r.streaming  # not built whole in memory before the first byte
    disposition = r["Content-Disposition"]
    assert disposition.startswith('attachment; filename="patrols-')
    assert "filename*=UTF-8''" + quote("巡河记录-") in disposition and disposition.endswith("." + fmt)
    body = r.getvalue()
    if fmt == "csv":
        assert body.startswith("\ufeff".encode()) and "王镇长" in body.decode("utf-8-sig")
    else:
        assert load_workbook(io.BytesIO(body)).active["B2"].value == "王镇长"
    row = ChangeLog.objects.unrestricted("test").filter(kind="export").latest("pk")
    assert row.model == "patrols.Patrol" and row.summary["format"] == fmt
    assert row.summary["filters"] == {"format": fmt, "effective": "true"}


def test_the_compliance_excel_download_opens_with_its_chinese_labels(world, patrol, client):
    """Was a 500: "Cannot convert '村级' to Excel" (a lazy translation string)."""
    upload(world, "village-chief", world.village_reach, dt.date(2026, 5, 5), seed=5)
    login(client, "county-office")
    r = client.get("/patrols/compliance/", {**MAY, "format": "xlsx"})
    assert r.status_code == 200
    assert "filename*=UTF-8''" + quote("巡河履职-") in r["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.getvalue())).active
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    assert rows[0][:3] == ["行政区", "级别", "河长"]
    levels = {row[2]: row[1] for row in rows[1:]}
    assert levels["赵村长"] == "村级" and levels["钱县长"] == "县级"


# -- compliance page ------------------------------------------------------------------------------------

def test_rates_are_banded_and_said_in_numbers_and_words(world, rules, client):
    # village chief 4 of 5 weeks (80 %: fair), township chief 3 of 3 旬 (good), county chief 0 of 1 (poor)
    for day in (1, 5, 13, 26):
        upload(world, "village-chief", world.village_reach, dt.date(2026, 5, day), seed=day)
    for day, seed in ((2, 21), (18, 22), (31, 23)):
        upload(world, "township-chief", world.town_reach, dt.date(2026, 5, day), seed=seed)
    assert [compliance.rate_band(p) for p in (100, 90, 89, 60, 59, 0)] == ["good", "good", "fair", "fair",
                                                                           "poor", "poor"]
    login(client, "county-office")
    html = client.get("/patrols/compliance/", {**MAY, "region": "140322"}).content.decode()
    table = html.split('id="compliance-table"')[1].split("</table>")[0]
    cells = re.findall(r'<span class="rate rate-(\w+)">.*?<b>(\d+)%</b> <span class="band">(\w+)</span>', table)
    assert sorted(cells) == [("fair", "80", "一般"), ("good", "100", "良好"), ("poor", "0", "偏低")]


def test_the_city_page_pages_its_chiefs_at_fifty(world, rules, client):
    chief = Role.objects.get(code="river-chief")
    people = Person.objects.bulk_create([Person(name=f"村河长{i:03d}") for i in range(320)])
    Post.objects.bulk_create([Post(person=p, role=chief, level="village", feature=world.village_reach,
                                   region=world.village, valid_from=dt.date(2024, 1, 1)) for p in people])
    login(client, "city-office")
    r = client.get("/patrols/compliance/", MAY)
    html = r.content.decode()
    chiefs = html.split('class="list chiefs')[1].split("</table>")[0]
    assert chiefs.count("<tr class=") == 50
    # every duty counted, 50 shown: 320 + the village, township and county chiefs (the city chief's
    # quarter does not end in May)
    assert "323 人次" in html
    assert 'page=2' in html and "第 1 / 7 页" in html
    regions = html.split('id="compliance-table"')[1].split("</table>")[0]
    assert regions.count("<tr") <= 10  # the region rows stay short: counties × levels
    r = client.get("/patrols/compliance/", {**MAY, "page": 7})
    assert r.content.decode().split('class="list chiefs')[1].split("</table>")[0].count("<tr class=") == 23


# -- patrol list filter -------------------------------------------------------------------------------------

def test_the_patrol_filter_picks_a_region_of_the_jurisdiction(world, patrol, client):
    login(client, "county-office")
    html = client.get("/patrols/", {"region": "140322100"}).content.decode()
    select = re.search(r'<select name="region">(.*?)</select>', html, re.S).group(1)
    options = dict(re.findall(r'<option value="(\d*)"[^>]*>([^<]*)</option>', select))
    assert options["140322"] == "盂县" and options["140322100"].strip("\u3000") == "秀水镇"
    assert options["140322100"].startswith("\u3000")  # indented under its county
    assert "140321" not in options and "140300" not in options  # another county, the city above
    assert "140322100201" not in options  # villages are too many for a picker
    assert re.search(r'<option value="140322100" selected>', select)
    assert 'placeholder="行政区划代码"' not in html


@pytest.mark.parametrize("url", ["/patrols/", "/patrols/compliance/"])
def test_every_filter_field_has_a_label(world, rules, client, url):
    login(client, "city-office")
    html = client.get(url).content.decode()
    form = re.search(r'<form class="filters".*?</form>', html, re.S).group(0)
    fields = re.findall(r'<(?:select|input)(?![^>]*type="hidden")[^>]*>', form)
    assert fields
    for label in re.findall(r"<label[^>]*>(.*?)</label>", form, re.S):
        for f in re.findall(r'<(?:select|input)[^>]*>', label):
            fields.remove(f)
    assert fields == []  # none outside a <label>


def test_chiefs_who_met_every_ended_period_count_as_compliant(world, rules, client, monkeypatch):
    """达标河长 was 0 on every row: the period still running today was judged as missed, so on the
    last day of a week every weekly chief who had not yet patrolled it failed, however regular."""
    from django.utils import timezone

    from zhangzhi.org import actions as oa

    # 赵村长 patrolled every week that has ended in May; 王镇长 the two 旬 that have ended
    for day in (1, 5, 13, 19):
        upload(world, "village-chief", world.village_reach, dt.date(2026, 5, day), seed=day)
    for day, seed in ((2, 21), (18, 22)):
        upload(world, "township-chief", world.town_reach, dt.date(2026, 5, day), seed=seed)
    # 李村长, on the same reach, skipped the week of 11–17 May
    li = oa.create_person(None, name="李村长")
    oa.appoint(None, person=li, role="river-chief", level="village", feature=world.village_reach,
               valid_from=dt.date(2024, 1, 1))
    for day in (2, 6, 20):
        start = dt.datetime.combine(dt.date(2026, 5, day), dt.time(10), dt.timezone(dt.timedelta(hours=8)))
        patrol, _ = actions.do_upload_patrol(None, payload(world.village_reach, walk(world.village_reach, seed=day,
                                                                                   start=start.timestamp())),
                                             person=li)
        assert patrol.effective, patrol.reasons
    # today is Sunday 31 May: the week of 25–31 May, May's last 旬 and May itself are still running
    monkeypatch.setattr(timezone, "localdate", lambda *a, **kw: dt.date(2026, 5, 31))
    login(client, "county-office")
    html = client.get("/patrols/compliance/", {"start": "2026-05-01", "region": "140322"}).content.decode()
    table = html.split('id="compliance-table"')[1].split("<tbody>")[1].split("</tbody>")[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[cells[0], cells[1]] = cells[2:7]  # chiefs, met, no patrol, periods due, periods met
    assert rows["秀水镇", "村级"] == ["2", "1", "0", "8", "7"]
    assert rows["秀水镇", "乡级"] == ["1", "1", "0", "2", "2"]
    assert ("盂县", "县级") not in rows  # no month has ended yet in the range
