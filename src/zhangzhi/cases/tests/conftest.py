"""Fixtures for the closed loop: the shared `world` plus its police, procuratorate and a handy case."""

from __future__ import annotations

import datetime as dt

import pytest

# a point on 测试河 in 示例村 (village reach), inside 盂县
ON_RIVER = {"lat": 38.058, "lon": 113.325}
T0 = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 in Yangquan


@pytest.fixture
def loop(world):
    """`world` with the county's police and procuratorate and a township office."""
    from zhangzhi.cases import reference
    from zhangzhi.org import actions as oa

    reference.ensure()
    police = oa.create_unit(None, name="盂县公安局", kind="police", region=world.yu)
    proc = oa.create_unit(None, name="盂县人民检察院", kind="procuratorate", region=world.yu)
    oa.create_person(None, name="刘警官", units=[police], username="police", password="test-pass-123")
    world.units.update(police=police, procuratorate=proc)
    return world


@pytest.fixture
def new_case(loop):
    """A garbage report by the township chief on the village reach, at T0."""
    from zhangzhi.cases import actions

    def make(**kw):
        args = {"category": "garbage", "description": "河道内有生活垃圾", **ON_RIVER, "at": T0, "source": "public"}
        args.update(kw)
        return actions.report(kw.pop("actor", loop.users["township-chief"]), **args)

    return make
