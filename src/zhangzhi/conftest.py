"""Shared test fixtures: a small piece of Yangquan and the personas who work in it.

Personas (as in the demo): the city office (阳泉市河长办), the 盂县 office, a township chief and a
village chief in 盂县, a township chief in 平定县 (another county), a member unit handler, a
volunteer (民间河长), and the public (anonymous).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path

import pytest

from zhangzhi.lib.datadir import data_dir

DATA_DIR = data_dir()
PASSWORD = "test-pass-123"
CHROMIUM = Path(os.environ.get("ZHANGZHI_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
# every real-browser test module sets `pytestmark = BROWSER_MARKS`
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                       reason=f"{CHROMIUM} is missing (install Debian's chromium; in CI these tests must run)"),
]


def line(*pts):
    return {"type": "LineString", "coordinates": [list(p) for p in pts]}


@pytest.fixture(autouse=True)
def _fast_hashers(request):
    """Fast password hashing in tests; pure-module tests (no Django) are left alone."""
    if not request.config.pluginmanager.hasplugin("django"):
        return
    request.getfixturevalue("settings").PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(db):
    """阳泉市 with 盂县 and 平定县, a river cut into county, township and village reaches, and personas."""
    from zhangzhi.features import actions as fa
    from zhangzhi.org import actions as oa
    from zhangzhi.org import reference
    from zhangzhi.org.models import Region

    reference.ensure_all()  # transactional tests (live_server) flush the reference rows
    oa.load_regions_csv(DATA_DIR / "regions" / "shanxi.csv", under="140300")
    oa.load_boundaries(DATA_DIR / "regions" / "boundaries" / "140300-counties.geojson")
    r = {x.code: x for x in Region.objects.all()}
    city, yu, pd = r["140300"], r["140322"], r["140321"]
    yu_town, pd_town = r["140322100"], r["140321100"]  # 秀水镇, 冠山镇
    village = oa.create_region(None, name="示例村", level="village", parent=yu_town, code="140322100201",
                               illustrative=True)
    city_office = oa.create_unit(None, name="阳泉市河长办", kind="office", region=city, phone="0353-1234567")
    yu_office = oa.create_unit(None, name="盂县河长办", kind="office", region=yu, phone="0353-7654321")
    pd_office = oa.create_unit(None, name="平定县河长办", kind="office", region=pd)
    eco = oa.create_unit(None, name="阳泉市生态环境局", kind="department", region=city)
    # geometry inside 盂县 (after GCJ→WGS conversion of the borders), roughly west → east
    river = fa.create_feature(None, name="测试河", kind="river", level="city", region=city, code="R1",
                              geometry=line((113.30, 38.05), (113.40, 38.08), (113.50, 38.10)))
    county_reach = fa.create_feature(None, name="测试河盂县段", kind="reach", level="county", region=yu,
                                     parent=river, code="R1-YU",
                                     geometry=line((113.30, 38.05), (113.40, 38.08), (113.50, 38.10)))
    town_reach = fa.create_feature(None, name="测试河秀水镇段", kind="reach", level="township", region=yu_town,
                                   parent=county_reach, code="R1-YU-1",
                                   geometry=line((113.30, 38.05), (113.40, 38.08)))
    village_reach = fa.create_feature(None, name="测试河示例村段", kind="reach", level="village", region=village,
                                      parent=town_reach, code="R1-YU-1-1",
                                      geometry=line((113.30, 38.05), (113.35, 38.065)))
    pd_reach = fa.create_feature(None, name="测试河平定段", kind="reach", level="county", region=pd, parent=river,
                                 code="R1-PD", geometry=line((113.55, 37.85), (113.60, 37.80)))

    def person(username, name, units=(), **kw):
        return oa.create_person(None, name=name, units=units, username=username, password=PASSWORD,
                                phone="13800000000", **kw)

    since = dt.date(2024, 1, 1)
    people = {
        "city-office": person("city-office", "市办张", [city_office]),
        "county-office": person("county-office", "县办李", [yu_office]),
        "township-chief": person("township-chief", "王镇长"),
        "village-chief": person("village-chief", "赵村长"),
        "other-county-chief": person("other-county-chief", "孙镇长"),
        "member-unit": person("member-unit", "周科长", [eco]),
        "volunteer": person("volunteer", "吴志愿"),
    }
    oa.appoint(None, person=people["township-chief"], role="river-chief", level="township", feature=town_reach,
               valid_from=since)
    oa.appoint(None, person=people["village-chief"], role="river-chief", level="village", feature=village_reach,
               valid_from=since)
    oa.appoint(None, person=people["other-county-chief"], role="river-chief", level="township",
               region=pd_town, valid_from=since)
    oa.appoint(None, person=people["volunteer"], role="civic-river-chief", level="township", feature=town_reach,
               valid_from=since)
    county_chief = oa.create_person(None, name="钱县长", phone="13900000000", title="县长")
    oa.appoint(None, person=county_chief, role="river-chief", level="county", feature=county_reach,
               valid_from=since)
    city_chief = oa.create_person(None, name="冯市长", phone="13700000000", title="市长")
    oa.appoint(None, person=city_chief, role="river-chief", level="city", feature=river, valid_from=since)
    general = oa.create_person(None, name="陈书记", title="市委书记")
    oa.appoint(None, person=general, role="general-river-chief", level="city", region=city, valid_from=since)

    class World:
        pass

    w = World()
    w.regions = r
    w.city, w.yu, w.pd, w.yu_town, w.pd_town, w.village = city, yu, pd, yu_town, pd_town, village
    w.units = {"city_office": city_office, "yu_office": yu_office, "pd_office": pd_office, "eco": eco}
    w.river, w.county_reach, w.town_reach, w.village_reach, w.pd_reach = (
        river, county_reach, town_reach, village_reach, pd_reach)
    w.people = people
    w.users = {k: p.user for k, p in people.items()}
    return w


class Api:
    """A test client speaking JSON to /api/v1 as one persona."""

    def __init__(self, client, token=None):
        self.client, self.token = client, token

    def _headers(self):
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path, **params):
        return self.client.get(f"/api/v1{path}", params, **self._headers())

    def post(self, path, body=None):
        return self.client.post(f"/api/v1{path}", body or {}, content_type="application/json", **self._headers())

    def patch(self, path, body=None):
        return self.client.patch(f"/api/v1{path}", body or {}, content_type="application/json", **self._headers())


@pytest.fixture
def api(client):
    """api(persona) → a client authenticated with a bearer token; api() → anonymous."""

    def make(username=None):
        if username is None:
            return Api(client)
        r = client.post("/api/v1/auth/token", {"username": username, "password": PASSWORD},
                        content_type="application/json")
        assert r.status_code == 200, r.content
        return Api(client, r.json()["token"])

    return make


def sign_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page, as a person would (browser tests)."""
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert "/accounts/login/" not in page.url


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (never a downloaded browser), one per test module.

    Module scope, not session: Playwright's sync API keeps an event loop running in this thread while it
    is open, and later tests (the HJ 212 listener's) need to run their own with asyncio.run().
    """
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Playwright's sync API runs an event loop in this thread; Django would refuse ORM calls from it.
    # Only while the browser is open: later tests must get Django's guard back.
    with allow_async_unsafe(), sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@contextlib.contextmanager
def allow_async_unsafe():
    """Set DJANGO_ALLOW_ASYNC_UNSAFE for the block, then put back what was there (or nothing)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
