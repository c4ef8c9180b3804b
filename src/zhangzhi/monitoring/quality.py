"""Water-quality reads: GB 3838 classes per sample, day, month and year; attainment; shares per region.

Means per local day, month or year (Asia/Shanghai) come from the daily values (:mod:`aggregates`: a
month's mean is the sum of its days' totals over the sum of their counts, the same number as the mean of its
readings) and are graded with :mod:`gb3838`; only a period cut at a time that is not local midnight is
averaged from the readings themselves. Automatic stations are graded from their hourly data, manual sections
from their laboratory samples; a station with both uses the samples for periods (they are the assessed values).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db.models import Avg, F, Max, Q, Sum
from django.db.models.functions import TruncDay, TruncMonth, TruncYear

from zhangzhi.lib.timezone import LOCAL_TZ

from . import gb3838
from .models import DailyValue, Reading, Station

TZ = LOCAL_TZ
_TRUNC = {"day": TruncDay, "month": TruncMonth, "year": TruncYear}


def _grade(values: dict[str, float], water_body: str) -> gb3838.Result | None:
    try:
        return gb3838.classify(values, water_body)
    except gb3838.NothingToGrade:
        return None


def result_row(result: gb3838.Result | None, target: str = "") -> dict:
    if result is None:
        return {"class": None, "deciding": [], "items": {}, "meets_target": None}
    return {"class": result.klass, "deciding": result.deciding, "items": result.items,
            "meets_target": gb3838.meets_target(result.klass, target) if target else None}


def source_kind(station: Station) -> str:
    """Which readings grade the station: samples for manual sections, hourly data otherwise."""
    if station.kind == Station.Kind.SECTION and DailyValue.objects.filter(station=station, kind="sample").exists():
        return "sample"
    return "hour"


def sample_classes(station: Station, start=None, end=None) -> list[dict]:
    """Class of every laboratory sample, oldest first."""
    qs = Reading.objects.filter(station=station, kind="sample")
    if start:
        qs = qs.filter(time__gte=start)
    if end:
        qs = qs.filter(time__lt=end)
    by_time: dict[dt.datetime, dict[str, float]] = defaultdict(dict)
    for t, p, v in qs.order_by("time").values_list("time", "parameter", "value"):
        by_time[t][p] = v
    return [{"time": t.isoformat(), **result_row(_grade(vals, station.water_body), station.target_class)}
            for t, vals in by_time.items()]


def _midnight(when: dt.datetime | None) -> bool:
    if when is None:
        return True
    local = when.astimezone(TZ)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def _daily_range(qs, start: dt.datetime | None, end: dt.datetime | None):
    """Daily values of the local days in [start, end) (both at local midnight, or None)."""
    if start:
        qs = qs.filter(day__gte=start.astimezone(TZ).date())
    if end:
        qs = qs.filter(day__lt=end.astimezone(TZ).date())
    return qs


_DAY_TRUNC = {"day": F, "month": TruncMonth, "year": TruncYear}


def period_classes(station: Station, period: str = "day", start=None, end=None, kind: str | None = None) -> list[dict]:
    """Class of each day, month or year (grading each parameter's mean over the period), oldest first."""
    kind = kind or source_kind(station)
    if _midnight(start) and _midnight(end):
        qs = _daily_range(DailyValue.objects.filter(station=station, kind=kind), start, end)
        rows = (qs.annotate(p=_DAY_TRUNC[period]("day")).values("p", "parameter")
                .annotate(t=Sum("total"), n=Sum("count")).order_by("p").values_list("p", "parameter", "t", "n"))
        rows = [(p, code, t / n) for p, code, t, n in rows]
    else:  # a period cut inside a day: from the readings
        qs = Reading.objects.filter(station=station, kind=kind)
        if start:
            qs = qs.filter(time__gte=start)
        if end:
            qs = qs.filter(time__lt=end)
        rows = (qs.annotate(p=_TRUNC[period]("time", tzinfo=TZ)).values("p", "parameter")
                .annotate(m=Avg("value")).order_by("p").values_list("p", "parameter", "m"))
    by_period: dict[dt.date, dict[str, float]] = defaultdict(dict)
    for p, code, mean in rows:
        by_period[p][code] = mean
    out = []
    label = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[period]
    for p, vals in by_period.items():
        local = p.astimezone(TZ) if isinstance(p, dt.datetime) else p
        out.append({"period": local.strftime(label), "means": vals,
                    **result_row(_grade(vals, station.water_body), station.target_class)})
    return out


def _means(qs, *keys: str) -> list[tuple]:
    """(*keys, mean) from daily values: the sum of the totals over the sum of the counts."""
    return [(*k, t / n) for *k, t, n in qs.values(*keys).annotate(t=Sum("total"), n=Sum("count"))
            .order_by().values_list(*keys, "t", "n")]


def period_bounds(year: int, month: int | None = None) -> tuple[dt.datetime, dt.datetime]:
    if month is None:
        return dt.datetime(year, 1, 1, tzinfo=TZ), dt.datetime(year + 1, 1, 1, tzinfo=TZ)
    nxt = dt.datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=TZ)
    return dt.datetime(year, month, 1, tzinfo=TZ), nxt


