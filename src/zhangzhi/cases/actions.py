"""Writes of the closed loop: report, the workflow actions, attachments, public intake, escalation.

One transaction each; every change goes into the case's append-only log. A state change is one
conditional UPDATE … WHERE version = n, so of two people acting on one case at the same moment
exactly one wins and the other hears 409 with the current state.

`actor=None` is a trusted internal caller (the demo, monitoring, patrols, periodic jobs), as in
org.actions; it may take any action unless `roles` narrows it (the public page passes
roles={"reporter"} for a rating made with the tracking code).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import math
import secrets
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.utils import timezone

from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, TooLarge
from zhangzhi.lib.images import sniff_image
from zhangzhi.org import scope
from zhangzhi.org.models import Unit

from . import conf, drone, routing, workflow
from .models import AbuseFlag, Attachment, Case, CaseLog, Category, IntakeHit

logger = logging.getLogger(__name__)

SOURCES = {c.value for c in Case.Source}
URGENCIES = {c.value for c in Case.Urgency}
RATINGS = {c.value for c in Case.Rating}
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
ASSIGN_KINDS = {Unit.Kind.OFFICE, Unit.Kind.DEPARTMENT, Unit.Kind.COMPANY, Unit.Kind.OTHER}
TRANSFER_KINDS = {Unit.Kind.POLICE, Unit.Kind.PROCURATORATE}
# log entries the reporter and the public page see (with the office's answer as the note)
PUBLIC_ACTIONS = {"report", "accept", "decline", "merge", "assign", "transfer", "reply", "verify", "redo",
                  "rate", "archive", "escalate"}


# -- helpers ------------------------------------------------------------------------------------

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
    return CaseLog.objects.create(
        case=case, at=at, actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_name=_actor_name(actor) or name, action=action, from_state=from_state, to_state=to_state,
        note=note, data=data or {}, public=action in PUBLIC_ACTIONS)


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


# -- report ---------------------------------------------------------------------------------------

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


@transaction.atomic
def report(actor, *, category: str, description: str, lat: float, lon: float, urgency: str = "normal",
           source: str = "office", feature=None, reporter_name: str = "", reporter_phone: str = "", photos=(),
           at=None, external_ref: str = "", log_data: dict | None = None) -> Case:
    """上报: open a case at a place. The place decides region, reach and the responsible office."""
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
    if errors:
        first = next(iter(errors.items()))
        raise InvalidInput(f"{first[0]}: {first[1]}", errors)
    lat, lon = _check_point(lat, lon)
    if feature is not None and not isinstance(feature, Feature):
        feature = Feature.objects.select_related("region").filter(pk=feature).first()
        if feature is None:
            raise InvalidInput("unknown feature", {"feature": "unknown"})
    region, reach, office = locate(lat, lon, feature)
    case = Case.objects.create(
        code=new_code(), category=cat, description=description[:4000], urgency=urgency, source=source,
        lat=round(lat, 6), lon=round(lon, 6), region=region, county=routing.county_of(region), feature=reach,
        office=office, reporter=actor if getattr(actor, "is_authenticated", False) else None,
        reporter_name=reporter_name[:64], reporter_phone=reporter_phone[:32], external_ref=external_ref[:64],
        reported_at=at, updated_at=at)
    entry = _log(case, actor, "report", at=at, to_state=case.state, note=description[:4000],
                 data={"source": source, "office": office.pk, "reach": getattr(reach, "pk", None), **(log_data or {})},
                 name=Case.Source(source).label)
    for photo in photos:
        add_attachment(actor, case, photo, at=at, log=entry)
    return case


# -- the workflow actions -------------------------------------------------------------------------

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


# -- attachments -----------------------------------------------------------------------------------

def _read(photo) -> tuple[bytes, str]:
    limit = conf.get("MAX_PHOTO_BYTES")
    if isinstance(photo, bytes | bytearray):
        return bytes(photo[: limit + 1]), ""
    if isinstance(photo, tuple):
        name, content = photo
        return bytes(content[: limit + 1]), name
    return photo.read(limit + 1), getattr(photo, "name", "") or ""


def archive_raw(data: bytes) -> str:
    """Keep the upload as received, before any check, so a check bug loses nothing."""
    now = timezone.now()
    rel = Path("cases") / "raw" / f"{now:%Y}" / f"{now:%m}" / f"{uuid.uuid4().hex}.upload"
    path = Path(settings.MEDIA_ROOT) / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(rel)


@transaction.atomic
def add_attachment(actor, case: Case, photo, *, at=None, log: CaseLog | None = None) -> Attachment:
    """A photo for a case: archived raw first, then checked by content (JPEG/PNG/WebP) and size."""
    data, name = _read(photo)
    raw = archive_raw(data)
    limit = conf.get("MAX_PHOTO_BYTES")
    if len(data) > limit:
        raise TooLarge(f"the photo is larger than {limit // (1024 * 1024)} MB", {"file": "too large"})
    kind = sniff_image(data[:16])
    if kind is None:
        raise InvalidInput(f"{name or 'the file'} is not a JPEG, PNG or WebP image", {"file": "not an image"})
    if actor is not None and getattr(actor, "is_authenticated", False) and not (
            roles_of(actor, case) or Case.objects.visible_to(actor).filter(pk=case.pk).exists()):
        raise Forbidden("you cannot add photos to this case")
    ctype, ext = kind
    digest = hashlib.sha256(data).hexdigest()
    att = Attachment(case=case, log=log, raw_path=raw, content_type=ctype, size=len(data), sha256=digest,
                     uploaded_by=actor if getattr(actor, "is_authenticated", False) else None, at=_now(at))
    att.file.save(f"{case.code}-{digest[:12]}.{ext}", ContentFile(data), save=False)
    att.save()
    return att


# -- 无人机巡查 import ----------------------------------------------------------------------------------

def import_drone(actor, file: bytes, photos: bytes | None = None, *, at=None) -> list[Case]:
    """Import a drone survey: one case per point, all or nothing.

    `file` is a GeoJSON FeatureCollection of points (properties category, description, urgency,
    taken_at, photo) or a ZIP holding it and the photos; `photos` an optional ZIP of photos. The raw
    uploads are archived first; then every point is checked (category, place, jurisdiction, photo by
    content) and each bad one gets its own error "features[i].properties.x". Only when all are valid
    are the cases reported, in one transaction.
    """
    at = _now(at)
    wpaths = scope.write_paths(actor) if actor is not None else None
    if wpaths == []:
        raise Forbidden("only chief office (河长办) staff import drone surveys")
    raw = [archive_raw(file)] + ([archive_raw(photos)] if photos else [])
    collection, bundle = drone.read_upload(file, photos)

    def where_problem(lat, lon):
        try:
            region, _, _ = locate(lat, lon)
        except InvalidInput as exc:
            return exc.message
        if not scope.covers(wpaths, region):
            return f"({lat:.5f}, {lon:.5f}) lies in {region.name}, outside your jurisdiction"
        return None

    points, errors = drone.check_points(
        collection, bundle, categories=set(Category.objects.filter(active=True).values_list("code", flat=True)),
        urgencies=URGENCIES, sniff=sniff_image, locate=where_problem, now=at)
    if errors:
        first = next(iter(errors))
        raise InvalidInput(f"{len(errors)} problem(s) in the import, the first at {first}: {errors[first]}; "
                           "nothing was imported", errors)
    batch = uuid.uuid4().hex[:12]
    with transaction.atomic():
        cases = [report(actor, category=p.category, description=p.description, lat=p.lat, lon=p.lon,
                        urgency=p.urgency, source="drone", photos=[p.photo] if p.photo else [], at=at,
                        external_ref=f"drone:{batch}:{p.index}", log_data={**p.data, "batch": batch, "raw": raw})
                 for p in points]
    logger.info("drone import %s: %d cases by %s", batch, len(cases), _actor_name(actor) or "system")
    return cases


# -- reading helpers with rules (duplicates) ---------------------------------------------------------

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


# -- public intake ------------------------------------------------------------------------------------

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


# -- periodic work ---------------------------------------------------------------------------------------

def _candidates(qs, limit: int):
    """Rows to work on; on PostgreSQL locked rows are skipped so workers spread over the backlog."""
    if connection.vendor == "postgresql":
        return list(qs.select_for_update(skip_locked=True, of=("self",))[:limit])
    return list(qs[:limit])


def _escalate(case: Case, now, note: str, data: dict) -> bool:
    """Move one claimed case to the office above, logged; False when there is none or someone was faster."""
    above = routing.office_above(case.office)
    if above is None:
        return False
    try:
        with transaction.atomic():
            frm = case.office.name
            _claim(case, case.version, {"office": above, "escalations": case.escalations + 1,
                                        "escalated_at": now, "updated_at": now})
            _log(case, None, "escalate", at=now, from_state=case.state, to_state=case.state,
                 note=note.format(office=above.name),
                 data={"office": above.pk, "office_name": above.name, "from": frm, "automatic": True, **data},
                 name="系统")
    except Conflict:
        return False  # another worker (or a person) got there first
    logger.info("case %s escalated from %s to %s", case.code, frm, above.name)
    return True


def escalate_overdue(now=None, *, limit: int = 500) -> list[Case]:
    """提级办理: overdue cases go to the next level's office. Each case is claimed with a conditional
    UPDATE, so any number of workers can run this at once and each case moves once."""
    now = _now(now)
    again = now - dt.timedelta(hours=conf.get("ESCALATE_AGAIN_HOURS"))
    with transaction.atomic():
        qs = (Case.objects.filter(state__in=workflow.WITH_ASSIGNEE, deadline__lt=now)
              .exclude(escalated_at__gte=again).select_related("office__region", "category", "assignee")
              .order_by("deadline"))
        rows = _candidates(qs, limit)
    done = []
    for case in rows:
        late = now - case.deadline
        note = f"逾期 {late.days} 天 {late.seconds // 3600} 小时，提级至{{office}}"
        if _escalate(case, now, note, {"reason": "overdue"}):
            done.append(case)
    return done


def escalate_unaccepted(now=None, *, limit: int = 500) -> list[Case]:
    """Cases left 待受理 longer than ESCALATE_NEW_AFTER_HOURS go to the next level's office. The clock
    restarts at each escalation, so every office gets the same time to accept."""
    now = _now(now)
    hours = conf.get("ESCALATE_NEW_AFTER_HOURS")
    cutoff = now - dt.timedelta(hours=hours)
    with transaction.atomic():
        qs = (Case.objects.filter(state=workflow.NEW, hidden=False, reported_at__lt=cutoff)
              .exclude(escalated_at__gte=cutoff).select_related("office__region", "category")
              .order_by("reported_at"))
        rows = _candidates(qs, limit)
    done = []
    for case in rows:
        note = f"超过 {hours} 小时未受理，提级至{{office}}"
        if _escalate(case, now, note, {"reason": "unaccepted"}):
            done.append(case)
    return done


def archive_stale(now=None, *, limit: int = 500) -> list[Case]:
    """Closed cases nobody rated are archived after ARCHIVE_AFTER_DAYS."""
    now = _now(now)
    cutoff = now - dt.timedelta(days=conf.get("ARCHIVE_AFTER_DAYS"))
    with transaction.atomic():
        rows = _candidates(Case.objects.filter(state=workflow.CLOSED, closed_at__lt=cutoff)
                           .select_related("office", "category").order_by("closed_at"), limit)
    done = []
    for case in rows:
        try:
            act(None, case, "archive", at=now, roles={workflow.SYSTEM},
                note=f"办结 {conf.get('ARCHIVE_AFTER_DAYS')} 天未评价，自动归档")
        except Conflict:
            continue
        done.append(case)
    return done
