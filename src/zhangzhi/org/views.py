"""The audit log's reading page and its exports (审计管理员: read and export, change nothing).

Thin: `audit.readable` applies the permission and the jurisdiction, `lib.export` the download.
(Account pages live in `account_views.py`.)
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render

from zhangzhi.lib import export
from zhangzhi.lib.params import date_or_none as _date

from . import audit
from .models import ChangeLog

PAGE = 50


def _filtered(request):
    if not audit.can_read(request.user):
        raise PermissionDenied("reading the audit log needs the audit administrator's permission")
    g = request.GET
    kind = g.get("kind") if g.get("kind") in ChangeLog.Kind.values else ""
    return audit.readable(request.user, who=(g.get("who") or "").strip(), kind=kind,
                          model=(g.get("model") or "").strip(), since=_date(g.get("since")),
                          until=_date(g.get("until"))).select_related("region")


@login_required
def audit_log(request):
    """安全审计日志: filters by who, kind, object type and date; newest first."""
    qs = _filtered(request)
    page = Paginator(qs, PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "org/audit.html", {"page": page, "g": request.GET, "kinds": ChangeLog.Kind.choices,
                                              "query": query.urlencode()})


@login_required
def audit_export(request, fmt: str):
    """The filtered log as CSV or Excel; the export itself is recorded (before the rows are read,
    so it appears in the file it produces)."""
    qs = _filtered(request)
    return export.respond(request, fmt, "audit-log", audit.EXPORT_COLUMNS, audit.export_rows(qs),
                          what="org.ChangeLog", personal=True)
