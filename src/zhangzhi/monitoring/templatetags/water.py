"""Display filters for monitoring pages: a parameter code shown by its name, a unit in the reader's language."""

from django import template
from django.utils.translation import gettext

from zhangzhi.monitoring import parameters

register = template.Library()


@register.filter
def item_name(code: str) -> str:
    """"w21003" → "氨氮(NH3-N)" (English when the page is English); "class" → "水质类别"."""
    return parameters.name(str(code))


@register.filter
def item_names(codes) -> str:
    return gettext("、").join(parameters.name(str(c)) for c in codes or ())


@register.filter
def item_unit(code: str) -> str:
    """"w01001" → "无量纲", "w21003" → "mg/L"."""
    return parameters.unit(str(code))
