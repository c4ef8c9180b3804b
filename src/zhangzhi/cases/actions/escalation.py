"""Periodic work: 提级办理 of overdue and unaccepted cases, archiving of unrated closed ones.

Each case is claimed with a conditional UPDATE (and SKIP LOCKED on PostgreSQL), so several workers
can run at once and each case moves once.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import connection, transaction

from zhangzhi.lib.errors import Conflict

from .. import conf, routing, workflow
from ..models import Case
from .base import _claim, _log, _now
from .transitions import act

logger = logging.getLogger("zhangzhi.cases.actions")


def _candidates(qs, limit: int):
    """Rows to work on; on PostgreSQL locked rows are skipped so workers spread over the backlog."""
    if connection.vendor == "postgresql":
        return list(qs.select_for_update(skip_locked=True, of=("self",))[:limit])
    return list(qs[:limit])


def _escalate(case: Case, now, note: str, data: dict) -> bool:
    """Move one claimed case to the office above, logged; False when there is none or someone was faster."""
    above = routing.office_above(case.office)
    if above is None:
        return False
    try:
        with transaction.atomic():
            frm = case.office.name
            _claim(case, case.version, {"office": above, "escalations": case.escalations + 1,
                                        "escalated_at": now, "updated_at": now})
            _log(case, None, "escalate", at=now, from_state=case.state, to_state=case.state,
                 note=note.format(office=above.name),
                 data={"office": above.pk, "office_name": above.name, "from": frm, "automatic": True, **data},
                 name="系统")
    except Conflict:
        return False  # another worker (or a person) got there first
    logger.info("case %s escalated from %s to %s", case.code, frm, above.name)
    return True


def escalate_overdue(now=None, *, limit: int = 500) -> list[Case]:
    """提级办理: overdue cases go to the next level's office. Each case is claimed with a conditional
    UPDATE, so any number of workers can run this at once and each case moves once."""
    now = _now(now)
    again = now - dt.timedelta(hours=conf.get("ESCALATE_AGAIN_HOURS"))
    with transaction.atomic():
        qs = (Case.objects.filter(state__in=workflow.WITH_ASSIGNEE, deadline__lt=now)
              .exclude(escalated_at__gte=again).select_related("office__region", "category", "assignee")
              .order_by("deadline"))
        rows = _candidates(qs, limit)
    done = []
    for case in rows:
        late = now - case.deadline
        note = f"逾期 {late.days} 天 {late.seconds // 3600} 小时，提级至{{office}}"
        if _escalate(case, now, note, {"reason": "overdue"}):
            done.append(case)
    return done


def escalate_unaccepted(now=None, *, limit: int = 500) -> list[Case]:
    """Cases left 待受理 longer than ESCALATE_NEW_AFTER_HOURS go to the next level's office. The clock
    restarts at each escalation, so every office gets the same time to accept."""
    now = _now(now)
    hours = conf.get("ESCALATE_NEW_AFTER_HOURS")
    cutoff = now - dt.timedelta(hours=hours)
    with transaction.atomic():
        qs = (Case.objects.filter(state=workflow.NEW, hidden=False, reported_at__lt=cutoff)
              .exclude(escalated_at__gte=cutoff).select_related("office__region", "category")
              .order_by("reported_at"))
        rows = _candidates(qs, limit)
    done = []
    for case in rows:
        note = f"超过 {hours} 小时未受理，提级至{{office}}"
        if _escalate(case, now, note, {"reason": "unaccepted"}):
            done.append(case)
    return done


def archive_stale(now=None, *, limit: int = 500) -> list[Case]:
    """Closed cases nobody rated are archived after ARCHIVE_AFTER_DAYS."""
    now = _now(now)
    cutoff = now - dt.timedelta(days=conf.get("ARCHIVE_AFTER_DAYS"))
    with transaction.atomic():
        rows = _candidates(Case.objects.filter(state=workflow.CLOSED, closed_at__lt=cutoff)
                           .select_related("office", "category").order_by("closed_at"), limit)
    done = []
    for case in rows:
        try:
            act(None, case, "archive", at=now, roles={workflow.SYSTEM},
                note=f"办结 {conf.get('ARCHIVE_AFTER_DAYS')} 天未评价，自动归档")
        except Conflict:
            continue
        done.append(case)
    return done
