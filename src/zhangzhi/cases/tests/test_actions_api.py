"""Every workflow action through POST /api/v1/cases/{id}/actions/{action}, and every refusal."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case, CaseLog
from zhangzhi.lib.errors import Conflict

from .conftest import ON_RIVER, T0


def at(hours):
    return T0 + dt.timedelta(hours=hours)


def frozen(when):
    return mock.patch("django.utils.timezone.now", return_value=when)


@pytest.fixture
def office(api):
    return api("county-office")


@pytest.fixture
def unit(api):
    return api("member-unit")


def assigned(loop, new_case, hours=1):
    case = new_case()
    actions.act(loop.users["county-office"], case, "assign", assignee=loop.units["eco"].pk, at=at(hours),
                note="三日内清理")
    return case


def test_it_runs_the_whole_loop_through_the_api(loop, new_case, api, office, unit):
    case = new_case()
    chief = api("township-chief")
    with frozen(at(1)):
        r = office.post(f"/cases/{case.pk}/actions/accept", {"note": "受理"})
        assert r.status_code == 200, r.content
        r = office.post(f"/cases/{case.pk}/actions/assign",
                        {"assignee": loop.units["eco"].pk, "deadline": "2026-03-10T18:00:00+08:00", "note": "清理"})
        assert r.json()["state"] == "assigned" and r.json()["assignee_name"] == "阳泉市生态环境局"
        assert r.json()["deadline"].startswith("2026-03-10T10:00")
    with frozen(at(5)):
        assert unit.post(f"/cases/{case.pk}/actions/take").json()["state"] == "in_progress"
        assert unit.post(f"/cases/{case.pk}/actions/reply", {"note": "已清理完毕"}).json()["state"] == "replied"
        assert office.post(f"/cases/{case.pk}/actions/verify").json()["state"] == "closed"
        r = chief.post(f"/cases/{case.pk}/actions/rate", {"rating": "satisfied"})
        assert r.status_code == 200 and r.json()["state"] == "archived" and r.json()["rating"] == "satisfied"
    log = [e["action"] for e in r.json()["log"]]
    assert log == ["report", "accept", "assign", "take", "reply", "verify", "rate"]
    assert r.json()["log"][4]["actor"] == "周科长" and r.json()["log"][4]["note"] == "已清理完毕"


def test_it_returns_the_case_with_state_assignee_deadline_and_log(loop, new_case, office):
    case = assigned(loop, new_case)
    body = office.get(f"/cases/{case.pk}").json()
    assert {"state", "assignee", "deadline", "log"} <= set(body)
    assert set(body["log"][0]) >= {"at", "actor", "action", "note"}


def test_it_lets_the_office_decline_with_a_reason_the_reporter_sees(loop, new_case, office, api):
    case = new_case()
    assert office.post(f"/cases/{case.pk}/actions/decline").status_code == 422  # reason required
    r = office.post(f"/cases/{case.pk}/actions/decline", {"note": "不属于河湖管理范围"})
    assert r.json()["state"] == "declined"
    mine = api("township-chief").get(f"/cases/{case.pk}").json()
    assert mine["public_note"] == "不属于河湖管理范围"


def test_it_merges_a_duplicate(loop, new_case, office):
    first, second = new_case(), new_case(description="同一处垃圾")
    body = office.get(f"/cases/{second.pk}").json()
    assert [d["id"] for d in body["duplicates"]] == [first.pk]
    r = office.post(f"/cases/{second.pk}/actions/merge", {"into": first.pk, "note": "重复"})
    assert r.json()["state"] == "merged" and r.json()["merged_into"] == first.pk
    assert CaseLog.objects.filter(case=first, action="merged").exists()
    assert office.post(f"/cases/{first.pk}/actions/merge", {"into": first.pk}).status_code == 422


def test_it_transfers_sand_mining_to_the_county_police(loop, new_case, office, api):
    case = new_case(category="illegal_sand")
    r = office.post(f"/cases/{case.pk}/actions/assign", {"assignee": loop.units["police"].pk})
    assert r.status_code == 422  # police take cases by transfer
    r = office.post(f"/cases/{case.pk}/actions/transfer", {"assignee": loop.units["police"].pk, "note": "非法采砂"})
    assert r.json()["state"] == "assigned" and r.json()["assignee_name"] == "盂县公安局"
    assert office.post(f"/cases/{case.pk}/actions/transfer",
                       {"assignee": loop.units["eco"].pk}).status_code == 409
    assert api("police").post(f"/cases/{case.pk}/actions/take").json()["state"] == "in_progress"


def test_transfer_refuses_a_member_unit(loop, new_case, office):
    case = new_case()
    r = office.post(f"/cases/{case.pk}/actions/transfer", {"assignee": loop.units["eco"].pk})
    assert r.status_code == 422 and "assignee" in r.json()["error"]["fields"]


def test_it_lets_the_assignee_return_within_24_hours(loop, new_case, unit):
    case = assigned(loop, new_case)
    with frozen(at(24)):
        r = unit.post(f"/cases/{case.pk}/actions/return", {"note": "不属于本单位职责"})
    assert r.status_code == 200 and r.json()["state"] == "accepted" and r.json()["assignee"] is None


def test_it_refuses_a_return_after_24_hours(loop, new_case, unit):
    case = assigned(loop, new_case)
    with frozen(at(25) + dt.timedelta(seconds=1)):
        r = unit.post(f"/cases/{case.pk}/actions/return", {"note": "晚了"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "return_window"
    assert Case.objects.get(pk=case.pk).state == "assigned"


def test_it_redoes_a_reply_that_fails_verification(loop, new_case, office, unit):
    case = assigned(loop, new_case)
    unit.post(f"/cases/{case.pk}/actions/take")
    unit.post(f"/cases/{case.pk}/actions/reply", {"note": "已处理"})
    r = office.post(f"/cases/{case.pk}/actions/redo", {"note": "现场仍有垃圾", "deadline": "2099-01-01T00:00:00Z"})
    assert r.json()["state"] == "in_progress" and r.json()["deadline"].startswith("2099-01-01")
    assert unit.post(f"/cases/{case.pk}/actions/reply", {"note": "已彻底清理"}).json()["state"] == "replied"


def test_it_urges_and_supervises(loop, new_case, office):
    case = assigned(loop, new_case)
    assert office.post(f"/cases/{case.pk}/actions/urge", {"note": "请尽快"}).json()["urged"] == 1
    r = office.post(f"/cases/{case.pk}/actions/supervise", {"note": "市领导关注"})
    assert r.json()["supervised"] is True and r.json()["state"] == "assigned"


def test_it_escalates_by_hand_to_the_city_office(loop, new_case, office, api):
    case = assigned(loop, new_case)
    r = office.post(f"/cases/{case.pk}/actions/escalate", {"note": "县级难以协调"})
    assert r.json()["office_name"] == "阳泉市河长办" and r.json()["escalations"] == 1
    # the county office no longer runs it; the city office does, and cannot go higher
    assert office.post(f"/cases/{case.pk}/actions/urge").status_code == 403
    r = api("city-office").post(f"/cases/{case.pk}/actions/escalate")
    assert r.status_code == 409 and r.json()["error"]["code"] == "top_level"


def test_it_archives_a_closed_case(loop, new_case, office):
    case = assigned(loop, new_case)
    for a in ("take", "reply"):
        actions.act(None, case, a, note="ok")
    actions.act(None, case, "verify")
    assert office.post(f"/cases/{case.pk}/actions/archive").json()["state"] == "archived"


# -- refusals -------------------------------------------------------------------------------------------

def test_it_forbids_a_member_unit_to_accept(loop, new_case, unit):
    case = new_case()
    r = unit.post(f"/cases/{case.pk}/actions/accept")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"


def test_it_forbids_a_chief_to_assign(loop, new_case, api):
    r = api("township-chief").post(f"/cases/{new_case().pk}/actions/assign", {"assignee": loop.units["eco"].pk})
    assert r.status_code == 403


def test_it_forbids_someone_else_to_rate(loop, new_case, office):
    case = assigned(loop, new_case)
    for a in ("take", "reply", "verify"):
        actions.act(None, case, a, note="ok")
    assert office.post(f"/cases/{case.pk}/actions/rate", {"rating": "satisfied"}).status_code == 403


def test_it_refuses_an_action_in_the_wrong_state_with_the_current_state(loop, new_case, office):
    case = new_case()
    r = office.post(f"/cases/{case.pk}/actions/verify")
    assert r.status_code == 409
    assert r.json()["error"]["fields"]["state"] == "new"


def test_it_hides_cases_of_other_counties(loop, new_case, api):
    case = new_case()
    other = api("other-county-chief")
    assert other.get(f"/cases/{case.pk}").status_code == 404
    assert other.post(f"/cases/{case.pk}/actions/accept").status_code == 404
    assert other.get("/cases").json()["count"] == 0


def test_the_other_county_office_cannot_act(loop, new_case, api):
    from zhangzhi.org import actions as oa

    oa.create_person(None, name="平定办", units=[loop.units["pd_office"]], username="pd-office",
                     password="test-pass-123")
    case = new_case()
    assert api("pd-office").post(f"/cases/{case.pk}/actions/accept").status_code == 404


def test_it_answers_404_for_an_unknown_action(loop, new_case, office):
    assert office.post(f"/cases/{new_case().pk}/actions/approve").status_code == 404


def test_it_refuses_a_bad_body(loop, new_case, office):
    case = new_case()
    r = office.post(f"/cases/{case.pk}/actions/assign", {"assignee": "eco", "deadline": "soon"})
    assert r.status_code == 422 and any("assignee" in k for k in r.json()["error"]["fields"])
    assert office.post(f"/cases/{case.pk}/actions/accept", {"colour": "red"}).status_code == 422
    r = office.post(f"/cases/{case.pk}/actions/assign", {"assignee": loop.units["eco"].pk,
                                                         "deadline": "2020-01-01T00:00:00Z"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"deadline": "in the past"}
    r = office.post(f"/cases/{case.pk}/actions/assign", {"assignee": 999999})
    assert r.status_code == 422
    assert Case.objects.get(pk=case.pk).state == "new"
    assert list(case.log.values_list("action", flat=True)) == ["report"]


def test_it_refuses_an_unknown_rating(loop, new_case, api):
    case = assigned(loop, new_case)
    for a in ("take", "reply", "verify"):
        actions.act(None, case, a, note="ok")
    r = api("township-chief").post(f"/cases/{case.pk}/actions/rate", {"rating": "great"})
    assert r.status_code == 422


# -- concurrency and the log --------------------------------------------------------------------------

def test_two_people_acting_at_once_the_second_gets_409(loop, new_case):
    case = new_case()
    mine, theirs = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    actions.act(loop.users["county-office"], mine, "accept")
    with pytest.raises(Conflict) as exc:
        actions.act(loop.users["city-office"], theirs, "decline", note="重复")
    assert exc.value.code == "stale" and exc.value.fields == {"state": "accepted", "version": "2"}
    assert Case.objects.get(pk=case.pk).state == "accepted"
    assert list(case.log.values_list("action", flat=True)) == ["report", "accept"]


def test_a_stale_version_in_the_body_gets_409_with_the_current_state(loop, new_case, office):
    case = new_case()
    assert office.post(f"/cases/{case.pk}/actions/accept", {"version": 1}).status_code == 200
    r = office.post(f"/cases/{case.pk}/actions/supervise", {"version": 1})
    assert r.status_code == 409 and r.json()["error"]["fields"]["state"] == "accepted"


def test_the_log_is_append_only(loop, new_case):
    entry = new_case().log.get()
    entry.note = "changed"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        CaseLog.objects.update(note="x")
    with pytest.raises(TypeError):
        CaseLog.objects.all().delete()


def test_it_creates_cases_through_the_api(loop, api):
    chief = api("township-chief")
    r = chief.post("/cases", {"category": "dumping", "description": "河岸堆放建筑垃圾", **ON_RIVER,
                              "urgency": "urgent"})
    assert r.status_code == 201, r.content
    # a chief's report outside a patrol; 巡河发现 names the patrol (patrols/tests/test_findings.py)
    assert r.json()["region_name"] == "示例村" and r.json()["source"] == "public"
    assert chief.post("/cases", {"category": "nope", "description": "x", **ON_RIVER}).status_code == 422
    r = chief.post("/cases", {"category": "garbage", "description": "x", "lat": 31.2, "lon": 121.5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "outside"
    assert chief.post("/cases", {"category": "garbage", "description": "x"}).status_code == 422
    assert Case.objects.count() == 1
    assert api().post("/cases", {"category": "garbage", "description": "x", **ON_RIVER}).status_code == 401


def test_it_lists_categories(loop, api):
    codes = {c["code"] for c in api().get("/case-categories").json()["categories"]}
    assert {"water_quality", "garbage", "illegal_sand", "occupation", "dumping", "construction", "outfall",
            "shoreline", "forest_fire"} <= codes


def test_a_bare_date_as_deadline_means_the_end_of_that_day(loop, new_case):
    from django.utils import timezone

    case = actions.act(loop.users["county-office"], new_case(), "assign", assignee=loop.units["eco"].pk,
                       deadline="2026-03-12", at=T0)
    local = timezone.localtime(case.deadline)
    assert (local.date().isoformat(), local.hour, local.minute) == ("2026-03-12", 23, 59)
