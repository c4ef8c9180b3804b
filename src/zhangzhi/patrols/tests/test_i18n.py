"""The patrol pages in English (Chinese msgids, English translations), and the engine's Chinese
reasons translated when shown, while the stored text stays as the engine wrote it."""

from __future__ import annotations

import re
import uuid

import pytest
from django.utils import translation

from zhangzhi.conftest import PASSWORD
from zhangzhi.patrols import actions, display, tracks

from .conftest import payload, walk

CJK = re.compile(r"[\u3400-\u9fff]")


def h1(page: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)


@pytest.fixture
def patrols(world, rules):
    ok, _ = actions.do_upload_patrol(None, payload(world.town_reach, walk(world.town_reach), client_id=uuid.uuid4()),
                                     person=world.people["township-chief"])
    short, _ = actions.do_upload_patrol(
        None, payload(world.town_reach, walk(world.town_reach, seed=2, start=walk(world.town_reach).t[0] + 86400,
                                             portion=(0.05, 0.06)), client_id=uuid.uuid4()),
        person=world.people["township-chief"])
    assert ok.effective and not short.effective
    return ok, short


def english(client):
    assert client.login(username="county-office", password=PASSWORD)
    client.cookies["django_language"] = "en"
    return client


def test_the_patrol_list_renders_in_english_with_the_language_cookie(patrols, client):
    _ok, short = patrols
    page = english(client).get("/patrols/").content.decode()
    assert "Patrols" in h1(page) and not CJK.search(h1(page))
    assert "Started" in page and "Patroller" in page and "Verdict" in page and "Not effective" in page
    assert "2 patrols" in page and "All levels" in page
    assert "巡河记录" not in page and "开始时间" not in page and "判定" not in page
    # the stored Chinese reason, shown in English; the row keeps the engine's words
    assert short.reasons and short.reasons[0].startswith("巡河")
    assert "Patrol shorter than" in page and short.reasons[0][:6] not in page


def test_the_patrol_detail_and_api_show_the_reasons_in_english(patrols, client):
    _ok, short = patrols
    english(client)
    page = client.get(f"/patrols/{short.pk}/").content.decode()
    assert "Patrol not effective" in page and "Reasons" in page and "Patrol shorter than" in page
    assert "Start" in page and "'起点'" not in page
    data = client.get(f"/api/v1/patrols/{short.pk}").json()
    assert data["reasons"] and not any(CJK.search(r) for r in data["reasons"])


def test_the_exports_speak_english(patrols, client):
    text = english(client).get("/patrols/", {"format": "csv"}).getvalue().decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Code,Patroller") and ",no," in text and "Patrol shorter than" in text


def test_the_compliance_page_renders_in_english(patrols, client):
    page = english(client).get("/patrols/compliance/", {"start": "2026-05-01", "end": "2026-06-01"}).content.decode()
    assert "Patrol duty compliance" in h1(page) and not CJK.search(h1(page))
    assert "Compliance rate" in page and "Periods due" in page and "Chiefs in detail" in page
    assert "履职率" not in page and "应巡周期" not in page


def test_the_phone_page_renders_in_english(world, client):
    assert client.login(username="township-chief", password=PASSWORD)
    client.cookies["django_language"] = "en"
    page = client.get("/m/patrol").content.decode()
    assert "Start patrol" in page and "End patrol" in page and "Recording the track…" in page
    assert 'colon: ": "' in page and "开始巡河" not in page and "正在记录轨迹" not in page


def test_the_pages_stay_chinese_by_default(patrols, client):
    assert client.login(username="county-office", password=PASSWORD)
    page = client.get("/patrols/").content.decode()
    assert "巡河记录" in h1(page) and "Started" not in page
    assert patrols[1].reasons[0][:6] in page  # the stored reason, as stored
    page = client.get("/patrols/compliance/", {"start": "2026-05-01", "end": "2026-06-01"}).content.decode()
    assert "巡河履职情况" in h1(page) and "Compliance rate" not in page
    client.logout()
    assert client.login(username="township-chief", password=PASSWORD)
    page = client.get("/m/patrol").content.decode()
    assert "开始巡河" in page and "Start patrol" not in page


def test_every_engine_reason_has_a_translatable_twin():
    assert set(display.REASON_MSGIDS) == set(tracks.REASONS)
    for code, template in tracks.REASONS.items():
        assert str(display.REASON_MSGIDS[code]) == display.bare(template), code


@pytest.mark.parametrize("code", sorted(tracks.REASONS))
def test_each_reason_round_trips_into_english(code):
    values = {"min_min": 10, "actual_min": 4.2, "min_km": 1, "actual_km": 0.37, "share": 0.31, "buffer_m": 200,
              "min_share": 0.5, "min_cov": 0.3, "actual": 0.12, "speed": 180.4, "limit": 25, "distance": 2.5}
    text = tracks.REASONS[code].format(**values)
    with translation.override("zh-hans"):
        assert display.reason(text) == text
    with translation.override("en"):
        out = display.reason(text)
    assert not CJK.search(out), out
    for number in re.findall(r"\d+(?:\.\d+)?%?", text):
        assert number in out


def test_period_labels_translate():
    with translation.override("en"):
        assert display.period_label("2026年第3周") == "2026 week 3"
        assert display.period_label("2026年5月上旬") == "2026-5 early dekad"
        assert display.period_label("2026年第2季度") == "2026 Q2"
        assert display.period_label("别的") == "别的"
