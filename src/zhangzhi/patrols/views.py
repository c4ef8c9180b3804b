"""Patrol pages: the mobile recorder (PWA), list, detail, compliance, exports. Thin views over
the API's query helpers, so the pages and /api/v1/patrols filter alike."""

from __future__ import annotations

import datetime as dt
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from zhangzhi.lib import export, storage
from zhangzhi.lib.errors import InvalidInput
from zhangzhi.lib.params import date_or_none as _date
from zhangzhi.org.jurisdiction import get_visible_or_404
from zhangzhi.org.models import ChiefLevel, Level, Post, Region

from . import compliance, display
from .api import compliance_args, filtered, patrol_detail
from .models import Finding, Patrol

FALLBACK_CATEGORIES = [("garbage", _("垃圾")), ("dumping", _("乱堆")), ("occupation", _("乱占")),
                       ("illegal_sand", _("乱采")), ("construction", _("乱建")), ("outfall", _("排污口")),
                       ("facility", _("设施损坏")), ("other", _("其他"))]


def _english() -> bool:
    return (get_language() or "").lower().startswith("en")


def _categories() -> list[tuple[str, str]]:
    try:
        from zhangzhi.cases.models import Category

        rows = [(code, (name_en if _english() and name_en else name)) for code, name, name_en in
                Category.objects.filter(active=True, children__isnull=True).order_by("order", "pk")
                .values_list("code", "name", "name_en")]
    except Exception:  # the closed loop is not installed yet
        rows = []
    return rows or [(code, str(name)) for code, name in FALLBACK_CATEGORIES]


@login_required
@ensure_csrf_cookie
def mobile(request):
    """巡河 on the phone: pick a reach, record, add findings, upload (queued offline)."""
    person = getattr(request.user, "person", None)
    posts = []
    if person is not None:
        posts = (Post.objects.visible_to(request.user).current().filter(person=person, feature__kind__geometry="line")
                 .select_related("feature", "role").order_by("feature__code"))
    reaches = [{"id": p.feature_id, "name": p.feature.name, "role": p.role.name, "level": p.level,
                "geometry": p.feature.geometry} for p in posts]
    try:
        min_interval = max(float(request.GET.get("min_interval", 3)), 1.0)  # seconds between fixes
    except ValueError:
        min_interval = 3.0
    return render(request, "patrols/mobile.html", {
        "reaches": reaches, "categories": _categories(), "min_interval": min_interval,
        "config": {"minInterval": min_interval, "tileUrl": settings.TILE_URL}})


@never_cache
def service_worker(request):
    """The service worker, served from the site root so its scope covers /m/patrol."""
    path = finders.find("patrols/sw.js")
    if path is None:
        raise Http404("service worker missing")
    with open(path, encoding="utf-8") as fh:
        body = fh.read()
    shell = [static("vendor/leaflet/leaflet.js"), static("vendor/leaflet/leaflet.css"),
             static("patrols/mobile.js"), static("web/site.css"), static("web/favicon.svg")]
    body = body.replace("__SHELL__", json.dumps(shell))
    resp = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    resp["Service-Worker-Allowed"] = "/"
    return resp


