"""The public's way in: report without an account, a tracking page without personal data, rating,
rate limit, abuse flags."""

from __future__ import annotations

import pytest

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case

from .conftest import ON_RIVER


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def form(**kw):
    return {"category": "garbage", "description": "桥下有大量垃圾", "lat": ON_RIVER["lat"], "lon": ON_RIVER["lon"],
            "urgency": "normal", "name": "热心市民", "phone": "13912345678", **kw}


def test_it_takes_a_report_without_an_account_and_gives_a_tracking_code(loop, client):
    assert client.get("/report/").status_code == 200
    r = client.post("/report/", form())
    assert r.status_code == 302
    case = Case.objects.get()
    assert r["Location"] == f"/r/{case.code}/?new=1"
    assert case.source == "public" and case.reporter is None and case.reporter_phone == "13912345678"
    page = client.get(r["Location"]).content.decode()
    assert case.code in page and "待受理" in page
    assert "13912345678" not in page and "热心市民" not in page


def test_it_allows_anonymous_reports(loop, client):
    client.post("/report/", form(anonymous="on"))
    case = Case.objects.get()
    assert case.reporter_name == "" and case.reporter_phone == ""


def test_it_shows_bad_input_on_the_form(loop, client):
    r = client.post("/report/", form(lat="31.2", lon="121.5"))
    assert r.status_code == 422 and "outside every jurisdiction" in r.content.decode()
    r = client.post("/report/", form(category="ufo"))
    assert r.status_code == 422
    assert not Case.objects.exists()


def test_the_public_page_shows_replies_but_no_personal_data(loop, client):
    case = actions.public_report("1.2.3.4", category="garbage", description="垃圾", **ON_RIVER,
                                 reporter_name="李四", reporter_phone="13800001111")
    office = loop.users["county-office"]
    actions.act(office, case, "assign", assignee=loop.units["eco"].pk, note="请周科长尽快处理 13900000000")
    actions.act(None, case, "take")
    actions.act(None, case, "reply", note="已清理，河面恢复整洁")
    actions.act(office, case, "verify")
    page = client.get(f"/r/{case.code}/").content.decode()
    assert "已清理，河面恢复整洁" in page and "已办结" in page
    for private in ("李四", "13800001111", "13900000000", "周科长", "市办张", "县办李"):
        assert private not in page


def test_the_reporter_rates_with_the_code(loop, client):
    case = actions.public_report("1.2.3.4", category="garbage", description="垃圾", **ON_RIVER)
    for a in ("assign", "take", "reply", "verify"):
        actions.act(None, case, a, note="ok", assignee=loop.units["eco"].pk)
    r = client.post(f"/r/{case.code}/rate", {"rating": "fairly"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.rating == "fairly" and case.state == "archived"
    # a second rating is refused
    client.post(f"/r/{case.code}/rate", {"rating": "unsatisfied"})
    case.refresh_from_db()
    assert case.rating == "fairly"


def test_it_cannot_rate_an_open_case(loop, client):
    case = actions.public_report("1.2.3.4", category="garbage", description="垃圾", **ON_RIVER)
    client.post(f"/r/{case.code}/rate", {"rating": "satisfied"})
    case.refresh_from_db()
    assert case.rating == "" and case.state == "new"


def test_it_rate_limits_public_reports_per_address(loop, client, settings):
    settings.ZHANGZHI_CASES = {"PUBLIC_REPORTS_PER_HOUR": 2}
    for _ in range(2):
        assert client.post("/report/", form(), REMOTE_ADDR="10.0.0.1").status_code == 302
    r = client.post("/report/", form(), REMOTE_ADDR="10.0.0.1")
    assert r.status_code == 429
    assert client.post("/report/", form(), REMOTE_ADDR="10.0.0.2").status_code == 302
    assert Case.objects.count() == 3


def test_enough_abuse_flags_hide_a_report_pending_moderation(loop, client, settings):
    settings.ZHANGZHI_CASES = {"ABUSE_FLAGS_TO_HIDE": 2}
    case = actions.public_report("1.2.3.4", category="garbage", description="辱骂内容", **ON_RIVER)
    client.post(f"/r/{case.code}/flag", REMOTE_ADDR="10.0.0.1")
    client.post(f"/r/{case.code}/flag", REMOTE_ADDR="10.0.0.1")  # the same address counts once
    case.refresh_from_db()
    assert not case.hidden and case.abuse_flags == 1
    client.post(f"/r/{case.code}/flag", REMOTE_ADDR="10.0.0.2")
    case.refresh_from_db()
    assert case.hidden
    page = client.get(f"/r/{case.code}/").content.decode()
    assert "辱骂内容" not in page and "等待审核" in page
    assert client.get("/open311/v2/requests.json").json() == []
    actions.moderate(loop.users["county-office"], case, hidden=False, note="内容属实")
    assert len(client.get("/open311/v2/requests.json").json()) == 1


def test_an_unknown_code_is_404(loop, client):
    assert client.get("/r/NOSUCH99/").status_code == 404
