"""Small display filters: kilometres, square kilometres, level names, roster groupings."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

LEVEL_NAMES = {"province": _("省级"), "city": _("市级"), "county": _("县级"), "zone": _("县级"),
               "township": _("乡级"), "village": _("村级")}
CIVIC_KINDS = {"civic", "patroller"}


@register.filter
def km(metres):
    try:
        return f"{float(metres) / 1000:.2f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def km2(m2):
    try:
        return f"{float(m2) / 1e6:.2f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def level_name(level):
    return LEVEL_NAMES.get(level, level)


@register.filter
def civic_posts(posts):
    """民间河长 and 巡河员 of a feature, listed apart from the chiefs (there may be dozens)."""
    return [p for p in posts or () if p.get("role_kind") in CIVIC_KINDS]
