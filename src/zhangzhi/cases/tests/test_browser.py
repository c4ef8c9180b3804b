"""The closed loop in a real browser: the public reports, the county office dispatches, the member
unit handles, the office verifies, the public rates. Screenshots land in var/screenshots/."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from zhangzhi.conftest import BROWSER_MARKS, SCREENSHOTS, sign_in

ON_TOWN_REACH = (38.0725, 113.375)  # on 测试河秀水镇段, between its ends

pytestmark = BROWSER_MARKS


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def page_as(browser, live_server, who=None):
    """A fresh browser context; logged in through the login form unless `who` is None (the public)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    if who:
        sign_in(page, live_server.url, who)
    return context, page


def action_form(page, action):
    return page.locator(f"form:has(input[name=action][value={action}])")


def open_case(page, live_server, code):
    page.goto(f"{live_server.url}/cases/")
    page.get_by_role("link", name=code).first.click()
    page.wait_for_url(re.compile(r"/cases/\d+/$"))


def test_a_public_report_goes_round_the_loop(browser, live_server, world, media):
    from zhangzhi.cases import reference
    from zhangzhi.cases.models import Case

    reference.ensure()  # live_server flushes: the categories come back here

    # the public: no account, a click on the map, a tracking code
    public, page = page_as(browser, live_server)
    page.goto(f"{live_server.url}/report/")
    page.select_option("select[name=category]", "garbage")
    page.fill("textarea[name=description]", "秀水镇段河滩有大量生活垃圾")
    page.fill("input[name=phone]", "13912345678")
    page.evaluate("([lat, lon]) => zzPickMap.setView([lat, lon], 13, {animate: false})", list(ON_TOWN_REACH))
    xy = page.evaluate("([lat, lon]) => zzPickMap.latLngToContainerPoint([lat, lon])", list(ON_TOWN_REACH))
    page.locator("#pickmap").click(position={"x": xy["x"], "y": xy["y"]})
    assert abs(float(page.input_value("#lat")) - ON_TOWN_REACH[0]) < 0.001
    assert abs(float(page.input_value("#lon")) - ON_TOWN_REACH[1]) < 0.001
    page.screenshot(path=str(SCREENSHOTS / "case-report.png"), full_page=True)
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_url(re.compile(r"/r/\w+/\?new=1$"))
    assert "举报已提交" in page.locator(".notice").inner_text()
    code = re.search(r"/r/(\w+)/", page.url).group(1)
    case = Case.objects.get(code=code)
    assert case.source == "public" and case.feature == world.town_reach and case.office == world.units["yu_office"]
    assert "待受理" in page.locator("main").inner_text() and "13912345678" not in page.content()

    # the county office: inbox, accept, assign to the city's environment bureau with a deadline
    office_ctx, office = page_as(browser, live_server, "county-office")
    office.goto(f"{live_server.url}/cases/")
    to_accept = office.locator("section", has_text="待受理")
    assert code in to_accept.inner_text() and "测试河秀水镇段" in to_accept.inner_text()
    office.screenshot(path=str(SCREENSHOTS / "case-inbox.png"), full_page=True)
    open_case(office, live_server, code)
    assert "13912345678" in office.locator("main").inner_text()  # the office sees the reporter's phone
    action_form(office, "accept").get_by_role("button", name="受理").click()
    assert "已完成" in office.locator(".notice").first.inner_text()
    assert "已受理" in office.locator("h1").inner_text()
    assign = action_form(office, "assign")
    assign.locator("select[name=assignee]").select_option(label="阳泉市生态环境局")
    deadline = dt.date.today() + dt.timedelta(days=10)
    assign.locator("input[name=deadline]").fill(deadline.isoformat())
    assign.locator("textarea[name=note]").fill("请于期限内清理并反馈")
    assign.get_by_role("button", name="交办").click()
    assert "已交办" in office.locator("h1").inner_text()
    assert "阳泉市生态环境局" in office.locator("main").inner_text()
    assert f"{deadline.isoformat()} 23:59" in office.locator("main").inner_text()  # the end of the chosen day

    # the member unit: takes it on and replies
    unit_ctx, unit = page_as(browser, live_server, "member-unit")
    unit.goto(f"{live_server.url}/cases/")
    assert code in unit.locator("section", has_text="待承办").inner_text()
    open_case(unit, live_server, code)
    action_form(unit, "take").get_by_role("button", name="承办").click()
    assert "办理中" in unit.locator("h1").inner_text()
    reply = action_form(unit, "reply")
    reply.locator("textarea[name=note]").fill("已组织人员清理河滩垃圾，共清运 3 车")
    reply.get_by_role("button", name="反馈").click()
    assert "待核查" in unit.locator("h1").inner_text()

    # the office verifies: pass
    open_case(office, live_server, code)
    action_form(office, "verify").get_by_role("button", name="核查通过，办结").click()
    assert "已办结" in office.locator("h1").inner_text()
    timeline = office.locator(".timeline").inner_text()
    for step in ("上报", "已受理", "交办", "承办", "反馈", "核查通过，办结"):
        assert step in timeline
    office.wait_for_timeout(300)
    office.screenshot(path=str(SCREENSHOTS / "case-detail.png"), full_page=True)

    # the public: closed, with the answer; rates it 满意
    page.goto(f"{live_server.url}/r/{code}/")
    main = page.locator("main").inner_text()
    assert "已办结" in main and "共清运 3 车" in main and "13912345678" not in page.content()
    page.get_by_label("满意", exact=True).check()
    page.get_by_role("button", name="提交评价").click()
    assert "感谢您的评价" in page.locator("main").inner_text()
    assert "评价：满意" in page.locator("main").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "case-public.png"), full_page=True)
    case.refresh_from_db()
    assert case.state == "archived" and case.rating == "satisfied"

    # statistics for the office
    office.goto(f"{live_server.url}/cases/stats/")
    office.locator("#c-month canvas").wait_for(timeout=5000)
    kpis = office.locator(".kpis").inner_text()
    assert "办结率" in kpis and "100%" in kpis and "平均办理时长" in kpis
    office.wait_for_timeout(800)  # let ECharts finish its animation
    office.screenshot(path=str(SCREENSHOTS / "case-stats.png"), full_page=True)

    for p in (page, office, unit):
        assert p.js_errors == []
    for c in (public, office_ctx, unit_ctx):
        c.close()
