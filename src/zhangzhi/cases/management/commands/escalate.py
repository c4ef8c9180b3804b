"""`zhangzhi escalate`: overdue cases and cases left unaccepted (待受理) too long go up a level
(提级办理); closed unrated ones are archived.

Each case is claimed with a conditional UPDATE (and, on PostgreSQL, candidates are read with
SKIP LOCKED), so the command is safe to run on several workers at once; run it from cron, or
with --loop as a long-running worker.
"""

from __future__ import annotations

import datetime as dt
import time

from django.core.management.base import BaseCommand, CommandError

from zhangzhi.cases import actions


class Command(BaseCommand):
    help = ("Escalate overdue and long-unaccepted cases to the next level's office and archive stale closed "
            "cases")

    def add_arguments(self, parser):
        parser.add_argument("--now", help="ISO 8601 time to act as of (tests, replays)")
        parser.add_argument("--loop", action="store_true", help="keep running, one pass every --interval seconds")
        parser.add_argument("--interval", type=int, default=300)
        parser.add_argument("--limit", type=int, default=500, help="cases claimed per pass")

    def handle(self, *args, now=None, loop=False, interval=300, limit=500, **opts):
        when = None
        if now:
            try:
                when = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
            except ValueError:
                raise CommandError(f"--now {now!r} is not ISO 8601") from None
            if when.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. 2026-03-10T09:00:00+08:00")
        while True:
            escalated = actions.escalate_overdue(when, limit=limit)
            unaccepted = actions.escalate_unaccepted(when, limit=limit)
            archived = actions.archive_stale(when, limit=limit)
            self.stdout.write(f"escalated {len(escalated)}, unaccepted escalated {len(unaccepted)}, "
                              f"archived {len(archived)}")
            if not loop:
                return
            time.sleep(interval)
