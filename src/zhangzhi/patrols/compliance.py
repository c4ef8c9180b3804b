"""Frequency duty (巡查频次) reads: who met their duty in a date range, by region and level.

A post owes patrols when a FrequencyRule covers its system, level and region and its role kind
is listed there. The periods judged are those whose last day falls in the requested range (a
month's report judges the weeks and 旬 that ended in it, the month, and a quarter only in its
last month), and only periods that are over (not the one running today) and that the post was
held for throughout. A patrol counts for a post when it is effective, by the post's person, on
the post's feature or a reach below it.

Four queries whatever the size: posts, frequency rules, features, patrols.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from zhangzhi.features.models import Feature
from zhangzhi.lib.timezone import LOCAL_TZ
from zhangzhi.org import levels
from zhangzhi.org.models import Post, Region

from . import periods
from .models import FrequencyRule, Patrol


@dataclass
class Duty:
    """One post's duty in the range."""

    post_id: int
    person_id: int
    person: str
    title: str
    role: str
    level: str
    feature_id: int
    feature: str
    region_id: int
    region: str
    region_path: str
    period: str
    required: int
    due: int = 0
    met: int = 0
    effective: int = 0
    missed: list[str] = field(default_factory=list)  # labels of the periods not met

    @property
    def ok(self) -> bool:
        return self.met >= self.due

    @property
    def none(self) -> bool:
        """未巡河: owed patrols and made no effective one in the range."""
        return self.due > 0 and self.effective == 0

    def as_dict(self) -> dict:
        return {"post": self.post_id, "person_id": self.person_id, "person": self.person, "title": self.title,
                "role": self.role, "level": self.level, "feature_id": self.feature_id, "feature": self.feature,
                "region": self.region, "period": self.period, "required": self.required, "due": self.due,
                "met": self.met, "effective_patrols": self.effective, "ok": self.ok, "no_patrol": self.none,
                "missed_periods": self.missed}


def _rule_lookup(rules: list[FrequencyRule]):
    by_key: dict[tuple[int, str], list[FrequencyRule]] = defaultdict(list)
    for r in rules:
        by_key[r.system_id, r.level].append(r)
    for lst in by_key.values():  # most specific (deepest region) first; system-wide last
        lst.sort(key=lambda r: -(r.region.depth if r.region_id else 0))

    def find(system_id: int, level: str, region_path: str) -> FrequencyRule | None:
        for r in by_key.get((system_id, level), ()):
            if r.region_id is None or region_path.startswith(r.region.path):
                return r
        return None

    return find


def duties(user, start: dt.date, end: dt.date, *, root: Region | None = None, level: str | None = None,
           person_id: int | None = None) -> list[Duty]:
    """Every duty post visible to ``user`` (below ``root``) with its periods due and met in
    the local-date range ``[start, end)``."""
    posts = (Post.objects.visible_to(user)
             .filter(feature__isnull=False, feature__kind__geometry="line", valid_from__lt=end)
             .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
             .select_related("person", "role", "feature", "region"))
    if root is not None:
        posts = posts.filter(region__path__startswith=root.path)
    if level:
        posts = posts.filter(level=level)
    if person_id:
        posts = posts.filter(person_id=person_id)
    # a region's duty follows the rules of the regions above it too: every rule row is needed
    find = _rule_lookup(list(FrequencyRule.objects.unrestricted("rules apply down the region tree")
                             .select_related("region")))
    # a period is judged once it is over: the one running today (a week whose Sunday is today) is
    # not yet missed, and counting it made every weekly chief fail on the last day of each week
    judged_end = min(end, timezone.localdate())
    out: list[Duty] = []
    for post in posts:
        rule = find(post.role.system_id, post.level, post.region.path)
        if rule is None or post.role.kind not in rule.role_kinds.split(","):
            continue
        d = Duty(post.pk, post.person_id, post.person.name, post.person.title, post.role.name, post.level,
                 post.feature_id, post.feature.name, post.region_id, post.region.name, post.region.path,
                 rule.period, rule.required)
        d._periods = [p for p in periods.periods_ending_within(start, judged_end, rule.period)  # type: ignore[attr-defined]
                      if post.valid_from <= p.start and (post.valid_to is None or post.valid_to >= p.last_day)]
        d.due = len(d._periods)  # type: ignore[attr-defined]
        out.append(d)
    if not out:
        return out
    first = min((d._periods[0].start for d in out if d._periods), default=start)  # type: ignore[attr-defined]
    # feature → itself and its ancestors, so a patrol on a sub-reach counts for the river's chief
    parent = dict(Feature.objects.unrestricted("the reach tree's shape only").values_list("pk", "parent_id"))
    t0 = dt.datetime.combine(min(first, start), dt.time(), LOCAL_TZ)
    t1 = dt.datetime.combine(end, dt.time(), LOCAL_TZ)
    people = {d.person_id for d in out}
    times: dict[tuple[int, int], list[dt.date]] = defaultdict(list)
    for person, feature, started in (Patrol.objects.visible_to(user).filter(effective=True, person_id__in=people,
                                                           started_at__gte=t0, started_at__lt=t1)
                                     .values_list("person_id", "feature_id", "started_at")):
        day = periods.local_date(started)
        f = feature
        while f is not None:
            times[person, f].append(day)
            f = parent.get(f)
    for lst in times.values():
        lst.sort()
    for d in out:
        days = times.get((d.person_id, d.feature_id), [])
        d.effective = bisect.bisect_left(days, end) - bisect.bisect_left(days, start)
        for p in d._periods:  # type: ignore[attr-defined]
            n = bisect.bisect_left(days, p.end) - bisect.bisect_left(days, p.start)
            if n >= d.required:
                d.met += 1
            else:
                d.missed.append(p.label())
    return out