def manifest(request):
    data = {"name": gettext("长制 · 巡河"), "short_name": gettext("巡河"), "start_url": "/m/patrol", "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#1f4e79", "lang": "en" if _english() else "zh-CN",
            "icons": [{"src": static("web/favicon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}]}
    return HttpResponse(json.dumps(data, ensure_ascii=False), content_type="application/manifest+json")


# -- office pages -------------------------------------------------------------------------------------

def _params(request) -> dict:
    g = request.GET
    return {k: g.get(k) or None for k in ("feature", "person", "region", "level", "effective", "flag", "since",
                                           "until")}


@login_required
def patrol_list(request):
    params = _params(request)
    try:
        qs = filtered(request.user, params)
    except (InvalidInput, ValueError) as exc:
        qs, params["error"] = Patrol.objects.none(), gettext("筛选条件有误：%(detail)s") % {"detail": exc}
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        # streamed row by row (a year of a city is ~17,000 patrols): the download starts at once;
        # chiefs' names are personal data, recorded as such by lib.export (no count: not known yet)
        rows = _export_rows(qs.defer(*EXPORT_DEFER)[:EXPORT_LIMIT])
        return export.respond(request, fmt, "patrols", EXPORT_HEADER, rows, what="patrols.Patrol",
                              title=_("巡河记录"))
    page = Paginator(qs.defer("track", "signature"), 50).get_page(request.GET.get("page"))
    sep = display.reason_separator()
    for p in page:
        p.reason_texts = display.reasons(p.reasons)
        p.reason_title = sep.join(p.reason_texts)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "patrols/list.html", {
        "page": page, "params": params, "levels": ChiefLevel.choices, "query": query.urlencode(),
        "regions": region_choices(request.user, params.get("region")),
        "flags": [(f, display.flag_label(f)) for f in display.FLAG_LABELS]})


PICKER_LEVELS = (Level.PROVINCE, Level.CITY, Level.COUNTY, Level.ZONE, Level.TOWNSHIP)


def region_choices(user, current: str | None = None) -> list[tuple[str, str]]:
    """The regions of the user's jurisdiction a filter may pick, townships and up (villages are
    hundreds), in tree order and indented by depth: (code, label). A region chosen elsewhere (a
    village in a link) is kept as an option so the filter shows what it applies."""
    visible = Region.objects.visible_to(user).exclude(code="").filter(code__isnull=False)
    q = Q(level__in=PICKER_LEVELS)
    if current:
        q |= Q(code=current)
    regions = list(visible.filter(q).only("code", "name", "path").order_by("path"))
    if not regions:
        return []
    top = min(r.path.count("/") for r in regions)
    return [(r.code, "\u3000" * (r.path.count("/") - top) + r.name) for r in regions]


EXPORT_LIMIT = 100_000
# what a row of the export does not show: the track, and the reach's and region's geometry that
# select_related would otherwise read for every patrol (most of the export's time)
EXPORT_DEFER = ("track", "signature", "rules", "feature__geometry", "feature__description", "region__boundary")
EXPORT_HEADER = [_("编号"), _("巡河人"), _("级别"), _("河段"), _("行政区"), _("开始时间"), _("时长(分钟)"),
                 _("里程(公里)"), _("缓冲区内比例"), _("覆盖率"), _("最高速度(km/h)"), _("有效"), _("原因"),
                 _("疑似作弊")]


COMPLIANCE_HEADER = [_("行政区"), _("级别"), _("河长"), _("职务"), _("河段"), _("周期"), _("应巡周期"), _("达标周期"),
                     _("有效巡河"), _("达标"), _("未达标周期")]


def _export_rows(qs):
    """Rows of the patrol export, read in chunks. Labels are translated once, not per row (the
    choices' lazy strings cost more than the row itself)."""
    levels = {k: str(v) for k, v in ChiefLevel.choices}
    yes, no = display.yes_no(True), display.yes_no(False)
    sep = display.reason_separator()
    for p in qs.iterator(chunk_size=2000):
        local = timezone.localtime(p.started_at)
        yield [p.pk, p.person.name, levels.get(p.level, p.level), p.feature.name, p.region.name,
               local.strftime("%Y-%m-%d %H:%M"), round(p.duration_s / 60, 1), round(p.length_m / 1000, 2),
               round(p.within_buffer_share, 3), round(p.coverage, 3), p.max_speed_kmh, yes if p.effective else no,
               sep.join(display.reasons(p.reasons)), ",".join(p.flags)]


@login_required
def patrol_page(request, patrol_id: int):
    p = (Patrol.objects.visible_to(request.user).select_related("feature", "person", "region")
         .prefetch_related("findings").filter(pk=patrol_id).first())
    if p is None:
        raise Http404("no such patrol in your jurisdiction")
    data = patrol_detail(p)
    names = dict(_categories())
    for f in data["findings"]:
        f["category_label"] = names.get(f["category"], f["category"])
    return render(request, "patrols/detail.html", {
        "p": p, "data": data, "reach": p.feature.geometry,
        "config": {"tileUrl": settings.TILE_URL}})


@login_required
def compliance_page(request):
    g = request.GET
    try:
        start, end, root = compliance_args(_date(g.get("start")), _date(g.get("end")), g.get("region"))
    except InvalidInput as exc:
        return render(request, "patrols/compliance.html",
                      {"error": gettext("查询条件有误：%(detail)s") % {"detail": exc.message}})
    level = g.get("level") or None
    duty = compliance.duties(request.user, start, end, root=root, level=level)
    if root is None:
        root = compliance.common_root(duty)
    rows = compliance.table(duty, root)
    chiefs = sorted((d for d in duty if d.due), key=lambda d: (d.ok, d.met / d.due, d.region_path, d.person))
    fmt = g.get("format")
    if fmt in ("csv", "xlsx"):
        header = [str(h) for h in COMPLIANCE_HEADER]
        sep = display.list_separator()
        out = [[d.region, dict(ChiefLevel.choices).get(d.level, d.level), d.person, d.role, d.feature,
                d.period, d.due, d.met, d.effective, display.yes_no(d.ok),
                sep.join(display.period_label(m) for m in d.missed)] for d in chiefs]
        return export.respond(request, fmt, "compliance", header, out, what="patrols.compliance", count=len(out),
                              title=_("巡河履职"))
    names = dict(ChiefLevel.choices)
    for r in rows:
        r.level_label = names.get(r.level, r.level)
    # a city has hundreds of duty posts: the region rows come first, the chiefs (worst first) by pages
    page = Paginator(chiefs, CHIEFS_PER_PAGE).get_page(g.get("page"))
    for d in page:
        d.period_label = display.PERIOD_KIND_LABELS[d.period]
        d.missed_labels = [display.period_label(m) for m in d.missed[:7]]
    trail = list(root.ancestors()) if root else []
    query = g.copy()
    query.pop("page", None)
    return render(request, "patrols/compliance.html", {
        "start": start, "end": end, "last": end - dt.timedelta(days=1), "root": root, "trail": trail,
        "rows": rows, "chiefs": page, "page": page, "n_chiefs": len(chiefs), "sep": display.list_separator(),
        "n_no_patrol": sum(d.none for d in chiefs), "level": level, "levels": ChiefLevel.choices,
        "query": query.urlencode()})


CHIEFS_PER_PAGE = 50


def finding_photo(request, finding_id: int):
    """/files/patrols/<finding id>: a finding's photo for whoever may see the patrol (404 outside)."""
    finding = get_visible_or_404(Finding, storage.viewer(request), pk=finding_id)
    if not finding.photo:
        raise Http404("the finding has no photo")
    # checked by content on upload, which chose the extension
    return storage.serve(finding.photo, storage.IMAGE_TYPES.get(finding.photo.name.rsplit(".", 1)[-1].lower(), ""))
