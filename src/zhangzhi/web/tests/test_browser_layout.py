"""The design system in a real browser (issue 9): tables as cards on a phone, a menu that shows it
scrolls, case actions one at a time with roles, the styled 404. Screenshots at 1280 and 390 px land in
var/screenshots/ for a person to look at.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from zhangzhi.conftest import BROWSER_MARKS, SCREENSHOTS, sign_in

pytestmark = BROWSER_MARKS

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
ON_RIVER = {"lat": 38.058, "lon": 113.325}  # on the village reach of 测试河, inside 盂县
LONG_UNIT = "阳泉市生态环境局盂县分局综合行政执法大队"


@pytest.fixture(autouse=True)
def _reference_data(transactional_db):
    """live_server flushes after each test: the reference rows (roles, categories, rules) come back here."""
    from zhangzhi.cases import reference as case_reference
    from zhangzhi.org import reference
    from zhangzhi.patrols import reference as patrol_reference

    reference.ensure()
    case_reference.ensure()
    patrol_reference.ensure()


@pytest.fixture
def new_page(browser, live_server):
    """new_page(who, **context options) → a logged-in page (who=None: the public); script errors fail the test."""
    contexts, errors = [], []

    def make(who=None, **kw):
        ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **kw)
        ctx.set_default_timeout(5_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        if who:
            sign_in(page, live_server.url, who)
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, errors


@pytest.fixture
def busy(world):
    """Cases handled by a unit with a long name, and a patrol: enough to fill the lists."""
    from zhangzhi.cases import actions as ca
    from zhangzhi.org import actions as oa
    from zhangzhi.patrols import actions as pa
    from zhangzhi.patrols.tests.conftest import payload, walk

    unit = oa.create_unit(None, name=LONG_UNIT, kind="department", region=world.yu)
    office = world.users["county-office"]
    cases = []
    for i, cat in enumerate(("garbage", "outfall", "garbage")):
        c = ca.report(office, category=cat, description=f"第 {i + 1} 处问题", lat=ON_RIVER["lat"] + i * 0.05,
                      lon=ON_RIVER["lon"] + i * 0.05, source="office")
        ca.act(office, c, "assign", assignee=unit.pk, note="请按期处理")
        cases.append(c)
    pa.do_upload_patrol(None, payload(world.town_reach, walk(world.town_reach), client_id=uuid.uuid4()),
                        person=world.people["township-chief"])
    world.long_unit = unit
    world.cases = cases
    return world


def no_sideways_scroll(page):
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{page.url} scrolls sideways"


def assert_cards_fit(page, table):
    """Each row is a card inside the screen; each cell is wide enough that text does not wrap per character."""
    width = page.viewport_size["width"]
    rows = page.locator(f"{table} tbody tr")
    assert rows.count() > 0
    for i in range(rows.count()):
        box = rows.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 0.5, f"{table} row {i} leaves the screen"
    narrow = page.eval_on_selector_all(f"{table} tbody td", """tds => tds
        .filter(td => td.getClientRects().length && td.textContent.trim())
        .filter(td => td.getBoundingClientRect().width < 80)
        .map(td => td.textContent.trim())""")
    assert not narrow, f"cells narrower than 80 px in {table}: {narrow}"


def test_it_turns_the_case_and_patrol_tables_into_cards_on_a_phone(live_server, busy, new_page):
    page = new_page("county-office", **PHONE)
    base = live_server.url

    page.goto(f"{base}/cases/list/")
    no_sideways_scroll(page)
    assert_cards_fit(page, "main table.list")
    # the unit's long name takes at most two lines, not one character per line
    unit = page.locator("main table.list td", has_text=LONG_UNIT).first
    line = float(unit.evaluate("td => parseFloat(getComputedStyle(td).lineHeight)"))
    assert unit.bounding_box()["height"] < 3 * line
    assert page.locator("main table.list thead").bounding_box()["height"] <= 1  # headers live on as data-label
    assert "承办" in unit.evaluate("td => getComputedStyle(td, '::before').content")
    page.screenshot(path=SCREENSHOTS / "mobile-case-list.png", full_page=True)

    page.goto(f"{base}/patrols/")
    no_sideways_scroll(page)
    assert_cards_fit(page, "main table.list")
    page.screenshot(path=SCREENSHOTS / "mobile-patrol-list.png", full_page=True)

    page.goto(f"{base}/patrols/compliance/")
    no_sideways_scroll(page)
    assert_cards_fit(page, "#compliance-table")
    page.screenshot(path=SCREENSHOTS / "mobile-compliance.png", full_page=True)

    page.goto(f"{base}/cases/stats/")
    page.wait_for_load_state("networkidle")
    no_sideways_scroll(page)

    desk = new_page("county-office", **DESKTOP)
    desk.goto(f"{base}/cases/list/")
    assert desk.locator("main table.list thead").bounding_box()["height"] > 10  # a table on a desk
    desk.screenshot(path=SCREENSHOTS / "case-list.png", full_page=True)
    desk.goto(f"{base}/patrols/")
    desk.screenshot(path=SCREENSHOTS / "patrol-list.png", full_page=True)


def test_the_phone_menu_shows_that_it_scrolls_and_reaches_every_item(live_server, world, new_page):
    page = new_page("county-office", **PHONE)
    page.goto(f"{live_server.url}/cases/")
    nav = page.locator(".topbar nav")
    assert nav.evaluate("n => n.scrollWidth > n.clientWidth"), "the phone menu should not fit: test needs overflow"
    hint = ("(n, side) => { const s = getComputedStyle(n, side); "
            "return s.content !== 'none' && s.visibility === 'visible'; }")
    assert nav.evaluate(hint, "::after"), "no sign that the menu scrolls"
    links = nav.locator("a")
    names = []
    for i in range(links.count()):
        link = links.nth(i)
        link.scroll_into_view_if_needed()
        box = link.bounding_box()
        assert 0 <= box["x"] and box["x"] + box["width"] <= 390 + 0.5, link.inner_text()
        # nothing (the hint included) covers the item where a thumb taps it
        hit = page.evaluate("([x, y]) => document.elementFromPoint(x, y).closest('a')?.textContent",
                            [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2])
        assert hit == link.inner_text()
        names.append(hit)
    assert "我要举报" in names and "事件" in names
    # at the end of the row the right hint goes and the left one says there is more before
    nav.evaluate("n => { n.scrollLeft = n.scrollWidth; n.dispatchEvent(new Event('scroll')); }")
    assert not nav.evaluate(hint, "::after") and nav.evaluate(hint, "::before")
    page.screenshot(path=SCREENSHOTS / "mobile-menu-end.png")


def test_case_detail_offers_one_primary_action_and_the_rest_behind_a_menu(live_server, world, new_page):
    from zhangzhi.cases import actions as ca
    from zhangzhi.cases.models import Case

    first = ca.report(world.users["township-chief"], category="garbage", description="河道内有生活垃圾",
                      source="public", **ON_RIVER)
    page = new_page("county-office", **DESKTOP)
    page.goto(f"{live_server.url}/cases/{first.pk}/")
    actions = page.locator(".actions")
    primary = actions.locator(".btn-primary:visible")
    assert primary.count() == 1 and primary.inner_text() == "受理"
    assert actions.locator("form:visible").count() == 1  # one form at a time
    assert actions.locator("input[name=action][value=merge]").count() == 0  # nothing to merge into

    actions.locator("summary", has_text="更多操作").click()
    actions.locator("details.act > summary", has_text="不予受理").click()
    decline = actions.locator("form:has(input[name=action][value=decline])")
    danger = decline.locator("button")
    assert "btn-danger" in danger.get_attribute("class")
    bg = "el => getComputedStyle(el).backgroundColor"
    fg = "el => getComputedStyle(el).color"
    assert danger.evaluate(bg) != primary.evaluate(bg) and danger.evaluate(fg) != primary.evaluate(fg)
    assert decline.get_by_label("理由（必填）").is_visible()

    actions.locator("details.act > summary", has_text="交办").click()
    assert not decline.is_visible()  # opening one action closes the other
    assign = actions.locator("form:has(input[name=action][value=assign])")
    assert assign.get_by_label("办理期限").is_visible() and assign.get_by_label("承办单位").is_visible()
    unlabelled = actions.evaluate("""el => [...el.querySelectorAll('input, select, textarea')]
        .filter(f => f.type !== 'hidden' && !f.labels.length).map(f => f.name)""")
    assert unlabelled == []
    # the dot has its reach drawn around it, even without map tiles
    page.wait_for_selector("#casemap[data-reach=drawn] path.leaflet-interactive")
    page.screenshot(path=SCREENSHOTS / "case-detail-actions.png", full_page=True)

    # a second report next to the first: now 合并 is offered, and lists the first case
    second = ca.report(world.users["township-chief"], category="garbage", description="同一处垃圾",
                       source="public", lat=ON_RIVER["lat"] + 0.0001, lon=ON_RIVER["lon"])
    page.goto(f"{live_server.url}/cases/{second.pk}/")
    page.locator(".actions summary", has_text="更多操作").click()
    page.locator(".actions details.act > summary", has_text="合并").click()
    into = page.locator("form:has(input[name=action][value=merge])").get_by_label("合并到")
    assert first.code in into.inner_text()

    # 督办 and 逾期 are told apart by colour
    Case.objects.filter(pk=second.pk).update(supervised=True, state="assigned",
                                             deadline=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    page.goto(f"{live_server.url}/cases/{second.pk}/")
    colours = [page.locator(f"h1 .{c}").evaluate(fg) for c in ("status-supervised", "status-overdue")]
    assert colours[0] != colours[1]

    phone = new_page("county-office", **PHONE)
    phone.goto(f"{live_server.url}/cases/{first.pk}/")
    no_sideways_scroll(phone)
    phone.screenshot(path=SCREENSHOTS / "mobile-case-detail.png", full_page=True)


def test_a_missing_page_is_styled_with_the_menu_and_a_way_back(live_server, world, new_page, compiled_messages):
    for name, opts in (("404", DESKTOP), ("mobile-404", PHONE)):
        page = new_page("county-office", **opts)
        r = page.goto(f"{live_server.url}/cases/999999/")
        assert r.status == 404
        assert page.locator("h1").inner_text() == "页面不存在"
        assert page.locator(".topbar nav a", has_text="事件").count() == 1
        assert page.get_by_role("link", name="返回首页").is_visible()
        no_sideways_scroll(page)
        page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)
    english = new_page(None, **DESKTOP)
    english.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    english.goto(f"{live_server.url}/no-such-page/")
    assert english.locator("h1").inner_text() == "Page not found"
    english.screenshot(path=SCREENSHOTS / "404-en.png")


def test_a_slow_form_shows_that_it_is_working(live_server, world, new_page):
    page = new_page("county-office", **DESKTOP)
    page.goto(f"{live_server.url}/cases/list/")
    # the old page notes in the tab's session storage when its button starts to spin, and when
    page.evaluate("""() => { let t0 = 0; const b = document.querySelector('form.filters button');
        document.addEventListener('submit', () => { t0 = performance.now(); }, true);
        new MutationObserver(() => b.classList.contains('is-loading') && sessionStorage.setItem('spun',
            String(Math.round(performance.now() - t0)) + ' ' + getComputedStyle(b, '::after').animationName))
          .observe(b, {attributes: true}); }""")

    def slow(route):  # the server takes a second to answer
        page.wait_for_timeout(1000)
        route.continue_()

    page.route("**/cases/list/?*", slow)
    page.locator("form.filters button", has_text="筛选").click()
    page.wait_for_url("**/cases/list/?*")
    spun = page.evaluate("sessionStorage.getItem('spun')")
    assert spun and spun.endswith("zz-spin"), spun
    assert int(spun.split()[0]) >= 250  # not for a quick answer: only after 300 ms
