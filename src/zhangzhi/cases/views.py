"""Pages of the closed loop. Thin: forms call actions, lists and charts call queries.

Public (no account): the report form /report/, the tracking page /r/<code>/ with rating and
abuse flag. Staff: inbox, case list with export, case detail with timeline, map and actions,
statistics with ECharts.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from zhangzhi.lib.errors import ZhangzhiError
from zhangzhi.org.models import Unit

from . import actions, queries, workflow
from .models import Case, Category
from .open311 import client_ip

PAGE = 50


def _date(raw):
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


# -- public -----------------------------------------------------------------------------------------

def public_report(request):
    """群众举报: no account; phone optional; anonymous allowed."""
    categories = Category.objects.filter(active=True, public=True)
    form, error = {}, None
    if request.method == "POST":
        form = request.POST
        try:
            case = actions.public_report(
                client_ip(request), category=form.get("category", ""), description=form.get("description", ""),
                lat=form.get("lat") or "nan", lon=form.get("lon") or "nan", urgency=form.get("urgency", "normal"),
                reporter_name="" if form.get("anonymous") else form.get("name", ""),
                reporter_phone="" if form.get("anonymous") else form.get("phone", ""),
                photos=[request.FILES["photo"]] if "photo" in request.FILES else [])
        except ZhangzhiError as exc:
            error = exc
        else:
            return redirect(f"/r/{case.code}/?new=1")
    return render(request, "cases/public_report.html", {
        "categories": categories, "form": form, "error": error, "urgencies": Case.Urgency.choices},
        status=getattr(error, "status", 200))


def _public_case(code: str) -> Case:
    case = (Case.objects.filter(code=code.upper()).exclude(state=workflow.MERGED)
            .select_related("category", "region", "office", "feature").first())
    if case is None:
        raise Http404("no such tracking code")
    return case


def public_case(request, code: str):
    """/r/<code>/: status and the office's answers; never names or phone numbers."""
    case = _public_case(code)
    log = [] if case.hidden else list(case.log.filter(public=True).order_by("at", "pk"))
    return render(request, "cases/public_case.html", {
        "case": case, "log": log, "new": request.GET.get("new"), "ratings": Case.Rating.choices,
        "can_rate": case.state == workflow.CLOSED and not case.hidden})


@require_POST
def public_rate(request, code: str):
    case = _public_case(code)
    try:
        actions.act(None, case, "rate", rating=request.POST.get("rating", ""), note=request.POST.get("note", ""),
                    roles={workflow.REPORTER})
    except ZhangzhiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "感谢您的评价")
    return redirect("cases:public", code=case.code)


@require_POST
def public_flag(request, code: str):
    case = _public_case(code)
    actions.flag_abuse(case, client_ip(request))
    messages.info(request, "已收到您的反馈")
    return redirect("cases:public", code=case.code)


# -- staff ---------------------------------------------------------------------------------------------

@login_required
def inbox(request):
    data = queries.inbox(request.user, lambda c, now: c)
    return render(request, "cases/inbox.html", {"inbox": data["inbox"], "counts": data["counts"],
                                                "labels": INBOX_LABELS})


INBOX_LABELS = {"to_accept": "待受理", "to_assign": "待交办", "to_verify": "待核查", "overdue": "已逾期",
                "to_take": "待承办", "to_reply": "待反馈", "to_rate": "待评价"}


def _list_qs(request):
    g = request.GET
    try:
        return queries.filtered(
            Case.objects.visible_to(request.user), state=g.get("state"), category=g.get("category"),
            source=g.get("source"), region=g.get("region"), overdue=True if g.get("overdue") else None,
            supervised=True if g.get("supervised") else None, since=_date(g.get("since")),
            until=_date(g.get("until")), q=g.get("q"))
    except ZhangzhiError as exc:
        raise Http404(exc.message) from None


