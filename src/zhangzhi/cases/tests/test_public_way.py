"""The public's way without dead ends (issue 9): from a signboard to a report about its reach, a
warning when the point is far from any water, tracking codes as people type them, no abuse flag on
one's own report, and an Open311 base URL that answers."""

from __future__ import annotations

import pytest
import requests
from georeport import GeoReport

from zhangzhi.cases import actions, routing
from zhangzhi.cases.models import Case
from zhangzhi.cases.views import normalize_code
from zhangzhi.web.tests.conftest import compiled_messages  # noqa: F401  (fixture)

from .conftest import ON_RIVER

FAR_FROM_WATER = {"lat": 38.02, "lon": 113.30}  # in 盂县, about 3.3 km south of 测试河


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form(**kw):
    return {"category": "garbage", "description": "桥下有大量垃圾", "lat": ON_RIVER["lat"], "lon": ON_RIVER["lon"],
            "urgency": "normal", **kw}


# -- signboard → report about this reach ----------------------------------------------------------------

def test_the_signboard_offers_a_report_about_its_reach(loop, client):
    page = client.get(f"/s/{loop.town_reach.pk}/").content.decode()
    assert f'href="/report/?feature={loop.town_reach.pk}"' in page and "我要举报" in page


def test_a_report_from_a_signboard_starts_at_the_reachs_midpoint(loop, client):
    page = client.get(f"/report/?feature={loop.town_reach.pk}").content.decode()
    assert "测试河秀水镇段" in page and f'name="feature" value="{loop.town_reach.pk}"' in page
    lon, lat = routing.midpoint(loop.town_reach.geometry)
    assert (lon, lat) == (113.35, 38.065)  # halfway along (113.30, 38.05)–(113.40, 38.08)
    assert f'"lat": {lat}' in page and f'"lon": {lon}' in page


def test_an_unknown_feature_is_ignored_on_the_report_form(loop, client):
    for bad in ("999999", "x", "-1", "99999999999999999999999"):
        r = client.get(f"/report/?feature={bad}")
        assert r.status_code == 200 and 'name="feature"' not in r.content.decode()


def test_the_reach_of_the_signboard_answers_for_a_report_on_it(loop, client):
    # a point on the town reach where the finer village reach would win by place alone
    client.post("/report/", form(feature=loop.town_reach.pk))
    assert Case.objects.get().feature == loop.town_reach


def test_a_tap_far_from_the_signboards_reach_is_routed_by_place(loop, client):
    client.post("/report/", form(feature=loop.pd_reach.pk))  # 平定 reach, point in 盂县
    case = Case.objects.get()
    assert case.feature == loop.village_reach and case.office == loop.units["yu_office"]


# -- far from water -----------------------------------------------------------------------------------

def test_it_measures_the_distance_to_the_nearest_water(loop, client):
    near = client.get("/report/nearest", ON_RIVER).json()
    assert near["far"] is False and near["distance_m"] < 100 and near["message"] == ""
    far = client.get("/report/nearest", FAR_FROM_WATER).json()
    assert far["far"] is True and 3000 < far["distance_m"] < 3600
    assert far["feature"]["name"].startswith("测试河")
    assert far["message"] == f"该位置距离最近的河湖 {far['distance_m']:,} 米，请确认"


def test_it_says_when_no_water_is_near_at_all(loop, client):
    r = client.get("/report/nearest", {"lat": 37.0, "lon": 112.0}).json()
    assert r["far"] is True and r["distance_m"] is None and "50 公里内没有登记的河湖" in r["message"]


def test_the_distance_check_refuses_bad_input(loop, client):
    for q in ({}, {"lat": "x", "lon": "1"}, {"lat": "nan", "lon": "113"}, {"lat": "95", "lon": "113"}):
        assert client.get("/report/nearest", q).status_code == 400


def test_a_report_far_from_water_is_still_accepted(loop, client):
    assert client.post("/report/", form(**FAR_FROM_WATER)).status_code == 302
    assert Case.objects.get().feature is None


# -- tracking codes -----------------------------------------------------------------------------------

def test_it_normalises_tracking_codes():
    assert normalize_code(" abc 123 ") == "ABC123"
    assert normalize_code("ＡＢｃ－１２３") == "ABC123"  # full-width, as a Chinese input method types
    assert normalize_code("ab-c.1 2\t3") == "ABC123"
    assert normalize_code("跟踪码") == ""


