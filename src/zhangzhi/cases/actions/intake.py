"""上报: opening cases, by staff, by the public (rate-limited) and from a place; possible duplicates."""

from __future__ import annotations

import datetime as dt
import math

from django.db import transaction

from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import Forbidden, InvalidInput, RateLimited

from .. import conf, routing, workflow
from ..models import Case, Category, IntakeHit
from .attachments import add_attachment
from .base import SOURCES, URGENCIES, _check_point, _log, _now, client_hash, new_code


def locate(lat: float, lon: float, feature=None):
    """(region, reach, office) for a point; InvalidInput when no office answers for it."""
    region = routing.region_at(lon, lat)
    if feature is not None:
        reach = feature
        region = feature.region
    else:
        reach = routing.nearest_reach(lon, lat)
        if region is None and reach is not None:
            region = reach.region  # a border river just past the (simplified) border line
        if region is None:
            raise InvalidInput(f"({lat:.5f}, {lon:.5f}) lies outside every jurisdiction",
                               {"lat": "outside every jurisdiction", "lon": "outside every jurisdiction"},
                               code="outside")
        if reach is not None and reach.region.path.startswith(region.path):
            region = reach.region
    office = routing.office_for(region)
    if office is None:
        raise InvalidInput(f"no chief office answers for {region.name}",
                           {"lat": "outside every jurisdiction", "lon": "outside every jurisdiction"},
                           code="outside")
    return region, reach, office


def _patrol_finding(actor, patrol, feature, lat: float, lon: float):
    """Who may say 巡河发现: (patrol, reach) for a report with source patrol, or an error.

    The report names the patrol; only the person who walked it files it (a trusted internal caller,
    actor None, files for them), and the place lies on the patrol's own reach. A patrol outside the
    actor's jurisdiction reads exactly like one that does not exist.
    """
    if patrol is None:
        raise InvalidInput("source patrol: name the patrol the finding comes from", {"patrol": "required"})
    # through the relation the case declares: the closed loop does not import patrols (patrols build on it)
    patrols = Case._meta.get_field("patrol").related_model.objects.select_related("person", "feature__region")
    if not isinstance(patrol, patrols.model):
        try:
            pk = int(patrol)
        except (TypeError, ValueError):
            raise InvalidInput("patrol: expected a patrol id", {"patrol": "not an id"}) from None
        if not 0 < pk < 2**63:
            raise InvalidInput(f"no patrol {pk} in your jurisdiction", {"patrol": "unknown"})
        patrol = (patrols if actor is None else patrols.visible_to(actor)).filter(pk=pk).first()
        if patrol is None:
            raise InvalidInput(f"no patrol {pk} in your jurisdiction", {"patrol": "unknown"})
    person = getattr(actor, "person", None) if actor is not None else None
    if actor is not None and (person is None or person.pk != patrol.person_id):
        raise Forbidden(f"only {patrol.person.name}, who made patrol {patrol.pk}, may report its findings",
                        {"patrol": "not your patrol"})
    reach = patrol.feature
    if feature is not None and getattr(feature, "pk", feature) != reach.pk:
        raise InvalidInput(f"a finding of patrol {patrol.pk} lies on its reach, {reach.name}",
                           {"feature": "not the patrol's reach"})
    far = routing.distance_m(reach.geometry, lon, lat)
    if far > conf.get("REACH_MAX_DISTANCE_M"):
        raise InvalidInput(f"({lat:.5f}, {lon:.5f}) is {far:.0f} m from {reach.name}, the reach of patrol {patrol.pk}",
                           {"lat": "far from the patrol's reach", "lon": "far from the patrol's reach"},
                           code="off_reach")
    return patrol, reach


