"""Abuse flags on public reports and the office's moderation (审核) of them."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from zhangzhi.lib.errors import Forbidden
from zhangzhi.org import scope

from .. import conf
from ..models import AbuseFlag, Case
from .base import _claim, _log, _now, client_hash

logger = logging.getLogger("zhangzhi.cases.actions")


@transaction.atomic
def flag_abuse(case: Case, client_ip: str) -> bool:
    """Flag a public report as abuse, once per client; enough flags hide it. Returns hidden."""
    _, created = AbuseFlag.objects.get_or_create(case=case, client=client_hash(client_ip or "unknown"))
    if not created:
        return case.hidden
    count = AbuseFlag.objects.filter(case=case).count()
    fields = {"abuse_flags": count}
    # once the office has decided, flags no longer hide the report: its decision stands
    hide = count >= conf.get("ABUSE_FLAGS_TO_HIDE") and not case.hidden and case.moderated_at is None
    if hide:
        fields["hidden"] = True
    Case.objects.filter(pk=case.pk).update(**fields)
    case.abuse_flags = count
    if hide:
        case.hidden = True
        _log(case, None, "hide", at=timezone.now(), note=f"{count} abuse flags: hidden pending moderation",
             name="系统")
    return case.hidden


@transaction.atomic
def moderate(actor, case: Case, *, hidden: bool, note: str = "", at=None) -> Case:
    """审核: the office restores a flagged report (hidden=False) or confirms it stays hidden
    (hidden=True). Either way the decision is recorded and later flags no longer hide it."""
    at = _now(at)
    if actor is not None and not scope.can_write(actor, case.office.region):
        raise Forbidden("only the case's office moderates it")
    _claim(case, case.version, {"hidden": hidden, "moderated_at": at, "updated_at": at})
    _log(case, actor, "hide" if hidden else "unhide", at=at, note=note, name=case.office.name,
         data={"moderated": True, "flags": case.abuse_flags})
    logger.info("case %s moderated: hidden=%s", case.code, hidden)
    return case
