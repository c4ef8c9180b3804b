"""The workflow actions (受理, 交办, 回复, 核查 …): who may take which, and taking one."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from zhangzhi.lib.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhangzhi.org import scope
from zhangzhi.org.models import Unit

from .. import routing, workflow
from ..models import Case
from .base import ASSIGN_KINDS, RATINGS, TRANSFER_KINDS, _claim, _log, _now, _parse_deadline


def roles_of(actor, case: Case) -> set[str]:
    if actor is None:
        return {workflow.OFFICE, workflow.ASSIGNEE, workflow.REPORTER, workflow.SYSTEM}
    if not getattr(actor, "is_authenticated", False):
        return set()
    if actor.is_superuser:
        return {workflow.OFFICE, workflow.ASSIGNEE, workflow.REPORTER}
    roles = set()
    if scope.can_write(actor, case.office.region):
        roles.add(workflow.OFFICE)
    if case.assignee_id and Unit.objects.filter(pk=case.assignee_id, people__user=actor).exists():
        roles.add(workflow.ASSIGNEE)
    if case.reporter_id and case.reporter_id == actor.pk:
        roles.add(workflow.REPORTER)
    return roles


def allowed_actions(actor, case: Case) -> list[str]:
    return workflow.allowed(case.kind, case.state, roles_of(actor, case))


def _target_unit(unit, case: Case, kinds: set[str], action: str) -> Unit:
    if unit is None or unit == "":
        raise InvalidInput(f"{action} needs an assignee (a unit id)", {"assignee": "required"})
    if not isinstance(unit, Unit):
        try:
            unit = Unit.objects.select_related("region").filter(pk=int(unit)).first()
        except (TypeError, ValueError):
            unit = None
        if unit is None:
            raise InvalidInput("unknown unit", {"assignee": "unknown unit; see GET /api/v1/units"})
    if unit.kind not in kinds:
        hint = "transfer goes to police or the procuratorate" if action == "transfer" else \
            "police and the procuratorate take cases by transfer"
        raise InvalidInput(f"{unit.name} is a {unit.kind}: {hint}", {"assignee": hint})
    office_path = case.office.region.path
    # below the office, or a unit above the case's place (a city member unit, the county police)
    if not (unit.region.path.startswith(office_path) or case.region.path.startswith(unit.region.path)):
        raise InvalidInput(f"{unit.name} is outside {case.office.name}'s reach", {"assignee": "outside"})
    if unit.pk == case.office_id:
        raise InvalidInput("a case cannot be assigned to its own office", {"assignee": "own office"})
    return unit


@transaction.atomic
def act(actor, case: Case, action: str, *, note: str = "", assignee=None, deadline=None, rating: str = "",
        into=None, version: int | None = None, at=None, roles: set[str] | None = None) -> Case:
    """Take one workflow action on a case: check role (403), state (409), body (422), then apply."""
    at = _now(at)
    note = (note or "").strip()
    try:
        target = workflow.decide(case.kind, case.state, action,
                                 roles if roles is not None else roles_of(actor, case))
    except workflow.UnknownAction as exc:
        raise NotFound(str(exc)) from None
    except workflow.NotPermitted as exc:
        raise Forbidden(str(exc)) from None
    except workflow.WrongState as exc:
        raise Conflict(str(exc), {"state": case.state, "version": str(case.version)}, code="wrong_state") from None
    t = workflow.kind(case.kind).transitions[action]
    if "note" in t.needs and not note:
        raise InvalidInput(f"{action} needs a note (the reason or the answer)", {"note": "required"})
    expected = case.version if version is None else int(version)
    fields: dict = {"state": target, "updated_at": at}
    data: dict = {}
    extra_log = None

    if action == "decline":
        fields["public_note"] = note
    elif action == "merge":
        other = into if isinstance(into, Case) else Case.objects.filter(pk=into).select_related("office").first() \
            if str(into or "").isdigit() else None
        if other is None:
            raise InvalidInput("merge needs `into`: the id of the case to merge into", {"into": "unknown case"})
        if other.pk == case.pk or other.state in (workflow.MERGED, workflow.DECLINED):
            raise InvalidInput("cannot merge into this case", {"into": "itself, merged or declined"})
        if actor is not None and workflow.OFFICE not in roles_of(actor, other):
            raise Forbidden("the case to merge into is outside your jurisdiction")
        fields["merged_into"] = other
        data["into"] = other.pk
        extra_log = (other, {"merged": case.pk})
    elif action in ("assign", "transfer"):
        unit = _target_unit(assignee, case, ASSIGN_KINDS if action == "assign" else TRANSFER_KINDS, action)
        when = _parse_deadline(deadline, at) or at + dt.timedelta(days=case.category.days)
        fields.update(assignee=unit, assigned_at=at, deadline=when, requirements=note)
        data.update(assignee=unit.pk, assignee_name=unit.name, deadline=when.isoformat())
    elif action == "return":
        if not workflow.can_return(case.assigned_at, at):
            raise Conflict(f"a case can be returned within {workflow.RETURN_WINDOW_HOURS} hours of assignment; "
                           f"it was assigned at {timezone.localtime(case.assigned_at):%Y-%m-%d %H:%M}",
                           {"state": case.state, "version": str(case.version)}, code="return_window")
        data["assignee"] = case.assignee_id
        fields.update(assignee=None, assigned_at=None, deadline=None)
    elif action == "reply":
        fields["public_note"] = note
    elif action == "verify":
        fields.update(closed_at=at, handling_seconds=max(0, int((at - case.reported_at).total_seconds())))
    elif action == "redo":
        when = _parse_deadline(deadline, at) or at + dt.timedelta(days=max(3, case.category.days // 2))
        fields.update(deadline=when)
        data["deadline"] = when.isoformat()
    elif action == "urge":
        fields["urged"] = case.urged + 1
    elif action == "supervise":
        fields["supervised"] = True
    elif action == "escalate":
        above = routing.office_above(case.office)
        if above is None:
            raise Conflict(f"{case.office.name} is the top office: there is no level to escalate to",
                           {"state": case.state, "version": str(case.version)}, code="top_level")
        fields.update(office=above, escalations=case.escalations + 1, escalated_at=at)
        data.update(office=above.pk, office_name=above.name, **({"from": case.office.name}))
    elif action == "rate":
        if rating not in RATINGS:
            raise InvalidInput(f"rating must be one of {', '.join(sorted(RATINGS))}", {"rating": "unknown"})
        fields.update(rating=rating, archived_at=at)
        data["rating"] = rating
    elif action == "archive":
        fields["archived_at"] = at

    from_state = case.state
    # shown when the actor has no login of their own (the demo, jobs, the public with a code)
    who = (getattr(case.assignee, "name", "") if action in ("return", "take", "reply") else
           "举报人" if action == "rate" else
           "系统" if roles == {workflow.SYSTEM} else case.office.name)
    _claim(case, expected, fields)
    _log(case, actor, action, at=at, from_state=from_state, to_state=target, note=note, data=data, name=who)
    if extra_log is not None:
        other, d = extra_log
        _log(other, actor, "merged", at=at, note=f"{case.code} 并入本件", data=d, name=who)
    return case
