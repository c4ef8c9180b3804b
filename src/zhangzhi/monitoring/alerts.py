"""Alerts: a value beyond its threshold, or a section's day below its target class, opens one case per episode.

A threshold is set per station and parameter (Threshold) or, by default, is the GB 3838 limit of the
station's target class for its water body. An episode opens at the first reading beyond the limit and
closes after ``RECOVER_READINGS`` readings within it in a row (``RECOVER_DAYS`` good days for the class
episode); only the opening creates a case (source ``monitoring``), later readings update the episode.

Called by the ingestor after each committed batch with the rows it stored; configuration is cached for
``CONFIG_TTL_S`` so stations without thresholds cost nothing on the hot path.
"""

from __future__ import annotations

import logging
import time as _time
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Avg

from . import gb3838
from .hj212 import BEIJING
from .models import Alert, Reading, Station

log = logging.getLogger(__name__)

RECOVER_READINGS = 3
RECOVER_DAYS = 2
CONFIG_TTL_S = 30.0
ALERT_KINDS = frozenset({"hour", "day", "sample"})
CLASS = "class"

_config: dict[int, dict | None] = {}
_config_at = 0.0
_checked_days: dict[int, set[date]] = defaultdict(set)


def reset_cache() -> None:
    """Forget cached thresholds (after editing stations, and between tests)."""
    global _config_at
    _config.clear()
    _checked_days.clear()
    _config_at = 0.0


def limits_for(station: Station) -> dict[str, gb3838.Limit]:
    """Parameter → bounds: the station's thresholds over the target class's GB 3838 limits."""
    out: dict[str, gb3838.Limit] = {}
    if station.target_class:
        std = gb3838.default_standard()
        for code in std.codes:
            item = std.item(code, station.water_body)
            if item is None or not item.decides or not item.limits:
                continue
            out[code] = std.limit(code, station.target_class, station.water_body)
    for t in station.thresholds.all():
        out[t.parameter] = gb3838.Limit(t.low, t.high)
    return out


def _station_config(ids: set[int]) -> dict[int, dict | None]:
    global _config_at
    now = _time.monotonic()
    if now - _config_at > CONFIG_TTL_S:
        _config.clear()
        _config_at = now
    missing = ids - _config.keys()
    if missing:
        for st in Station.objects.filter(pk__in=missing).prefetch_related("thresholds"):
            limits = limits_for(st)
            _config[st.pk] = {"station": st, "limits": limits} if (limits or st.target_class) else None
        for pk in missing - _config.keys():
            _config[pk] = None
    return {pk: _config[pk] for pk in ids}


def check_rows(rows) -> list[Alert]:
    """Evaluate freshly stored readings; return the episodes opened."""
    by_station: dict[int, list] = defaultdict(list)
    for r in rows:
        if r.kind in ALERT_KINDS:
            by_station[r.station_id].append(r)
    if not by_station:
        return []
    config = _station_config(set(by_station))
    opened: list[Alert] = []
    for pk, srows in by_station.items():
        cfg = config.get(pk)
        if cfg is None:
            continue
        station, limits = cfg["station"], cfg["limits"]
        opened += _check_values(station, limits, srows)
        if station.target_class:
            opened += _check_days(station, srows)
    return opened


def _check_values(station: Station, limits: dict, rows) -> list[Alert]:
    relevant = sorted((r for r in rows if r.parameter in limits), key=lambda r: r.time)
    if not relevant:
        return []
    open_ = {a.parameter: a for a in Alert.objects.filter(station=station, closed_at__isnull=True)}
    opened = []
    for r in relevant:
        bounds = limits[r.parameter]
        alert = open_.get(r.parameter)
        if bounds.exceeded_by(r.value):
            if alert is None:
                alert = _open(station, r.parameter, r.time, r.value, _describe(bounds))
                if alert is not None:
                    open_[r.parameter] = alert
                    opened.append(alert)
            else:
                worse = alert.value is None or _worse(bounds, r.value, alert.value)
                Alert.objects.filter(pk=alert.pk).update(
                    last_at=r.time, count=alert.count + 1, ok_streak=0, value=r.value if worse else alert.value)
                alert.count += 1
                alert.ok_streak = 0
                if worse:
                    alert.value = r.value
        elif alert is not None and r.time > alert.last_at:
            alert.ok_streak += 1
            if alert.ok_streak >= RECOVER_READINGS:
                Alert.objects.filter(pk=alert.pk).update(ok_streak=alert.ok_streak, closed_at=r.time)
                del open_[r.parameter]
            else:
                Alert.objects.filter(pk=alert.pk).update(ok_streak=alert.ok_streak)
    return opened


