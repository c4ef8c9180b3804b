"""The public's way in a real browser (issue 9): QR → signboard → 我要举报 about this reach, "use my
location", the far-from-water warning, tracking codes as typed, no abuse flag on one's own report.
Screenshots land in var/screenshots/ (desktop 1280 px and phone 390 px)."""

from __future__ import annotations

import re

import pytest

from zhangzhi.conftest import BROWSER_MARKS, SCREENSHOTS

pytestmark = BROWSER_MARKS

ON_TOWN_REACH = (38.0725, 113.375)  # on 测试河秀水镇段, away from its midpoint
FAR_FROM_WATER = (38.02, 113.30)    # in 盂县, about 3.3 km south of 测试河
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(autouse=True)
def _reference(transactional_db, settings, tmp_path):
    from zhangzhi.cases import reference

    settings.MEDIA_ROOT = tmp_path
    reference.ensure()  # live_server flushes: the categories come back here


@pytest.fixture
def new_page(browser):
    """new_page(size, **context options) → a page in a fresh (anonymous) context; script errors fail."""
    contexts, errors = [], []

    def make(size="desktop", **kw):
        phone = size == "phone"
        ctx = browser.new_context(viewport=SIZES[size], locale="zh-CN", timezone_id="Asia/Shanghai",
                                  is_mobile=phone, has_touch=phone, **kw)
        ctx.set_default_timeout(5_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


def checked(page):
    """Wait for the distance check of the chosen point; whether the far-from-water warning shows."""
    page.wait_for_selector("#far-warning[data-checked]", state="attached")
    return page.locator("#far-warning").is_visible()


def tap(page, lat, lon):
    xy = page.evaluate("([lat, lon]) => zzPickMap.latLngToContainerPoint([lat, lon])", [lat, lon])
    page.locator("#pickmap").click(position={"x": xy["x"], "y": xy["y"]})


def fill_report(page):
    page.select_option("select[name=category]", "garbage")
    page.fill("textarea[name=description]", "河滩有大量生活垃圾")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_from_the_signboard_to_a_report_about_its_reach(live_server, world, new_page, size):
    from zhangzhi.cases.models import Case

    reach = world.town_reach
    page = new_page(size)
    page.goto(f"{live_server.url}/s/{reach.pk}/")  # where the QR code leads
    link = page.get_by_role("link", name="我要举报").first
    box = link.bounding_box()
    assert box["y"] + box["height"] <= SIZES[size]["height"], "我要举报 is visible without scrolling"
    assert page.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
    page.screenshot(path=SCREENSHOTS / f"public-signboard-{size}.png", full_page=True)
    page.emulate_media(media="print")  # the printed board stays as it was: no button on paper
    assert not link.is_visible()
    page.emulate_media(media="screen")
    link.click()
    page.wait_for_url(re.compile(rf"/report/\?feature={reach.pk}$"))
    assert "测试河秀水镇段" in page.locator("#report-reach").inner_text()
    # the location starts at the reach's midpoint, and the map shows the reach
    assert (float(page.input_value("#lat")), float(page.input_value("#lon"))) == (38.065, 113.35)
    centre = page.evaluate("(() => { const c = zzPickMap.getCenter(); return [c.lat, c.lng]; })()")
    assert 38.05 <= centre[0] <= 38.08 and 113.30 <= centre[1] <= 113.40
    assert checked(page) is False  # on the water: no warning
    page.screenshot(path=SCREENSHOTS / f"public-report-reach-{size}.png", full_page=True)

    # a tap elsewhere on the reach moves the point; the report is about that reach
    tap(page, *ON_TOWN_REACH)
    assert abs(float(page.input_value("#lat")) - ON_TOWN_REACH[0]) < 0.001
    assert checked(page) is False
    fill_report(page)
    page.get_by_role("button", name="提交举报").click()
    page.wait_for_url(re.compile(r"/r/\w+/\?new=1$"))
    case = Case.objects.get()
    assert case.feature == reach


def test_a_point_far_from_water_is_warned_about_but_accepted(live_server, world, new_page):
    from zhangzhi.cases.models import Case

    for size in ("desktop", "phone"):
        page = new_page(size)
        page.goto(f"{live_server.url}/report/")
        page.evaluate("([lat, lon]) => zzPickMap.setView([lat, lon], 12, {animate: false})", list(FAR_FROM_WATER))
        tap(page, *FAR_FROM_WATER)
        assert checked(page) is True
        warning = page.locator("#far-warning").inner_text()
        assert re.fullmatch(r"该位置距离最近的河湖 3,\d{3} 米，请确认", warning), warning
        fill_report(page)
        page.locator("#far-warning").scroll_into_view_if_needed()
        page.screenshot(path=SCREENSHOTS / f"public-report-warning-{size}.png", full_page=True)
    page.get_by_role("button", name="提交举报").click()  # the user may still send it
    page.wait_for_url(re.compile(r"/r/\w+/\?new=1$"))
    assert Case.objects.get().feature is None


@pytest.mark.parametrize("where, warned", [(ON_TOWN_REACH, False), (FAR_FROM_WATER, True)])
def test_use_my_location(live_server, world, new_page, where, warned):
    lat, lon = where
    page = new_page("phone", permissions=["geolocation"], geolocation={"latitude": lat, "longitude": lon,
                                                                       "accuracy": 12})
    page.goto(f"{live_server.url}/report/")
    page.get_by_role("button", name="使用我的位置").click()
    page.wait_for_function("document.getElementById('lat').value !== ''")
    assert (float(page.input_value("#lat")), float(page.input_value("#lon"))) == (lat, lon)
    assert "精度约 12 米" in page.locator("#geo-status").inner_text()
    assert checked(page) is warned


def test_tracking_codes_as_people_type_them_and_the_reporters_own_case(live_server, world, new_page):

    reporter = new_page("desktop")
    reporter.goto(f"{live_server.url}/report/")
    reporter.evaluate("([lat, lon]) => zzPickMap.setView([lat, lon], 13, {animate: false})", list(ON_TOWN_REACH))
    tap(reporter, *ON_TOWN_REACH)
    fill_report(reporter)
    reporter.get_by_role("button", name="提交举报").click()
    reporter.wait_for_url(re.compile(r"/r/\w+/\?new=1$"))
    code = re.search(r"/r/(\w+)/", reporter.url).group(1)
    assert reporter.get_by_role("button", name="举报不当内容").count() == 0  # not on one's own report
    reporter.goto(f"{live_server.url}/r/{code}/")  # later, the same browser
    assert reporter.get_by_role("button", name="举报不当内容").count() == 0

    for size in ("desktop", "phone"):
        other = new_page(size)
        other.goto(f"{live_server.url}/report/")
        typed = " " + code[:4].lower() + " " + "".join(chr(ord(c) + 0xFEE0) for c in code[4:]) + " "
        other.get_by_label("跟踪码").fill(typed)
        other.get_by_role("button", name="查询", exact=True).click()
        other.wait_for_url(f"{live_server.url}/r/{code}/")
        assert other.get_by_role("button", name="举报不当内容").count() == 1  # others may flag it
        other.screenshot(path=SCREENSHOTS / f"public-tracking-{size}.png", full_page=True)

        response = other.goto(f"{live_server.url}/r/?code=abc123")
        assert response.status == 404
        assert other.locator("h1").inner_text() == "未找到该跟踪码"
        assert other.locator(".topbar nav").is_visible()
        assert other.get_by_label("跟踪码").input_value() == "abc123"
        assert other.evaluate("document.documentElement.scrollWidth") <= SIZES[size]["width"]
        other.screenshot(path=SCREENSHOTS / f"public-tracking-missing-{size}.png", full_page=True)
