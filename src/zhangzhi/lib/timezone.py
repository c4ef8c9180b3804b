"""The platform's local time zone, for the modules that must not load Django.

Times are stored in UTC and shown, and cut into days, 旬 and months, in Asia/Shanghai (settings
take TIME_ZONE from here). Code that runs inside Django may equally use
``django.utils.timezone.get_current_timezone()``.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

LOCAL_TZ_NAME = "Asia/Shanghai"
LOCAL_TZ = ZoneInfo(LOCAL_TZ_NAME)
