"""Pages of the closed loop. Thin: forms call actions, lists and charts call queries.

Public (no account): the report form /report/, the tracking page /r/<code>/ with rating and
abuse flag. Staff: inbox, case list with export, case detail with timeline, map and actions,
statistics with ECharts, the moderation queue and the drone survey import.
"""

from __future__ import annotations

import datetime as dt
import math
import unicodedata
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from zhangzhi.features.models import Feature
from zhangzhi.lib import export, storage
from zhangzhi.lib.errors import InvalidInput, ZhangzhiError
from zhangzhi.lib.net import client_ip
from zhangzhi.lib.params import date_or_none as _date
from zhangzhi.org import scope
from zhangzhi.org.jurisdiction import get_visible_or_404
from zhangzhi.org.models import Unit
from zhangzhi.patrols import display

from . import actions, conf, drone, queries, routing, workflow
from .models import Attachment, Case, Category

PAGE = 50


# -- public -----------------------------------------------------------------------------------------

# The codes this browser filed, in a signed cookie that outlives the short session: the tracking page
# knows the reporter by it (no 举报不当内容 on their own report). Only codes, never names or phones.
FILED_COOKIE, FILED_SALT, FILED_KEEP = "zz_filed", "zhangzhi.cases.filed", 20
FILED_MAX_AGE = 180 * 24 * 3600


def _filed_codes(request) -> list[str]:
    raw = request.get_signed_cookie(FILED_COOKIE, default="", salt=FILED_SALT, max_age=FILED_MAX_AGE)
    return [c for c in raw.split(",") if c]


def _remember_filed(request, response, code: str) -> None:
    codes = [code, *(c for c in _filed_codes(request) if c != code)][:FILED_KEEP]
    response.set_signed_cookie(FILED_COOKIE, ",".join(codes), salt=FILED_SALT, max_age=FILED_MAX_AGE,
                               httponly=True, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE)


def _is_reporter(request, case: Case) -> bool:
    """Whether this browser filed the case (its cookie), or the signed-in user is its reporter."""
    if request.user.is_authenticated and case.reporter_id == request.user.pk:
        return True
    return case.code in _filed_codes(request)


def _prefill_feature(value) -> Feature | None:
    """The reach a report starts from (/report/?feature=<id>, the signboard's 我要举报), or None."""
    try:
        pk = int(value)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    return Feature.objects.public().select_related("kind", "region").filter(pk=pk).first()


def public_report(request):
    """群众举报: no account; phone optional; anonymous allowed. ?feature=<id> starts from that reach."""
    categories = Category.objects.filter(active=True, public=True)
    form, error = {}, None
    feature = _prefill_feature(request.POST.get("feature") if request.method == "POST" else request.GET.get("feature"))
    if request.method == "POST":
        form = request.POST
        try:
            lat, lon = float(form.get("lat") or "nan"), float(form.get("lon") or "nan")
        except ValueError:
            lat = lon = float("nan")
        # the reach the reporter came from answers for the report only while the point lies on it: a tap
        # elsewhere is routed by the place, as any report
        on_feature = (feature is not None and math.isfinite(lat) and math.isfinite(lon)
                      and routing.distance_m(feature.geometry, lon, lat) <= conf.get("REACH_MAX_DISTANCE_M"))
        try:
            case = actions.public_report(
                client_ip(request), category=form.get("category", ""), description=form.get("description", ""),
                lat=form.get("lat") or "nan", lon=form.get("lon") or "nan", urgency=form.get("urgency", "normal"),
                feature=feature if on_feature else None,
                reporter_name="" if form.get("anonymous") else form.get("name", ""),
                reporter_phone="" if form.get("anonymous") else form.get("phone", ""),
                photos=[request.FILES["photo"]] if "photo" in request.FILES else [])
        except ZhangzhiError as exc:
            error = exc
        else:
            response = redirect(f"/r/{case.code}/?new=1")
            _remember_filed(request, response, case.code)
            return response
    start = None
    if feature is not None:
        lon, lat = routing.midpoint(feature.geometry)
        start = {"id": feature.pk, "name": feature.name, "lat": lat, "lon": lon, "geometry": feature.geometry,
                 "bounds": [[feature.min_lat, feature.min_lon], [feature.max_lat, feature.max_lon]]}
    return render(request, "cases/public_report.html", {
        "categories": categories, "form": form, "error": error, "urgencies": Case.Urgency.choices,
        "feature": start, "far_m": conf.get("FAR_FROM_WATER_M")},
        status=getattr(error, "status", 200))