# 履职率 bands: at least 90 % good, at least 60 % fair, below that poor
BANDS = ((90, "good"), (60, "fair"), (0, "poor"))


def rate_band(percent: int | None) -> str:
    if percent is None:
        return "none"
    return next(name for floor, name in BANDS if percent >= floor)


@dataclass
class Row:
    """Compliance of one region (and everything below it) at one chief level."""

    region_id: int
    region: str
    region_code: str | None
    level: str
    posts: int = 0
    posts_ok: int = 0
    no_patrol: int = 0
    due: int = 0
    met: int = 0

    @property
    def rate(self) -> float | None:
        """Share of periods met (None when nothing was due)."""
        return self.met / self.due if self.due else None

    @property
    def post_rate(self) -> float | None:
        return self.posts_ok / self.posts if self.posts else None

    @property
    def percent(self) -> int | None:
        """The rate as the whole percent shown (rounded down: 89.6 % is not yet 90 %)."""
        return None if self.rate is None else int(self.rate * 100 + 1e-9)

    @property
    def band(self) -> str:
        """good, fair or poor, by the percent shown (see BANDS)."""
        return rate_band(self.percent)

    def as_dict(self) -> dict:
        return {"region_id": self.region_id, "region": self.region, "region_code": self.region_code,
                "level": self.level, "posts": self.posts, "posts_ok": self.posts_ok, "no_patrol": self.no_patrol,
                "periods_due": self.due, "periods_met": self.met,
                "rate": None if self.rate is None else round(self.rate, 4),
                "post_rate": None if self.post_rate is None else round(self.post_rate, 4)}


def common_root(duty_list: list[Duty]) -> Region | None:
    """The deepest region above every duty (a city office's table starts at its city)."""
    paths = [d.region_path for d in duty_list if d.due]
    if not paths:
        return None
    parts = [p.strip("/").split("/") for p in paths]
    common = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    if len(common) == len(parts[0]) and len(set(paths)) == 1 and len(common) > 1:
        common = common[:-1]  # one region only: show it as a row of its parent
    return Region.objects.filter(pk=int(common[-1])).first() if common else None


def table(duty_list: list[Duty], root: Region | None) -> list[Row]:
    """Roll duties up to the children of ``root`` (or the top regions seen) × level; a duty
    held at the root region itself gets the root's own row."""
    if root is None:
        root = common_root(duty_list)
    children = [*Region.objects.filter(parent=root), root] if root is not None else []
    children.sort(key=lambda r: -len(r.path))  # deepest first so the root comes last
    rows: dict[tuple[int, str], Row] = {}
    for d in duty_list:
        if d.due == 0:
            continue
        region = next((c for c in children if d.region_path.startswith(c.path)), None)
        if region is None:
            continue
        key = (region.pk, d.level)
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(region.pk, region.name, region.code, d.level)
        row.posts += 1
        row.posts_ok += d.ok
        row.no_patrol += d.none
        row.due += d.due
        row.met += d.met
    return sorted(rows.values(), key=lambda r: (r.region_code or "~", levels.rank(r.level)))