@transaction.atomic
def report(actor, *, category: str, description: str, lat: float, lon: float, urgency: str = "normal",
           source: str = "office", feature=None, patrol=None, reporter_name: str = "", reporter_phone: str = "",
           photos=(), at=None, external_ref: str = "", log_data: dict | None = None) -> Case:
    """上报: open a case at a place. The place decides region, reach and the responsible office.

    A report with source patrol (巡河发现) names its `patrol` (an id or the object): see
    `_patrol_finding` for who may file it and where; its reporter is the patrolling person.
    """
    at = _now(at)
    errors = {}
    cat = Category.objects.filter(code=category, active=True).first() if isinstance(category, str) else None
    if cat is None:
        errors["category"] = f"unknown category {category!r}; see GET /api/v1/case-categories"
    if urgency not in URGENCIES:
        errors["urgency"] = f"one of {', '.join(sorted(URGENCIES))}"
    if source not in SOURCES:
        errors["source"] = f"one of {', '.join(sorted(SOURCES))}"
    description = (description or "").strip()
    if not description:
        errors["description"] = "required"
    if patrol is not None and source != "patrol":
        errors["source"] = "a report that names a patrol has source patrol"
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"{first[0]}: {first[1]}", errors)
    lat, lon = _check_point(lat, lon)
    reporter = actor if getattr(actor, "is_authenticated", False) else None
    if source == "patrol":
        patrol, feature = _patrol_finding(actor, patrol, feature, lat, lon)
        reporter = patrol.person.user
    if feature is not None and not isinstance(feature, Feature):
        feature = Feature.objects.select_related("region").filter(pk=feature).first()
        if feature is None:
            raise InvalidInput("unknown feature", {"feature": "unknown"})
    region, reach, office = locate(lat, lon, feature)
    case = Case.objects.create(
        code=new_code(), category=cat, description=description[:4000], urgency=urgency, source=source,
        lat=round(lat, 6), lon=round(lon, 6), region=region, county=routing.county_of(region), feature=reach,
        patrol=patrol, office=office, reporter=reporter,
        reporter_name=reporter_name[:64], reporter_phone=reporter_phone[:32], external_ref=external_ref[:64],
        reported_at=at, updated_at=at)
    entry = _log(case, actor, "report", at=at, to_state=case.state, note=description[:4000],
                 data={"source": source, "office": office.pk, "reach": getattr(reach, "pk", None),
                       **({"patrol": patrol.pk} if patrol is not None else {}), **(log_data or {})},
                 name=Case.Source(source).label)
    for photo in photos:
        add_attachment(actor, case, photo, at=at, log=entry)
    return case


def duplicates(case: Case, *, limit: int = 10) -> list[Case]:
    """Possible duplicates: other live cases within the radius and time window, nearest first."""
    radius = conf.get("DUPLICATE_RADIUS_M")
    window = dt.timedelta(days=conf.get("DUPLICATE_WINDOW_DAYS"))
    dlat = radius / routing.M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(case.lat)), 0.1)
    qs = (Case.objects.filter(lat__range=(case.lat - dlat, case.lat + dlat),
                              lon__range=(case.lon - dlon, case.lon + dlon),
                              reported_at__range=(case.reported_at - window, case.reported_at + window))
          .exclude(pk=case.pk).exclude(state__in=(workflow.MERGED, workflow.DECLINED))
          .select_related("category"))
    k = math.cos(math.radians(case.lat))
    out = []
    for c in qs[:200]:
        d = math.hypot((c.lon - case.lon) * k, c.lat - case.lat) * routing.M_PER_DEG
        if d <= radius:
            c.distance_m = round(d)
            out.append(c)
    out.sort(key=lambda c: (c.category_id != case.category_id, c.distance_m))
    return out[:limit]


@transaction.atomic
def public_report(client_ip: str, *, source: str = "public", at=None, **fields) -> Case:
    """A report from someone without an account; rate-limited per client IP (rows shared by workers)."""
    at = _now(at)
    client = client_hash(client_ip or "unknown")
    limit = conf.get("PUBLIC_REPORTS_PER_HOUR")
    if IntakeHit.objects.filter(client=client, at__gt=at - dt.timedelta(hours=1)).count() >= limit:
        raise RateLimited(f"at most {limit} reports an hour from one address; please try again later")
    case = report(None, source=source, at=at, **fields)
    IntakeHit.objects.create(client=client, at=at)
    return case
