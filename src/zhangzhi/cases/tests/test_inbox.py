"""待办 per role with a year of work in it: counts from the database, urgent and newest first, pages of 20,
links to the whole list, a chief's reaches and patrols, the menu's count; query budgets throughout."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from zhangzhi.cases import actions, queries
from zhangzhi.cases.actions.base import new_code
from zhangzhi.cases.api import case_row
from zhangzhi.cases.models import Case
from zhangzhi.conftest import PASSWORD
from zhangzhi.patrols import actions as patrol_actions
from zhangzhi.patrols.tests.conftest import payload, walk

OLD = 120  # reports of the past year still waiting: more than any page or the old limit of 50


def clone(case: Case, **changes) -> Case:
    fields = {f.attname: getattr(case, f.attname) for f in Case._meta.concrete_fields if f.attname != "id"}
    return Case(**{**fields, "code": new_code(), **changes})


class Busy:
    pass


@pytest.fixture
def busy(loop, new_case):
    """A county office a year behind: 120 reports of the past year never accepted, a public report filed
    a minute ago, and four cases at the environment bureau (one overdue, one due in two days, one due in
    a month, one being handled and overdue)."""
    now = timezone.now()
    office, eco = loop.users["county-office"], loop.units["eco"].pk
    first = new_case(at=now - dt.timedelta(days=365))
    # copies of one report (the routing is the same for all): volume without 120 trips through routing
    Case.objects.bulk_create([clone(first, reported_at=now - dt.timedelta(days=365 - 3 * i)) for i in range(1, OLD)])
    b = Busy()
    b.now, b.old = now, first
    b.fresh = actions.public_report("203.0.113.7", category="garbage", description="刚刚看到有人往河里倒垃圾",
                                    lat=38.0725, lon=113.375, at=now - dt.timedelta(minutes=1))
    b.handling = {}
    for name, days_ago, due_in, take in (("overdue", 20, -5, False), ("soon", 10, 2, False),
                                         ("later", 5, 30, False), ("late_in_hand", 30, -1, True)):
        c = new_case(at=now - dt.timedelta(days=days_ago))
        actions.act(office, c, "assign", assignee=eco, deadline=now + dt.timedelta(days=due_in),
                    at=now - dt.timedelta(days=days_ago))
        if take:
            actions.act(None, c, "take", at=now - dt.timedelta(days=days_ago))
        b.handling[name] = c
    b.new_codes = {first.code, b.fresh.code, *Case.objects.filter(state="new").values_list("code", flat=True)}
    return b


def login(client, username):
    assert client.login(username=username, password=PASSWORD)
    return client


def section(page: str, reason: str) -> str:
    return re.search(rf'<section id="{reason}".*?</section>', page, re.S).group(0)


# -- the office -----------------------------------------------------------------------------------------

# the API: token 2, read and write scopes 3, units and posts 2, one aggregate per base 2, one page per non-empty
# section (here 待受理 and 已逾期) 2
API_BUDGET = 12


def test_the_office_counts_every_new_report_and_lists_the_newest_first(busy, api, django_assert_max_num_queries):
    office = api("county-office")
    with django_assert_max_num_queries(API_BUDGET):
        body = office.get("/cases/inbox").json()
    assert body["counts"]["to_accept"] == OLD + 1 == len(busy.new_codes)  # not the 50 of a truncated list
    rows = body["inbox"]["to_accept"]
    assert len(rows) == queries.PER_PAGE and rows[0]["code"] == busy.fresh.code
    assert [r["reported_at"] for r in rows] == sorted((r["reported_at"] for r in rows), reverse=True)
    to_accept = body["sections"]["to_accept"]
    assert to_accept["count"] == OLD + 1 and to_accept["pages"] == 7 and to_accept["previous"] is None
    assert to_accept["next"] == "/api/v1/cases/inbox?section=to_accept&page=2"
    assert to_accept["list"] == "/cases/list/?mine=office&state=new"
    assert body["counts"]["overdue"] == 2 and body["total"] == OLD + 1 + 2  # nothing accepted or replied yet

    # every page in turn, by the next links: each case once, the oldest on the last page
    seen, url = [], "/cases/inbox"
    while url:
        with django_assert_max_num_queries(API_BUDGET):
            page = office.get(url.removeprefix("/api/v1")).json()
        seen += [r["code"] for r in page["inbox"]["to_accept"]]
        assert page["counts"] == body["counts"]
        url = page["sections"]["to_accept"]["next"]
    assert len(seen) == len(set(seen)) == OLD + 1 and set(seen) == busy.new_codes and seen[-1] == busy.old.code
    assert page["sections"]["to_accept"]["page"] == 7 and len(page["inbox"]["to_accept"]) == 1
    assert office.get("/cases/inbox", section="to_accept", page=99).json()["sections"]["to_accept"]["page"] == 7
    assert office.get("/cases/inbox", section="everything").status_code == 422


def test_supervised_and_critical_cases_come_before_the_newest(busy, api):
    office_user = busy.old.office.people.get().user
    supervised = Case.objects.filter(state="new").order_by("reported_at")[5]
    actions.act(office_user, supervised, "supervise", note="市河长办督办")
    critical = Case.objects.filter(state="new").order_by("reported_at")[9]
    Case.objects.filter(pk=critical.pk).update(urgency="critical")
    rows = api("county-office").get("/cases/inbox").json()["inbox"]["to_accept"]
    assert [r["code"] for r in rows[:3]] == [supervised.code, critical.code, busy.fresh.code]


def test_overdue_cases_lead_and_carry_the_overdue_mark(busy, api, client):
    overdue = api("county-office").get("/cases/inbox").json()["inbox"]["overdue"]
    # both late, neither supervised nor urgent: the newer report first
    assert [r["code"] for r in overdue] == [busy.handling["overdue"].code, busy.handling["late_in_hand"].code]
    assert all(r["overdue"] for r in overdue)
    # the member unit: 待承办 overdue first, then due soon, then the rest; 待反馈 with its deadline
    unit = api("member-unit").get("/cases/inbox").json()
    to_take = [busy.handling[k].code for k in ("overdue", "soon", "later")]
    assert [r["code"] for r in unit["inbox"]["to_take"]] == to_take
    assert [r["code"] for r in unit["inbox"]["to_reply"]] == [busy.handling["late_in_hand"].code]
    assert all(r["deadline"] for r in unit["inbox"]["to_take"])
    page = login(client, "member-unit").get("/cases/").content.decode()
    to_take = section(page, "to_take")
    late, soon, later = (re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{busy.handling[k].code}.*?</tr>", to_take, re.S).group(0)
                         for k in ("overdue", "soon", "later"))
    assert "status-overdue" in late and "status-due-soon" not in late
    assert "status-due-soon" in soon and "即将到期" in soon and "status-overdue" not in soon
    assert "status-" not in later


def test_the_inbox_page_counts_pages_and_links_to_the_whole_list(busy, client, django_assert_max_num_queries):
    login(client, "county-office")
    with django_assert_max_num_queries(16):  # the API's, the session's 2, 举报审核's count, the menu's permissions
        page = client.get("/cases/").content.decode()
    to_accept = section(page, "to_accept")
    assert f'<span class="tag">{OLD + 1}</span>' in to_accept
    assert to_accept.index(busy.fresh.code) < to_accept.index("<tbody>") + 400  # the first row
    assert to_accept.count('href="/cases/') - to_accept.count("/cases/list/") >= queries.PER_PAGE
    assert "第 1/7 页" in to_accept and "?section=to_accept&amp;page=2" in to_accept
    assert 'href="/cases/list/?mine=office&amp;state=new"' in to_accept
    assert f"({OLD + 1 + 2})" in page  # the menu: 待办 (123)
    second = section(client.get("/cases/?section=to_accept&page=2").content.decode(), "to_accept")
    assert "第 2/7 页" in second and busy.fresh.code not in second and "rel=\"prev\"" in second
    # the list behind the link holds exactly the section
    listed = client.get("/cases/list/?mine=office&state=new").content.decode()
    assert re.search(rf"<h1>.*{OLD + 1} 件", listed, re.S)
    assert re.search(r"<h1>.*\b2 件", client.get("/cases/list/?mine=office&overdue=1").content.decode(), re.S)
    assert client.get("/cases/list/?mine=everyone").status_code == 404


def test_the_unit_and_the_reporter_links_filter_the_list(busy, client):
    login(client, "member-unit")
    page = client.get("/cases/list/?mine=unit&state=assigned").content.decode()
    assert all(busy.handling[k].code in page for k in ("overdue", "soon", "later"))
    assert busy.handling["late_in_hand"].code not in page and busy.fresh.code not in page


# -- chiefs ---------------------------------------------------------------------------------------------

# 2026-03-15 10:00 Beijing time: a Sunday in the second 旬 of March (the 旬 ends on the 20th)
T = dt.datetime(2026, 3, 15, 2, 0, tzinfo=dt.UTC)


def patrol(world, person, *, days_before: float, effective: bool, seed: int):
    start = (T - dt.timedelta(days=days_before)).timestamp()
    track = walk(world.town_reach, seed=seed, start=start, portion=(0.05, 0.7) if effective else (0.05, 0.06))
    p, _ = patrol_actions.do_upload_patrol(None, payload(world.town_reach, track, client_id=uuid.uuid4()),
                                           person=world.people[person])
    assert p.effective is effective
    return p


def test_a_chief_sees_the_problems_on_their_reaches_and_the_patrol_due(cases_on_reaches, loop, client):
    chief = loop.users["township-chief"]
    data = queries.inbox(chief, case_row, now=T)
    assert data["counts"]["on_reaches"] == 3  # the village reach lies below their township reach
    assert [d.as_dict() for d in data["patrols_due"]] == [{
        "feature_id": loop.town_reach.pk, "feature": "测试河秀水镇段", "period": "dekad",
        "period_label": "2026年3月中旬", "required": 1, "done": 0, "remaining": 1, "days_left": 6,
        "last_day": dt.date(2026, 3, 20)}]
    assert data["counts"]["to_rate"] == 1  # the one they reported, closed
    assert data["total"] == 2  # the patrol and the rating; the reaches' problems are the offices' to act on
    assert data["ineffective"] == {"count": 0, "rows": []}
    village = queries.inbox(loop.users["village-chief"], case_row, now=T)
    assert village["counts"]["on_reaches"] == 3
    assert [(d.period, d.days_left) for d in village["patrols_due"]] == [("week", 1)]  # Sunday: the week's last day
    volunteer = queries.inbox(loop.users["volunteer"], case_row, now=T)
    assert volunteer["counts"]["on_reaches"] == 3 and volunteer["patrols_due"] == []  # 民间河长 owe no patrols
    other = queries.inbox(loop.users["other-county-chief"], case_row, now=T)
    assert "on_reaches" not in other["counts"]
    # the links to the whole list: the same cases
    login(client, "township-chief")
    for s in data["sections"]:
        listed = client.get(s.list_url()).content.decode()
        assert re.search(rf"<h1>.*\b{data['counts'][s.reason]} 件", listed, re.S), s.reason
    closed = cases_on_reaches[3].code
    assert closed in client.get("/cases/list/?mine=reported&state=closed&rating=none").content.decode()
    assert closed not in client.get("/cases/list/?mine=reported&rating=satisfied").content.decode()


@pytest.fixture
def cases_on_reaches(loop, new_case):
    """Three open problems on the village reach, one closed, and one in 平定县 (another county)."""
    office = loop.users["county-office"]
    out = [new_case(at=T - dt.timedelta(days=d)) for d in (1, 2, 3, 4)]
    actions.act(office, out[3], "assign", assignee=loop.units["eco"].pk, at=T)
    actions.act(None, out[3], "take", at=T)
    actions.act(None, out[3], "reply", note="已清理", at=T)
    actions.act(office, out[3], "verify", at=T)
    new_case(lat=37.83, lon=113.575, at=T)  # on 测试河平定段
    return out


def test_a_patrol_judged_not_effective_is_listed_with_its_reasons_and_the_duty_stays(
        cases_on_reaches, loop, client, django_assert_max_num_queries):
    short = patrol(loop, "township-chief", days_before=2, effective=False, seed=3)
    chief = loop.users["township-chief"]
    with django_assert_max_num_queries(16):
        data = queries.inbox(chief, case_row, now=T)
    assert data["ineffective"]["count"] == 1 and data["ineffective"]["rows"][0].pk == short.pk
    assert data["patrols_due"][0].remaining == 1
    patrol(loop, "township-chief", days_before=1, effective=True, seed=4)
    data = queries.inbox(chief, case_row, now=T)
    assert (data["patrols_due"][0].done, data["patrols_due"][0].remaining, data["total"]) == (1, 0, 1)
    assert queries.inbox(chief, case_row, now=T + dt.timedelta(days=40))["ineffective"]["count"] == 0


def test_the_chiefs_page_shows_the_reminder_the_reaches_and_the_failed_patrols(loop, new_case, client, api,
                                                                              django_assert_max_num_queries):
    now = timezone.now()
    new_case(at=now - dt.timedelta(days=2))
    track = walk(loop.town_reach, seed=6, start=(now - dt.timedelta(hours=6)).timestamp(), portion=(0.05, 0.06))
    failed, _ = patrol_actions.do_upload_patrol(None, payload(loop.town_reach, track, client_id=uuid.uuid4()),
                                                person=loop.people["township-chief"])
    assert not failed.effective
    login(client, "township-chief")
    with django_assert_max_num_queries(19):  # + the patrols: rule kinds 1, the duty read 4, the failed ones 1
        page = client.get("/cases/").content.decode()
    reminder = section(page, "patrols-due")
    assert re.search(r"本旬还需巡河 1 次，剩 \d+ 天", reminder) and "测试河秀水镇段" in reminder
    failed_list = section(page, "patrols-ineffective")
    assert f'href="/patrols/{failed.pk}/"' in failed_list and "巡河里程不足" in failed_list
    assert "测试河示例村段" in section(page, "on_reaches")  # the village reach below theirs
    assert '<span class="menu-count">(1)</span>' in page  # the menu: one patrol owed
    client.cookies["django_language"] = "en"
    english = client.get("/cases/").content.decode()
    assert re.search(r"This dekad: 1 more patrol due, \d+ days left", english)
    assert "Open problems on my reaches" in english
    assert "本旬" not in english and "巡河里程不足" not in english  # the judge's reasons in English too
    chief = api("township-chief")
    with django_assert_max_num_queries(18):
        body = chief.get("/cases/inbox").json()
    assert body["counts"] == {"to_rate": 0, "on_reaches": 1} and body["total"] == 1
    assert body["patrols"]["due"][0]["remaining"] == 1 and body["patrols"]["due"][0]["period"] == "dekad"
    assert body["patrols"]["ineffective_count"] == 1
    assert body["patrols"]["ineffective"][0]["url"] == f"/patrols/{failed.pk}/"


# -- the menu -------------------------------------------------------------------------------------------

def menu_queries(client, path, monkeypatch):
    """Queries of one page with the menu's count, and without (counted as 0 at no cost)."""
    with CaptureQueriesContext(connection) as with_count:
        page = client.get(path)
    assert page.status_code == 200
    monkeypatch.setattr(queries, "waiting_total", lambda user, now=None: 0)
    with CaptureQueriesContext(connection) as without:
        client.get(path)
    monkeypatch.undo()
    return len(with_count) - len(without), page.content.decode()


# the write scope, the user's units and posts, one aggregate per base; a chief's patrol duties: the rule kinds
# and one duty read (`compliance.duties`: posts, rules, features, patrols)
@pytest.mark.parametrize("who, budget", [("county-office", 5), ("member-unit", 4), ("township-chief", 9)])
def test_the_menus_count_costs_a_bounded_number_of_queries(busy, client, monkeypatch, who, budget):
    login(client, who)
    extra, page = menu_queries(client, "/cases/stats/", monkeypatch)
    assert extra <= budget
    total = {"county-office": OLD + 3, "member-unit": 4, "township-chief": None}[who]
    if total is not None:
        assert f'<span class="menu-count">({total})</span>' in page
    # a hundred more cases: the same number of queries
    Case.objects.bulk_create([clone(busy.old) for _ in range(100)])
    again, _ = menu_queries(client, "/cases/stats/", monkeypatch)
    assert again == extra
