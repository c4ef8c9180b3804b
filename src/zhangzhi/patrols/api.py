"""Patrol API: upload (JSON or GPX), detail with the track, list with filters, compliance."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from django.http import HttpRequest
from django.urls import reverse
from ninja import Router, Status
from pydantic import Field

from zhangzhi.lib.errors import InvalidInput, NotFound
from zhangzhi.lib.params import Id, Offset
from zhangzhi.lib.timezone import LOCAL_TZ
from zhangzhi.org import scope
from zhangzhi.org.models import Region

from . import actions, compliance, display
from .models import Patrol

router = Router(tags=["patrols"])


def patrol_row(p: Patrol) -> dict:
    return {
        "id": p.pk, "client_id": str(p.client_id), "feature": p.feature_id, "feature_name": p.feature.name,
        "person": p.person_id, "person_name": p.person.name, "level": p.level, "region": p.region.code,
        "region_name": p.region.name, "source": p.source, "started_at": p.started_at.isoformat(),
        "ended_at": p.ended_at.isoformat(), "points": p.n_points, "effective": p.effective,
        "reasons": display.reasons(p.reasons), "flags": p.flags,
        "metrics": {"duration_s": p.duration_s, "length_m": p.length_m,
                    "within_buffer_share": p.within_buffer_share, "coverage": p.coverage,
                    "max_speed_kmh": p.max_speed_kmh},
    }


def patrol_detail(p: Patrol) -> dict:
    tr = p.decoded()
    out = patrol_row(p)
    out["rules"] = p.rules
    out["track"] = {"type": "LineString", "coordinates": [[x, y] for x, y in zip(tr.lon.tolist(), tr.lat.tolist(),
                                                                                  strict=True)],
                    "times": [dt.datetime.fromtimestamp(s, dt.UTC).isoformat().replace("+00:00", "Z")
                              for s in tr.t.tolist()]}
    out["findings"] = [{"id": f.pk, "category": f.category, "note": f.note, "lon": f.lon, "lat": f.lat,
                        "at": f.at.isoformat(),
                        "photo": reverse("patrols:finding-photo", args=[f.pk]) if f.photo else None,
                        "case": f.case_id, "file_error": f.file_error} for f in p.findings.all()]
    return out


def _content_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


@router.post("/patrols", response={200: dict, 201: dict}, summary="Upload a patrol: JSON (client_id, feature, "
             "crs, track = GeoJSON LineString + times) or multipart with a GPX `file` and the same fields")
def upload(request: HttpRequest):
    limit = actions.MAX_UPLOAD_BYTES
    if _content_length(request) > limit + 64 * 1024:
        raise actions.TooLarge(f"upload larger than {limit // 2**20} MB", {"body": "too large"})
    ctype = request.META.get("CONTENT_TYPE", "")
    if ctype.startswith("multipart/form-data"):
        upload_file = request.FILES.get("file")
        if upload_file is None:
            raise InvalidInput("file: a GPX file is required in a multipart upload", {"file": "required"})
        if upload_file.size > limit:
            raise actions.TooLarge(f"file larger than {limit // 2**20} MB", {"file": "too large"})
        data = upload_file.read()
        form = {k: request.POST.get(k) for k in ("client_id", "feature", "crs")}
        patrol, created = actions.do_upload_patrol(request.auth, data, fmt="gpx", form=form)
    else:
        source = "app" if request.headers.get("X-Zhangzhi-Client") == "m-patrol" else "api"
        patrol, created = actions.do_upload_patrol(request.auth, request.body, fmt="json", source=source)
    patrol = Patrol.objects.visible_to(request.auth).select_related("feature", "person", "region").get(pk=patrol.pk)
    return Status(201 if created else 200, patrol_row(patrol))


@router.get("/patrols/compliance", summary="Frequency duty met in [start, end) (local dates; default: this "
            "year to today), by region (children of `region`) and level, with every chief's duty")
def compliance_view(request, start: dt.date | None = None, end: dt.date | None = None, region: str | None = None,
                    level: str | None = None, only_missing: bool = False):
    start, end, root = compliance_args(start, end, region)
    duty = compliance.duties(request.auth, start, end, root=root, level=level)
    chiefs = [d.as_dict() for d in duty if d.due and (not only_missing or not d.ok)]
    return {"start": start.isoformat(), "end": end.isoformat(), "region": root.code if root else None,
            "rows": [r.as_dict() for r in compliance.table(duty, root)],
            "chiefs": chiefs, "no_patrol": [d.as_dict() for d in duty if d.none]}


def compliance_args(start, end, region) -> tuple[dt.date, dt.date, Region | None]:
    from django.utils import timezone

    today = timezone.localdate()
    end = end or today + dt.timedelta(days=1)
    start = start or dt.date(end.year if end.month > 1 or end.day > 1 else end.year - 1, 1, 1)
    if end <= start:
        raise InvalidInput("end must come after start", {"end": "before start"})
    root = scope.region_by_code(region) if region else None
    return start, end, root


def filtered(request_user, params: dict):
    qs = Patrol.objects.visible_to(request_user).select_related("feature", "person", "region")
    if params.get("feature"):
        qs = qs.filter(feature_id=params["feature"])
    if params.get("person"):
        qs = qs.filter(person_id=params["person"])
    qs = scope.within_region(qs, params.get("region"))
    if params.get("level"):
        qs = qs.filter(level=params["level"])
    if params.get("effective") is not None and params.get("effective") != "":
        eff = params["effective"]
        qs = qs.filter(effective=eff if isinstance(eff, bool) else str(eff).lower() in ("1", "true", "yes"))
    if params.get("flag"):
        qs = qs.filter(flags__icontains=f"\"{params['flag']}\"")
    for key, op in (("since", "gte"), ("until", "lt")):
        if params.get(key):
            day = params[key] if isinstance(params[key], dt.date) else dt.date.fromisoformat(str(params[key]))
            qs = qs.filter(**{f"started_at__{op}": dt.datetime.combine(
                day + dt.timedelta(days=1 if key == "until" else 0), dt.time(), LOCAL_TZ)})
    return qs


@router.get("/patrols", summary="Patrols in your jurisdiction, newest first; filters: feature, person, region "
            "(code, with everything below), level, effective, flag, since/until (local dates, inclusive)")
def patrol_list(request, feature: Id | None = None, person: Id | None = None, region: str | None = None,
                level: str | None = None, effective: bool | None = None, flag: str | None = None,
                since: dt.date | None = None, until: dt.date | None = None,
                limit: Annotated[int, Field(ge=1, le=1000)] = 100, offset: Offset = 0):
    qs = filtered(request.auth, {"feature": feature, "person": person, "region": region, "level": level,
                                 "effective": effective, "flag": flag, "since": since, "until": until})
    limit = max(1, min(limit, 1000))
    rows = [patrol_row(p) for p in qs.defer("track", "signature")[offset: offset + limit]]
    return {"count": qs.count(), "patrols": rows}


@router.get("/patrols/{int:patrol_id}", summary="One patrol with its track (WGS84) and findings")
def patrol_get(request, patrol_id: int):
    p = (Patrol.objects.visible_to(request.auth).select_related("feature", "person", "region")
         .prefetch_related("findings").filter(pk=patrol_id).first())
    if p is None:
        raise NotFound(f"no patrol {patrol_id} in your jurisdiction")
    return patrol_detail(p)


@router.post("/patrols/{int:patrol_id}/file-findings",
             summary="File the patrol's unfiled findings as cases (the patrolling chief only)")
def file_findings(request, patrol_id: int):
    p = Patrol.objects.visible_to(request.auth).select_related("feature", "person", "region").filter(
        pk=patrol_id).first()
    if p is None:
        raise NotFound(f"no patrol {patrol_id} in your jurisdiction")
    return {"filed": actions.do_file_findings(request.auth, p)}  # only the patrolling chief: 403 for others