def _worse(bounds: gb3838.Limit, new: float, old: float) -> bool:
    if bounds.high is not None and new > bounds.high:
        return new > old
    return new < old


def _describe(bounds: gb3838.Limit) -> str:
    if bounds.low is not None and bounds.high is not None:
        return f"{bounds.low:g}–{bounds.high:g}"
    if bounds.high is not None:
        return f"≤{bounds.high:g}"
    return f"≥{bounds.low:g}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=BEIJING)
    return start, start + timedelta(days=1)


def day_class(station: Station, day: date) -> gb3838.Result | None:
    """GB 3838 class of a day's mean of the station's hourly data (None when nothing decides)."""
    start, end = day_bounds(day)
    means = dict(Reading.objects.filter(station=station, kind="hour", time__gte=start, time__lt=end)
                 .values_list("parameter").annotate(m=Avg("value")).values_list("parameter", "m"))
    try:
        return gb3838.classify(means, station.water_body)
    except gb3838.NothingToGrade:
        return None


def _check_days(station: Station, rows) -> list[Alert]:
    """A day is complete when data of a later day arrives; grade complete days not yet graded."""
    seen = {r.time.astimezone(BEIJING).date() for r in rows if r.kind == "hour"}
    checked = _checked_days[station.pk]
    days = sorted({d - timedelta(days=1) for d in seen} - checked)
    samples = sorted({r.time for r in rows if r.kind == "sample"})
    opened = []
    for day in days:
        checked.add(day)
        result = day_class(station, day)
        if result is not None:
            opened += _class_episode(station, result, day_bounds(day)[0])
    for when in samples:
        values = dict(Reading.objects.filter(station=station, kind="sample", time=when)
                      .values_list("parameter", "value"))
        try:
            result = gb3838.classify(values, station.water_body)
        except gb3838.NothingToGrade:
            continue
        opened += _class_episode(station, result, when)
    if len(checked) > 800:
        checked.clear()
    return opened


def _class_episode(station: Station, result: gb3838.Result, when: datetime) -> list[Alert]:
    alert = Alert.objects.filter(station=station, parameter=CLASS, closed_at__isnull=True).first()
    if not gb3838.meets_target(result.klass, station.target_class):
        if alert is None:
            opened = _open(station, CLASS, when, None, f"{result.klass}/{station.target_class}",
                           deciding=result.deciding)
            return [opened] if opened else []
        Alert.objects.filter(pk=alert.pk).update(last_at=when, count=alert.count + 1, ok_streak=0)
    elif alert is not None and when > alert.last_at:
        streak = alert.ok_streak + 1
        Alert.objects.filter(pk=alert.pk).update(
            ok_streak=streak, closed_at=when if streak >= RECOVER_DAYS else None)
    return []


def _open(station: Station, parameter: str, when: datetime, value: float | None, limit: str,
          deciding: list[str] | None = None) -> Alert | None:
    try:
        with transaction.atomic():
            alert = Alert.objects.create(station=station, parameter=parameter, opened_at=when, last_at=when,
                                         value=value, limit=limit)
            alert.case_id = open_case(alert, deciding)
            if alert.case_id:
                alert.save(update_fields=["case_id"])
    except IntegrityError:  # another worker opened this episode first
        return None
    return alert


def open_case(alert: Alert, deciding: list[str] | None = None) -> int | None:
    """Open the episode's case through the closed-loop engine (None while the cases app is not there)."""
    try:
        from zhangzhi.cases.actions import report
    except ImportError:
        return None
    st = alert.station
    local = alert.opened_at.astimezone(BEIJING)
    if alert.parameter == CLASS:
        text = (f"{st.name}（{st.get_level_display() if st.level else '监测断面'}）"
                f"{local:%Y-%m-%d}日均水质{alert.limit.split('/')[0]}类，未达到目标{st.target_class}类"
                + (f"，超标项目：{'、'.join(deciding)}" if deciding else "") + "。")
    else:
        text = (f"{st.name}监测值超标：{alert.parameter} = {alert.value:g}（限值 {alert.limit}），"
                f"{local:%Y-%m-%d %H:%M} 起。")
    case = report(None, source="monitoring", category="water_quality", description=text, lat=st.lat, lon=st.lon,
                  urgency="urgent" if alert.parameter != CLASS else "normal", feature=st.feature, at=alert.opened_at,
                  external_ref=f"monitoring-alert-{alert.pk}")
    return case.pk
