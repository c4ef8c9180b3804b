"""河长名录: the posts of the roster on any date, how a post is shown (masked or published phone),
and the search. The tree by region with each region's features is `features.roster.tree` (it
reads features, which build on org).
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q

from zhangzhi.lib.masking import phone_for

from . import scope
from .models import Post, Region


def published_phone(person) -> str:
    """What the public roster and signboards print beside a chief: nothing (the office hotline is
    printed once per board), or the phone the chief agreed to publish (ZHANGZHI_SIGNBOARD_PHONE)."""
    return person.published_phone if settings.SIGNBOARD_PHONE == "published" else ""


def sees_whole_phone(viewer, person, region_paths) -> bool:
    """A person's phone is shown whole to themselves and to the offices that keep them (write
    scope over one of `region_paths`, the regions they work or hold posts in); masked to others."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return False
    if person.user_id is not None and person.user_id == viewer.pk:
        return True
    paths = scope.write_paths(viewer)
    return paths is None or any(rp.startswith(p) for rp in region_paths for p in paths if p)


def post_row(post: Post, *, public: bool = False, viewer=None) -> dict:
    """A post as the roster and the API show it. `public`: for anyone (published phone only);
    otherwise the chief's phone is whole for the office over the post's region, masked for others."""
    if public:  # chiefs' names and posts are published; their personal phones are not
        phone = published_phone(post.person)
    else:
        phone = phone_for(post.person.phone, sees_whole_phone(viewer, post.person, [post.region.path]))
    return {
        "id": post.pk,
        "person": post.person.name,
        "person_id": post.person_id,
        "title": post.person.title,
        "role": post.role.name,
        "role_code": post.role.code,
        "role_kind": post.role.kind,
        "level": post.level,
        "phone": phone,
        "feature": post.feature_id,
        "feature_name": post.feature.name if post.feature_id else None,
        "region": post.region.name,
        "valid_from": post.valid_from.isoformat(),
        "valid_to": post.valid_to.isoformat() if post.valid_to else None,
        "duties": post.duties,
        "illustrative": post.person.illustrative or post.region.illustrative
        or bool(post.feature_id and post.feature.illustrative),
    }


def posts_on(day: dt.date | None, region: Region | None = None):
    qs = Post.objects.public().on(day).select_related("person", "role", "feature", "region")
    if region is not None:
        qs = qs.filter(region__path__startswith=region.path)
    return qs


def search(query: str, day: dt.date | None = None, region: Region | None = None, limit: int = 200,
           public: bool = True, viewer=None) -> list[dict]:
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
    return [post_row(p, public=public, viewer=viewer) for p in qs[:limit]]

