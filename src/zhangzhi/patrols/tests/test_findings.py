"""Who may say 巡河发现: a report with source patrol names its patrol, only the person who made the
patrol files it, and it lies on that patrol's reach."""

from __future__ import annotations

import pytest

from zhangzhi.cases import actions as case_actions
from zhangzhi.cases import reference as case_reference
from zhangzhi.cases.models import Case
from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.patrols import actions
from zhangzhi.patrols.models import Finding, Patrol

from .conftest import payload, walk

ON_TOWN_REACH = {"lat": 38.065, "lon": 113.35}  # on 测试河秀水镇段 (盂县)
IN_PINGDING = {"lat": 37.825, "lon": 113.575}  # on 测试河平定段, another county


@pytest.fixture
def patrol(world, rules):
    """The township chief's patrol along 测试河秀水镇段, with no findings yet."""
    case_reference.ensure()
    p, _ = actions.do_upload_patrol(world.users["township-chief"], payload(world.town_reach, walk(world.town_reach)))
    return p


def report(actor, **kw):
    args = {"category": "garbage", "description": "河岸堆放生活垃圾", **ON_TOWN_REACH, "source": "patrol", **kw}
    return case_actions.report(actor, **args)


def test_it_files_a_finding_naming_the_patrol_by_its_chief(world, patrol):
    case = report(world.users["township-chief"], patrol=patrol.pk)
    assert case.patrol == patrol and case.feature == world.town_reach
    assert case.reporter == world.users["township-chief"]
    assert case.log.get().data["patrol"] == patrol.pk


def test_it_refuses_a_patrol_report_without_its_patrol(world, patrol):
    with pytest.raises(InvalidInput) as exc:
        report(world.users["township-chief"])
    assert exc.value.fields == {"patrol": "required"}
    with pytest.raises(InvalidInput) as exc:
        report(None)  # not even a trusted caller says 巡河发现 without the patrol
    assert exc.value.fields == {"patrol": "required"}
    assert not Case.objects.exists()


def test_it_refuses_a_patrol_report_by_someone_else(world, patrol):
    with pytest.raises(Forbidden):
        report(world.users["county-office"], patrol=patrol.pk)  # sees the patrol, did not make it
    with pytest.raises(Forbidden):
        report(world.users["volunteer"], patrol=patrol)  # holds a post on the same reach
    assert not Case.objects.exists()


def test_it_answers_a_patrol_outside_the_jurisdiction_like_a_missing_one(world, patrol):
    with pytest.raises(InvalidInput) as outside:
        report(world.users["other-county-chief"], patrol=patrol.pk)
    with pytest.raises(InvalidInput) as missing:
        report(world.users["other-county-chief"], patrol=patrol.pk + 1000)
    assert outside.value.fields == missing.value.fields == {"patrol": "unknown"}
    assert outside.value.message == missing.value.message.replace(str(patrol.pk + 1000), str(patrol.pk))
    with pytest.raises(InvalidInput) as huge:
        report(world.users["township-chief"], patrol=10**30)  # beyond any key: no database error
    assert huge.value.fields == {"patrol": "unknown"}


def test_it_refuses_a_finding_off_the_patrols_reach(world, patrol):
    chief = world.users["township-chief"]
    with pytest.raises(InvalidInput) as exc:
        report(chief, patrol=patrol.pk, **IN_PINGDING)
    assert exc.value.code == "off_reach"
    with pytest.raises(InvalidInput) as exc:
        report(chief, patrol=patrol.pk, feature=world.pd_reach)
    assert exc.value.fields == {"feature": "not the patrol's reach"}
    with pytest.raises(InvalidInput) as exc:
        report(chief, patrol=patrol.pk, source="office")
    assert "source" in exc.value.fields
    assert not Case.objects.exists()


def test_it_files_uploaded_findings_as_the_chief(world, rules):
    case_reference.ensure()
    track = walk(world.town_reach)
    finding = {"category": "garbage", "note": "桥下堆积塑料垃圾", "lon": float(track.lon[40]),
               "lat": float(track.lat[40])}
    p, _ = actions.do_upload_patrol(world.users["township-chief"],
                                    payload(world.town_reach, track, findings=[finding]))
    case = Finding.objects.get(patrol=p).case
    assert case.patrol == p and case.reporter == world.users["township-chief"]
    assert case.log.get().actor == world.users["township-chief"]


def test_it_keeps_a_finding_off_the_reach_unfiled(world, rules):
    case_reference.ensure()
    far = {"category": "garbage", "note": "平定县的垃圾", "lon": IN_PINGDING["lon"], "lat": IN_PINGDING["lat"]}
    p, _ = actions.do_upload_patrol(world.users["township-chief"],
                                    payload(world.town_reach, walk(world.town_reach), findings=[far]))
    f = Finding.objects.get(patrol=p)
    assert f.case is None and "m from" in f.file_error
    assert not Case.objects.exists()


def test_it_refuses_to_file_someone_elses_findings(world, rules, api):
    case_reference.ensure()
    track = walk(world.town_reach)
    p, _ = actions.do_upload_patrol(world.users["township-chief"], payload(world.town_reach, track))
    Finding.objects.create(patrol=p, category="garbage", note="x", lon=float(track.lon[9]), lat=float(track.lat[9]),
                           at=p.started_at)
    assert api("county-office").post(f"/patrols/{p.pk}/file-findings").status_code == 403
    assert api("other-county-chief").post(f"/patrols/{p.pk}/file-findings").status_code == 404
    assert not Case.objects.exists()
    r = api("township-chief").post(f"/patrols/{p.pk}/file-findings")
    assert r.status_code == 200 and r.json() == {"filed": 1}
    assert Case.objects.get().patrol == p


def test_the_api_says_patrol_only_with_ones_own_patrol(world, patrol, api):
    chief, office = api("township-chief"), api("county-office")
    body = {"category": "garbage", "description": "河岸垃圾", **ON_TOWN_REACH}
    r = chief.post("/cases", {**body, "source": "patrol"})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"patrol": "required"}
    assert office.post("/cases", {**body, "patrol": patrol.pk}).status_code == 403
    r = api("other-county-chief").post("/cases", {**body, "patrol": patrol.pk})
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"patrol": "unknown"}
    assert chief.post("/cases", {**body, "patrol": 2**70}).status_code == 422
    r = chief.post("/cases", {**body, "patrol": patrol.pk})
    assert r.status_code == 201, r.content
    assert r.json()["source"] == "patrol" and Case.objects.get().patrol == patrol


def test_the_api_lets_only_the_office_say_office_or_hotline(world, rules, api):
    case_reference.ensure()
    chief, office = api("township-chief"), api("county-office")
    body = {"category": "garbage", "description": "河岸垃圾", **ON_TOWN_REACH}
    assert chief.post("/cases", body).json()["source"] == "public"  # a chief's report outside a patrol
    for source in ("office", "hotline"):
        assert chief.post("/cases", {**body, "source": source}).status_code == 403
        assert office.post("/cases", {**body, "source": source}).status_code == 201
    assert office.post("/cases", body).json()["source"] == "office"
    for source in ("monitoring", "open311", "drone"):  # they come in through their own doors
        assert office.post("/cases", {**body, "source": source}).status_code == 422
    assert Case.objects.count() == 4
    assert not Patrol.objects.exists()