def report_nearest(request):
    """/report/nearest?lat=&lon=: how far the chosen point lies from the nearest managed water, for the
    report form's warning before it is sent (the report is still accepted)."""
    try:
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
    except ValueError:
        lat = lon = float("nan")
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return JsonResponse({"error": {"code": "invalid", "message": "lat and lon: decimal degrees",
                                       "fields": {"lat": "required", "lon": "required"}}}, status=400)
    feature, metres = routing.nearest_water(lon, lat)
    limit = conf.get("FAR_FROM_WATER_M")
    far = metres is None or metres > limit
    if metres is None:
        message = _("该位置 %(km)s 公里内没有登记的河湖，请确认位置") % {"km": routing.WATER_SEARCH_M[-1] // 1000}
    elif far:
        message = _("该位置距离最近的河湖 %(m)s 米，请确认") % {"m": f"{metres:,.0f}"}
    else:
        message = ""
    return JsonResponse({"far": far, "distance_m": None if metres is None else round(metres), "limit_m": limit,
                         "feature": None if feature is None else {"id": feature.pk, "name": feature.name},
                         "message": message}, json_dumps_params={"ensure_ascii": False})


def normalize_code(value: str) -> str:
    """A tracking code as typed or read out: full-width letters and digits folded (NFKC), spaces,
    dashes and dots dropped, upper case. 'abc 123', 'ＡＢＣ１２３' and 'ABC-123' are 'ABC123'."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", value or "") if ch.isascii() and ch.isalnum()).upper()


def _find_case(code: str) -> Case | None:
    code = normalize_code(code)
    if not code or len(code) > 32:
        return None
    return (Case.objects.unrestricted("a tracking code is the reporter's key to their case")
            .filter(code=code).exclude(state=workflow.MERGED)
            .select_related("category", "region", "office", "feature").first())


def _public_case(code: str) -> Case:
    case = _find_case(code)
    if case is None:
        raise Http404("no such tracking code")
    return case


def _no_such_code(request, code: str):
    return render(request, "cases/public_track.html", {"code": code.strip()[:40], "missing": True}, status=404)


def public_track(request):
    """/r/?code=…: the tracking form; a code as typed (any case, spaces, full-width) goes to its page."""
    code = request.GET.get("code", "")
    if not code.strip():
        return render(request, "cases/public_track.html", {"code": ""})
    case = _find_case(code)
    if case is None:
        return _no_such_code(request, code)
    return redirect("cases:public", code=case.code)


def public_case(request, code: str):
    """/r/<code>/: status and the office's answers; never names or phone numbers."""
    case = _find_case(code)
    if case is None:
        return _no_such_code(request, code)
    if case.code != code:  # typed as 'abc 123': the one address of the page
        url = reverse("cases:public", args=[case.code])
        return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)
    log = [] if case.hidden else list(case.log.filter(public=True).order_by("at", "pk"))
    photos = list(Attachment.objects.unrestricted("the public photos of this tracking code").public()
                  .filter(case=case).select_related("case"))
    return render(request, "cases/public_case.html", {
        "case": case, "log": log, "photos": photos, "new": request.GET.get("new"), "ratings": Case.Rating.choices,
        "can_rate": case.state == workflow.CLOSED and not case.hidden,
        "can_flag": not _is_reporter(request, case)})


@require_POST
def public_rate(request, code: str):
    case = _public_case(code)
    try:
        actions.act(None, case, "rate", rating=request.POST.get("rating", ""), note=request.POST.get("note", ""),
                    roles={workflow.REPORTER})
    except ZhangzhiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("感谢您的评价"))
    return redirect("cases:public", code=case.code)


@require_POST
def public_flag(request, code: str):
    case = _public_case(code)
    if _is_reporter(request, case):  # the reporter is not offered the flag; a forged post counts for nothing
        messages.info(request, _("这是您本人提交的举报，无需标记。"))
    else:
        actions.flag_abuse(case, client_ip(request))
        messages.info(request, _("已收到您的反馈"))
    return redirect("cases:public", code=case.code)


