"""Shared pieces of the case actions: vocabularies, the log entry, the conditional UPDATE, input checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets

from django.conf import settings
from django.utils import timezone

from zhangzhi.lib.errors import Conflict, InvalidInput
from zhangzhi.org.actions import log_change
from zhangzhi.org.models import Unit

from ..models import Case, CaseLog

SOURCES = {c.value for c in Case.Source}
URGENCIES = {c.value for c in Case.Urgency}
RATINGS = {c.value for c in Case.Rating}
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
ASSIGN_KINDS = {Unit.Kind.OFFICE, Unit.Kind.DEPARTMENT, Unit.Kind.COMPANY, Unit.Kind.OTHER}
TRANSFER_KINDS = {Unit.Kind.POLICE, Unit.Kind.PROCURATORATE}
# log entries the reporter and the public page see (with the office's answer as the note)
PUBLIC_ACTIONS = {"report", "accept", "decline", "merge", "assign", "transfer", "reply", "verify", "redo",
                  "rate", "archive", "escalate"}


def _now(at):
    return at or timezone.now()


def _actor_name(actor) -> str:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return ""
    person = getattr(actor, "person", None)
    return person.name if person is not None else actor.get_username()


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def client_hash(ip: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{ip}".encode()).hexdigest()[:32]


def _log(case: Case, actor, action: str, *, at, from_state="", to_state="", note="", data=None,
         name: str = "") -> CaseLog:
    entry = CaseLog.objects.create(
        case=case, at=at, actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor) or name, action=action, from_state=from_state, to_state=to_state,
        note=note, data=data or {}, public=action in PUBLIC_ACTIONS)
    # the case's own log is its history; the audit log sees every write of the platform in one place
    log_change(actor, f"case_{action}", case, {"code": case.code, "log": entry.pk, **(data or {})},
               before={"state": from_state} if from_state else None, after={"state": to_state} if to_state else None)
    return entry


def _claim(case: Case, expected_version: int, fields: dict) -> None:
    """The conditional UPDATE: apply `fields` only if nobody changed the case since we read it."""
    fields = {**fields, "version": expected_version + 1}
    if Case.objects.filter(pk=case.pk, version=expected_version).update(**fields) != 1:
        current = Case.objects.filter(pk=case.pk).values("state", "version").first() or {}
        raise Conflict(
            f"the case was changed by someone else; it is now {current.get('state')} "
            f"(version {current.get('version')})",
            {"state": str(current.get("state")), "version": str(current.get("version"))},
            code="stale")
    for k, v in fields.items():
        setattr(case, k, v)


def _parse_deadline(value, at) -> dt.datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            # a bare date (the pages' date input) means the end of that day, not its first second
            value = (dt.date.fromisoformat(value) if len(value.strip()) == 10 else
                     dt.datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            raise InvalidInput(f"deadline {value!r} is not ISO 8601", {"deadline": "not ISO 8601"}) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(23, 59, 59))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value <= at:
        raise InvalidInput("the deadline must lie in the future", {"deadline": "in the past"})
    return value


def _check_point(lat, lon) -> tuple[float, float]:
    try:
        lat, lon = float(lat), float(lon)
    except (TypeError, ValueError):
        raise InvalidInput("lat and lon must be numbers", {"lat": "number", "lon": "number"}) from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise InvalidInput(f"({lat}, {lon}) is not a coordinate", {"lat": "range", "lon": "range"})
    return lat, lon
