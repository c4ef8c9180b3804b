"""Daily values (日统计) kept beside the readings, so pages read a year as 365 rows, not 8760 readings.

:func:`record` runs inside the transaction that stored a batch of readings (``ingest._write``: the HJ 212
listener, the HTTP bulk API, imports, replays). When every row of the batch was new — the usual case — the
day totals are added from the rows in memory (one upsert per station × parameter × kind × day); when some
were duplicates (a station resending), the days touched are recomputed from the readings, which the
transaction now sees. :func:`rebuild` recomputes the whole table (``zhangzhi aggregate_readings --rebuild``,
and the migration that created it).

Readings are only ever inserted (idempotently), never updated, so adding the new rows keeps every day exact.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import TruncDate

from zhangzhi.lib.timezone import LOCAL_TZ

from .models import DailyValue, Reading

TZ = LOCAL_TZ
_COLUMNS = "(station_id, parameter, kind, day, count, total, low, high)"
_KEY = "(station_id, parameter, kind, day)"
_TABLE = "monitoring_dailyvalue"


def local_day(when: dt.datetime) -> dt.date:
    return when.astimezone(TZ).date()


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime(day.year, day.month, day.day, tzinfo=TZ)
    return start, start + dt.timedelta(days=1)


def _sums(rows: Iterable[Sequence]) -> dict[tuple, list]:
    """(station, parameter, kind, day) → [count, total, low, high] of rows (station, parameter, kind, time, value)."""
    out: dict[tuple, list] = {}
    days: dict[dt.datetime, dt.date] = {}  # the frames of a batch share their times: convert each once
    for station_id, parameter, kind, when, value in rows:
        day = days.get(when)
        if day is None:
            day = days[when] = local_day(when)
        key = (station_id, parameter, kind, day)
        acc = out.get(key)
        if acc is None:
            out[key] = [1, value, value, value]
        else:
            acc[0] += 1
            acc[1] += value
            if value < acc[2]:
                acc[2] = value
            if value > acc[3]:
                acc[3] = value
    return out


def _upsert(sums: dict[tuple, list], *, add: bool) -> None:
    if not sums:
        return
    lo, hi = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    if add:
        update = (f"count = {_TABLE}.count + excluded.count, total = {_TABLE}.total + excluded.total,"
                  f" low = {lo}({_TABLE}.low, excluded.low), high = {hi}({_TABLE}.high, excluded.high)")
    else:
        update = "count = excluded.count, total = excluded.total, low = excluded.low, high = excluded.high"
    # in key order, so that two transactions upserting the same days lock them in the same order
    items = sorted(sums.items())
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":  # one statement, one round trip, whatever the batch
            cols = list(zip(*((s, p, k, d, *acc) for (s, p, k, d), acc in items), strict=True))
            cur.execute(f"INSERT INTO {_TABLE} {_COLUMNS} SELECT * FROM unnest(%s::int8[], %s::varchar[],"
                        f" %s::varchar[], %s::date[], %s::int4[], %s::float8[], %s::float8[], %s::float8[])"
                        f" ON CONFLICT {_KEY} DO UPDATE SET {update}", [list(c) for c in cols])
        else:
            adapt = connection.ops.adapt_datefield_value
            cur.executemany(f"INSERT INTO {_TABLE} {_COLUMNS} VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                            f" ON CONFLICT {_KEY} DO UPDATE SET {update}",
                            [(s, p, k, adapt(d), *acc) for (s, p, k, d), acc in items])


def record(rows: Sequence, stored: int, inserted: Sequence | None = None) -> None:
    """Bring the daily values up to date with a batch just written (inside its transaction).

    ``rows`` are the batch's ``ingest.Row``s, ``stored`` how many of them were new; ``inserted``, when the
    database said which ones (PostgreSQL's RETURNING), those rows as (station, parameter, kind, time, value).
    """
    if not rows or not stored:
        return
    if inserted is not None:
        _upsert(_sums(inserted), add=True)
    elif stored == len(rows):
        _upsert(_sums((r[0], r[1], r[2], r[3], r[4]) for r in rows), add=True)
    else:
        recompute({(r[0], r[1], r[2], local_day(r[3])) for r in rows})


def recompute(keys: Iterable[tuple]) -> None:
    """Recompute the given (station, parameter, kind, day) values from the readings."""
    by_series: dict[tuple, set[dt.date]] = {}
    for station_id, parameter, kind, day in keys:
        by_series.setdefault((station_id, parameter, kind), set()).add(day)
    sums: dict[tuple, list] = {}
    for (station_id, parameter, kind), days in by_series.items():
        start, end = day_bounds(min(days))[0], day_bounds(max(days))[1]
        rows = (Reading.objects.filter(station_id=station_id, parameter=parameter, kind=kind,
                                       time__gte=start, time__lt=end)
                .values_list("station_id", "parameter", "kind", "time", "value"))
        sums.update({k: v for k, v in _sums(rows).items() if k[3] in days})
    _upsert(sums, add=False)


def _grouped(station_ids: list[int] | None):
    readings = Reading.objects.all()
    if station_ids is not None:
        readings = readings.filter(station_id__in=station_ids)
    return (readings.annotate(day=TruncDate("time", tzinfo=TZ))
            .values("station_id", "parameter", "kind", "day")
            .annotate(n=Count("id"), total=Sum("value"), low=Min("value"), high=Max("value"))
            .order_by().values_list("station_id", "parameter", "kind", "day", "n", "total", "low", "high"))


def computed(station_ids: Iterable[int] | None = None) -> dict[tuple, tuple]:
    """What the table should hold, from the readings: key → (count, total, low, high) (for checks)."""
    ids = list(station_ids) if station_ids is not None else None
    return {(s, p, k, d): (n, total, low, high) for s, p, k, d, n, total, low, high in _grouped(ids)}


@transaction.atomic
def rebuild(station_ids: Iterable[int] | None = None, *, chunk: int = 5000) -> int:
    """Recompute the daily values of every station (or of ``station_ids``) from the readings."""
    ids = list(station_ids) if station_ids is not None else None
    daily = DailyValue.objects.all() if ids is None else DailyValue.objects.filter(station_id__in=ids)
    daily.delete()
    made, pending = 0, []
    for s, p, k, d, n, total, low, high in _grouped(ids).iterator(chunk_size=chunk):
        pending.append(DailyValue(station_id=s, parameter=p, kind=k, day=d, count=n, total=total, low=low,
                                  high=high))
        if len(pending) >= chunk:
            DailyValue.objects.bulk_create(pending)
            made += len(pending)
            pending = []
    DailyValue.objects.bulk_create(pending)
    return made + len(pending)
