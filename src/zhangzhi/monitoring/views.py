"""Monitoring pages: the station list with latest classes, and a station page whose chart loads after first paint.

Both read the daily values (monitoring.aggregates), never a year of readings: the list grades each station's
latest day, the station page its months; the chart's series comes from the API
(``/api/v1/stations/<id>/series``) once the page is shown.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext

from . import gb3838, parameters, quality
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


def _parameter_order(codes) -> list[str]:
    """GB 3838 items in the standard's order, then the others by code."""
    order = {c: i for i, item in enumerate(gb3838.default_standard().items) for c in item.codes}
    return sorted(codes, key=lambda c: (order.get(c, len(order)), c))


@login_required
def station(request, station_id: int):
    s = get_object_or_404(Station.objects.visible_to(request.user).select_related("region", "feature"), pk=station_id)
    codes = set(s.daily_values.values_list("parameter", flat=True).distinct().order_by())
    codes = _parameter_order(codes)
    std = gb3838.default_standard()
    info = {}
    for code in codes:
        item = std.item(code, s.water_body)
        row = {"name": parameters.name(code), "unit": parameters.unit(code, s.parameters.get(code, ""))}
        if item is not None and item.limits:
            row.update(direction=item.direction,
                       classes={k: list(b) for k, b in zip(gb3838.CLASSES, item.limits, strict=True)})
        info[code] = row
    months = quality.period_classes(s, "month")
    for m in months:
        m["class_label"] = class_label(m.get("class"))
    return render(request, "monitoring/station.html", {
        "station": s, "parameters": codes, "info": info, "months": months,
        "alerts": s.alerts.all()[:50]})
