"""Display filters for monitoring pages: a parameter code shown as its GB 3838 item name."""

from django import template
from django.utils.translation import get_language

from zhangzhi.monitoring import gb3838

register = template.Library()


def _name(code: str) -> str:
    try:
        std = gb3838.default_standard()
        item = std.item(code, "river") or std.item(code, "lake")
    except Exception:  # the limits file is unavailable: the code still says what it is
        item = None
    if item is None:
        return code
    english = (get_language() or "").startswith("en")
    # the CSV's names carry qualifiers like "(as P), rivers"; the first part is the name people use
    name = item.name_en if english else item.name_cn
    return name.split(",")[0] if english else name


@register.filter
def item_name(code: str) -> str:
    """"w21003" → "氨氮(NH3-N)" (English when the page is English)."""
    return _name(str(code))


@register.filter
def item_names(codes) -> str:
    return "、".join(_name(str(c)) for c in codes or ())
