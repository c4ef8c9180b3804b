"""Monitoring API: stations, readings (read and bulk write), imports, classes, quarantine, alerts."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from ninja import Body, File, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.throttling import SimpleRateThrottle
from pydantic import Field

from zhangzhi.api.auth import AUTH
from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import Forbidden, InvalidInput, TooLarge
from zhangzhi.lib.net import client_ip
from zhangzhi.lib.params import Id, Month, Year
from zhangzhi.org import scope

from . import actions, parameters, quality
from .ingest import Ingestor, Received
from .models import Alert, Quarantine, Station, sees_every_frame

router = Router(tags=["monitoring"])
MAX_READINGS = 50_000
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def station_row(s: Station) -> dict:
    return {"id": s.pk, "name": s.name, "code": s.code, "kind": s.kind, "level": s.level, "mn": s.mn,
            "feature": s.feature_id, "region": s.region.code, "region_name": s.region.name,
            "water_body": s.water_body, "target_class": s.target_class or None, "parameters": s.parameters,
            "lon": s.lon, "lat": s.lat, "active": s.active}


def _station(request, station_id: int) -> Station:
    return get_object_or_404(Station.objects.visible_to(request.auth).select_related("region"), pk=station_id)


def _require_office(user) -> None:
    if not (sees_every_frame(user) or scope.write_paths(user)):
        raise Forbidden("only river chief office staff see this")


class StationIn(Schema):
    name: str
    kind: Literal["section", "auto", "intake"]
    mn: str | None = None
    feature: int | None = None
    target_class: Literal["I", "II", "III", "IV", "V", ""] = ""
    water_body: Literal["river", "lake"] = "river"
    level: Literal["national", "provincial", "city", "county", ""] = ""
    region: str | None = None
    parameters: dict[str, str] = {}
    lon: float | None = None
    lat: float | None = None
    code: str | None = None
    password: str = Field("", max_length=32, description="the HJ 212 PW the station must send (write-only)")


@router.post("/stations", response={201: dict}, summary="Register a station (section, auto or intake)")
def create_station(request, body: StationIn):
    feature = region = None
    if body.feature is not None:
        feature = Feature.objects.visible_to(request.auth).filter(pk=body.feature).first()
        if feature is None:
            raise InvalidInput(f"no feature {body.feature}", {"feature": "unknown"})
    if body.region:
        region = scope.region_by_code(body.region)
    s = actions.create_station(request.auth, name=body.name, kind=body.kind, mn=body.mn, feature=feature,
                               region=region, target_class=body.target_class, water_body=body.water_body,
                               level=body.level, parameters=body.parameters, lon=body.lon, lat=body.lat,
                               code=body.code, password=body.password)
    return Status(201, station_row(s))


@router.get("/stations", summary="Stations in your jurisdiction; filter by kind, feature")
def stations(request, kind: str | None = None, feature: Id | None = None):
    qs = Station.objects.visible_to(request.auth).select_related("region")
    if kind:
        qs = qs.filter(kind__in=kind.split(","))
    if feature:
        qs = qs.filter(feature_id=feature)
    return {"stations": [station_row(s) for s in qs]}


@router.get("/stations/{station_id}")
def station(request, station_id: int):
    return station_row(_station(request, station_id))


@router.get("/stations/{station_id}/readings",
            summary="Readings, oldest first; every filter optional (parameter, kind, from, to, limit)")
def readings(request, station_id: int, parameter: str | None = None, kind: str | None = None,
             from_: str | None = Query(None, alias="from"), to: str | None = None,
             limit: Annotated[int, Field(ge=1, le=100_000)] = 10_000):
    s = _station(request, station_id)
    qs = s.readings.all()
    if parameter:
        qs = qs.filter(parameter__in=parameter.split(","))
    if kind:
        qs = qs.filter(kind__in=kind.split(","))
    if from_:
        qs = qs.filter(time__gte=actions.parse_time(from_, "from"))
    if to:
        qs = qs.filter(time__lt=actions.parse_time(to, "to"))
    limit = max(1, min(limit, MAX_READINGS))
    rows = qs.order_by("time", "parameter", "kind").values_list("parameter", "kind", "time", "value", "unit", "flag")
    return {"readings": [{"parameter": p, "kind": k, "time": t.isoformat(), "value": v, "unit": u, "flag": f}
                         for p, k, t, v, u, f in rows[:limit]]}


SERIES_HOURS_DAYS = 31  # the hourly series covers the last month of data unless asked for a window


@router.get("/stations/{station_id}/series",
            summary="One parameter for a chart, as parallel arrays: daily mean, min and max (one entry per local"
                    " day), or hourly values (the last 31 days of data unless from/to say otherwise)")
def series(request, station_id: int, parameter: Annotated[str, Field(pattern=r"^[a-z]\d{5}$")],
           resolution: Literal["day", "hour"] = "day",
           kind: Literal["hour", "sample", "day", "min", "rt"] | None = None,
           from_: str | None = Query(None, alias="from"), to: str | None = None):
    s = _station(request, station_id)
    kind = kind or quality.source_kind(s)
    start = actions.parse_time(from_, "from") if from_ else None
    end = actions.parse_time(to, "to") if to else None
    out: dict[str, Any] = {"station": s.pk, "parameter": parameter, "name": parameters.name(parameter),
                           "unit": parameters.unit(parameter, s.parameters.get(parameter, "")), "kind": kind,
                           "resolution": resolution}
    if resolution == "day":
        qs = s.daily_values.filter(parameter=parameter, kind=kind)
        if start:
            qs = qs.filter(day__gte=start.astimezone(quality.TZ).date())
        if end:
            qs = qs.filter(day__lt=end.astimezone(quality.TZ).date())
        rows = list(qs.order_by("day").values_list("day", "count", "total", "low", "high"))
        out.update(t=[d.isoformat() for d, *_ in rows], mean=[round(t / n, 4) for _, n, t, _lo, _hi in rows],
                   min=[round(lo, 4) for *_, lo, _hi in rows], max=[round(hi, 4) for *_, hi in rows])
        return out
    qs = s.readings.filter(parameter=parameter, kind=kind)
    if end:
        qs = qs.filter(time__lt=end)
    if start:
        qs = qs.filter(time__gte=start)
    else:
        last = qs.order_by("-time").values_list("time", flat=True).first()
        if last is not None:
            qs = qs.filter(time__gt=last - dt.timedelta(days=SERIES_HOURS_DAYS))
    rows = list(qs.order_by("time").values_list("time", "value")[:MAX_READINGS])
    out.update(t=[int(t.timestamp() * 1000) for t, _ in rows], v=[round(v, 4) for _, v in rows])
    return out


class ReadingIn(Schema):
    parameter: str
    time: str
    value: float
    unit: str | None = None
    kind: Literal["rt", "min", "hour", "day", "sample"] = "sample"
    flag: str = ""


class ReadingsIn(Schema):
    readings: list[ReadingIn]


@router.post("/stations/{station_id}/readings", summary="Bulk readings (JSON); duplicates are ignored")
def post_readings(request, station_id: int, body: ReadingsIn):
    # only a station the caller may edit; another county's answers like one that does not exist
    s = get_object_or_404(Station.objects.editable_by(request.auth).select_related("region"), pk=station_id)
    if len(body.readings) > MAX_READINGS:
        raise InvalidInput(f"at most {MAX_READINGS} readings per request", {"readings": "too many"})
    raw = request.body
    return actions.import_readings(request.auth, s, [r.dict() for r in body.readings], raw=raw)


@router.get("/stations/{station_id}/classes",
            summary="GB 3838 class per sample, day, month or year, with deciding items and attainment")
def classes(request, station_id: int, period: Literal["sample", "day", "month", "year"] = "day",
            from_: str | None = Query(None, alias="from"), to: str | None = None):
    s = _station(request, station_id)
    start = actions.parse_time(from_, "from") if from_ else None
    end = actions.parse_time(to, "to") if to else None
    if period == "sample":
        rows = quality.sample_classes(s, start, end)
    else:
        rows = quality.period_classes(s, period, start, end)
    return {"station": s.pk, "target_class": s.target_class or None, "period": period, "classes": rows}


@router.get("/stations/{station_id}/alerts")
def station_alerts(request, station_id: int):
    s = _station(request, station_id)
    return {"alerts": [alert_row(a) for a in s.alerts.all()[:200]]}


def alert_row(a: Alert) -> dict:
    return {"id": a.pk, "station": a.station_id, "parameter": a.parameter, "opened_at": a.opened_at.isoformat(),
            "last_at": a.last_at.isoformat(), "closed_at": a.closed_at.isoformat() if a.closed_at else None,
            "value": a.value, "limit": a.limit, "count": a.count, "case": a.case_id}


@router.get("/monitoring/alerts", summary="Alert episodes of stations in your jurisdiction, newest first")
def alerts(request, open: bool | None = None, limit: Annotated[int, Field(ge=1, le=5000)] = 200):
    qs = Alert.objects.visible_to(request.auth)
    if open is not None:
        qs = qs.filter(closed_at__isnull=open)
    return {"alerts": [alert_row(a) for a in qs[: max(1, min(limit, 2000))]]}


@router.post("/monitoring/import", summary="Import laboratory results from CSV (UTF-8 or GBK) or Excel (.xlsx)")
def import_file(request, file: UploadedFile = File(...)):
    if file.size is not None and file.size > MAX_IMPORT_BYTES:
        raise TooLarge(f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB", {"file": "too large"})
    data = file.read()
    name = (file.name or "").lower()
    if name.endswith((".xlsx", ".xlsm")) or data[:2] == b"PK":
        return actions.import_excel(request.auth, data)
    return actions.import_csv(request.auth, data)


class FramesIn(Schema):
    frames: list[str]


class AnonymousFrameThrottle(SimpleRateThrottle):
    """Frames pushed with a station password and no account: a bound on password guessing, per client IP."""

    scope = "anonymous-frames"

    def get_ident(self, request):
        return client_ip(request)  # ninja's own would believe any X-Forwarded-For: a fresh bucket per lie

    def get_cache_key(self, request):
        if getattr(request.auth, "is_authenticated", False):
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _anonymous(request):
    """Lets a request without credentials through to the handler (which then asks for the station PW)."""
    return AnonymousUser()


@router.post("/monitoring/frames", auth=[*AUTH, _anonymous], throttle=[AnonymousFrameThrottle("60/m")],
             summary="HJ 212 frames over HTTP (for gateways): for stations you may edit, or with each station's PW;"
                     " answers the replies")
def post_frames(request, body: FramesIn):
    if len(body.frames) > 10_000:
        raise InvalidInput("at most 10000 frames per request", {"frames": "too many"})
    frames = []
    for i, text in enumerate(body.frames):
        try:
            frames.append(text.encode("utf-8"))
        except UnicodeEncodeError:
            raise InvalidInput(f"frames[{i}]: not UTF-8 text", {f"frames[{i}]": "not UTF-8"}) from None
    actions.check_frame_senders(request.auth, frames)
    who = getattr(request.auth, "username", "") or client_ip(request)
    replies = Ingestor().process([Received(f, "http:" + who, source="http") for f in frames])
    return {"replies": [r.decode("utf-8").rstrip("\r\n") if r else None for r in replies]}


@router.get("/monitoring/quarantine",
            summary="Quarantined frames of your stations, newest first (every frame for the system administrator)")
def quarantine(request, status: Literal["open", "replayed", "dismissed", "all"] = "open", mn: str | None = None,
               reason: str | None = None, limit: Annotated[int, Field(ge=1, le=5000)] = 500):
    _require_office(request.auth)
    qs = Quarantine.objects.visible_to(request.auth).order_by("-received_at", "-pk")
    if status != "all":
        qs = qs.filter(status=status)
    if mn:
        qs = qs.filter(mn=mn)
    if reason:
        qs = qs.filter(reason=reason)
    peers = sees_every_frame(request.auth)  # where a station connects from is the administrator's business
    return {"quarantine": [
        {"id": q.pk, "received_at": q.received_at.isoformat(), "reason": q.reason, "message": q.message,
         "mn": q.mn, "peer": q.peer if peers else None, "status": q.status,
         "raw": bytes(q.raw).decode("utf-8", "backslashreplace")}
        for q in qs[:limit]]}


class ReplayIn(Schema):
    ids: list[Id] | None = None
    mn: str | None = None
    reason: str | None = None


@router.post("/monitoring/quarantine/replay",
             summary="Replay open quarantined frames of your stations after fixing the registry")
def replay(request, body: ReplayIn = Body(...)):
    _require_office(request.auth)
    return actions.replay_quarantine(request.auth, ids=body.ids, mn=body.mn, reason=body.reason)


class PasswordIn(Schema):
    password: str = Field(max_length=32)


@router.post("/stations/{station_id}/password", response={204: None},
             summary="Set the HJ 212 PW the station sends (empty: none); it also lets the station push over HTTP")
def station_password(request, station_id: int, body: PasswordIn):
    s = get_object_or_404(Station.objects.editable_by(request.auth).select_related("region"), pk=station_id)
    actions.set_station_password(request.auth, s, body.password)
    return Status(204, None)


class ClassifyIn(Schema):
    water_body: Literal["river", "lake"] = "river"
    values: dict[str, float]


@router.post("/water-quality/classify", auth=None,
             summary="GB 3838-2002 single-factor class of a set of values (HJ 212 codes, GB 3838 units)")
def classify(request, body: ClassifyIn):
    result = actions.classify_values(body.values, body.water_body)
    return {"class": result.klass, "deciding": result.deciding, "items": result.items}


@router.get("/monitoring/reach-classes",
            summary="Feature id → the latest GB 3838 class of its sections, spread over the reach tree")
def reach_classes(request, spread: bool = True) -> dict[str, Any]:
    from zhangzhi.features.models import Feature

    stations = list(Station.objects.visible_to(request.auth).filter(feature__isnull=False))
    latest = quality.latest_classes(stations)
    direct: dict[int, str] = {}
    for s in stations:
        row = latest.get(s.pk)
        if row and row["class"]:
            prev = direct.get(s.feature_id)
            # two sections on one reach: the worse class colours it
            if prev is None or quality.gb3838.class_rank(row["class"]) > quality.gb3838.class_rank(prev):
                direct[s.feature_id] = row["class"]
    if spread and direct:
        tree = dict(Feature.objects.visible_to(request.auth).filter(kind__code__in=["river", "reach"])
                    .values_list("id", "parent_id"))
        direct = quality.gb3838.spread_over_tree(direct, tree)
    return {str(k): v for k, v in direct.items()}


@router.get("/monitoring/shares", summary="Share of sections at I–III and 劣V, and attainment, for a region")
def shares(request, year: Year, month: Month | None = None, region: str | None = None):
    qs = Station.objects.visible_to(request.auth).exclude(kind="intake").select_related("region")
    qs = scope.within_region(qs, region)
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput("month must be 1-12", {"month": "1-12"})
    return quality.region_shares(list(qs), year, month)
