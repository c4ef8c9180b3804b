"""``zhangzhi aggregate_readings --rebuild [--station ID …]``: recompute the daily values from the readings.

Ingestion keeps the daily values (monitoring.aggregates) in the same transaction as the readings, so this is
a repair tool: after readings were deleted or changed by hand, or to check the table (``--check`` compares
without writing and exits 1 on a difference).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from zhangzhi.monitoring import aggregates
from zhangzhi.monitoring.models import DailyValue


class Command(BaseCommand):
    help = "Recompute the daily values (count, mean, min, max per station, parameter and local day) from the readings"

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="recompute the table from the readings")
        parser.add_argument("--check", action="store_true", help="compare with the readings, change nothing")
        parser.add_argument("--station", type=int, action="append", help="only this station id (repeatable)")

    def handle(self, *args, rebuild=False, check=False, station=None, **options):
        if rebuild == check:
            raise CommandError("give --rebuild or --check")
        qs = DailyValue.objects.unrestricted("a command run by the operator on the whole table")
        if station:
            qs = qs.filter(station_id__in=station)
        if check:
            stored = {(d.station_id, d.parameter, d.kind, d.day): (d.count, round(d.total, 6)) for d in qs}
            fresh = {k: (v[0], round(v[1], 6)) for k, v in aggregates.computed(station).items()}
            wrong = {k for k in stored.keys() | fresh.keys() if stored.get(k) != fresh.get(k)}
            self.stdout.write(f"{len(fresh)} daily values, {len(wrong)} differ")
            if wrong:
                raise CommandError(f"{len(wrong)} daily values differ from the readings; run --rebuild")
            return
        start = time.monotonic()
        made = aggregates.rebuild(station)
        self.stdout.write(f"{made} daily values in {time.monotonic() - start:.1f} s")