def station_period_class(station: Station, year: int, month: int | None = None) -> dict:
    start, end = period_bounds(year, month)
    kind = source_kind(station)
    means = dict(_means(_daily_range(DailyValue.objects.filter(station=station, kind=kind), start, end), "parameter"))
    return result_row(_grade(means, station.water_body) if means else None, station.target_class)


def region_shares(stations, year: int, month: int | None = None) -> dict:
    """The numbers governments report: share of assessed sections at I–III and at 劣V, and attainment."""
    start, end = period_bounds(year, month)
    stations = [s for s in stations if s.kind != Station.Kind.INTAKE]
    means: dict[int, dict[str, float]] = defaultdict(dict)
    daily = DailyValue.objects.filter(station__in=stations, kind__in=("hour", "sample"))
    rows = _means(_daily_range(daily, start, end), "station", "kind", "parameter")
    per_kind: dict[tuple[int, str], dict[str, float]] = defaultdict(dict)
    for sid, kind, code, m in rows:
        per_kind[sid, kind][code] = m
    for (sid, kind), vals in per_kind.items():
        if kind == "sample" or (sid, "sample") not in per_kind:
            means[sid] = vals
    graded, sections = 0, []
    counts = {"good": 0, "worst": 0, "attained": 0, "with_target": 0}
    for s in stations:
        result = _grade(means[s.pk], s.water_body) if means.get(s.pk) else None
        row = {"station": s.pk, "name": s.name, "level": s.level, "target_class": s.target_class,
               **result_row(result, s.target_class)}
        sections.append(row)
        if result is None:
            continue
        graded += 1
        counts["good"] += gb3838.class_rank(result.klass) <= 3
        counts["worst"] += result.klass == gb3838.WORST
        if s.target_class:
            counts["with_target"] += 1
            counts["attained"] += gb3838.meets_target(result.klass, s.target_class)
    share = (lambda n, d: round(n / d, 4) if d else None)  # noqa: E731
    return {"period": f"{year}" + (f"-{month:02d}" if month else ""), "sections": graded,
            "share_I_III": share(counts["good"], graded), "share_worse_than_V": share(counts["worst"], graded),
            "attainment": share(counts["attained"], counts["with_target"]), "stations": sections}


def latest_classes(stations) -> dict[int, dict]:
    """Station id → the class of its latest day of hourly data (or its latest sample), in two or three queries."""
    stations = [s for s in stations if s.kind != Station.Kind.INTAKE]
    if not stations:
        return {}
    latest = {(sid, kind): day for sid, kind, day in
              DailyValue.objects.filter(station__in=stations, kind__in=("hour", "sample"))
              .values("station", "kind").annotate(d=Max("day")).order_by().values_list("station", "kind", "d")}
    hourly, sampled = Q(pk__in=[]), Q(pk__in=[])
    any_hourly = any_sampled = False
    for s in stations:
        if (s.pk, "sample") in latest and s.kind == Station.Kind.SECTION:
            start = dt.datetime.combine(latest[s.pk, "sample"], dt.time(), tzinfo=TZ)
            sampled |= Q(station=s.pk, kind="sample", time__gte=start, time__lt=start + dt.timedelta(days=1))
            any_sampled = True
        elif (s.pk, "hour") in latest:
            hourly |= Q(station=s.pk, kind="hour", day=latest[s.pk, "hour"])
            any_hourly = True
    values: dict[int, dict[str, float]] = defaultdict(dict)
    if any_hourly:
        for sid, code, m in _means(DailyValue.objects.filter(hourly), "station", "parameter"):
            values[sid][code] = m
    if any_sampled:  # the latest sample itself, not its day's mean
        last: dict[int, dt.datetime] = {}
        rows = list(Reading.objects.filter(sampled).values_list("station", "time", "parameter", "value"))
        for sid, t, _code, _v in rows:
            last[sid] = max(t, last.get(sid, t))
        for sid, t, code, v in rows:
            if t == last[sid]:
                values[sid][code] = v
    out = {}
    for s in stations:
        if s.pk in values:
            out[s.pk] = result_row(_grade(values[s.pk], s.water_body), s.target_class)
    return out
