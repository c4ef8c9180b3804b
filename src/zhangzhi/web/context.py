"""Template context shared by every page."""

import logging

from django.conf import settings
from django.db import DatabaseError

log = logging.getLogger(__name__)


def site(request):
    return {"TILE_URL": settings.TILE_URL, "TILE_ATTRIBUTION": settings.TILE_ATTRIBUTION,
            "HOTLINE": settings.HOTLINE, "inbox_total": _InboxTotal(request)}


class _InboxTotal:
    """The menu's 待办 (N), counted when a template first shows it and then kept for the request:
    a page that does not show the menu pays nothing; one that does, a bounded number of queries
    (`cases.queries.waiting_total`). The inbox page passes its own total instead."""

    def __init__(self, request):
        self.request, self.value = request, None

    def __call__(self) -> int | None:
        if self.value is None:
            user = getattr(self.request, "user", None)
            if user is None or not user.is_authenticated:
                return None
            from zhangzhi.cases.queries import waiting_total

            try:
                self.value = waiting_total(user)
            except DatabaseError:  # an error page must still render its menu
                log.exception("counting the menu's 待办 failed")
                return None
        return self.value
