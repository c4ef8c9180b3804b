"""Reads of the closed loop shared by the API and the pages: filters, inbox, statistics, export rows."""

from __future__ import annotations

import datetime as dt
import math
import operator
from dataclasses import dataclass
from functools import reduce
from urllib.parse import urlencode

from django.db.models import Avg, Count, Q, Value, When
from django.db.models import Case as Choose  # SQL's CASE; `Case` is the model
from django.db.models.functions import TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import InvalidInput
from zhangzhi.org import scope
from zhangzhi.org.models import Post, Unit

from . import workflow
from .models import Case


def with_relations(qs):
    return qs.select_related("category", "region", "feature", "office__region", "assignee", "county")


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def conditions(*, state=None, category=None, source=None, office=None, assignee=None, overdue=None,
               supervised=None, rating=None, since=None, until=None, q=None, now=None) -> Q:
    """The filters of lists, exports and the inbox's sections as one Q (empty values filter nothing).

    `rating`: codes separated by commas, `none` for cases not rated yet."""
    cond = Q()
    if state:
        cond &= Q(state__in=state.split(","))
    if category:
        cond &= Q(category__code__in=category.split(",")) | Q(category__parent__code__in=category.split(","))
    if source:
        cond &= Q(source__in=source.split(","))
    if office:
        cond &= Q(office_id=office)
    if assignee:
        cond &= Q(assignee_id=assignee)
    if overdue is not None:
        late = Q(state__in=workflow.WITH_ASSIGNEE, deadline__lt=now or timezone.now())
        cond &= late if overdue else ~late
    if supervised is not None:
        cond &= Q(supervised=supervised)
    if rating:
        codes = set(rating.split(","))
        rated = Q(rating__in=codes - {"none"})
        cond &= (rated | Q(rating="")) if "none" in codes else rated
    if since:
        cond &= Q(reported_at__gte=_local_day_start(since))
    if until:
        cond &= Q(reported_at__lt=_local_day_start(until + dt.timedelta(days=1)))
    if q:
        cond &= Q(code__iexact=q.strip()) | Q(description__icontains=q.strip())
    return cond


def filtered(qs, *, region=None, **filters):
    """`conditions`, and the region (a code: that region and everything below it)."""
    return scope.within_region(qs.filter(conditions(**filters)), region)


# -- 待办: what waits for a user, by reason ---------------------------------------------------------------
#
# A user waits on cases in up to four capacities (the list's ?mine=…): as staff of the chief offices
# that handle them (office), in a unit they are assigned to (unit), as their reporter (reported), and
# as the chief of the reaches they lie on (reaches). A section is one capacity and the list filters
# above, so its count, its rows and its "all" link on the case list are the same query.

PER_PAGE = 20
DUE_SOON = dt.timedelta(days=3)       # a deadline closer than this is marked 即将到期
INEFFECTIVE_WINDOW = dt.timedelta(days=30)
REACH_TREE_DEPTH = 4                  # river → county → township → village reach (Feature.ancestors)
WHOSE = ("office", "unit", "reported", "reaches")


@dataclass(frozen=True)
class Section:
    reason: str
    label: str
    whose: str
    filters: dict
    actionable: bool = True  # the user acts on it (counted in the menu); reaches: the chief follows them

    def list_url(self) -> str:
        """The case list filtered to the whole section."""
        params = {"mine": self.whose, **{k: "1" if v is True else v for k, v in self.filters.items()}}
        return f"{reverse('cases:list')}?{urlencode(params, safe=',')}"


_OPEN = ",".join(s for s in workflow.PROBLEM.states if s in workflow.OPEN_STATES)
SECTIONS = (
    Section("to_accept", _("待受理"), "office", {"state": workflow.NEW}),
    Section("to_assign", _("待交办"), "office", {"state": workflow.ACCEPTED}),
    Section("to_verify", _("待核查"), "office", {"state": workflow.REPLIED}),
    Section("overdue", _("已逾期"), "office", {"overdue": True}),
    Section("to_take", _("待承办"), "unit", {"state": workflow.ASSIGNED}),
    Section("to_reply", _("待反馈"), "unit", {"state": workflow.IN_PROGRESS}),
    Section("to_rate", _("待评价"), "reported", {"state": workflow.CLOSED, "rating": "none"}),
    Section("on_reaches", _("我的河段上未办结的问题"), "reaches", {"state": _OPEN}, actionable=False),
)
SECTION_NAMES = tuple(s.reason for s in SECTIONS)


