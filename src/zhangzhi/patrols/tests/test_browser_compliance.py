"""The compliance page at city level and the patrol list's filter, in a real browser, desktop and
phone. Screenshots land in var/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest

from zhangzhi.conftest import BROWSER_MARKS, PASSWORD, SCREENSHOTS

from .test_rules import upload

pytestmark = BROWSER_MARKS

MAY = "start=2026-05-01&end=2026-06-01"


@pytest.fixture
def city(world, rules):
    """320 more village chiefs on one reach (none patrolled), and chiefs who did."""
    from zhangzhi.org.models import Person, Post, Role

    chief = Role.objects.get(code="river-chief")
    people = Person.objects.bulk_create([Person(name=f"村河长{i:03d}") for i in range(320)])
    Post.objects.bulk_create([Post(person=p, role=chief, level="village", feature=world.village_reach,
                                   region=world.village, valid_from=dt.date(2024, 1, 1)) for p in people])
    for day in (1, 5, 13, 19, 26):
        upload(world, "village-chief", world.village_reach, dt.date(2026, 5, day), seed=day)
    for day, seed in ((2, 21), (18, 22), (31, 23)):
        upload(world, "township-chief", world.town_reach, dt.date(2026, 5, day), seed=seed)
    return world


def open_page(browser, live_server, client, who, width):
    assert client.login(username=who, password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context, context.new_page()


def test_the_city_compliance_page_is_short_and_its_bars_say_good_from_poor(browser, live_server, client, city):
    context, page = open_page(browser, live_server, client, "city-office", 1280)
    page.goto(f"{live_server.url}/patrols/compliance/?{MAY}")
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 4000, height  # was ~14,100 px with every chief on one page
    assert page.locator("table.chiefs tbody tr").count() == 50
    colour = {band: page.locator(f"#compliance-table .rate-{band} .bar i").first.evaluate(
        "e => getComputedStyle(e).backgroundColor") for band in ("good", "poor")}
    assert colour["good"] != colour["poor"]
    assert page.locator("#compliance-table .rate-poor").first.inner_text().strip().endswith("偏低")
    page.get_by_label("级别").select_option("village")  # the level select has its label
    page.screenshot(path=str(SCREENSHOTS / "patrol-compliance-city.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/patrols/compliance/?{MAY}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
    page.screenshot(path=str(SCREENSHOTS / "patrol-compliance-city-phone.png"), full_page=False)
    context.close()


def test_the_patrol_list_filters_by_a_picked_region(browser, live_server, client, city):
    context, page = open_page(browser, live_server, client, "city-office", 1280)
    page.goto(f"{live_server.url}/patrols/")
    page.get_by_label("行政区").select_option(label="\u3000\u3000秀水镇")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**region=140322100**")
    assert page.locator("table.patrols tbody tr").count() == 8
    assert page.get_by_label("行政区").input_value() == "140322100"
    page.get_by_label("判定").select_option("true")
    page.screenshot(path=str(SCREENSHOTS / "patrol-list-filter.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    page.screenshot(path=str(SCREENSHOTS / "patrol-list-filter-phone.png"), full_page=False)
    context.close()