def public_photo(request, code: str, attachment_id: int):
    """/r/<code>/photos/<id>: a photo of the report or of the answer, once the case's photos are
    public (`CaseQuerySet.with_public_photos`); 404 otherwise, as for an id that does not exist."""
    att = (Attachment.objects.unrestricted("public photos of public, moderated cases").public()
           .filter(pk=attachment_id, case__code=normalize_code(code)).first())
    if att is None:
        raise Http404("no such photo")
    return storage.serve(att.file, att.content_type)


# -- staff ---------------------------------------------------------------------------------------------

def attachment_file(request, attachment_id: int):
    """/files/cases/<id>: a case's photo for whoever may see the case, by session or API token (404
    outside, and for anonymous)."""
    att = get_visible_or_404(Attachment, storage.viewer(request), pk=attachment_id)
    return storage.serve(att.file, att.content_type)


def _page_number(raw) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


@login_required
def inbox(request):
    """待办: per reason, its count and its cases (overdue, 督办 and 紧急 first, then the newest) by pages of
    20, with a link to all of them on the case list; a chief's patrols due and patrols not accepted."""
    g = request.GET
    data = queries.inbox(request.user, lambda c, now: c, section=g.get("section"), page=_page_number(g.get("page")))
    sections = [{"reason": s.reason, "label": s.label, "count": data["counts"][s.reason],
                 "cases": data["inbox"][s.reason], **data["pages"][s.reason],
                 "list_url": s.list_url()} for s in data["sections"]]
    for d in data["patrols_due"]:
        d.period_name = display.PERIOD_KIND_LABELS[d.period]
        d.period_label = display.period_label(d.period_label)
    ineffective = data["ineffective"]
    if ineffective:
        for p in ineffective["rows"]:
            p.reason_text = display.reason_separator().join(display.reasons(p.reasons))
        since = timezone.localdate() - queries.INEFFECTIVE_WINDOW
        ineffective["list_url"] = f"{reverse('patrols:list')}?" + urlencode(
            {"person": request.user.person.pk, "effective": "0", "since": since.isoformat()})
    wpaths = scope.write_paths(request.user)
    return render(request, "cases/inbox.html", {
        "sections": sections, "patrols_due": data["patrols_due"], "ineffective": ineffective,
        "inbox_total": data["total"], "is_office": wpaths is None or bool(wpaths),
        "to_moderate": _moderation_qs(request.user, wpaths).awaiting_moderation().count() if wpaths != [] else 0})


def _list_qs(request):
    g = request.GET
    try:
        qs = Case.objects.visible_to(request.user)
        if g.get("mine"):  # what waits for the user in one capacity: the inbox's "all" links
            qs = queries.mine(qs, request.user, g["mine"])
        return queries.filtered(
            qs, state=g.get("state"), category=g.get("category"), rating=g.get("rating"),
            source=g.get("source"), region=g.get("region"), overdue=True if g.get("overdue") else None,
            supervised=True if g.get("supervised") else None, since=_date(g.get("since")),
            until=_date(g.get("until")), q=g.get("q"))
    except ZhangzhiError as exc:
        raise Http404(exc.message) from None


@login_required
def case_list(request):
    qs = _list_qs(request)
    page = _page_number(request.GET.get("page"))
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
        units = list(Unit.objects.visible_to(request.user).filter(region__path__startswith=case.office.region.path)
                     .exclude(pk=case.office_id).select_related("region")[:300])
        units += list(Unit.objects.visible_to(request.user)
                      .filter(region_id__in=case.region.ancestor_ids,
                              kind__in=["department", "police", "procuratorate"])
                      .exclude(pk__in=[u.pk for u in units]).select_related("region"))
    return render(request, "cases/detail.html", {
        "case": case, "log": list(case.log.prefetch_related("attachments")), "allowed": allowed,
        "labels": ACTION_LABELS, "units": units, "attachments": list(case.attachments.all()),
        "duplicates": actions.duplicates(case) if workflow.OFFICE in roles else [],
        "is_office": workflow.OFFICE in roles, "ratings": Case.Rating.choices,
        "overdue": case.is_overdue()})


