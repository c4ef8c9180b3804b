"""Demo step: a year of patrols (2025-12-01 → 2026-11-20) by the demo roster, each one uploaded
through actions.do_upload_patrol, the same action the phone and the API use.

Chiefs owe their level's duty (village weekly, township each 旬, county monthly, city each
quarter); most meet it, some lapse, a few barely patrol (未巡河). Civic chiefs and patrollers
walk on their own schedule and make up Yangquan's annual figure of about 17,300 patrols. About
4 % are fraudulent: driving along a road 1 km from the river, a re-submitted copy of an earlier
track, a patrol cut short, a phone left on a table.

Speed: tracks are simulated in numpy by a worker process while this one uploads, so the two
cores both work; the uploads share one outer transaction (each action's own becomes a
savepoint) and a cache of features and rule sets. Every upload still parses and validates its
body, checks the post, judges the track against the earlier ones and stores it (there is no raw
upload to archive: the bodies are in-process dicts).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import time
import uuid
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from zhangzhi.lib.timezone import LOCAL_TZ
from zhangzhi.patrols import periods, reference
from zhangzhi.patrols.actions import do_upload_patrol

from . import track_simulator

START = dt.date(2025, 12, 1)
END = dt.date(2026, 11, 21)  # exclusive: the last patrols are on 20 November
TARGET = int(os.environ.get("ZHANGZHI_DEMO_PATROLS", "17300"))
FINDING_CATEGORIES = ("garbage", "dumping", "occupation", "illegal_sand", "outfall", "construction", "facility")
FINDING_NOTES = {"garbage": "河岸堆放生活垃圾", "dumping": "河道内倾倒建筑垃圾", "occupation": "河道管理范围内违规种植",
                 "illegal_sand": "疑似夜间非法采砂痕迹", "outfall": "发现一处未登记排污口，有异味",
                 "construction": "河道管理范围内新建彩钢房", "facility": "护栏损坏，警示牌缺失"}
# share of the reach a chief of each level walks (a city river is ~50 km, a county reach ~15 km)
WALK_SHARE = {"village": (0.5, 0.9), "township": (0.35, 0.7), "county": (0.2, 0.35), "city": (0.07, 0.12)}
FRAUD = (("drive", 0.014), ("copy", 0.010), ("short", 0.010), ("table", 0.006))


@dataclass
class Plan:
    """One patrol to simulate and upload."""

    start: float  # epoch seconds
    person_id: int
    feature_id: int
    level: str
    kind: str = "walk"
    seed: int = 0
    finding: str = ""
    copy_of: int = -1  # index of the plan whose track is copied


def _local_ts(day: dt.date, hour: float) -> float:
    return dt.datetime.combine(day, dt.time(), LOCAL_TZ).timestamp() + hour * 3600


def plan_year(posts, rng: np.random.Generator, target: int = TARGET) -> list[Plan]:
    """Who patrols what, when, and how: duty first, then civic walks up to the target."""
    from zhangzhi.patrols.models import FrequencyRule

    rules = {(r.level): r for r in FrequencyRule.objects.filter(region__isnull=True, system__code="river")}
    plans: list[Plan] = []
    duty_posts = [p for p in posts if p.role.kind in ("chief", "deputy") and p.level in rules]
    civic_posts = [p for p in posts if p.role.kind in ("civic", "patroller")]
    reliability = {}
    for p in duty_posts:
        if p.person_id not in reliability:
            u = rng.random()
            # a few barely patrol, some lapse now and then, most keep their duty
            reliability[p.person_id] = (0.15 if u < 0.04 else rng.uniform(0.55, 0.85) if u < 0.16
                                        else rng.uniform(0.93, 1.0))
        rule = rules[p.level]
        for per in periods.periods_between(START, END, rule.period):
            first = max(per.start, START, p.valid_from)
            last = min(per.last_day, END - dt.timedelta(days=1), p.valid_to or per.last_day)
            if last < first or rng.random() > reliability[p.person_id]:
                continue
            extra = 1 + (rng.random() < 0.12)
            for _ in range(extra):
                day = first + dt.timedelta(days=int(rng.integers(0, (last - first).days + 1)))
                plans.append(Plan(_local_ts(day, rng.uniform(7.5, 17.0)), p.person_id, p.feature_id, p.level))
    remaining = max(target - len(plans), 0)
    span = (END - START).days
    if civic_posts:
        for i in range(remaining):
            p = civic_posts[i % len(civic_posts)]
            day = START + dt.timedelta(days=int(rng.integers(0, span)))
            plans.append(Plan(_local_ts(day, rng.uniform(6.5, 18.5)), p.person_id, p.feature_id, p.level))
    plans.sort(key=lambda pl: pl.start)
    last_by_feature: dict[int, int] = {}
    for i, pl in enumerate(plans):
        pl.seed = int(rng.integers(0, 2**31))
        u = rng.random()
        acc = 0.0
        for kind, share in FRAUD:
            acc += share
            if u < acc:
                pl.kind = kind
                break
        if pl.kind == "copy":
            if pl.feature_id in last_by_feature and plans[last_by_feature[pl.feature_id]].kind == "walk":
                pl.copy_of = last_by_feature[pl.feature_id]
            else:
                pl.kind = "walk"
        if pl.kind == "walk":
            last_by_feature[pl.feature_id] = i
            if rng.random() < 0.012:
                pl.finding = FINDING_CATEGORIES[int(rng.integers(0, len(FINDING_CATEGORIES)))]
    return plans


_REACHES: dict[int, np.ndarray] = {}
_LENGTHS: dict[int, float] = {}


def _simulate(args) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One track (worker side; pure numpy). Copies are made by the uploader from the original."""
    feature_id, level, kind, seed, start = args
    reach = _REACHES[feature_id]
    rng = np.random.default_rng(seed)
    interval = float(rng.choice((5.0, 10.0)))
    if kind == "drive":
        tr = track_simulator.drive_along_offset(reach, start, rng, offset_m=rng.uniform(800, 1500), interval_s=interval,
                                         portion=(0.0, float(rng.uniform(0.5, 1.0))))
    elif kind == "short":
        tr = track_simulator.too_short(reach, start, rng, duration_s=float(rng.uniform(180, 480)), interval_s=interval)
    elif kind == "table":
        tr = track_simulator.phone_on_table(reach[len(reach) // 2], start, float(rng.uniform(1800, 3600)), rng,
                                     interval_s=interval)
    else:
        lo, hi = WALK_SHARE.get(level, (0.4, 0.8))
        length = _LENGTHS[feature_id]
        share = min(max(float(rng.uniform(lo, hi)), 1500.0 / length), 1.0)  # chiefs know the 1 km rule
        s0 = float(rng.uniform(0.0, 1.0 - share))
        kw = {"interval_s": interval, "speed_mps": float(rng.uniform(0.9, 1.4)), "noise_m": float(rng.uniform(3, 8))}
        tr = track_simulator.walk_along(reach, start, rng, portion=(s0, s0 + share), **kw)
        if share * length < 1500:  # a short village reach: walk it there and back
            back = track_simulator.walk_along(reach[::-1], tr.t[-1] + interval, rng, portion=(1 - s0 - share, 1 - s0),
                                       **kw)
            tr = track_simulator.Track(*(np.concatenate([a, b]) for a, b in zip(tr, back, strict=True)))
    return tr.lon, tr.lat, tr.t


def _chunk(jobs):
    return [_simulate(j) for j in jobs]


def build(demo, rng_py) -> None:
    from zhangzhi.org.models import Person, Post
    from zhangzhi.patrols.models import Patrol

    t_start = time.perf_counter()
    reference.ensure()
    rng = np.random.default_rng(rng_py.randrange(2**32))
    features = {f.pk: f for f in demo.features if f.kind.code in ("river", "reach")}
    for pk, f in features.items():
        g = f.geometry
        parts = [g["coordinates"]] if g["type"] == "LineString" else g["coordinates"]
        _REACHES[pk] = np.concatenate([np.asarray(p, np.float64)[:, :2] for p in parts])
        _LENGTHS[pk] = float(f.length_m or 1000.0)
    posts = list(Post.objects.filter(feature_id__in=features, valid_from__lt=END)
                 .exclude(valid_to__lt=START).select_related("role"))
    plans = plan_year(posts, rng)
    people = {p.pk: p for p in Person.objects.filter(pk__in={pl.person_id for pl in plans})}
    jobs = [(pl.feature_id, pl.level, pl.kind if pl.kind != "copy" else "walk", pl.seed, pl.start) for pl in plans]
    chunk = 200
    batches = [jobs[i: i + chunk] for i in range(0, len(jobs), chunk)]
    made: list[tuple] = []
    cache: dict = {}
    counts = {"effective": 0, "not": 0, "cases": 0}
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    pool = ctx.Pool(1) if ctx is not None and len(plans) > 500 else None
    try:
        results = pool.imap(_chunk, batches) if pool is not None else map(_chunk, batches)
        with transaction.atomic():
            i = 0
            for batch in results:
                for lon, lat, t in batch:
                    pl = plans[i]
                    if pl.kind == "copy" and made[pl.copy_of][0] is not None:
                        src = made[pl.copy_of]
                        lon, lat, t = src[0] + rng.normal(0, 2e-6, len(src[0])), src[1], src[2] - src[2][0] + pl.start
                    made.append((lon, lat, t) if pl.kind == "walk" else (None, None, None))
                    findings = []
                    if pl.finding:
                        k = len(t) // 2
                        findings = [{"category": pl.finding, "note": FINDING_NOTES[pl.finding], "lon": float(lon[k]),
                                     "lat": float(lat[k]), "at": float(t[k]), "photo": b""}]
                    body = {"client_id": uuid.UUID(int=int(rng.integers(0, 2**63)) << 64 | i), "feature": pl.feature_id,
                            "track": {"type": "LineString", "coordinates": np.column_stack([lon, lat]),
                                      "times": np.round(t)}, "findings": findings}
                    patrol, _ = do_upload_patrol(None, body, person=people[pl.person_id], source="demo", cache=cache)
                    counts["effective" if patrol.effective else "not"] += 1
                    counts["cases"] += bool(findings)
                    i += 1
                # keep memory flat: only walks can be copied, and only recent ones are
                for j in range(max(0, i - 4000), max(0, i - 3000)):
                    made[j] = (None, None, None)
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    total = Patrol.objects.count()
    secs = time.perf_counter() - t_start
    fraud = sum(pl.kind != "walk" for pl in plans)
    demo.say(f"patrols: {total} uploaded through do_upload_patrol in {secs:.1f} s ({counts['effective']} effective, "
             f"{counts['not']} not; {fraud} simulated fraud), {counts['cases']} with findings filed as cases")
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE patrols_patrol")
