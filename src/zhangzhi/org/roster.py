"""河长名录: the roster of chiefs as a tree by region and level, on any date.

Three queries whatever the size: the regions of the subtree, its features and its posts on the
day; the tree is assembled in memory.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q

from .models import Post, Region


def post_row(post: Post, *, public: bool = False) -> dict:
    row = {
        "id": post.pk,
        "person": post.person.name,
        "person_id": post.person_id,
        "title": post.person.title,
        "role": post.role.name,
        "role_code": post.role.code,
        "role_kind": post.role.kind,
        "level": post.level,
        "phone": post.person.phone,
        "feature": post.feature_id,
        "feature_name": post.feature.name if post.feature_id else None,
        "region": post.region.name,
        "valid_from": post.valid_from.isoformat(),
        "valid_to": post.valid_to.isoformat() if post.valid_to else None,
        "duties": post.duties,
        "illustrative": post.person.illustrative or post.region.illustrative
        or bool(post.feature_id and post.feature.illustrative),
    }
    if public:  # chiefs' names and posts are published; their personal phones are not
        row["phone"] = ""
    return row


def posts_on(day: dt.date | None, region: Region | None = None):
    qs = Post.objects.on(day).select_related("person", "role", "feature", "region")
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    return qs


def search(query: str, day: dt.date | None = None, region: Region | None = None, limit: int = 200,
           public: bool = True) -> list[dict]:
    """Posts whose person, feature (or its river) or region — or a region above it — matches `query`."""
    q = query.strip()
    if not q:
        return []
    # "平定" finds the chiefs of every township and village of 平定县, not only the county's own posts
    region_paths = list(Region.objects.filter(name__contains=q).values_list("path", flat=True)[:50])
    in_regions = Q(pk__in=[])
    for path in region_paths:
        in_regions |= Q(region__path__startswith=path)
    qs = posts_on(day, region).filter(
        Q(person__name__contains=q) | Q(feature__name__contains=q) | Q(feature__parent__name__contains=q)
        | Q(feature__parent__parent__name__contains=q) | in_regions
    ).order_by("region__path", "role__order", "pk")
    return [post_row(p, public=public) for p in qs[:limit]]


def tree(region: Region, day: dt.date | None = None, *, max_depth: int | None = None, public: bool = True) -> dict:
    """The roster below `region`: per region its regional posts (总河长, 河警长 …) and its features."""
    from zhangzhi.features.models import Feature

    regions = list(Region.objects.filter(path__startswith=region.path).only("id", "code", "name", "level", "path",
                                                                            "parent_id"))
    if max_depth is not None:
        regions = [r for r in regions if r.depth - region.depth <= max_depth]
    keep = {r.pk for r in regions}
    features = list(
        Feature.objects.filter(region_id__in=keep).select_related("kind")
        .only("id", "name", "code", "level", "parent_id", "region_id", "length_m", "illustrative", "kind__code",
              "kind__name")
        .order_by("kind__order", "code", "pk")
    )
    posts = [p for p in posts_on(day, region) if p.region_id in keep]
    nodes = {r.pk: {"id": r.pk, "code": r.code, "name": r.name, "level": r.level, "posts": [], "features": [],
                    "children": []} for r in regions}
    fnodes = {f.pk: {"id": f.pk, "name": f.name, "code": f.code, "kind": f.kind.code, "kind_name": f.kind.name,
                     "level": f.level, "length_m": f.length_m, "parent": f.parent_id, "posts": [],
                     "illustrative": f.illustrative} for f in features}
    for p in posts:
        row = post_row(p, public=public)
        if p.feature_id and p.feature_id in fnodes:
            fnodes[p.feature_id]["posts"].append(row)
        elif p.feature_id is None:
            nodes[p.region_id]["posts"].append(row)
    for f in features:
        nodes[f.region_id]["features"].append(fnodes[f.pk])
    for r in regions:
        if r.pk != region.pk and r.parent_id in nodes:
            nodes[r.parent_id]["children"].append(nodes[r.pk])
    return nodes[region.pk]
