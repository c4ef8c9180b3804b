"""Monitoring fixtures: stations on the world's reaches, and frames as stations send them."""

from __future__ import annotations

from datetime import datetime

import pytest

from zhangzhi.monitoring import actions, alerts, hj212
from zhangzhi.monitoring.hj212 import BEIJING

MN_YU = "A140322_0001"
MN_PD = "A140321_0001"


@pytest.fixture(autouse=True)
def _fresh_alert_cache():
    alerts.reset_cache()
    yield
    alerts.reset_cache()


@pytest.fixture
def stations(world):
    """An automatic station on the 盂县 town reach (target III) and one on the 平定 reach (target II)."""
    yu = actions.create_station(None, name="测试河秀水断面", kind="auto", mn=MN_YU, feature=world.town_reach,
                                target_class="III", level="city", parameters={"w20115": "μg/L"})
    pd = actions.create_station(None, name="测试河平定断面", kind="auto", mn=MN_PD, feature=world.pd_reach,
                                target_class="II", level="provincial")
    return {"yu": yu, "pd": pd}


def hourly(mn: str, when: datetime, values: dict, *, flag: int | None = 5, cn: str = "2061", pw: str = "123456"):
    return hj212.build_data_frame(mn, cn, pw, when, values, flag=flag)


def at(day: int, hour: int = 0, month: int = 3, year: int = 2025) -> datetime:
    return datetime(year, month, day, hour, tzinfo=BEIJING)
