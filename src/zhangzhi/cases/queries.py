"""Reads of the closed loop shared by the API and the pages: filters, inbox, statistics, export rows."""

from __future__ import annotations

import datetime as dt

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from zhangzhi.org import scope
from zhangzhi.org.models import Unit

from . import workflow
from .models import Case


def with_relations(qs):
    return qs.select_related("category", "region", "feature", "office__region", "assignee", "county")


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered(qs, *, state=None, category=None, source=None, region=None, office=None, assignee=None,
             overdue=None, supervised=None, since=None, until=None, q=None):
    if state:
        qs = qs.filter(state__in=state.split(","))
    if category:
        qs = qs.filter(Q(category__code__in=category.split(",")) | Q(category__parent__code__in=category.split(",")))
    if source:
        qs = qs.filter(source__in=source.split(","))
    qs = scope.within_region(qs, region)
    if office:
        qs = qs.filter(office_id=office)
    if assignee:
        qs = qs.filter(assignee_id=assignee)
    if overdue is not None:
        late = Q(state__in=workflow.WITH_ASSIGNEE, deadline__lt=timezone.now())
        qs = qs.filter(late) if overdue else qs.exclude(late)
    if supervised is not None:
        qs = qs.filter(supervised=supervised)
    if since:
        qs = qs.filter(reported_at__gte=_local_day_start(since))
    if until:
        qs = qs.filter(reported_at__lt=_local_day_start(until + dt.timedelta(days=1)))
    if q:
        qs = qs.filter(Q(code__iexact=q.strip()) | Q(description__icontains=q.strip()))
    return qs


INBOX_LIMIT = 50


def inbox_querysets(user) -> dict:
    """Per reason, the cases waiting for this user (what they can act on now)."""
    base = with_relations(Case.objects.visible_to(user)).filter(hidden=False)
    out = {}
    if scope.write_paths(user) != []:
        mine = with_relations(Case.objects.editable_by(user)).filter(hidden=False)  # cases of their offices
        out["to_accept"] = mine.filter(state=workflow.NEW)
        out["to_assign"] = mine.filter(state=workflow.ACCEPTED)
        out["to_verify"] = mine.filter(state=workflow.REPLIED)
        out["overdue"] = mine.filter(state__in=workflow.WITH_ASSIGNEE, deadline__lt=timezone.now())
    units = (list(Unit.objects.visible_to(user).filter(people__user=user).values_list("pk", flat=True))
             if user.is_authenticated else [])
    if units:
        out["to_take"] = base.filter(assignee_id__in=units, state=workflow.ASSIGNED)
        out["to_reply"] = base.filter(assignee_id__in=units, state=workflow.IN_PROGRESS)
    out["to_rate"] = base.filter(reporter=user, state=workflow.CLOSED, rating="")
    return out


def inbox(user, row) -> dict:
    now = timezone.now()
    out = {}
    for reason, qs in inbox_querysets(user).items():
        rows = list(qs.order_by("deadline", "reported_at")[:INBOX_LIMIT])
        out[reason] = [row(c, now) for c in rows]
    return {"inbox": out, "counts": {k: len(v) for k, v in out.items()}}


def stats(qs, *, since=None, until=None) -> dict:
    """Counts by source, category, county, state and month; 办结率, average handling hours, overdue."""
    if since:
        qs = qs.filter(reported_at__gte=_local_day_start(since))
    if until:
        qs = qs.filter(reported_at__lt=_local_day_start(until + dt.timedelta(days=1)))
    now = timezone.now()
    live = ~Q(state__in=(workflow.MERGED, workflow.DECLINED))
    totals = qs.aggregate(
        everything=Count("pk"),
        total=Count("pk", filter=live),
        done=Count("pk", filter=Q(state__in=workflow.DONE_STATES)),
        overdue=Count("pk", filter=Q(state__in=workflow.WITH_ASSIGNEE, deadline__lt=now)),
        supervised=Count("pk", filter=Q(supervised=True)),
        escalated=Count("pk", filter=Q(escalations__gt=0)),
        avg_seconds=Avg("handling_seconds", filter=live),
        satisfied=Count("pk", filter=Q(rating="satisfied")),
        rated=Count("pk", filter=~Q(rating="")),
    )

    def grouped(field, label=None):
        values = [field, label] if label else [field]
        rows = qs.values(*values).annotate(n=Count("pk")).order_by("-n")
        return [{"key": r[field], "name": r[label] if label else r[field], "count": r["n"]} for r in rows]

    months = (qs.annotate(m=TruncMonth("reported_at")).values("m").annotate(
        n=Count("pk"), done=Count("pk", filter=Q(state__in=workflow.DONE_STATES))).order_by("m"))
    total = totals["total"]
    return {
        "total": total,
        "declined_or_merged": totals["everything"] - total,
        "closed": totals["done"],
        "closure_rate": round(totals["done"] / total, 4) if total else None,
        "avg_handling_hours": round(totals["avg_seconds"] / 3600, 1) if totals["avg_seconds"] else None,
        "overdue": totals["overdue"],
        "supervised": totals["supervised"],
        "escalated": totals["escalated"],
        "satisfaction_rate": round(totals["satisfied"] / totals["rated"], 4) if totals["rated"] else None,
        "by_source": grouped("source"),
        "by_category": grouped("category__code", "category__name"),
        "by_county": grouped("county__code", "county__name"),
        "by_state": grouped("state"),
        "by_month": [{"month": timezone.localtime(r["m"]).strftime("%Y-%m") if timezone.is_aware(r["m"])
                      else r["m"].strftime("%Y-%m"), "count": r["n"], "closed": r["done"]} for r in months],
    }


EXPORT_COLUMNS = ("code", "reported_at", "category", "urgency", "source", "county", "region", "reach", "office",
                  "assignee", "state", "deadline", "closed_at", "handling_hours", "escalations", "supervised",
                  "rating", "description")


def export_rows(qs):
    """Rows for CSV/Excel: no personal data of reporters."""
    for c in with_relations(qs).iterator(chunk_size=1000):
        yield (c.code, timezone.localtime(c.reported_at).strftime("%Y-%m-%d %H:%M"), c.category.name,
               c.get_urgency_display(), c.get_source_display(), c.county.name if c.county_id else "",
               c.region.name, c.feature.name if c.feature_id else "", c.office.name,
               c.assignee.name if c.assignee_id else "", c.get_state_display(),
               timezone.localtime(c.deadline).strftime("%Y-%m-%d") if c.deadline else "",
               timezone.localtime(c.closed_at).strftime("%Y-%m-%d") if c.closed_at else "",
               round(c.handling_seconds / 3600, 1) if c.handling_seconds else "", c.escalations,
               "是" if c.supervised else "", c.get_rating_display() if c.rating else "", c.description)
