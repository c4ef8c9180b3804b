"""待办 in a real browser, on a phone (390 px) and a desktop: the county office finds the report filed a
minute ago on top of 待受理 with the right count, turns the page and opens the whole list; a township chief
is reminded of the patrol due. Screenshots land in var/screenshots/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from zhangzhi.conftest import BROWSER_MARKS, SCREENSHOTS, sign_in

from .test_inbox import clone

pytestmark = BROWSER_MARKS

SIZES = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 900}}
OLD = 45  # more than two pages of 20


@pytest.fixture
def backlog(world):
    """45 reports of the past months nobody accepted, one overdue at the environment bureau, and a
    public report filed a minute ago."""
    from zhangzhi.cases import actions, reference
    from zhangzhi.cases.models import Case

    reference.ensure()  # live_server flushes: the categories come back here
    now = timezone.now()
    chief, office = world.users["township-chief"], world.users["county-office"]
    first = actions.report(chief, category="garbage", description="河道内有生活垃圾", lat=38.058, lon=113.325,
                           source="public", at=now - dt.timedelta(days=200))
    Case.objects.bulk_create([clone(first, reported_at=now - dt.timedelta(days=200 - 4 * i)) for i in range(1, OLD)])
    late = actions.report(chief, category="garbage", description="岸边堆放建筑垃圾", lat=38.058, lon=113.325,
                          source="public", at=now - dt.timedelta(days=30))
    actions.act(office, late, "assign", assignee=world.units["eco"].pk, deadline=now - dt.timedelta(days=3),
                at=now - dt.timedelta(days=30))
    fresh = actions.public_report("198.51.100.20", category="garbage", description="刚才有人往河里倒垃圾",
                                  lat=38.0725, lon=113.375, at=now - dt.timedelta(minutes=1))
    return {"fresh": fresh, "late": late, "count": OLD + 1}


def signed_in(browser, live_server, who, size):
    context = browser.new_context(viewport=SIZES[size], locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, who)
    return context, page


def fits(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_office_finds_the_newest_report_on_top(browser, live_server, backlog, size):
    context, page = signed_in(browser, live_server, "county-office", size)
    page.goto(f"{live_server.url}/cases/")
    to_accept = page.locator("section#to_accept")
    assert to_accept.locator("h2 .tag").inner_text() == str(backlog["count"])
    first = to_accept.locator("tbody tr").first
    assert backlog["fresh"].code in first.inner_text() and "群众举报" in first.inner_text()
    assert to_accept.locator("tbody tr").count() == 20
    assert "第 1/3 页" in to_accept.locator(".pager").inner_text()
    assert page.locator(".topbar").get_by_role("link", name=re.compile(r"待办")).inner_text().replace(" ", "") \
        == f"待办({backlog['count'] + 1})"  # the reports to accept and the overdue case
    late = page.locator("section#overdue tbody tr", has_text=backlog["late"].code)
    assert late.locator(".status-overdue").count() == 1
    assert fits(page), "the inbox pushes the page sideways"
    page.screenshot(path=str(SCREENSHOTS / f"inbox-office-{size}.png"), full_page=size == "desktop")

    to_accept.get_by_role("link", name="下一页").click()
    page.wait_for_url(re.compile(r"section=to_accept&page=2"))
    to_accept = page.locator("section#to_accept")
    assert "第 2/3 页" in to_accept.locator(".pager").inner_text()
    assert backlog["fresh"].code not in to_accept.inner_text()
    to_accept.get_by_role("link", name=re.compile("在事件列表中查看全部")).click()
    page.wait_for_url(re.compile(r"/cases/list/\?mine=office&state=new"))
    assert f"{backlog['count']} 件" in page.locator("h1").inner_text()
    context.close()


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_chief_is_reminded_of_the_patrol_due(browser, live_server, backlog, size):
    context, page = signed_in(browser, live_server, "township-chief", size)
    page.goto(f"{live_server.url}/cases/")
    reminder = page.locator("section#patrols-due")
    assert re.search(r"本旬还需巡河 1 次，剩 \d+ 天", reminder.inner_text())
    assert "测试河秀水镇段" in reminder.inner_text()
    assert reminder.locator(".status-due-soon").count() == 1
    reaches = page.locator("section#on_reaches")
    assert reaches.locator("h2 .tag").inner_text() == str(backlog["count"] + 1)  # every open one is on their reach
    rows = reaches.locator("tbody tr")
    assert backlog["late"].code in rows.nth(0).inner_text() and rows.nth(0).locator(".status-overdue").count() == 1
    assert backlog["fresh"].code in rows.nth(1).inner_text()  # overdue first, then the newest
    assert fits(page), "the inbox pushes the page sideways"
    page.screenshot(path=str(SCREENSHOTS / f"inbox-chief-{size}.png"), full_page=size == "desktop")
    context.close()
