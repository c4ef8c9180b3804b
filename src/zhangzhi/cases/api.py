"""API of the closed loop: categories, cases, workflow actions, attachments, inbox and statistics."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from pydantic import Field

from zhangzhi.lib.errors import Forbidden, InvalidInput, NotFound
from zhangzhi.lib.params import Id, Offset
from zhangzhi.org import scope

from . import actions, drone, queries, workflow
from .models import Case, Category

router = Router(tags=["cases"])


def case_row(c: Case, now=None) -> dict:
    now = now or timezone.now()
    return {
        "id": c.pk, "code": c.code, "kind": c.kind, "category": c.category.code, "category_name": c.category.name,
        "description": c.description, "urgency": c.urgency, "source": c.source, "lat": c.lat, "lon": c.lon,
        "region": c.region.code, "region_name": c.region.name,
        "feature": c.feature_id, "feature_name": c.feature.name if c.feature_id else None,
        "office": c.office_id, "office_name": c.office.name,
        "assignee": c.assignee_id, "assignee_name": c.assignee.name if c.assignee_id else None,
        "state": c.state, "state_label": str(Case.State(c.state).label), "deadline": c.deadline,
        "overdue": c.is_overdue(now), "supervised": c.supervised, "urged": c.urged, "escalations": c.escalations,
        "rating": c.rating or None, "reported_at": c.reported_at, "closed_at": c.closed_at, "version": c.version,
        "hidden": c.hidden,
    }


def log_row(e) -> dict:
    return {"at": e.at, "actor": e.actor_name, "action": e.action, "from": e.from_state, "to": e.to_state,
            "note": e.note, "data": e.data}


def get_case(user, case_id: int) -> Case:
    case = queries.with_relations(Case.objects.visible_to(user)).filter(pk=case_id).first()
    if case is None:
        raise NotFound(f"no case {case_id} in your jurisdiction")
    return case


# -- categories -------------------------------------------------------------------------------------

@router.get("/case-categories", auth=None, summary="The category tree (codes for POST /cases and Open311)")
def categories(request):
    rows = Category.objects.filter(active=True)
    return {"categories": [{"code": c.code, "name": c.name, "name_en": c.name_en,
                            "parent": c.parent.code if c.parent_id else None, "days": c.days,
                            "transfer_to": c.transfer_to or None, "public": c.public}
                           for c in rows.select_related("parent")]}


# -- cases -------------------------------------------------------------------------------------------

class CaseIn(Schema):
    category: str
    description: str
    lat: float
    lon: float
    urgency: str = "normal"
    source: str | None = None
    feature: Id | None = None
    patrol: Id | None = None


# Who may say what through POST /cases: a finding of one's own patrol, what the public may report, and for
# chief office staff their inspections and the hotline. Drone surveys, monitoring alerts and Open311
# requests come in through their own doors.
OFFICE_SOURCES = {"office", "hotline"}
API_SOURCES = {"patrol", "public", *OFFICE_SOURCES}


@router.post("/cases", response={201: dict}, summary="Report a problem (上报); photos go to /cases/{id}/attachments. "
             "source: patrol (needs `patrol`, your own), public, office or hotline (chief office staff)")
def create(request, body: CaseIn):
    user = request.auth
    office = scope.is_office(user)
    source = body.source or ("patrol" if body.patrol is not None else "office" if office else "public")
    if source not in API_SOURCES:
        raise InvalidInput(f"source: one of {', '.join(sorted(API_SOURCES))}", {"source": "not offered here"})
    if source in OFFICE_SOURCES and not office:
        raise Forbidden(f"only chief office (河长办) staff report with source {source}", {"source": "office only"})
    feature = None
    if body.feature is not None:
        from zhangzhi.features.models import Feature

        feature = Feature.objects.visible_to(user).filter(pk=body.feature).first()
        if feature is None:
            raise InvalidInput(f"no feature {body.feature} in your jurisdiction", {"feature": "unknown"})
    case = actions.report(user, category=body.category, description=body.description, lat=body.lat, lon=body.lon,
                          urgency=body.urgency, source=source, feature=feature, patrol=body.patrol)
    return Status(201, detail(request, case.pk))


@router.post("/cases/import-drone", response={201: dict},
             summary="Import a drone survey (无人机巡查): multipart `file` (GeoJSON FeatureCollection of points, or a "
             "ZIP with it and the photos) and optional `photos` (ZIP); all or nothing")
def import_drone(request, file: File[UploadedFile], photos: UploadedFile | None = File(None)):
    cases = actions.import_drone(request.auth, drone.upload_bytes(file, "file"),
                                 drone.upload_bytes(photos, "photos"))
    return Status(201, {"count": len(cases), "cases": [{"id": c.pk, "code": c.code, "category": c.category.code,
                                                        "office": c.office_id, "region": c.region.code}
                                                       for c in cases]})


@router.get("/cases", summary="Cases the caller may see; filters: state, category, source, region (code, with "
            "everything below), office, assignee, overdue, supervised, since, until, q; limit/offset")
def list_cases(request, state: str | None = None, category: str | None = None, source: str | None = None,
               region: str | None = None, office: Id | None = None, assignee: Id | None = None,
               overdue: bool | None = None, supervised: bool | None = None, since: dt.date | None = None,
               until: dt.date | None = None, q: str | None = None,
               limit: Annotated[int, Field(ge=1, le=1000)] = 100, offset: Offset = 0):
    qs = queries.filtered(Case.objects.visible_to(request.auth), state=state, category=category, source=source,
                          region=region, office=office, assignee=assignee, overdue=overdue,
                          supervised=supervised, since=since, until=until, q=q)
    limit = max(1, min(limit, 1000))
    now = timezone.now()
    rows = list(queries.with_relations(qs)[offset:offset + limit])
    return {"count": qs.count(), "cases": [case_row(c, now) for c in rows]}


InboxSection = Literal[queries.SECTION_NAMES]  # type: ignore[valid-type]


@router.get("/cases/inbox", summary="What is waiting for the caller, by reason: `counts` (all of them), `inbox` "
            "(a page of 20 each, overdue, 督办 and 紧急 first, then the newest), `sections` (pages, `next`, the case "
            "list's link), `total` (what the caller must act on), and for chiefs `patrols` (due this period, "
            "not effective in the last 30 days). `section` and `page` turn the pages of one section")
def inbox(request, section: InboxSection | None = None, page: Annotated[int, Field(ge=1, le=100_000)] = 1):
    data = queries.inbox(request.auth, case_row, section=section, page=page)

    def link(reason, n):
        return f"{request.path}?{urlencode({'section': reason, 'page': n})}"

    sections = {}
    for s in data["sections"]:
        pg = data["pages"][s.reason]
        sections[s.reason] = {
            "label": str(s.label), "count": data["counts"][s.reason], **pg, "actionable": s.actionable,
            "next": link(s.reason, pg["page"] + 1) if pg["page"] < pg["pages"] else None,
            "previous": link(s.reason, pg["page"] - 1) if pg["page"] > 1 else None,
            "list": s.list_url()}
    out = {"counts": data["counts"], "inbox": data["inbox"], "sections": sections, "total": data["total"]}
    if data["ineffective"] is not None:
        out["patrols"] = {
            "due": [d.as_dict() for d in data["patrols_due"]],
            "ineffective_count": data["ineffective"]["count"],
            "ineffective": [{"id": p.pk, "feature": p.feature.name, "started_at": p.started_at, "reasons": p.reasons,
                             "url": reverse("patrols:detail", args=[p.pk])} for p in data["ineffective"]["rows"]]}
    return out


@router.get("/cases/stats", summary="Statistics: by source, category, county, state, month; closure rate, "
            "average handling time, overdue")
def stats(request, since: dt.date | None = None, until: dt.date | None = None, region: str | None = None):
    qs = scope.within_region(Case.objects.visible_to(request.auth), region)
    return queries.stats(qs, since=since, until=until)


@router.get("/cases/{case_id}", summary="One case with its state, assignee, deadline, log and photos")
def detail(request, case_id: int):
    user = request.auth
    case = get_case(user, case_id)
    roles = actions.roles_of(user, case)
    out = case_row(case)
    out["requirements"] = case.requirements
    out["public_note"] = case.public_note
    out["merged_into"] = case.merged_into_id
    out["log"] = [log_row(e) for e in case.log.all()]
    out["attachments"] = [{"id": a.pk, "url": a.get_absolute_url(), "content_type": a.content_type,
                           "size": a.size, "at": a.at} for a in case.attachments.all()]
    out["actions"] = workflow.allowed(case.kind, case.state, roles)
    if workflow.OFFICE in roles:
        out["reporter"] = {"name": case.reporter_name, "phone": case.reporter_phone,
                           "user": case.reporter.get_username() if case.reporter_id else None}
        out["duplicates"] = [{"id": d.pk, "code": d.code, "category": d.category.code, "state": d.state,
                              "distance_m": d.distance_m, "reported_at": d.reported_at}
                             for d in actions.duplicates(case)]
    return out


class ActionIn(Schema):
    note: str = ""
    assignee: int | None = None
    deadline: dt.datetime | None = None
    rating: str | None = None
    into: int | None = None
    version: int | None = None

    model_config = {"extra": "forbid"}


@router.post("/cases/{case_id}/actions/{action}", summary="Take a workflow action: accept, decline, merge, assign, "
             "transfer, return, take, reply, verify, redo, urge, supervise, escalate, rate, archive")
def take_action(request, case_id: int, action: str, body: ActionIn):
    case = get_case(request.auth, case_id)
    if body.into is not None:
        into = Case.objects.visible_to(request.auth).filter(pk=body.into).select_related("office__region").first()
        if into is None:
            raise InvalidInput(f"no case {body.into} in your jurisdiction", {"into": "unknown case"})
    else:
        into = None
    actions.act(request.auth, case, action, note=body.note, assignee=body.assignee, deadline=body.deadline,
                rating=body.rating or "", into=into, version=body.version)
    return detail(request, case.pk)


@router.post("/cases/{case_id}/attachments", response={201: dict}, summary="Add a photo (multipart `file`)")
def attach(request, case_id: int, file: File[UploadedFile]):
    case = get_case(request.auth, case_id)
    att = actions.add_attachment(request.auth, case, file)
    return Status(201, {"id": att.pk, "url": att.get_absolute_url(), "content_type": att.content_type,
                        "size": att.size})

