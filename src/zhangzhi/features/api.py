"""API for managed objects: list (JSON or GeoJSON), detail, chiefs, create, import, export, signboard."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.shortcuts import get_object_or_404
from ninja import Body, Router, Schema, Status
from pydantic import Field

from zhangzhi.lib.errors import Forbidden, InvalidInput
from zhangzhi.lib.params import Id
from zhangzhi.org import scope
from zhangzhi.org.api import region_row
from zhangzhi.org.models import Post, Region
from zhangzhi.org.roster import search

from . import actions
from .models import Feature, FeatureKind
from .roster import chiefs_of, tree
from .signboard import signboard_data

router = Router(tags=["features"])


def feature_row(f: Feature) -> dict:
    return {"id": f.pk, "name": f.name, "kind": f.kind.code, "level": f.level, "code": f.code,
            "region": f.region.code, "region_name": f.region.name, "parent": f.parent_id,
            "length_m": f.length_m, "area_m2": f.area_m2, "illustrative": f.illustrative}


@router.get("/feature-kinds", auth=None)
def kinds(request):
    return {"kinds": [{"code": k.code, "name": k.name, "system": k.system.code, "geometry": k.geometry,
                       "is_part": k.is_part} for k in FeatureKind.objects.select_related("system")]}


@router.get("/features", summary="Features; filter by kind, region (code, with everything below), level, "
            "parent, bbox=minlon,minlat,maxlon,maxlat; ?format=geojson for a FeatureCollection")
def features(request, kind: str | None = None, region: str | None = None, level: str | None = None,
             parent: Id | None = None, bbox: str | None = None, format: str = "json",
             limit: Annotated[int, Field(ge=1, le=20000)] = 5000):
    qs = Feature.objects.visible_to(request.auth).select_related("kind", "region")
    if kind:
        qs = qs.filter(kind__code__in=kind.split(","))
    qs = scope.within_region(qs, region)
    if level:
        qs = qs.filter(level__in=level.split(","))
    if parent:
        qs = qs.filter(parent_id=parent)
    if bbox:
        try:
            box = [float(v) for v in bbox.split(",")]
            if len(box) != 4:
                raise ValueError
        except ValueError:
            raise InvalidInput("bbox must be minlon,minlat,maxlon,maxlat", {"bbox": "four numbers"}) from None
        qs = qs.in_bbox(*box)
    limit = max(1, min(limit, 20000))
    if format == "geojson":
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f.pk, "geometry": f.geometry, "properties": feature_row(f)}
            for f in qs[:limit]]}
    return {"features": [feature_row(f) for f in qs.defer("geometry")[:limit]]}


@router.get("/features/export", summary="Export features as the FeatureCollection the import takes")
def export(request, region: str | None = None, kind: str | None = None):
    qs = Feature.objects.visible_to(request.auth)
    if region:
        root = scope.region_by_code(region)
        qs = qs.filter(region__path__startswith=root.path)
    if kind:
        qs = qs.filter(kind__code__in=kind.split(","))
    return actions.export_features(qs.order_by("pk"), actor=request.auth, region=root if region else None)


@router.post("/features/import", response={201: dict},
             summary="Import a GeoJSON FeatureCollection (properties name, kind, level, code, parent, region); "
             "all or nothing")
def import_(request, collection: dict[str, Any] = Body(...)):
    created = actions.import_features(request.auth, collection)
    return Status(201, {"imported": len(created), "ids": [f.pk for f in created]})


class FeatureIn(Schema):
    name: str
    kind: str
    level: str
    geometry: dict[str, Any]
    region: str | None = None
    parent: int | None = None
    code: str | None = None
    start_name: str = ""
    end_name: str = ""
    description: str = ""


@router.post("/features", response={201: dict})
def create(request, body: FeatureIn):
    region = parent = None
    if body.region:
        region = scope.region_by_code(body.region)
    if body.parent:
        parent = Feature.objects.visible_to(request.auth).filter(pk=body.parent).first()
        if parent is None:
            raise InvalidInput(f"no feature {body.parent}", {"parent": "unknown"})
    f = actions.create_feature(request.auth, name=body.name, kind=body.kind, level=body.level,
                               geometry=body.geometry, region=region, parent=parent, code=body.code,
                               start_name=body.start_name, end_name=body.end_name, description=body.description)
    return Status(201, feature_row(Feature.objects.editable_by(request.auth).select_related("kind", "region")
                                   .get(pk=f.pk)))


class FeaturePatch(Schema):
    name: str | None = None
    start_name: str | None = None
    end_name: str | None = None
    description: str | None = None
    geometry: dict[str, Any] | None = None


@router.patch("/features/{feature_id}")
def update(request, feature_id: int, body: FeaturePatch):
    f = get_object_or_404(Feature.objects.visible_to(request.auth).select_related("kind", "region"), pk=feature_id)
    if not scope.can_write(request.auth, f.region):
        raise Forbidden(f"{f.name} is outside your jurisdiction")
    changes = body.dict(exclude_none=True)
    actions.update_feature(request.auth, f, **changes)
    return feature_row(f)


@router.get("/features/{feature_id}")
def detail(request, feature_id: int):
    f = get_object_or_404(Feature.objects.visible_to(request.auth).select_related("kind", "region", "parent"),
                          pk=feature_id)
    return {**feature_row(f), "geometry": f.geometry, "start_name": f.start_name, "end_name": f.end_name,
            "description": f.description, "ancestors": [{"id": a.pk, "name": a.name} for a in f.ancestors()]}


@router.get("/features/{feature_id}/posts", summary="Current chiefs of a feature and of every feature above it")
def feature_posts(request, feature_id: int):
    f = get_object_or_404(Feature.objects.visible_to(request.auth).select_related("parent__parent__parent"),
                          pk=feature_id)
    return {"posts": chiefs_of(f, viewer=request.auth)}


@router.get("/signboards/{feature_id}", auth=None, summary="Public signboard (公示牌) data of a feature")
def signboard(request, feature_id: int):
    f = get_object_or_404(Feature.objects.public().select_related("kind", "region", "parent"), pk=feature_id)
    return signboard_data(f, request)


@router.get("/dashboard/summary", summary="Counts for the one-map side panel, within the caller's jurisdiction")
def summary(request):
    from django.db.models import Count
    from django.utils.translation import gettext as _

    feats = Feature.objects.visible_to(request.auth)
    by_kind = dict(feats.values_list("kind__code").annotate(n=Count("id")).values_list("kind__code", "n"))
    posts = Post.objects.visible_to(request.auth).current()
    chiefs = dict(posts.filter(role__kind__in=["general", "deputy_general", "chief", "deputy"])
                  .values_list("level").annotate(n=Count("person", distinct=True)).values_list("level", "n"))
    level_label = {"province": _("省级河长"), "city": _("市级河长"), "county": _("县级河长"),
                   "township": _("乡级河长"), "village": _("村级河长")}
    counts = [
        {"key": "rivers", "label": _("河流"), "value": by_kind.get("river", 0)},
        {"key": "reaches", "label": _("河段"), "value": by_kind.get("reach", 0)},
        {"key": "lakes", "label": _("湖泊水库"), "value": by_kind.get("lake", 0) + by_kind.get("reservoir", 0)},
    ]
    counts += [{"key": f"chiefs_{lvl}", "label": label, "value": chiefs.get(lvl, 0)}
               for lvl, label in level_label.items() if chiefs.get(lvl)]
    return {"counts": counts}


# -- roster (public; here rather than in org because the tree shows features) -------------------------

@router.get("/roster", auth=None, summary="The public roster (河长名录) as a tree, or matches for ?q=")
def roster_view(request, region: str | None = None, date: dt.date | None = None, q: str | None = None,
                depth: int | None = None):
    regions = Region.objects.unrestricted("the roster is public")
    root = (get_object_or_404(regions, code=region) if region
            else regions.filter(parent__isnull=True).order_by("pk").first())
    if root is None:
        return {"region": None, "matches": []}
    public = not request.user.is_authenticated
    if q:
        return {"region": region_row(root), "matches": search(q, date, root, public=public, viewer=request.user)}
    return {"region": region_row(root), "tree": tree(root, date, max_depth=depth, public=public,
                                                     viewer=request.user)}
