"""A production deployment refuses to start while the demo's accounts exist."""

from django.conf import settings
from django.core.checks import Error, register

DEMO_USERNAMES = ("city-office", "county-office", "township-chief", "village-chief", "other-county-chief",
                  "member-unit", "volunteer")


@register(deploy=False)
def no_demo_users_in_production(app_configs, **kwargs):
    if not settings.PRODUCTION:
        return []
    from django.contrib.auth import get_user_model
    from django.db import DatabaseError

    try:
        found = list(get_user_model().objects.filter(username__in=DEMO_USERNAMES)
                     .values_list("username", flat=True))
    except DatabaseError:  # not migrated yet: nothing to refuse
        return []
    if found:
        return [Error(f"demo accounts exist in a production database: {', '.join(sorted(found))}",
                      hint="delete them (or load the demo only into a non-production database)",
                      id="zhangzhi.E001")]
    return []
