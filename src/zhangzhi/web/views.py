"""Pages. Thin: each gathers data through the apps' query helpers and renders a template."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from zhangzhi.features import roster as features_roster
from zhangzhi.features.models import Feature
from zhangzhi.features.signboard import public_url, qr_svg, signboard_data
from zhangzhi.lib.params import date_or_none
from zhangzhi.org import roster as roster_q
from zhangzhi.org.models import Region


def home(request):
    if request.user.is_authenticated:
        return redirect("web:dashboard")
    return render(request, "web/home.html")


@login_required
def dashboard(request):
    return render(request, "web/dashboard.html")


def roster(request):
    """河长名录, public: a tree by region and level, or the matches of a search."""
    code = request.GET.get("region") or ""
    root = Region.objects.filter(code=code).first() if code else None
    if root is None:
        root = (Region.objects.filter(level="city", features__isnull=False).order_by("path").first()
                or Region.objects.filter(parent__isnull=True).first())
    day = date_or_none(request.GET.get("date"))
    q = (request.GET.get("q") or "").strip()
    public = not request.user.is_authenticated
    ctx = {"root": root, "day": day, "q": q, "today": timezone.localdate()}
    if root is not None:
        ctx["trail"] = list(root.ancestors())
        ctx["demo"] = (Feature.objects.public().filter(region__path__startswith=root.path, illustrative=True).exists()
                       or Region.objects.filter(path__startswith=root.path, illustrative=True).exists())
        if q:
            ctx["matches"] = roster_q.search(q, day, root, public=public, viewer=request.user)
            # a region's name leads to its part of the tree, with everyone below it
            ctx["regions"] = list(Region.objects.filter(path__startswith=root.path, name__contains=q,
                                                        code__isnull=False).order_by("path")[:12])
        else:
            ctx["tree"] = features_roster.tree(root, day, public=public, viewer=request.user)
    return render(request, "web/roster.html", ctx)


def signboard(request, feature_id: int):
    """公示牌, public, printable on A4."""
    feature = get_object_or_404(Feature.objects.public().select_related("kind", "region", "parent"), pk=feature_id)
    data = signboard_data(feature, request)
    return render(request, "web/signboard.html", {"board": data, "qr": qr_svg(data["url"])})


def signboard_qr(request, feature_id: int):
    feature = get_object_or_404(Feature.objects.public(), pk=feature_id)
    return HttpResponse(qr_svg(public_url(feature, request)), content_type="image/svg+xml")
