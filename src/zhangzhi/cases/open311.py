"""Open311 GeoReport v2 under /open311/v2/: discovery, services, requests, tokens; JSON and XML.

Services are the public categories; a request is a case, identified by its tracking code (the
public's handle, not the database id). Open311 knows only open and closed, derived from the
workflow state. Public lists carry no personal data and skip reports hidden for moderation.
Errors answer, as the spec says, a list of {code, description} with the HTTP status.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from xml.etree.ElementTree import Element, SubElement, tostring

from django.conf import settings
from django.db.models import Prefetch, Q
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from zhangzhi.lib.errors import ZhangzhiError
from zhangzhi.lib.net import client_ip

from . import actions, routing, workflow
from .models import Attachment, Case, Category

MAX_PAGE = 1000
DEFAULT_DAYS = 90


def w3(value: dt.datetime | None) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _xml(root: str, item: str, rows: list[dict]) -> bytes:
    top = Element(root)
    for row in rows:
        el = SubElement(top, item)
        for k, v in row.items():
            child = SubElement(el, k)
            if isinstance(v, list):
                for x in v:
                    SubElement(child, "value").text = str(x)
            elif v is not None:
                child.text = str(v).lower() if isinstance(v, bool) else str(v)
    return b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8")


def respond(fmt: str, root: str, item: str, rows, status: int = 200, single: dict | None = None):
    if fmt == "xml":
        if single is not None:
            top = Element(root)
            for k, v in single.items():
                SubElement(top, k).text = "" if v is None else str(v)
            body = b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8")
        else:
            body = _xml(root, item, rows)
        return HttpResponse(body, status=status, content_type="text/xml; charset=utf-8")
    return JsonResponse(single if single is not None else rows, status=status, safe=False,
                        json_dumps_params={"ensure_ascii": False})


def errors(fmt: str, status: int, description: str):
    return respond(fmt, "errors", "error", [{"code": status, "description": description}], status=status)


def _base(request) -> str:
    return (settings.SITE_URL.rstrip("/") or request.build_absolute_uri("/").rstrip("/")) + "/open311/v2/"


# -- discovery and services ---------------------------------------------------------------------------

@require_GET
def discovery(request, fmt: str = "json"):
    data = {"changeset": "2026-11-20T00:00:00+08:00", "contact": f"热线 {settings.HOTLINE}",
            "key_service": "Reports without a key are accepted and rate-limited per address.",
            "endpoints": [{"specification": "http://wiki.open311.org/GeoReport_v2", "url": _base(request),
                           "changeset": "2026-11-20T00:00:00+08:00", "type": "production",
                           "formats": ["application/json", "text/xml"]}]}
    if fmt == "xml":
        top = Element("discovery")
        for k in ("changeset", "contact", "key_service"):
            SubElement(top, k).text = data[k]
        eps = SubElement(top, "endpoints")
        for ep in data["endpoints"]:
            e = SubElement(eps, "endpoint")
            for k in ("specification", "url", "changeset", "type"):
                SubElement(e, k).text = ep[k]
            fm = SubElement(e, "formats")
            for f in ep["formats"]:
                SubElement(fm, "format").text = f
        return HttpResponse(b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8"),
                            content_type="text/xml; charset=utf-8")
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@require_GET
def index(request):
    """/open311/v2/, the endpoint URL that discovery declares: the discovery document with the
    addresses of the resources under it, so a client or a person who opens the base URL is not lost."""
    base = _base(request)
    body = json.loads(discovery(request, "json").content)
    body["resources"] = {"discovery": base + "discovery.json", "services": base + "services.json",
                         "requests": base + "requests.json"}
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False})


def _services():
    return Category.objects.filter(active=True, public=True).select_related("parent")


def service_row(c: Category) -> dict:
    return {"service_code": c.code, "service_name": c.name, "description": c.name_en or c.name, "metadata": False,
            "type": "realtime", "keywords": c.code.replace("_", " "),
            "group": c.parent.name if c.parent_id else c.name}


@require_GET
def services(request, fmt: str):
    return respond(fmt, "services", "service", [service_row(c) for c in _services()])


@require_GET
def service_definition(request, code: str, fmt: str):
    if not _services().filter(code=code).exists():
        return errors(fmt, 404, f"unknown service_code {code}")
    if fmt == "xml":
        top = Element("service_definition")
        SubElement(top, "service_code").text = code
        SubElement(top, "attributes")
        return HttpResponse(b'<?xml version="1.0" encoding="utf-8"?>' + tostring(top, encoding="utf-8"),
                            content_type="text/xml; charset=utf-8")
    return JsonResponse({"service_code": code, "attributes": []})


# -- requests --------------------------------------------------------------------------------------------

def request_row(c: Case, request) -> dict:
    """What anyone may see of a case: no reporter, no exact handling people."""
    photo = next(iter(c.public_photos), None)  # only once the office has looked at the case
    status = workflow.open311_status(c.state)
    return {
        "service_request_id": c.code,
        "status": status,
        "status_notes": c.public_note or str(Case.State(c.state).label),
        "service_name": c.category.name,
        "service_code": c.category.code,
        "description": c.description,
        "agency_responsible": c.office.name,
        "service_notice": "",
        "requested_datetime": w3(c.reported_at),
        "updated_datetime": w3(c.updated_at),
        "expected_datetime": w3(c.deadline),
        "address": f"{c.region.name}{('·' + c.feature.name) if c.feature_id else ''}",
        "address_id": "",
        "zipcode": "",
        "lat": c.lat,
        "long": c.lon,
        "media_url": request.build_absolute_uri(photo.public_url()) if photo else "",
    }


def _public_cases():
    return (Case.objects.public().select_related("category", "office", "region", "feature")
            .prefetch_related(Prefetch("attachments", to_attr="public_photos", queryset=(
                Attachment.objects.unrestricted("Open311 shows public photos of public cases").public()))))


def _parse_time(value: str, name: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ZhangzhiError(f"{name} must be a W3C datetime such as 2026-01-01T00:00:00Z") from None
    return timezone.make_aware(t) if timezone.is_naive(t) else t


def _float(value, name):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ZhangzhiError(f"{name} must be a number") from None


def _search(request):
    g = request.GET
    qs = _public_cases()
    if g.get("service_request_id"):
        return qs.filter(code__in=[x.strip() for x in g["service_request_id"].split(",")]), MAX_PAGE
    if g.get("service_code"):
        qs = qs.filter(category__code__in=g["service_code"].split(","))
    end = _parse_time(g["end_date"], "end_date") if g.get("end_date") else None
    start = _parse_time(g["start_date"], "start_date") if g.get("start_date") else None
    if start is None and end is None:
        start = timezone.now() - dt.timedelta(days=DEFAULT_DAYS)
    if start:
        qs = qs.filter(reported_at__gte=start)
    if end:
        qs = qs.filter(reported_at__lte=end)
    if g.get("status"):
        wanted = set(g["status"].split(","))
        if not wanted <= {"open", "closed"}:
            raise ZhangzhiError("status must be open, closed or both")
        states = [s for s in Case.State.values if workflow.open311_status(s) in wanted]
        qs = qs.filter(state__in=states)
    if g.get("bbox"):
        try:
            min_lon, min_lat, max_lon, max_lat = (float(x) for x in g["bbox"].split(","))
        except ValueError:
            raise ZhangzhiError("bbox must be min_long,min_lat,max_long,max_lat") from None
        qs = qs.filter(lon__range=(min_lon, max_lon), lat__range=(min_lat, max_lat))
    radius = None
    if g.get("lat") or g.get("long"):
        lat, lon = _float(g.get("lat"), "lat"), _float(g.get("long"), "long")
        radius = _float(g.get("radius", 1000), "radius")
        dlat = radius / routing.M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
        qs = qs.filter(lat__range=(lat - dlat, lat + dlat), lon__range=(lon - dlon, lon + dlon))
    size = g.get("page_size")
    size = max(1, min(int(_float(size, "page_size")), MAX_PAGE)) if size else MAX_PAGE
    return qs, size


@csrf_exempt
@require_http_methods(["GET", "POST"])
def requests_view(request, fmt: str):
    try:
        if request.method == "POST":
            return _create(request, fmt)
        qs, size = _search(request)
        page = max(1, int(_float(request.GET.get("page", 1), "page")))
        rows = list(qs.order_by("-reported_at", "-pk")[(page - 1) * size: page * size])
    except ZhangzhiError as exc:
        # GeoReport answers bad input with 400; rate limit (429) and size (413) keep their status
        return errors(fmt, 400 if exc.status == 422 else exc.status, _message(exc))
    return respond(fmt, "service_requests", "request", [request_row(c, request) for c in rows])


def _message(exc: ZhangzhiError) -> str:
    if exc.fields:
        return exc.message + " (" + "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) + ")"
    return exc.message


def _create(request, fmt: str):
    p = request.POST
    missing = [k for k in ("service_code", "lat", "long", "description") if not p.get(k, "").strip()]
    if missing:
        if "lat" in missing and "long" in missing and (p.get("address_string") or p.get("address_id")):
            return errors(fmt, 400, "this endpoint needs lat and long; address lookup is not offered")
        return errors(fmt, 400, f"missing required field(s): {', '.join(missing)}")
    if not _services().filter(code=p["service_code"]).exists():
        return errors(fmt, 400, f"unknown service_code {p['service_code']}; see services.{fmt}")
    photos = [request.FILES["media"]] if "media" in request.FILES else []
    name = " ".join(x for x in (p.get("last_name", ""), p.get("first_name", "")) if x).strip()
    case = actions.public_report(
        client_ip(request), source="open311", category=p["service_code"], description=p["description"],
        lat=_float(p["lat"], "lat"), lon=_float(p["long"], "long"), reporter_name=name,
        reporter_phone=p.get("phone", "") or p.get("email", ""), photos=photos,
        external_ref=(p.get("device_id") or p.get("account_id") or "")[:64])
    row = {"service_request_id": case.code, "token": case.code, "service_notice": f"跟踪码 {case.code}: "
           + request.build_absolute_uri(reverse("cases:public", args=[case.code])), "account_id": None}
    return respond(fmt, "service_requests", "request", [row], status=201)


@require_GET
def request_detail(request, code: str, fmt: str):
    case = _public_cases().filter(code=code).first()
    if case is None:
        return errors(fmt, 404, f"no service request {code}")
    return respond(fmt, "service_requests", "request", [request_row(case, request)])


@require_GET
def token_detail(request, token: str, fmt: str):
    case = Case.objects.public().filter(Q(code=token)).only("code").first()
    if case is None:
        return errors(fmt, 404, f"no token {token}")
    return respond(fmt, "service_requests", "request", [{"service_request_id": case.code, "token": token}])
