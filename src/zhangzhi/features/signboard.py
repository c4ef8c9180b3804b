"""公示牌: what a feature's public signboard shows, shared by the page and the API."""

from __future__ import annotations

import segno
from django.conf import settings
from django.urls import reverse

from .models import Feature
from .roster import chiefs_of


def public_url(feature: Feature, request=None) -> str:
    path = reverse("web:signboard", args=[feature.pk])
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/") + path
    return request.build_absolute_uri(path) if request is not None else path


def qr_svg(url: str) -> str:
    """An SVG QR code (no XML declaration, so it can be inlined in HTML)."""
    return segno.make(url, error="m").svg_inline(scale=4, border=2, dark="#0b3d5c")


def signboard_data(feature: Feature, request=None) -> dict:
    url = public_url(feature, request)
    offices = list(feature.region.ancestors().prefetch_related("units"))
    office = None
    for r in reversed(offices):  # the nearest office with a phone answers the hotline
        for u in r.units.all():
            if u.kind == "office" and u.phone:
                office = u
                break
        if office:
            break
    return {
        "id": feature.pk,
        "name": feature.name,
        "kind": feature.kind.name,
        "code": feature.code,
        "level": feature.level,
        "region": " ".join(r.name for r in offices if r.level != "province"),
        "start": feature.start_name,
        "end": feature.end_name,
        "length_m": feature.length_m,
        "area_m2": feature.area_m2,
        # names, posts and duties are published; phones only as ZHANGZHI_SIGNBOARD_PHONE says: the office
        # hotline (default), or also each chief's published phone — never the personal one
        "chiefs": chiefs_of(feature, public=True),
        "show_phones": settings.SIGNBOARD_PHONE == "published",
        "office": office.name if office else "",
        "hotline": office.phone if office else settings.HOTLINE,
        "supervision_hotline": settings.HOTLINE,
        "url": url,
        "illustrative": feature.illustrative,
    }