@pytest.mark.parametrize("typed", ["{code}", "{lower}", " {lower} ", "{spaced}", "{fullwidth}"])
def test_the_tracking_form_takes_codes_as_people_type_them(loop, client, typed):
    case = actions.public_report("1.2.3.4", category="garbage", description="垃圾", **ON_RIVER)
    code = case.code
    value = typed.format(code=code, lower=code.lower(), spaced=f"{code[:4].lower()} {code[4:]}",
                         fullwidth="".join(chr(ord(c) + 0xFEE0) for c in code))
    r = client.get("/r/", {"code": value})
    assert r.status_code == 302 and r["Location"] == f"/r/{code}/"
    # and typed into the address: one canonical address
    r = client.get(f"/r/{value}/")
    if value == code:
        assert r.status_code == 200 and code in r.content.decode()
    else:
        assert r.status_code == 302 and r["Location"] == f"/r/{code}/"


def test_the_tracking_form_is_on_the_report_page_and_at_r(loop, client):
    assert 'action="/r/"' in client.get("/report/").content.decode()
    r = client.get("/r/")
    assert r.status_code == 200 and 'name="code"' in r.content.decode()


def test_an_unknown_code_gets_a_friendly_page_with_the_form(loop, client):
    r = client.get("/r/", {"code": "nosuch99"})
    page = r.content.decode()
    assert r.status_code == 404 and "未找到该跟踪码" in page and 'name="code"' in page and "nosuch99" in page
    r = client.get("/r/NOSUCH99/")
    assert r.status_code == 404 and "未找到该跟踪码" in r.content.decode()


def test_the_friendly_page_speaks_english_in_english(loop, client, compiled_messages):  # noqa: F811
    client.cookies["django_language"] = "en"
    page = client.get("/r/", {"code": "nosuch99"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "No report with tracking code" in page and "未找到" not in page
    page = client.get(f"/report/?feature={loop.town_reach.pk}").content.decode()
    assert "Use my location" in page and "Reporting a problem on" in page and "使用我的位置" not in page
    assert "Follow a report" in client.get(f"/s/{loop.town_reach.pk}/").content.decode()
    far = client.get("/report/nearest", FAR_FROM_WATER).json()["message"]
    assert far.startswith("This place is ") and far.endswith(" m from the nearest river or lake; please check it")


# -- the reporter and the abuse flag ------------------------------------------------------------------

def test_the_reporter_is_not_offered_the_abuse_flag_on_their_own_report(loop, client):
    r = client.post("/report/", form())
    page = client.get(r["Location"]).content.decode()
    assert "举报已提交" in page and "举报不当内容" not in page
    code = Case.objects.get().code
    client.post(f"/r/{code}/flag")  # a forged post from the reporter's browser counts for nothing
    assert Case.objects.get().abuse_flags == 0


def test_others_are_still_offered_the_abuse_flag(loop, client, django_user_model):
    from django.test import Client

    r = client.post("/report/", form())
    other = Client()
    assert "举报不当内容" in other.get(r["Location"].split("?")[0]).content.decode()
    other.post(f"/r/{Case.objects.get().code}/flag")
    assert Case.objects.get().abuse_flags == 1


def test_a_signed_in_reporter_is_known_without_the_cookie(loop, client):
    case = actions.report(loop.users["volunteer"], category="garbage", description="垃圾", **ON_RIVER,
                          source="public")
    client.force_login(loop.users["volunteer"])
    assert "举报不当内容" not in client.get(f"/r/{case.code}/").content.decode()


def test_a_forged_cookie_is_ignored(loop, client):
    case = actions.public_report("1.2.3.4", category="garbage", description="垃圾", **ON_RIVER)
    client.cookies["zz_filed"] = case.code
    assert "举报不当内容" in client.get(f"/r/{case.code}/").content.decode()


# -- Open311 base URL ---------------------------------------------------------------------------------

def test_the_open311_base_url_that_discovery_declares_answers(loop, client):
    base = client.get("/open311/v2/discovery.json").json()["endpoints"][0]["url"]
    r = client.get(base)
    assert r.status_code == 200 and r["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["endpoints"][0]["url"] == base
    assert body["resources"]["services"] == base + "services.json"
    assert client.get(body["resources"]["services"]).status_code == 200


def test_the_georeport_client_works_from_the_discovered_base_url(loop, live_server):
    discovery = requests.get(f"{live_server.url}/open311/v2/discovery.json", timeout=10).json()
    base = discovery["endpoints"][0]["url"]
    r = requests.get(base, timeout=10)
    assert r.status_code == 200 and r.json()["resources"]["discovery"] == base + "discovery.json"
    assert "garbage" in {s["service_code"] for s in GeoReport(base).get_service_list()}
