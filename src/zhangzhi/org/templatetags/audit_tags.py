"""Template filters of the audit page."""

from django import template
from django.utils.html import format_html_join

register = template.Library()


@register.filter
def fields(data):
    """A before/after dict as one `field: value` line each, readable by an auditor (not a Python repr)."""
    if not isinstance(data, dict) or not data:
        return ""
    return format_html_join("", '<div><span class="muted">{}</span>: {}</div>',
                            ((k, "—" if v in (None, "") else v) for k, v in data.items()))