@dataclass
class Capacities:
    """In which capacities a user waits on cases: three small queries, once per request."""

    office: bool
    units: list[int]
    reaches: list[int]  # features of the user's current posts
    levels: set[str]    # chief levels of those posts (their patrol duties)

    @classmethod
    def of(cls, user) -> Capacities:
        if not user.is_authenticated:
            return cls(False, [], [], set())
        posts = list(Post.objects.visible_to(user).current().filter(person__user=user, feature__isnull=False)
                     .values_list("feature_id", "level"))
        return cls(scope.is_office(user),
                   list(Unit.objects.visible_to(user).filter(people__user=user).values_list("pk", flat=True)),
                   sorted({f for f, _ in posts}), {level for _, level in posts})

    def has(self, whose: str) -> bool:
        return {"office": self.office, "unit": bool(self.units), "reported": True,
                "reaches": bool(self.reaches)}[whose]


def _below(user, features) -> Q:
    """Cases on these features or on reaches below them (a township chief answers for its villages' reaches)."""
    tree = Q()
    for depth in range(REACH_TREE_DEPTH):
        tree |= Q(**{"parent__" * depth + "id__in": features})
    return Q(feature_id__in=Feature.objects.visible_to(user).filter(tree).values("pk"))


def whose_q(user, whose: str, caps: Capacities | None = None) -> Q:
    """The cases that wait for `user` in one capacity other than the office's (see `mine`)."""
    if whose == "unit":
        return Q(assignee_id__in=caps.units if caps else Unit.objects.visible_to(user).filter(
            people__user=user).values("pk"))
    if whose == "reported":
        return Q(reporter=user)
    if whose == "reaches":
        features = caps.reaches if caps else (Post.objects.visible_to(user).current()
                                              .filter(person__user=user, feature__isnull=False).values("feature_id"))
        return _below(user, features)
    raise InvalidInput(f"mine: one of {', '.join(WHOSE)}", {"mine": "unknown"})


def mine(qs, user, whose: str):
    """The list's ?mine=…: the cases waiting for the user in one capacity. Reports hidden by abuse
    flags wait in the moderation queue instead."""
    qs = qs.filter(hidden=False)
    return qs.editable_by(user) if whose == "office" else qs.filter(whose_q(user, whose))


def urgent_first(qs, now):
    """Overdue, then due soon, 督办, 紧急 and 加急, then the newest: the order of every section."""
    running = Q(state__in=workflow.WITH_ASSIGNEE, deadline__isnull=False)
    return qs.annotate(
        deadline_rank=Choose(When(running & Q(deadline__lt=now), then=Value(2)),
                             When(running & Q(deadline__lt=now + DUE_SOON), then=Value(1)), default=Value(0)),
        urgency_rank=Choose(When(urgency=Case.Urgency.CRITICAL, then=Value(2)),
                            When(urgency=Case.Urgency.URGENT, then=Value(1)), default=Value(0)),
    ).order_by("-deadline_rank", "-supervised", "-urgency_rank", "-reported_at", "-pk")


def _plan(user, caps: Capacities, sections, now) -> dict[str, tuple]:
    """Per section, the queryset it is taken from and its condition: the office's cases (one base),
    or the visible cases of the user's other capacities (the other base)."""
    personal = {s.whose: whose_q(user, s.whose, caps) for s in sections if s.whose != "office"}
    office = Case.objects.editable_by(user).filter(hidden=False)
    others = Case.objects.visible_to(user).filter(hidden=False)
    if personal:
        others = others.filter(reduce(operator.or_, personal.values()))
    return {s.reason: (office, conditions(**s.filters, now=now)) if s.whose == "office"
            else (others, personal[s.whose] & conditions(**s.filters, now=now)) for s in sections}


def _counts(plan: dict, sections) -> dict[str, int]:
    """The sections' counts: one aggregate per base."""
    counts: dict[str, int] = {}
    for office in (True, False):
        group = [s.reason for s in sections if (s.whose == "office") is office]
        if group:
            counts.update(plan[group[0]][0].aggregate(**{r: Count("pk", filter=plan[r][1]) for r in group}))
    return counts


def _total(counts: dict, duties: list) -> int:
    actionable = {s.reason for s in SECTIONS if s.actionable}
    return sum(n for reason, n in counts.items() if reason in actionable) + sum(1 for d in duties if d.remaining)


