"""Writes of the closed loop: report, the workflow actions, attachments, public intake, escalation.

One transaction each; every change goes into the case's append-only log. A state change is one
conditional UPDATE … WHERE version = n, so of two people acting on one case at the same moment
exactly one wins and the other hears 409 with the current state.

`actor=None` is a trusted internal caller (the demo, monitoring, patrols, periodic jobs), as in
org.actions; it may take any action unless `roles` narrows it (the public page passes
roles={"reporter"} for a rating made with the tracking code).

The writes live in modules by concern (base, intake, transitions, attachments, drone_import,
moderation, escalation); this package re-exports them, so `actions.act(...)` works as before.
"""

from zhangzhi.lib.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge

from .attachments import add_attachment
from .base import (
    ASSIGN_KINDS,
    CODE_ALPHABET,
    PUBLIC_ACTIONS,
    RATINGS,
    SOURCES,
    TRANSFER_KINDS,
    URGENCIES,
    _claim,
    _log,
    client_hash,
    new_code,
)
from .drone_import import import_drone
from .escalation import archive_stale, escalate_overdue, escalate_unaccepted
from .intake import duplicates, locate, public_report, report
from .moderation import flag_abuse, moderate
from .transitions import act, allowed_actions, roles_of

__all__ = [
    "ASSIGN_KINDS",
    "CODE_ALPHABET",
    "PUBLIC_ACTIONS",
    "RATINGS",
    "SOURCES",
    "TRANSFER_KINDS",
    "URGENCIES",
    "Conflict",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "TooLarge",
    "_claim",
    "_log",
    "act",
    "add_attachment",
    "allowed_actions",
    "archive_stale",
    "client_hash",
    "duplicates",
    "escalate_overdue",
    "escalate_unaccepted",
    "flag_abuse",
    "import_drone",
    "locate",
    "moderate",
    "new_code",
    "public_report",
    "report",
    "roles_of",
]
