"""The mobile patrol page in a real browser: emulated geolocation walks along a reach.

Rules for the test county are relaxed to seconds and metres (rules are data), so a walk of
~15 fixes one second apart is judged like a real one; everything else — geolocation, IndexedDB,
the upload, the verdict — is the real path. Screenshots land in var/screenshots/.
"""

from __future__ import annotations

import numpy as np
import pytest

from zhangzhi.conftest import BROWSER_MARKS, PASSWORD, SCREENSHOTS

pytestmark = BROWSER_MARKS


@pytest.fixture
def fast_rules(world, rules):
    from zhangzhi.org.models import System
    from zhangzhi.patrols.models import RuleSet

    RuleSet.objects.create(system=System.objects.get(code="river"), region=world.yu, min_duration_s=5,
                           min_length_m=300, min_coverage=0.05, max_speed_kmh=100_000, min_interval_s=0,
                           note="browser test: a walk in seconds")


def session_page(browser, live_server, client, who):
    assert client.login(username=who, password=PASSWORD)
    context = browser.new_context(viewport={"width": 400, "height": 820}, locale="zh-CN",
                                  permissions=["geolocation"], geolocation={"latitude": 38.05, "longitude": 113.30})
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context, context.new_page()


def walk_positions(feature, n=15, seed=0):
    coords = np.asarray(feature.geometry["coordinates"], np.float64)
    rng = np.random.default_rng(seed)
    s = np.linspace(0.05, 0.45, n)
    lon = np.interp(s, [0, 1], coords[[0, -1], 0]) + rng.normal(0, 3e-5, n)
    lat = np.interp(s, [0, 1], coords[[0, -1], 1]) + rng.normal(0, 3e-5, n)
    return list(zip(lat.tolist(), lon.tolist(), strict=True))


def walk(page, context, positions):
    for lat, lon in positions:
        context.set_geolocation({"latitude": lat, "longitude": lon, "accuracy": 5})
        page.wait_for_timeout(1100)


def test_it_records_a_walk_and_sees_it_judged_effective(browser, live_server, client, world, fast_rules):
    from zhangzhi.patrols.models import Patrol

    context, page = session_page(browser, live_server, client, "village-chief")
    page.goto(f"{live_server.url}/m/patrol?min_interval=1")
    page.get_by_role("button", name="开始巡河").click()
    walk(page, context, walk_positions(world.village_reach))
    assert int(page.locator("#points").inner_text()) >= 10
    page.screenshot(path=str(SCREENSHOTS / "patrol-mobile-recording.png"))
    page.get_by_role("button", name="结束巡河").click()
    page.locator("#results li.ok").wait_for(timeout=15_000)
    assert "有效巡河" in page.locator("#results").inner_text()
    page.screenshot(path=str(SCREENSHOTS / "patrol-mobile.png"))
    patrol = Patrol.objects.get()
    assert patrol.effective and patrol.source == "app" and patrol.feature == world.village_reach

    page.set_viewport_size({"width": 1200, "height": 800})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.locator("#results li.ok a").click()
    page.wait_for_url(f"**/patrols/{patrol.pk}/")
    page.locator("#map path.leaflet-interactive").first.wait_for(timeout=5000)
    assert errors == []
    assert "有效巡河" in page.locator("#verdict").inner_text()
    page.wait_for_timeout(300)
    page.screenshot(path=str(SCREENSHOTS / "patrol-detail.png"), full_page=True)
    context.close()


def test_it_keeps_a_patrol_recorded_offline_and_uploads_it_once_back_online(browser, live_server, client, world,
                                                                             fast_rules):
    from zhangzhi.patrols.models import Patrol

    context, page = session_page(browser, live_server, client, "village-chief")
    page.goto(f"{live_server.url}/m/patrol?min_interval=1")
    context.set_offline(True)
    page.get_by_role("button", name="开始巡河").click()
    walk(page, context, walk_positions(world.village_reach, seed=1))
    page.get_by_role("button", name="结束巡河").click()
    page.wait_for_timeout(1500)
    assert "已保存在手机上" in page.locator("#status").inner_text()
    assert "待上传 1" in page.locator("#queue").inner_text()
    assert Patrol.objects.count() == 0

    context.set_offline(False)  # no click: the page notices the network and uploads by itself
    page.locator("#results li.ok").wait_for(timeout=30_000)
    page.wait_for_timeout(2500)
    assert Patrol.objects.count() == 1 and Patrol.objects.get().effective
    assert page.locator("#results li").count() == 1
    assert page.locator("#queue").inner_text() == ""
    context.close()


def test_the_office_reads_compliance(browser, live_server, client, world, fast_rules):
    context, page = session_page(browser, live_server, client, "city-office")
    page.set_viewport_size({"width": 1200, "height": 800})
    page.goto(f"{live_server.url}/patrols/compliance/?start=2026-01-01&end=2026-07-01")
    assert page.locator("#compliance-table tbody tr").count() >= 1
    page.screenshot(path=str(SCREENSHOTS / "compliance-test.png"), full_page=True)
    context.close()
