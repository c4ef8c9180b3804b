"""Small display filters: kilometres, square kilometres, level names."""

from django import template
from django.utils.translation import gettext as _

register = template.Library()

LEVEL_NAMES = {"province": "省级", "city": "市级", "county": "县级", "zone": "县级", "township": "乡级",
               "village": "村级"}


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
    name = LEVEL_NAMES.get(level)
    return _(name) if name else level
