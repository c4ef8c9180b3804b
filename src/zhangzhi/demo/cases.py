"""A year of Yangquan cases (2025-12-01 → 2026-11-20), reported and handled through the actions.

Every source, realistic delays passed as `at`: most cases are accepted within a day, assigned,
taken, answered and verified; some are declined or merged, some handed back within 24 hours,
some fail verification and are redone, some run late and are escalated, most closed cases are
rated, the rest archived after 15 days. Cases whose next step would fall after the demo's
"today" stay open, so the inbox has work in it.

Who may say what: a 巡河发现 comes from a patrol uploaded by someone holding a post on that reach
(the finding is filed by the patrol upload and names the patrol); the county office's own
inspections lie in its county.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid

import numpy as np
from django.db import transaction
from django.db.models import Count
from shapely.geometry import shape

from zhangzhi.cases import actions, reference, workflow
from zhangzhi.cases.models import Case
from zhangzhi.lib.timezone import LOCAL_TZ
from zhangzhi.org.models import Post, Unit
from zhangzhi.patrols import reference as patrol_reference
from zhangzhi.patrols.actions import do_upload_patrol
from zhangzhi.patrols.models import Finding

from . import track_simulator

START = dt.datetime(2025, 12, 1, 0, 0, tzinfo=dt.UTC)
END = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)  # noon in Yangquan
CASES = 900

SOURCES = [("patrol", 40), ("hotline", 13), ("public", 14), ("office", 10), ("drone", 6), ("open311", 5),
           ("monitoring", 7), ("patrol", 5)]
CATEGORIES = [("garbage", 26), ("dumping", 14), ("illegal_sand", 8), ("occupation", 8), ("construction", 6),
              ("outfall", 8), ("shoreline", 8), ("poaching", 4), ("facility", 6), ("dead_fish", 2),
              ("forest_fire", 3), ("deforestation", 2), ("other", 5)]
HANDLERS = {"garbage": "阳泉市城市管理局", "dumping": "阳泉市住房和城乡建设局", "occupation": "阳泉市自然资源局",
            "construction": "阳泉市住房和城乡建设局", "outfall": "阳泉市生态环境局",
            "water_quality": "阳泉市生态环境局",
            "dead_fish": "阳泉市生态环境局", "shoreline": "阳泉市水务局", "facility": "阳泉市水务局",
            "forest_fire": "阳泉市自然资源局", "deforestation": "阳泉市自然资源局", "other": "阳泉市水务局",
            "poaching": "阳泉市农业农村局", "illegal_sand": "阳泉市水务局"}
TEXT = {
    "garbage": ["河道内漂浮生活垃圾", "桥下堆积塑料垃圾", "岸边有村民倾倒生活垃圾"],
    "dumping": ["河岸堆放建筑渣土约200方", "河滩有大量煤矸石堆放", "河道管理范围内堆放秸秆"],
    "illegal_sand": ["夜间有挖掘机在河道内采砂", "河床有新挖砂坑，疑似非法采砂"],
    "occupation": ["河道内种植玉米侵占行洪断面", "岸边搭建养殖棚圈占河道"],
    "construction": ["河道管理范围内新建砖房一处", "临河违规修建彩钢房"],
    "outfall": ["发现一处未登记排污口，排水呈黑色", "雨污混排口有异味污水流出"],
    "water_quality": ["自动站氨氮超标报警", "水体发黑发臭"],
    "dead_fish": ["河段出现成片死鱼"],
    "shoreline": ["护岸塌方约30米", "堤防出现裂缝"],
    "poaching": ["有人使用电鱼设备捕捞", "禁渔期有人下网捕鱼"],
    "facility": ["河长公示牌损坏", "护栏缺失存在安全隐患"],
    "forest_fire": ["林地边缘有焚烧秸秆现象", "林区附近有人野外用火"],
    "deforestation": ["河岸林地有树木被砍伐"],
    "other": ["河道内有废弃车辆", "河面有油污"],
}
REPLIES = ["已组织人员清理完毕，现场已恢复", "已责令当事人限期整改，现已整改到位", "已依法立案查处并恢复原状",
           "已封堵排污口并对责任单位处罚", "已完成修复，附整改后照片"]
PATROLLING_KINDS = ("chief", "deputy", "civic", "patroller")  # posts whose holders patrol their reach
RATINGS = [("satisfied", 76), ("fairly", 17), ("unsatisfied", 7)]


def pick(rng: random.Random, weighted):
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def hours(rng: random.Random, lo: float, hi: float) -> dt.timedelta:
    return dt.timedelta(hours=rng.uniform(lo, hi))


def _coords(feature) -> np.ndarray:
    g = feature.geometry
    parts = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
    return np.concatenate([np.asarray(p, np.float64)[:, :2] for p in parts])


def _place(rng: random.Random, reach):
    line = shape(reach.geometry)
    p = line.interpolate(rng.random(), normalized=True)
    return round(p.y + rng.uniform(-0.0008, 0.0008), 6), round(p.x + rng.uniform(-0.0008, 0.0008), 6)


class Scenario:
    def __init__(self, demo, rng: random.Random):
        self.demo, self.rng = demo, rng
        self.users = {k: getattr(p, "user", None) for k, p in demo.people.items()}
        self.county_office = demo.offices.get("140322")
        self.city_office = demo.offices.get("140300")
        self.last_on_reach: dict[int, Case] = {}
        self.counts: dict[str, int] = {}
        self.last: Case | None = None
        self.patrol_cache: dict = {}

    def office_actor(self, case: Case):
        """The persona who works in the case's office, when there is one (else a trusted call)."""
        if self.county_office and case.office_id == self.county_office.pk:
            return self.users.get("county-office")
        if self.city_office and case.office_id == self.city_office.pk:
            return self.users.get("city-office")
        return None

    def unit_actor(self, case: Case):
        unit = self.demo.units.get("阳泉市生态环境局")
        return self.users.get("member-unit") if unit and case.assignee_id == unit.pk else None

    def step(self, case: Case, action: str, at: dt.datetime, actor=None, **kw) -> bool:
        if at > END:
            return False
        actions.act(actor, case, action, at=at, **kw)
        self.counts[action] = self.counts.get(action, 0) + 1
        return True

    def assignee_for(self, case: Case, *, exclude=None) -> tuple[str, Unit]:
        rng, units = self.rng, self.demo.units
        county = case.county.code if case.county_id else None
        transfer = case.category.transfer_to
        if transfer and county and f"{transfer}:{county}" in units and rng.random() < 0.8:
            return "transfer", units[f"{transfer}:{county}"]
        township_office = None
        if case.region.level in ("township", "village"):
            town_code = case.region.code[:9] if case.region.code else None
            township_office = self.demo.offices.get(town_code)
        choices = [u for u in (units.get(HANDLERS.get(case.category.code, "阳泉市水务局")), township_office)
                   if u is not None and u.pk != case.office_id and u != exclude]
        if not choices:
            choices = [units["阳泉市水务局"]]
        return "assign", rng.choice(choices)

    def report(self, at: dt.datetime) -> Case:
        rng = self.rng
        source = pick(rng, SOURCES)
        category = "water_quality" if source == "monitoring" else pick(rng, CATEGORIES)
        reach = rng.choice(self.reaches)
        if self.last is not None and rng.random() < 0.05:  # someone else reports the same problem
            reach, category = self.last.feature, self.last.category.code
        if source == "patrol":
            case = self.patrol_finding(at, category, reach)
            self.counts["report"] = self.counts.get("report", 0) + 1
            self.last = case
            return case
        reporter = None
        if source == "office" and rng.random() < 0.5:  # the county office inspects its own county
            reporter = self.users.get("county-office")
            reach = rng.choice(self.county_reaches)
        lat, lon = _place(rng, reach)
        name = phone = ""
        if source in ("public", "hotline", "open311") and rng.random() < 0.7:
            name, phone = self.demo_names(), f"139{rng.randrange(10**7, 10**8)}"
        urgency = pick(rng, [("normal", 80), ("urgent", 15), ("critical", 5)])
        if source == "public" or source == "open311":
            case = actions.public_report(f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
                                         source=source, at=at, category=category, urgency=urgency,
                                         description=rng.choice(TEXT[category]), lat=lat, lon=lon,
                                         reporter_name=name, reporter_phone=phone)
        else:
            case = actions.report(reporter, category=category, description=rng.choice(TEXT[category]), lat=lat,
                                  lon=lon, urgency=urgency, source=source, reporter_name=name,
                                  reporter_phone=phone, at=at)
        self.counts["report"] = self.counts.get("report", 0) + 1
        self.last = case
        return case

    def patrol_finding(self, at: dt.datetime, category: str, reach) -> Case:
        """巡河发现 as chiefs file them: someone holding a post on the reach walks it and reports what
        they saw; the patrol upload files the finding as a case that names the patrol. The personas
        (a township and a village chief, a civic chief) walk their own reaches now and then."""
        rng = self.rng
        day = at.astimezone(LOCAL_TZ).date()
        posts = Post.objects.on(day).filter(role__kind__in=PATROLLING_KINDS).select_related("person__user", "feature")
        post = None
        if rng.random() < 0.3:
            persona = self.demo.people.get(rng.choice(["township-chief", "village-chief", "volunteer"]))
            own = list(posts.filter(person=persona, feature__kind__code="reach"))
            post = rng.choice(own) if own else None
        while post is None:
            held = list(posts.filter(feature=reach)) if reach is not None else []
            post = rng.choice(held) if held else None
            reach = rng.choice(self.reaches)  # nobody holds this one on that day: another reach
        reach, person = post.feature, post.person
        s0 = rng.uniform(0.0, 0.4)
        track = track_simulator.walk_along(_coords(reach), at.timestamp(), np.random.default_rng(rng.randrange(2**32)),
                                           portion=(s0, s0 + rng.uniform(0.3, 0.6)))
        k = len(track.t) // 2
        finding = {"category": category, "note": rng.choice(TEXT[category]), "lon": float(track.lon[k]),
                   "lat": float(track.lat[k]), "at": float(track.t[k]), "photo": b""}
        body = {"client_id": uuid.UUID(int=rng.getrandbits(128)), "feature": reach.pk,
                "track": {"type": "LineString", "coordinates": np.column_stack([track.lon, track.lat]),
                          "times": np.round(track.t)}, "findings": [finding]}
        actor = person.user  # a chief with a login files it themselves; the others through a trusted call
        patrol, _ = do_upload_patrol(actor, body, person=None if actor else person, source="demo",
                                     cache=self.patrol_cache)
        filed = Finding.objects.filter(patrol=patrol).select_related("case").get()
        if filed.case is None:
            raise RuntimeError(f"demo patrol finding not filed: {filed.file_error}")
        return filed.case

    def demo_names(self) -> str:
        return self.rng.choice("王李张刘陈杨赵黄周吴") + self.rng.choice(["先生", "女士"])

    def handle(self, case: Case) -> None:
        rng = self.rng
        office = self.office_actor(case)
        t = case.reported_at + hours(rng, 0.5, 20 if case.urgency == "normal" else 4)
        # duplicates and declines first
        prev = self.last_on_reach.get(case.feature_id)
        if (prev is not None and prev.category_id == case.category_id and prev.office_id == case.office_id
                and prev.state not in (workflow.MERGED, workflow.DECLINED)
                and (case.reported_at - prev.reported_at).days < 3):
            self.step(case, "merge", t, office, into=prev, note=f"与 {prev.code} 为同一问题，合并办理")
            return
        self.last_on_reach[case.feature_id] = case
        if rng.random() < 0.04:
            self.step(case, "decline", t, office, note="经核实不属于河湖管理范围，已告知属地相关部门")
            return
        if not self.step(case, "accept", t, office):
            return
        t += hours(rng, 0.5, 24)
        how, unit = self.assignee_for(case)
        days = case.category.days
        if not self.step(case, how, t, office, assignee=unit, deadline=t + dt.timedelta(days=days),
                         note="请按期办理并反馈整改照片"):
            return
        if case.urgency != "normal" and rng.random() < 0.5:
            self.step(case, "supervise", t + hours(rng, 1, 6), office, note="领导批示，挂牌督办")
        if how == "assign" and rng.random() < 0.07:  # handed back within a day, assigned elsewhere
            t += hours(rng, 2, 20)
            if not self.step(case, "return", t, self.unit_actor(case), note="该问题不属于本单位职责范围"):
                return
            t += hours(rng, 1, 12)
            how, unit = self.assignee_for(case, exclude=unit)
            if not self.step(case, how, t, office, assignee=unit, deadline=t + dt.timedelta(days=days),
                             note="重新交办"):
                return
        t += hours(rng, 2, 48)
        if not self.step(case, "take", t, self.unit_actor(case)):
            return
        late = rng.random() < 0.12
        work = dt.timedelta(days=days * (rng.uniform(1.1, 2.0) if late else rng.uniform(0.1, 0.9)))
        reply_at = t + work
        if late:
            if case.deadline - dt.timedelta(days=1) > t:
                self.step(case, "urge", case.deadline - dt.timedelta(days=1), office, note="即将到期，请加快办理")
            self.step(case, "escalate", case.deadline + hours(rng, 1, 12), None, roles={workflow.SYSTEM},
                      note="逾期未办结，提级办理")
        if not self.step(case, "reply", reply_at, self.unit_actor(case), note=rng.choice(REPLIES)):
            return
        office = self.office_actor(case)  # an escalated case is verified above
        t = reply_at + hours(rng, 2, 72)
        if rng.random() < 0.1:
            if not self.step(case, "redo", t, office, note="现场核查仍未整改到位，请重办",
                             deadline=t + dt.timedelta(days=max(3, days // 2))):
                return
            t += dt.timedelta(days=rng.uniform(1, max(2, days // 2)))
            if not self.step(case, "reply", t, self.unit_actor(case), note="已按要求再次整改到位"):
                return
            t += hours(rng, 2, 48)
        if not self.step(case, "verify", t, office, note="现场核查整改到位"):
            return
        rated = case.reporter_id or case.source in ("public", "open311", "hotline")
        if rated and rng.random() < 0.75:
            self.step(case, "rate", t + hours(rng, 2, 24 * 7), None, roles={workflow.REPORTER},
                      rating=pick(rng, RATINGS))
        elif t + dt.timedelta(days=15) <= END:
            self.step(case, "archive", t + dt.timedelta(days=15), None, roles={workflow.SYSTEM},
                      note="办结 15 天未评价，自动归档")

    def run(self, n: int) -> None:
        rng = self.rng
        self.reaches = [f for f in self.demo.features if f.kind.code == "reach" and f.level in ("village", "township")]
        yu = self.demo.counties["140322"].path
        self.county_reaches = [f for f in self.reaches if f.region.path.startswith(yu)]
        span = (END - START).total_seconds()
        times = sorted(START + dt.timedelta(seconds=rng.random() * span) for _ in range(n))
        for at in times:
            local_hour = at.astimezone(LOCAL_TZ).hour
            if local_hour < 7 or local_hour > 21:  # people report in the daytime
                at += dt.timedelta(hours=10)
            if at > END:
                continue
            self.handle(self.report(at))


def build(demo, rng: random.Random) -> None:
    started = time.monotonic()
    reference.ensure()  # `load_demo --reset` flushes the rows migration 0002 loaded
    patrol_reference.ensure()  # patrol findings come with their patrols, judged by the default rules
    with transaction.atomic():
        s = Scenario(demo, random.Random(rng.random()))
        s.run(CASES)
    c = s.counts
    states = dict(Case.objects.values_list("state").annotate(n=Count("pk")))
    demo.say(f"cases: {c.get('report', 0)} reported ({', '.join(f'{k} {v}' for k, v in sorted(states.items()))}); "
             f"returned {c.get('return', 0)}, redone {c.get('redo', 0)}, escalated {c.get('escalate', 0)}, "
             f"rated {c.get('rate', 0)} — {time.monotonic() - started:.1f} s")
