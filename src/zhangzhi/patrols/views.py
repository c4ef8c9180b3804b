"""Patrol pages: the mobile recorder (PWA), list, detail, compliance, exports. Thin views over
the API's query helpers, so the pages and /api/v1/patrols filter alike."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

from zhangzhi.lib.errors import InvalidInput
from zhangzhi.org.models import ChiefLevel, Post, Region

from . import compliance, periods
from .api import compliance_args, filtered, patrol_detail
from .models import Patrol

FALLBACK_CATEGORIES = [("garbage", "垃圾"), ("dumping", "乱堆"), ("occupation", "乱占"), ("illegal_sand", "乱采"),
                       ("construction", "乱建"), ("outfall", "排污口"), ("facility", "设施损坏"), ("other", "其他")]


def _categories() -> list[tuple[str, str]]:
    try:
        from zhangzhi.cases.models import Category

        rows = list(Category.objects.filter(active=True, children__isnull=True).order_by("order", "pk")
                    .values_list("code", "name"))
    except Exception:  # the closed loop is not installed yet
        rows = []
    return rows or FALLBACK_CATEGORIES


@login_required
@ensure_csrf_cookie
def mobile(request):
    """巡河 on the phone: pick a reach, record, add findings, upload (queued offline)."""
    person = getattr(request.user, "person", None)
    posts = []
    if person is not None:
        posts = (Post.objects.current().filter(person=person, feature__kind__geometry="line")
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
    data = {"name": "长制 · 巡河", "short_name": "巡河", "start_url": "/m/patrol", "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff", "theme_color": "#1f4e79", "lang": "zh-CN",
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
        qs, params["error"] = Patrol.objects.none(), str(exc)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = [_export_row(p) for p in qs.defer("track", "signature")[:100_000]]
        return _export(fmt, "patrols", EXPORT_HEADER, rows)
    page = Paginator(qs.defer("track", "signature"), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "patrols/list.html", {
        "page": page, "params": params, "levels": ChiefLevel.choices, "query": query.urlencode(),
        "flags": ["driving", "jump", "duplicate", "no_jitter", "short_and_long"]})


EXPORT_HEADER = ["编号", "巡河人", "级别", "河段", "行政区", "开始时间", "时长(分钟)", "里程(公里)", "缓冲区内比例",
                 "覆盖率", "最高速度(km/h)", "有效", "原因", "疑似作弊"]


def _export_row(p: Patrol) -> list:
    local = timezone.localtime(p.started_at)
    return [p.pk, p.person.name, p.get_level_display(), p.feature.name, p.region.name, local.strftime("%Y-%m-%d %H:%M"),
            round(p.duration_s / 60, 1), round(p.length_m / 1000, 2), round(p.within_buffer_share, 3),
            round(p.coverage, 3), p.max_speed_kmh, "是" if p.effective else "否", "；".join(p.reasons),
            ",".join(p.flags)]


def _export(fmt: str, name: str, header: list[str], rows: list[list]) -> HttpResponse:
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        buf = io.StringIO()
        buf.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM as Chinese text
        w = csv.writer(buf)
        w.writerow(header)
        w.writerows(rows)
        resp = HttpResponse(buf.getvalue(), content_type="text/csv; charset=utf-8")
        resp["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
        return resp
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(name)
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    resp = HttpResponse(out.getvalue(),
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    resp["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.xlsx"'
    return resp


@login_required
def patrol_page(request, patrol_id: int):
    p = (Patrol.objects.visible_to(request.user).select_related("feature", "person", "region")
         .prefetch_related("findings").filter(pk=patrol_id).first())
    if p is None:
        raise Http404("no such patrol in your jurisdiction")
    data = patrol_detail(p)
    return render(request, "patrols/detail.html", {
        "p": p, "data": data, "reach": p.feature.geometry,
        "config": {"tileUrl": settings.TILE_URL}})


def _date(raw):
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@login_required
def compliance_page(request):
    g = request.GET
    try:
        start, end, root = compliance_args(_date(g.get("start")), _date(g.get("end")), g.get("region"))
    except InvalidInput as exc:
        return render(request, "patrols/compliance.html", {"error": exc.message})
    level = g.get("level") or None
    duty = compliance.duties(request.user, start, end, root=root, level=level)
    if root is None:
        root = compliance.common_root(duty)
    rows = compliance.table(duty, root)
    chiefs = sorted((d for d in duty if d.due), key=lambda d: (d.ok, d.met / d.due, d.region_path, d.person))
    fmt = g.get("format")
    if fmt in ("csv", "xlsx"):
        header = ["行政区", "级别", "河长", "职务", "河段", "周期", "应巡周期", "达标周期", "有效巡河", "达标",
                  "未达标周期"]
        out = [[d.region, dict(ChiefLevel.choices).get(d.level, d.level), d.person, d.role, d.feature,
                d.period, d.due, d.met, d.effective, "是" if d.ok else "否", "、".join(d.missed)] for d in chiefs]
        return _export(fmt, "compliance", header, out)
    names = dict(ChiefLevel.choices)
    for r in rows:
        r.level_label = names.get(r.level, r.level)
    for d in chiefs:
        d.period_label = periods.LABELS[d.period]
    trail = list(root.ancestors()) if root else []
    query = g.copy()
    return render(request, "patrols/compliance.html", {
        "start": start, "end": end, "last": end - dt.timedelta(days=1), "root": root, "trail": trail,
        "rows": rows, "chiefs": chiefs[:500], "n_chiefs": len(chiefs),
        "n_no_patrol": sum(d.none for d in chiefs), "level": level, "levels": ChiefLevel.choices,
        "query": query.urlencode(), "child_level": Region.objects.filter(parent=root).exists() if root else True})
