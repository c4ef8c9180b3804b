"""Duty periods (巡查周期) — pure date arithmetic, no Django.

A frequency rule says "N effective patrols per period"; the period kinds are:

* ``week``    — Monday to Sunday (周, village chiefs)
* ``dekad``   — 旬: days 1–10, 11–20 and 21 to the end of the month (township chiefs)
* ``month``   — 月 (county chiefs)
* ``quarter`` — 季: Jan–Mar, Apr–Jun, Jul–Sep, Oct–Dec (city chiefs)
* ``half``    — 半年: Jan–Jun, Jul–Dec (province chiefs)
* ``year``    — 年

Periods are half-open local-date ranges ``[start, end)`` in Asia/Shanghai: a patrol at
23:30 on the 10th Beijing time (15:30 UTC) belongs to the first 旬 even though in UTC it is
still the 10th, and one at 00:30 on the 11th (16:30 UTC on the 10th) to the second.  Callers
turn a UTC instant into a local date with :func:`local_date` before asking for its period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

from zhangzhi.lib.timezone import LOCAL_TZ

KINDS = ("week", "dekad", "month", "quarter", "half", "year")
LABELS = {"week": "周", "dekad": "旬", "month": "月", "quarter": "季", "half": "半年", "year": "年"}


class Period(NamedTuple):
    """One period: ``start`` inclusive, ``end`` exclusive (local dates)."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def last_day(self) -> dt.date:
        return self.end - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def label(self) -> str:
        """A short Chinese label: 2026年第3周, 2026年5月上旬, 2026年5月, 2026年第2季度, 2026年上半年."""
        s = self.start
        if self.kind == "week":
            iso = s.isocalendar()
            return f"{iso.year}年第{iso.week}周"
        if self.kind == "dekad":
            return f"{s.year}年{s.month}月{('上', '中', '下')[(s.day - 1) // 10]}旬"
        if self.kind == "month":
            return f"{s.year}年{s.month}月"
        if self.kind == "quarter":
            return f"{s.year}年第{(s.month - 1) // 3 + 1}季度"
        if self.kind == "half":
            return f"{s.year}年{'上' if s.month == 1 else '下'}半年"
        return f"{s.year}年"

    def next(self) -> Period:
        return period_of(self.end, self.kind)


def _check(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown period kind {kind!r}; expected one of {', '.join(KINDS)}")


def _month_start(year: int, month: int) -> dt.date:
    """First day of a month, with month overflow (13 → January of the next year)."""
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return dt.date(year, month, 1)


def period_of(day: dt.date, kind: str) -> Period:
    """The period of ``kind`` that contains the local date ``day``."""
    _check(kind)
    if isinstance(day, dt.datetime):
        raise TypeError("pass a local date (see local_date), not a datetime")
    if kind == "week":
        start = day - dt.timedelta(days=day.weekday())
        return Period(kind, start, start + dt.timedelta(days=7))
    if kind == "dekad":
        if day.day <= 10:
            return Period(kind, day.replace(day=1), day.replace(day=11))
        if day.day <= 20:
            return Period(kind, day.replace(day=11), day.replace(day=21))
        return Period(kind, day.replace(day=21), _month_start(day.year, day.month + 1))
    months = {"month": 1, "quarter": 3, "half": 6, "year": 12}[kind]
    first_month = (day.month - 1) // months * months + 1
    return Period(kind, dt.date(day.year, first_month, 1), _month_start(day.year, first_month + months))


def periods_between(start: dt.date, end: dt.date, kind: str) -> Iterator[Period]:
    """Every period of ``kind`` that overlaps the local-date range ``[start, end)``, in order."""
    _check(kind)
    if end <= start:
        return
    p = period_of(start, kind)
    while p.start < end:
        yield p
        p = p.next()


def periods_ending_within(start: dt.date, end: dt.date, kind: str) -> list[Period]:
    """The periods of ``kind`` whose last day lies in ``[start, end)``: the ones a report for
    that range can judge as complete (a month's report counts the weeks that ended in it)."""
    return [p for p in periods_between(start, end, kind) if start <= p.last_day < end]


def local_date(instant: dt.datetime) -> dt.date:
    """The Asia/Shanghai calendar date of an aware instant."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: pass an aware instant")
    return instant.astimezone(LOCAL_TZ).date()


def local_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period as aware instants ``[start, end)`` at local midnight (for database filters)."""
    return (
        dt.datetime.combine(period.start, dt.time(), LOCAL_TZ),
        dt.datetime.combine(period.end, dt.time(), LOCAL_TZ),
    )
