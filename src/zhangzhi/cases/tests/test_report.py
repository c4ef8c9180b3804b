"""Reporting a problem: the place decides region, reach and office; bad input is refused whole."""

from __future__ import annotations

import pytest

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case, CaseLog
from zhangzhi.lib.errors import InvalidInput

from .conftest import ON_RIVER, T0


def test_it_routes_a_report_to_the_village_reach_and_county_office(loop, new_case):
    case = new_case()
    assert case.feature == loop.village_reach
    assert case.region == loop.village
    assert case.county == loop.yu
    assert case.office == loop.units["yu_office"]
    assert case.state == "new" and case.version == 1 and len(case.code) == 8
    assert case.reporter == loop.users["township-chief"]
    assert list(case.log.values_list("action", flat=True)) == ["report"]


def test_it_accepts_monitoring_reports_without_actor(loop):
    case = actions.report(None, source="monitoring", category="water_quality", description="氨氮超标",
                          **ON_RIVER, urgency="urgent", at=T0)
    assert case.source == "monitoring" and case.reporter is None and case.urgency == "urgent"
    assert case.log.get().actor_name == "监测预警"


def test_it_refuses_coordinates_outside_every_jurisdiction(loop):
    with pytest.raises(InvalidInput) as exc:
        actions.report(None, category="garbage", description="x", lat=31.23, lon=121.47)
    assert exc.value.code == "outside"
    assert not Case.objects.exists() and not CaseLog.objects.exists()


def test_it_refuses_an_unknown_category(loop):
    with pytest.raises(InvalidInput) as exc:
        actions.report(None, category="ufo", description="x", **ON_RIVER)
    assert "category" in exc.value.fields
    assert not Case.objects.exists()


def test_it_uses_the_given_feature(loop):
    case = actions.report(None, category="garbage", description="x", **ON_RIVER, feature=loop.pd_reach)
    assert case.region == loop.pd and case.office == loop.units["pd_office"]