@login_required
def case_list(request):
    qs = _list_qs(request)
    try:
        page = max(1, int(request.GET.get("page", 1)))
    except ValueError:
        page = 1
    rows = list(queries.with_relations(qs)[(page - 1) * PAGE: page * PAGE])
    params = request.GET.copy()
    params.pop("page", None)
    return render(request, "cases/list.html", {
        "cases": rows, "count": qs.count(), "page": page, "pages": page + (len(rows) == PAGE),
        "query": params.urlencode(),
        "states": Case.State.choices, "sources": Case.Source.choices,
        "categories": Category.objects.filter(active=True), "g": request.GET})


@login_required
def case_detail(request, case_id: int):
    case = queries.with_relations(Case.objects.visible_to(request.user)).filter(pk=case_id).first()
    if case is None:
        raise Http404("no such case in your jurisdiction")
    roles = actions.roles_of(request.user, case)
    allowed = workflow.allowed(case.kind, case.state, roles)
    units = []
    if {"assign", "transfer"} & set(allowed):
        units = list(Unit.objects.filter(region__path__startswith=case.office.region.path)
                     .exclude(pk=case.office_id).select_related("region")[:300])
        units += list(Unit.objects.filter(region_id__in=case.region.ancestor_ids, kind__in=["department", "police",
                                                                                          "procuratorate"])
                      .exclude(pk__in=[u.pk for u in units]).select_related("region"))
    return render(request, "cases/detail.html", {
        "case": case, "log": list(case.log.prefetch_related("attachments")), "allowed": allowed,
        "labels": ACTION_LABELS, "units": units, "attachments": list(case.attachments.all()),
        "duplicates": actions.duplicates(case) if workflow.OFFICE in roles else [],
        "is_office": workflow.OFFICE in roles, "ratings": Case.Rating.choices,
        "overdue": case.is_overdue()})


ACTION_LABELS = {a: t.label for a, t in workflow.PROBLEM.transitions.items()} | {
    "report": "上报", "merged": "合并入", "hide": "隐藏待审核", "unhide": "恢复显示"}


@login_required
@require_POST
def case_act(request, case_id: int):
    case = queries.with_relations(Case.objects.visible_to(request.user)).filter(pk=case_id).first()
    if case is None:
        raise Http404("no such case in your jurisdiction")
    p = request.POST
    action = p.get("action", "")
    try:
        actions.act(request.user, case, action, note=p.get("note", ""), assignee=p.get("assignee") or None,
                    deadline=p.get("deadline") or None, rating=p.get("rating", ""),
                    into=Case.objects.visible_to(request.user).filter(pk=p.get("into") or 0).first(),
                    version=int(p["version"]) if p.get("version", "").isdigit() else None)
        if "photo" in request.FILES:
            actions.add_attachment(request.user, case, request.FILES["photo"], log=case.log.last())
    except ZhangzhiError as exc:
        messages.error(request, f"{ACTION_LABELS.get(action, action)}: {exc.message}")
    else:
        messages.success(request, f"{ACTION_LABELS.get(action, action)}：已完成")
    return redirect("cases:detail", case_id=case.pk)


@login_required
def stats_page(request):
    g = request.GET
    data = queries.stats(Case.objects.visible_to(request.user), since=_date(g.get("since")),
                         until=_date(g.get("until")))
    labels = {"source": dict(Case.Source.choices), "state": dict(Case.State.choices)}
    for row in data["by_source"]:
        row["name"] = str(labels["source"].get(row["key"], row["key"]))
    for row in data["by_state"]:
        row["name"] = str(labels["state"].get(row["key"], row["key"]))
    return render(request, "cases/stats.html", {"stats": data, "g": g})


def _export_name(ext: str) -> str:
    return f"cases-{timezone.localdate():%Y%m%d}.{ext}"


class _Echo:
    def write(self, value):
        return value


@login_required
def export_csv(request):
    qs = _list_qs(request)
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff"  # Excel opens UTF-8 CSV correctly with a BOM
        yield writer.writerow(queries.EXPORT_COLUMNS)
        for row in queries.export_rows(qs):
            yield writer.writerow(row)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("csv")}"'
    return response


@login_required
def export_xlsx(request):
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("cases")
    ws.append(list(queries.EXPORT_COLUMNS))
    for row in queries.export_rows(_list_qs(request)):
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    response = HttpResponse(buf.getvalue(),
                            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="{_export_name("xlsx")}"'
    return response
