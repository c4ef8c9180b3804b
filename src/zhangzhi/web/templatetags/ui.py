"""Template helpers of the design system: which case action is the primary one, which are dangerous.

The workflow says what a user may do now (`allowed`); this module only orders it for the page: the one
action that moves the case forward comes first, as the primary button, and the others wait behind
更多操作. Refusing or sending back (不予受理, 责任退回, 重办) is styled as danger.
"""

from __future__ import annotations

from django import template

register = template.Library()

# the step that moves a case forward in each state, most specific first
PRIMARY_ORDER = ("accept", "take", "reply", "verify", "assign", "rate", "archive", "urge")
DANGER = frozenset({"decline", "return", "redo"})


@register.simple_tag
def case_actions(allowed, duplicates=()):
    """{"primary": action or None, "more": [actions]}; 合并 only when there is a case to merge into."""
    acts = [a for a in allowed if a != "merge" or duplicates]
    primary = next((a for a in PRIMARY_ORDER if a in acts), acts[0] if acts else None)
    if primary in DANGER:  # never make a refusal the obvious button
        primary = None
    return {"primary": primary, "more": [a for a in acts if a != primary]}


@register.filter
def is_danger(action) -> bool:
    return action in DANGER
