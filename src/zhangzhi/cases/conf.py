"""Settings of the closed loop, with defaults; override in Django settings as ZHANGZHI_CASES = {...}."""

from __future__ import annotations

from django.conf import settings

DEFAULTS = {
    "DUPLICATE_RADIUS_M": 200,       # reports closer than this …
    "DUPLICATE_WINDOW_DAYS": 7,      # … and this close in time are suggested as duplicates
    "REACH_MAX_DISTANCE_M": 1500,    # a report farther than this from every reach has no reach
    "FAR_FROM_WATER_M": 500,         # the public report form warns (and still accepts) beyond this from any water
    "MAX_PHOTO_BYTES": 5 * 1024 * 1024,
    "PUBLIC_REPORTS_PER_HOUR": 5,    # per client IP
    "ABUSE_FLAGS_TO_HIDE": 3,
    "ARCHIVE_AFTER_DAYS": 15,        # closed and not rated → archived by `zhangzhi escalate`
    "ESCALATE_AGAIN_HOURS": 72,      # an escalated case still overdue goes one level up after this
    "ESCALATE_NEW_AFTER_HOURS": 48,  # a case not accepted (受理) within this goes to the next level's office
    # 无人机巡查 import: one upload (GeoJSON + ZIP of photos, or one ZIP with both)
    "DRONE_MAX_UPLOAD_BYTES": 200 * 1024 * 1024,    # each uploaded file as received
    "DRONE_MAX_UNZIPPED_BYTES": 400 * 1024 * 1024,  # all members of a ZIP together, as declared and as read
    "DRONE_MAX_ZIP_MEMBERS": 2000,
    "DRONE_MAX_POINTS": 500,
}


def get(name: str):
    return getattr(settings, "ZHANGZHI_CASES", {}).get(name, DEFAULTS[name])