def inbox(user, row, *, section: str | None = None, page: int = 1, now=None) -> dict:
    """Per reason: its count (from the database), a page of its rows (page `page` of `section`, the
    first of every other) and its number of pages; the menu's total; a chief's patrols.

    Two aggregates for the counts, one query per non-empty section for its rows, and a constant
    number for the patrols (`patrols_due`, `ineffective_patrols`), whatever the volume."""
    now = now or timezone.now()
    caps = Capacities.of(user)
    sections = [s for s in SECTIONS if caps.has(s.whose)]
    plan = _plan(user, caps, sections, now)
    counts = _counts(plan, sections)
    out, pages = {}, {}
    for s in sections:
        n = max(1, math.ceil(counts[s.reason] / PER_PAGE))
        p = min(max(1, page), n) if s.reason == section else 1
        rows = []
        if counts[s.reason]:
            base, cond = plan[s.reason]
            rows = list(urgent_first(with_relations(base.filter(cond)), now)[(p - 1) * PER_PAGE: p * PER_PAGE])
        out[s.reason] = [row(c, now) for c in rows]
        pages[s.reason] = {"page": p, "pages": n, "per_page": PER_PAGE}
    duties = patrols_due(user, caps, timezone.localdate(now)) if caps.levels else []
    return {"counts": counts, "inbox": out, "pages": pages, "sections": sections,
            "total": _total(counts, duties), "patrols_due": duties,
            "ineffective": ineffective_patrols(user, now) if caps.reaches else None}


def waiting_total(user, now=None) -> int:
    """The menu's 待办 (N): what the user must act on, that is the cases of the actionable sections
    and the patrols still owed this period; the same counts as the inbox, none of its rows."""
    now = now or timezone.now()
    caps = Capacities.of(user)
    sections = [s for s in SECTIONS if s.actionable and caps.has(s.whose)]
    duties = patrols_due(user, caps, timezone.localdate(now)) if caps.levels else []
    return _total(_counts(_plan(user, caps, sections, now), sections), duties)


# -- a chief's patrols -----------------------------------------------------------------------------------

@dataclass
class PatrolDue:
    """One duty post's current period: 本旬还需巡河 N 次，剩 D 天."""

    feature_id: int
    feature: str
    period: str        # week, dekad, month … (patrols.periods.KINDS)
    period_label: str  # 2026年3月上旬
    required: int
    done: int
    days_left: int     # today included
    last_day: dt.date

    @property
    def remaining(self) -> int:
        return max(0, self.required - self.done)

    def as_dict(self) -> dict:
        return {"feature_id": self.feature_id, "feature": self.feature, "period": self.period,
                "period_label": self.period_label, "required": self.required, "done": self.done,
                "remaining": self.remaining, "days_left": self.days_left, "last_day": self.last_day}


def patrols_due(user, caps: Capacities, today: dt.date) -> list[PatrolDue]:
    """The user's frequency duties (巡查频次) in the periods that hold `today`, their effective patrols
    counted as the compliance report counts them (`patrols.compliance.duties`, which judges a period
    only once it is over): one read per kind of period their posts owe."""
    from zhangzhi.patrols import compliance, periods
    from zhangzhi.patrols.models import FrequencyRule

    person = getattr(user, "person", None)
    if person is None:
        return []
    # every kind a rule for their levels may name (a region's row can differ from the system's): a
    # superset is harmless, each read keeps the duties of its own kind
    kinds = sorted(set(FrequencyRule.objects.unrestricted("rules apply down the region tree")
                       .filter(level__in=caps.levels).values_list("period", flat=True)), key=periods.KINDS.index)
    out = []
    for kind in kinds:
        current = periods.period_of(today, kind)
        for d in compliance.duties(user, current.start, current.end, person_id=person.pk):
            if d.period == kind and d.feature_id in caps.reaches:  # posts held today
                out.append(PatrolDue(d.feature_id, d.feature, kind, current.label(), d.required, d.effective,
                                     (current.end - today).days, current.last_day))
    out.sort(key=lambda d: (not d.remaining, d.days_left, d.feature))
    return out


def ineffective_patrols(user, now, limit: int = 10) -> dict:
    """The user's own patrols judged not effective in the last 30 days, newest first, with the count."""
    from zhangzhi.patrols.models import Patrol

    qs = Patrol.objects.visible_to(user).filter(person__user=user, effective=False,
                                                started_at__gte=now - INEFFECTIVE_WINDOW)
    rows = list(qs.select_related("feature").defer("track", "signature").order_by("-started_at", "-pk")[:limit])
    return {"count": len(rows) if len(rows) < limit else qs.count(), "rows": rows}


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
