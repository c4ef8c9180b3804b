"""河长名录 over features: the chiefs of a feature (its signboard, its detail) and the roster tree
by region with each region's features.

It lives here, above org, because it reads both: org keeps the posts and how a post is shown
(org.roster), features add the objects the posts are on. Three queries for the tree whatever the
size: the regions of the subtree, its features and its posts on the day; assembled in memory.
"""

from __future__ import annotations

import datetime as dt

from zhangzhi.org.models import Post, Region
from zhangzhi.org.roster import post_row, posts_on

from .models import Feature


def chiefs_of(feature: Feature, *, public: bool = False, viewer=None) -> list[dict]:
    """Current posts on the feature and on every feature above it (a reach's river …), top level first."""
    chain = [feature, *feature.ancestors()]
    posts = (Post.objects.public().current().filter(feature__in=chain)
             .select_related("person", "role", "feature", "region"))
    rank = {f.pk: i for i, f in enumerate(reversed(chain))}
    rows = sorted(posts, key=lambda p: (rank[p.feature_id], p.role.order, p.pk))
    return [post_row(p, public=public, viewer=viewer) for p in rows]


def tree(region: Region, day: dt.date | None = None, *, max_depth: int | None = None, public: bool = True,
         viewer=None) -> dict:
    """The roster below `region`: per region its regional posts (总河长, 河警长 …) and its features."""
    regions = list(Region.objects.filter(path__startswith=region.path).only("id", "code", "name", "level", "path",
                                                                            "parent_id"))
    if max_depth is not None:
        regions = [r for r in regions if r.depth - region.depth <= max_depth]
    keep = {r.pk for r in regions}
    features = list(
        Feature.objects.public().filter(region_id__in=keep).select_related("kind")
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
        row = post_row(p, public=public, viewer=viewer)
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
