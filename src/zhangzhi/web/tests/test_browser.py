"""Real-browser tests: Playwright drives Debian's chromium through the dashboard, a signboard and the roster.

Screenshots land in var/screenshots/ for a person to look at (Chinese must render as characters, not
boxes; panels must not overlap). Outside CI the tests skip when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import re

import pytest

from zhangzhi.conftest import BROWSER_MARKS, PASSWORD, SCREENSHOTS

A4_PAGES = re.compile(rb"/Type\s*/Page\b(?!s)")

pytestmark = BROWSER_MARKS


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    """The live server needs committed rows, so these tests run without a wrapping transaction; the
    flush after each of them removes the reference data the migrations loaded (roles, kinds)."""
    from zhangzhi.org import reference

    reference.ensure()


@pytest.fixture
def new_page(browser):
    """new_page(**context options) → a page in a fresh context; script errors on any page fail the test."""
    contexts, errors = [], []

    def make(**kw):
        ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **kw)
        ctx.set_default_timeout(5_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


def log_in(page, base, username):
    page.goto(f"{base}/accounts/login/?next=/map/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base}/map/")
    page.wait_for_selector("body[data-map-ready]")


def click_on_path(page, feature_id, at=0.75):
    """Click a real point on the feature's line (a bounding-box centre may lie off a curved line)."""
    sel = f'path[data-feature="{feature_id}"]'
    page.wait_for_selector(sel)
    x, y = page.eval_on_selector(sel, """(el, at) => {
        const p = el.getPointAtLength(el.getTotalLength() * at), m = el.getScreenCTM();
        return [p.x * m.a + p.y * m.c + m.e, p.x * m.b + p.y * m.d + m.f];
    }""", at)
    hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y)?.getAttribute('data-feature')", [x, y])
    assert hit == str(feature_id), f"another element ({hit}) covers the reach at {x:.0f},{y:.0f}"
    page.mouse.click(x, y)


def test_it_shows_a_reachs_chiefs_and_its_printable_signboard(live_server, world, new_page):
    base, reach = live_server.url, world.town_reach
    page = new_page(viewport={"width": 1280, "height": 800})
    log_in(page, base, "county-office")
    counts = page.locator("#counts")
    assert "河段" in counts.inner_text()
    page.screenshot(path=SCREENSHOTS / "dashboard.png")

    click_on_path(page, reach.pk)
    page.wait_for_selector(f'body[data-detail-ready="{reach.pk}"]')
    detail = page.locator("#detail")
    assert detail.locator("#d-name").inner_text() == "测试河秀水镇段"
    chiefs = detail.locator("#d-chiefs").inner_text()
    for name in ("冯市长", "钱县长", "王镇长"):
        assert name in chiefs
    assert "孙镇长" not in chiefs  # a chief of another county's township, not of this reach
    # the panel and the map sit side by side, not on top of each other
    panel, map_box = page.locator("#panel").bounding_box(), page.locator("#map").bounding_box()
    assert panel["x"] + panel["width"] <= map_box["x"] + 1
    page.screenshot(path=SCREENSHOTS / "dashboard-reach.png")

    href = detail.locator("#d-sign").get_attribute("href")
    assert href == f"/s/{reach.pk}/"
    board = new_page(viewport={"width": 900, "height": 1200})  # a signboard is public: a fresh, anonymous context
    board.goto(base + href)
    assert board.locator("h1").inner_text() == "测试河秀水镇段"
    text = board.locator(".chiefs").inner_text()
    for name in ("冯市长", "钱县长", "王镇长"):
        assert name in text
    assert board.locator(".qr svg").count() == 1
    board.screenshot(path=SCREENSHOTS / "signboard.png", full_page=True)

    board.emulate_media(media="print")
    pdf = board.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    (SCREENSHOTS / "signboard.pdf").write_bytes(pdf)
    assert len(A4_PAGES.findall(pdf)) == 1, "the signboard must print on one A4 page"
    board.screenshot(path=SCREENSHOTS / "signboard-print.png", full_page=True)


def test_it_fits_the_dashboard_on_a_phone(live_server, world, new_page):
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2)
    log_in(page, live_server.url, "county-office")
    panel, map_box = page.locator("#panel").bounding_box(), page.locator("#map").bounding_box()
    assert map_box["height"] > 250 and panel["y"] >= map_box["y"] + map_box["height"] - 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "nothing may scroll sideways"
    page.screenshot(path=SCREENSHOTS / "mobile-dashboard.png")


def test_it_shows_the_public_roster_and_finds_a_person(live_server, world, new_page, compiled_messages):
    page = new_page(viewport={"width": 1100, "height": 900})
    page.goto(f"{live_server.url}/roster/")
    assert page.locator("h1").inner_text().startswith("河长名录")
    tree = page.locator(".roster-tree")
    assert "阳泉市" in tree.inner_text() and "陈书记" in tree.inner_text()  # 总河长 of the city
    page.screenshot(path=SCREENSHOTS / "roster.png", full_page=True)

    page.get_by_role("searchbox").fill("王镇长")
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(re.compile(r"q=%E7%8E%8B"))
    results = page.locator("table.matches").inner_text()
    assert "王镇长" in results and "测试河秀水镇段" in results
    assert "钱县长" not in results

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    assert page.locator("h1").inner_text().startswith("Roster of river chiefs")
    assert "王镇长" in page.locator("table.matches").inner_text()  # names stay as they are
    page.screenshot(path=SCREENSHOTS / "roster-en.png", full_page=True)

    phone = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2)
    phone.goto(f"{live_server.url}/roster/")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390, "nothing may scroll sideways"
    phone.screenshot(path=SCREENSHOTS / "roster-mobile.png", full_page=True)