# the workflow table is pure (no Django): its labels are translated here
ACTION_LABELS = {
    "accept": gettext_lazy("受理"), "decline": gettext_lazy("不予受理"), "merge": gettext_lazy("合并"),
    "assign": gettext_lazy("交办"), "transfer": gettext_lazy("移送"), "return": gettext_lazy("责任退回"),
    "take": gettext_lazy("承办"), "reply": gettext_lazy("反馈"), "verify": gettext_lazy("核查通过"),
    "redo": gettext_lazy("重办"), "urge": gettext_lazy("催办"), "supervise": gettext_lazy("督办"),
    "escalate": gettext_lazy("提级办理"), "rate": gettext_lazy("评价"), "archive": gettext_lazy("归档"),
    "report": gettext_lazy("上报"), "merged": gettext_lazy("合并入"), "hide": gettext_lazy("隐藏待审核"),
    "unhide": gettext_lazy("恢复显示")}


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
        messages.success(request, _("%(action)s：已完成") % {"action": ACTION_LABELS.get(action, action)})
    return redirect("cases:detail", case_id=case.pk)


def _moderation_qs(user, wpaths=None):
    """Reports the user's offices moderate: cases of offices in their write jurisdiction."""
    return Case.objects.editable_by(user)


@login_required
def moderation(request):
    """审核: public reports hidden by abuse flags, waiting for the office; and recent decisions."""
    scope.require_office(request.user)
    qs = queries.with_relations(_moderation_qs(request.user))
    since = timezone.now() - dt.timedelta(days=30)
    return render(request, "cases/moderation.html", {
        "pending": list(qs.awaiting_moderation().order_by("-abuse_flags", "-reported_at")[:200]),
        "decided": list(qs.filter(moderated_at__gte=since).order_by("-moderated_at")[:50])})


@login_required
@require_POST
def moderate(request, case_id: int):
    scope.require_office(request.user)
    case = queries.with_relations(_moderation_qs(request.user)).filter(pk=case_id).first()
    if case is None:
        raise Http404("no such case in your jurisdiction")
    decision = request.POST.get("decision")
    if decision not in ("restore", "hide"):
        messages.error(request, _("请选择恢复显示或确认隐藏"))
    else:
        try:
            actions.moderate(request.user, case, hidden=decision == "hide", note=request.POST.get("note", ""))
        except ZhangzhiError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("%(code)s 已恢复显示") % {"code": case.code} if decision == "restore"
                             else _("%(code)s 已确认隐藏") % {"code": case.code})
    return redirect("cases:moderation")


@login_required
def drone_import(request):
    """无人机巡查: upload a survey (GeoJSON + ZIP of photos, or one ZIP); all points become cases, or none."""
    scope.require_office(request.user)
    error = None
    if request.method == "POST":
        try:
            if "file" not in request.FILES:
                raise InvalidInput(_("请选择 GeoJSON 或 ZIP 文件"), {"file": "required"})
            cases = actions.import_drone(request.user, drone.upload_bytes(request.FILES["file"], "file"),
                                         drone.upload_bytes(request.FILES.get("photos"), "photos"))
        except ZhangzhiError as exc:
            error = exc
        else:
            messages.success(request, _("已导入 %(count)d 个问题点") % {"count": len(cases)})
            return redirect(f"{reverse('cases:list')}?source=drone")
    return render(request, "cases/drone_import.html", {"error": error},
                  status=getattr(error, "status", 200))


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
    chart_labels = {"month": _("按月"), "reported": _("上报"), "closed": _("办结"), "source": _("按来源"),
                    "category": _("按类别"), "county": _("按县区"), "state": _("按状态")}
    return render(request, "cases/stats.html", {"stats": data, "g": g, "chart_labels": chart_labels})


def _export(request, fmt: str):
    # no reporter's name or phone: the export is still recorded (who, filters) by lib.export
    qs = _list_qs(request)
    return export.respond(request, fmt, "cases", queries.EXPORT_COLUMNS, queries.export_rows(qs),
                          what="cases.Case", personal=False)


@login_required
def export_csv(request):
    return _export(request, "csv")


@login_required
def export_xlsx(request):
    return _export(request, "xlsx")
