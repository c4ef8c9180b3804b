"""Escalation with frozen time: overdue cases go up one level, once, whoever runs the job."""

from __future__ import annotations

import datetime as dt
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from zhangzhi.cases import actions
from zhangzhi.cases.models import Case, CaseLog

from .conftest import T0


def assigned_case(loop, new_case, days=3):
    case = new_case()
    actions.act(loop.users["county-office"], case, "assign", assignee=loop.units["eco"].pk, at=T0,
                deadline=T0 + dt.timedelta(days=days))
    return case


def test_it_leaves_cases_within_their_deadline(loop, new_case):
    assigned_case(loop, new_case)
    assert actions.escalate_overdue(T0 + dt.timedelta(days=2)) == []


def test_it_escalates_an_overdue_case_to_the_next_office_and_logs_it(loop, new_case):
    case = assigned_case(loop, new_case)
    done = actions.escalate_overdue(T0 + dt.timedelta(days=3, hours=1))
    assert [c.pk for c in done] == [case.pk]
    case.refresh_from_db()
    assert case.office == loop.units["city_office"] and case.escalations == 1 and case.state == "assigned"
    entry = case.log.last()
    assert entry.action == "escalate" and entry.actor_name == "系统" and "阳泉市河长办" in entry.note
    # a second run at the same time does nothing; the city office is the top
    assert actions.escalate_overdue(T0 + dt.timedelta(days=3, hours=1)) == []
    assert actions.escalate_overdue(T0 + dt.timedelta(days=30)) == []


def test_the_command_runs_with_a_given_time(loop, new_case):
    assigned_case(loop, new_case)
    out = StringIO()
    call_command("escalate", now="2026-03-20T09:00:00+08:00", stdout=out)
    assert "escalated 1" in out.getvalue()


def test_the_command_refuses_a_naive_time(loop):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("escalate", now="2026-03-20T09:00:00")


def test_two_workers_with_the_same_snapshot_escalate_once(loop, new_case):
    case = assigned_case(loop, new_case)
    stale = Case.objects.get(pk=case.pk)
    actions.escalate_overdue(T0 + dt.timedelta(days=4))
    # the second worker read the case before the first claimed it: its conditional UPDATE loses
    with pytest.raises(actions.Conflict):
        actions._claim(stale, stale.version, {"escalations": 5})
    assert CaseLog.objects.filter(case=case, action="escalate").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_escalate_each_case_once(loop, new_case):
    if connection.vendor != "postgresql":
        pytest.skip("in-memory SQLite serialises threads on a table lock; the real race is on PostgreSQL")
    cases = [assigned_case(loop, new_case) for _ in range(6)]
    barrier = threading.Barrier(3)
    results = []

    def worker():
        try:
            barrier.wait()
            results.append(len(actions.escalate_overdue(T0 + dt.timedelta(days=4))))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == len(cases)
    assert CaseLog.objects.filter(action="escalate").count() == len(cases)


def test_it_archives_closed_cases_nobody_rated(loop, new_case):
    case = assigned_case(loop, new_case)
    for a in ("take", "reply", "verify"):
        actions.act(None, case, a, note="ok", at=T0 + dt.timedelta(days=1))
    assert actions.archive_stale(T0 + dt.timedelta(days=10)) == []
    assert [c.pk for c in actions.archive_stale(T0 + dt.timedelta(days=17))] == [case.pk]
    case.refresh_from_db()
    assert case.state == "archived" and case.log.last().actor_name == "系统"


# -- cases left unaccepted (待受理) ----------------------------------------------------------------

def test_it_escalates_a_case_left_unaccepted_after_the_configured_hours(loop, new_case, settings):
    settings.ZHANGZHI_CASES = {"ESCALATE_NEW_AFTER_HOURS": 24}
    case = new_case()
    assert actions.escalate_unaccepted(T0 + dt.timedelta(hours=23)) == []
    done = actions.escalate_unaccepted(T0 + dt.timedelta(hours=25))
    assert [c.pk for c in done] == [case.pk]
    case.refresh_from_db()
    assert case.office == loop.units["city_office"] and case.state == "new" and case.escalations == 1
    entry = case.log.last()
    assert entry.action == "escalate" and entry.actor_name == "系统" and entry.data["reason"] == "unaccepted"
    assert "24 小时未受理" in entry.note and "阳泉市河长办" in entry.note
    # the city office gets its own 24 hours; above it there is nobody
    assert actions.escalate_unaccepted(T0 + dt.timedelta(hours=30)) == []
    assert actions.escalate_unaccepted(T0 + dt.timedelta(hours=50)) == []


def test_accepted_cases_are_not_escalated_for_waiting(loop, new_case):
    case = new_case()
    actions.act(loop.users["county-office"], case, "accept", at=T0)
    assert actions.escalate_unaccepted(T0 + dt.timedelta(days=10)) == []


def test_the_command_escalates_unaccepted_cases_with_frozen_time(loop, new_case, settings):
    settings.ZHANGZHI_CASES = {"ESCALATE_NEW_AFTER_HOURS": 12}
    case = new_case()
    out = StringIO()
    call_command("escalate", now="2026-03-02T20:00:00+08:00", stdout=out)  # 11 hours after T0
    assert "unaccepted escalated 0" in out.getvalue()
    call_command("escalate", now="2026-03-02T22:00:00+08:00", stdout=out)  # 13 hours after
    assert "unaccepted escalated 1" in out.getvalue()
    case.refresh_from_db()
    assert case.office == loop.units["city_office"]
    assert CaseLog.objects.filter(case=case, action="escalate").count() == 1
