"""The station page in a real browser at desktop and phone width: the chart loads after first paint, shows
Chinese parameter names, keeps its labels inside the canvas, and logs no error. Screenshots land in
var/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest

from zhangzhi.conftest import BROWSER_MARKS, PASSWORD, SCREENSHOTS
from zhangzhi.monitoring.ingest import Ingestor, Received

from .conftest import MN_YU, at, hourly

pytestmark = BROWSER_MARKS


@pytest.fixture
def station_with_data(stations):
    ingestor = Ingestor(alerts=False)
    start = at(1, month=1)
    for d in range(60):
        frames = [Received(hourly(MN_YU, start + dt.timedelta(days=d, hours=h),
                                  {"w21003": round(0.3 + 0.01 * ((d * 5 + h) % 17), 3), "w01001": 7.8,
                                   "w01003": 12.0 + (h % 5)}))
                  for h in range(0, 24, 3)]
        ingestor.process(frames)
    return stations["yu"]


@pytest.mark.parametrize(("width", "height", "name"), [(1280, 900, "desktop"), (390, 844, "phone")])
def test_the_station_chart_renders_with_names_and_unclipped_labels(browser, live_server, client, station_with_data,
                                                                      width, height, name):
    assert client.login(username="county-office", password=PASSWORD)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.goto(f"{live_server.url}/monitoring/stations/{station_with_data.pk}/")
    page.select_option("#parameter", "w21003")
    page.locator("#chart canvas").wait_for(timeout=10_000)
    page.wait_for_function("!document.getElementById('chart-wrap').classList.contains('is-loading')", timeout=10_000)
    assert page.locator("#chart-title").inner_text() == "氨氮(NH3-N) (mg/L)"
    labels = page.locator("#parameter option").all_inner_texts()
    assert "氨氮(NH3-N)" in labels and "浊度" in labels and not [x for x in labels if "w0" in x or "w2" in x]
    option = page.evaluate("""() => {
        const o = echarts.getInstanceByDom(document.getElementById('chart')).getOption();
        return {contain: o.grid[0].containLabel, hide: o.xAxis[0].axisLabel.hideOverlap,
                points: o.series[o.series.length - 1].data.length};
    }""")
    assert option == {"contain": True, "hide": True, "points": 60}
    box = page.locator("#chart canvas").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width  # the canvas fits the screen
    page.wait_for_timeout(400)  # the line animation
    page.screenshot(path=str(SCREENSHOTS / f"monitoring-station-{name}.png"), full_page=True)
    page.select_option("#resolution", "hour")
    page.wait_for_function("!document.getElementById('chart-wrap').classList.contains('is-loading')", timeout=10_000)
    page.select_option("#parameter", "w01001")
    page.wait_for_function("document.getElementById('chart-title').textContent.startsWith('pH值')", timeout=10_000)
    assert "无量纲" in page.locator("#chart-title").inner_text()
    page.goto(f"{live_server.url}/monitoring/")
    page.screenshot(path=str(SCREENSHOTS / f"monitoring-stations-{name}.png"), full_page=True)
    assert errors == []
    context.close()
