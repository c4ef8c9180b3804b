"""Rules as data, inherited down the region tree; frequency duty and compliance numbers."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest

from zhangzhi.demo import track_simulator as simulate
from zhangzhi.org.models import System
from zhangzhi.patrols import actions, compliance
from zhangzhi.patrols.models import FrequencyRule, RuleSet, rules_for

from .conftest import payload, reach_coords, walk

UTC = dt.UTC


def test_it_uses_the_demo_defaults(world, rules):
    r, _ = rules_for(System.objects.get(code="river"), world.yu_town, "township")
    assert (r.min_duration_s, r.min_length_m, r.buffer_m, r.min_coverage) == (600, 1000, 200, 0.30)
    assert rules_for(System.objects.get(code="river"), world.yu, "county")[0].min_coverage == 0.15


def test_a_county_tightens_the_citys_rules(world, rules):
    river = System.objects.get(code="river")
    RuleSet.objects.create(system=river, region=world.city, min_duration_s=900, buffer_m=150)
    RuleSet.objects.create(system=river, region=world.yu, min_duration_s=1800)
    RuleSet.objects.create(system=river, region=world.yu, level="village", min_coverage=0.5)
    yu_town = rules_for(river, world.yu_town, "township")[0]
    assert (yu_town.min_duration_s, yu_town.buffer_m, yu_town.min_coverage) == (1800, 150, 0.30)
    assert rules_for(river, world.village, "village")[0].min_coverage == 0.5
    pd_town = rules_for(river, world.pd_town, "township")[0]
    assert (pd_town.min_duration_s, pd_town.buffer_m) == (900, 150)


def test_it_judges_an_upload_with_the_county_rules(world, rules, api):
    RuleSet.objects.create(system=System.objects.get(code="river"), region=world.yu, min_duration_s=3 * 3600)
    body = api("township-chief").post("/patrols", payload(world.town_reach, walk(world.town_reach))).json()
    assert body["effective"] is False
    assert body["reasons"][0].startswith("巡河时长不足180分钟")


# -- compliance --------------------------------------------------------------------------------------

def upload(world, who, feature, day: dt.date, seed: int, good: bool = True):
    start = dt.datetime.combine(day, dt.time(9), dt.timezone(dt.timedelta(hours=8))).timestamp()
    if good:
        track = walk(feature, seed=seed, start=start)
    else:
        track = simulate.too_short(reach_coords(feature), start, np.random.default_rng(seed))
    patrol, _ = actions.do_upload_patrol(None, payload(feature, track, client_id=uuid.uuid4()),
                                         person=world.people[who])
    assert patrol.effective is good, patrol.reasons
    return patrol


def test_it_counts_who_met_their_duty_in_a_month(world, rules, api, django_assert_max_num_queries):
    # village chief: weekly; 5 weeks end in May 2026 (the first began on 27 April); 18–24 May has
    # only a patrol that was too short
    for day in (dt.date(2026, 5, 1), dt.date(2026, 5, 5), dt.date(2026, 5, 13), dt.date(2026, 5, 26)):
        upload(world, "village-chief", world.village_reach, day, seed=day.day)
    upload(world, "village-chief", world.village_reach, dt.date(2026, 5, 19), seed=3, good=False)
    # township chief: each 旬; all three 旬 of May, one of them on the village reach below
    upload(world, "township-chief", world.town_reach, dt.date(2026, 5, 2), seed=21)
    upload(world, "township-chief", world.village_reach, dt.date(2026, 5, 18), seed=22)
    upload(world, "township-chief", world.town_reach, dt.date(2026, 5, 31), seed=23)

    with django_assert_max_num_queries(6):
        duty = compliance.duties(world.users["county-office"], dt.date(2026, 5, 1), dt.date(2026, 6, 1))
    by_person = {d.person: d for d in duty}
    village = by_person["赵村长"]
    assert (village.period, village.due, village.met, village.effective) == ("week", 5, 4, 4)
    assert village.missed == ["2026年第21周"]
    township = by_person["王镇长"]
    assert (township.period, township.due, township.met) == ("dekad", 3, 3) and township.ok
    county = by_person["钱县长"]
    assert (county.period, county.due, county.met) == ("month", 1, 0) and county.none
    assert "冯市长" not in by_person  # the city river chief sits above the county office's view
    assert "吴志愿" not in by_person  # civic chiefs patrol without a duty

    r = api("county-office").get("/patrols/compliance", start="2026-05-01", end="2026-06-01", region="140322")
    body = r.json()
    rows = {(row["region"], row["level"]): row for row in body["rows"]}
    town = rows["秀水镇", "township"]
    assert (town["posts"], town["posts_ok"], town["periods_due"], town["periods_met"]) == (1, 1, 3, 3)
    vil = rows["秀水镇", "village"]
    assert (vil["periods_due"], vil["periods_met"], vil["rate"], vil["posts_ok"]) == (5, 4, 0.8, 0)
    assert rows["盂县", "county"]["no_patrol"] == 1
    assert [c["person"] for c in body["no_patrol"]] == ["钱县长"]


def test_frequency_rules_are_data(world, rules, api):
    river = System.objects.get(code="river")
    FrequencyRule.objects.create(system=river, region=world.yu, level="village", period="month", required=2)
    upload(world, "village-chief", world.village_reach, dt.date(2026, 5, 5), seed=1)
    duty = compliance.duties(world.users["county-office"], dt.date(2026, 5, 1), dt.date(2026, 6, 1),
                             level="village")
    assert [(d.period, d.required, d.due, d.met) for d in duty] == [("month", 2, 1, 0)]


@pytest.mark.parametrize("who,count", [("city-office", 3), ("other-county-chief", 0)])
def test_compliance_follows_jurisdiction(world, rules, api, who, count):
    body = api(who).get("/patrols/compliance", start="2026-05-01", end="2026-06-01").json()
    assert len(body["chiefs"]) == count
