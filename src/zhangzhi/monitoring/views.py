"""Monitoring pages: the station list with latest classes, and a station page with ECharts series."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext

from . import gb3838, quality
from .models import Station


def class_label(value: str | None) -> str | None:
    """A GB 3838 class for display: 'III' stays 'III'; 劣V (worse than V) in the reader's language."""
    return gettext("劣V") if value == gb3838.WORST else value


@login_required
def stations(request):
    qs = list(Station.objects.visible_to(request.user).select_related("region", "feature"))
    latest = quality.latest_classes(qs)
    rows = [{"station": s, "latest": latest.get(s.pk)} for s in qs]
    for row in rows:
        if row["latest"]:
            row["class_label"] = class_label(row["latest"].get("class"))
    return render(request, "monitoring/stations.html", {"rows": rows})


@login_required
def station(request, station_id: int):
    s = get_object_or_404(Station.objects.visible_to(request.user).select_related("region", "feature"), pk=station_id)
    parameters = sorted(s.readings.values_list("parameter", flat=True).distinct())
    std = gb3838.default_standard()
    limits = {}
    for code in parameters:
        item = std.item(code, s.water_body)
        if item is None or not item.limits:
            continue
        limits[code] = {"name": item.name_cn, "unit": item.unit, "direction": item.direction,
                        "classes": {k: list(b) for k, b in zip(gb3838.CLASSES, item.limits, strict=True)}}
    months = quality.period_classes(s, "month")
    for m in months:
        m["class_label"] = class_label(m.get("class"))
    return render(request, "monitoring/station.html", {
        "station": s, "parameters": parameters, "limits": limits,
        "months": months, "alerts": s.alerts.all()[:50]})
