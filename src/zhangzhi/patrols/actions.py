"""Writes for patrols: upload (archive → parse → check → judge → store, one transaction) and the
filing of findings as problem reports.

`actor=None` is a trusted internal caller (the demo, tests), as in org.actions; it names the
patrolling `person` explicitly. A user uploads as their own person and only for a reach they hold
a post on (or a post on a river above it) on the day the patrol started.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from zhangzhi.features.models import Feature
from zhangzhi.lib import chinacoords, storage
from zhangzhi.lib.errors import Forbidden, InvalidInput, TooLarge, ZhangzhiError
from zhangzhi.lib.images import sniff_image
from zhangzhi.org.actions import log_change
from zhangzhi.org.models import Person, Post

from . import periods, tracks
from .models import Finding, Patrol, rules_for

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a 24-hour track at 1 s is ~5 MB of GeoJSON
MAX_POINTS = 100_000
MAX_DURATION_S = 24 * 3600
MAX_FINDINGS = 50
MAX_PHOTO_BYTES = 5 * 1024 * 1024
LOOKBACK = dt.timedelta(days=180)  # earlier patrols of the reach compared for duplicates
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass
class Upload:
    """A parsed, validated upload: WGS84 arrays sorted by time, ready to judge."""

    client_id: uuid.UUID
    feature_id: int
    crs: str
    lon: np.ndarray
    lat: np.ndarray
    t: np.ndarray
    findings: list[dict] = field(default_factory=list)


# -- parsing --------------------------------------------------------------------------------------

def _bad(field_name: str, message: str, code: str | None = None) -> InvalidInput:
    return InvalidInput(f"{field_name}: {message}", {field_name: message}, code=code)


def _parse_time(value, where: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise _bad(where, "not a finite number")
        return float(value)
    if isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise _bad(where, f"{value[:40]!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            raise _bad(where, "time without a UTC offset (add Z or +08:00)")
        return when.timestamp()
    raise _bad(where, "expected an ISO 8601 time or epoch seconds")


def _times(values) -> np.ndarray:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return values.astype(np.float64)
    if not isinstance(values, list | tuple):
        raise _bad("track.times", "expected a list of times parallel to the coordinates")
    return np.array([_parse_time(v, f"track.times[{i}]") for i, v in enumerate(values)], np.float64)


def _coords(values) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(values, np.ndarray):
        arr = values.astype(np.float64)
    else:
        if not isinstance(values, list | tuple):
            raise _bad("track.coordinates", "expected a list of [lon, lat]")
        try:
            arr = np.array([[float(p[0]), float(p[1])] for p in values], np.float64).reshape(-1, 2)
        except (TypeError, ValueError, IndexError, KeyError):
            raise _bad("track.coordinates", "every position must be [lon, lat] numbers") from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise _bad("track.coordinates", "every position must be [lon, lat]")
    return arr[:, 0], arr[:, 1]


def parse_json(body: dict) -> Upload:
    """The API's JSON (or an in-process dict whose arrays may be numpy) → Upload."""
    if not isinstance(body, dict):
        raise _bad("body", "expected a JSON object")
    track = body.get("track")
    if not isinstance(track, dict) or track.get("type") != "LineString":
        raise _bad("track", "expected a GeoJSON LineString")
    lon, lat = _coords(track.get("coordinates"))
    times = track.get("times", body.get("times"))
    if times is None:
        raise _bad("track.times", "required: one ISO 8601 time per position")
    t = _times(times)
    findings = body.get("findings") or []
    if not isinstance(findings, list):
        raise _bad("findings", "expected a list")
    return _validate(body.get("client_id"), body.get("feature"), body.get("crs") or "wgs84", lon, lat, t, findings)


def parse_gpx(data: bytes, form: dict) -> Upload:
    """A GPX 1.0/1.1 file (every trkpt of every trk/trkseg, then rtept) → Upload. defusedxml
    refuses entity declarations, so a billion-laughs or external-entity file is a clear 422."""
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import ParseError, fromstring

    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException:
        raise _bad("file", "GPX with a DTD or entity declarations is not accepted", code="unsafe_xml") from None
    except (ParseError, ValueError) as exc:
        raise _bad("file", f"not well-formed XML ({exc})", code="malformed") from None
    if not root.tag.endswith("gpx"):
        raise _bad("file", "not a GPX document (root element is not <gpx>)", code="malformed")
    pts = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] in ("trkpt", "rtept")]
    lon, lat, t = [], [], []
    for i, el in enumerate(pts):
        where = f"file.trkpt[{i}]"
        try:
            lon.append(float(el.get("lon")))
            lat.append(float(el.get("lat")))
        except (TypeError, ValueError):
            raise _bad(where, "lat and lon attributes must be numbers", code="malformed") from None
        when = next((c.text for c in el if c.tag.rsplit("}", 1)[-1] == "time"), None)
        if not when:
            raise _bad(where, "every point needs a <time>", code="malformed")
        t.append(_parse_time(when, where))
    return _validate(form.get("client_id"), form.get("feature"), form.get("crs") or "wgs84",
                     np.asarray(lon, np.float64), np.asarray(lat, np.float64), np.asarray(t, np.float64), [])


def _validate(client_id, feature, crs, lon, lat, t, findings) -> Upload:
    try:
        cid = client_id if isinstance(client_id, uuid.UUID) else uuid.UUID(str(client_id))
    except (ValueError, TypeError, AttributeError):
        raise _bad("client_id", "required: a UUID chosen by the client") from None
    try:
        feature_id = int(feature)
    except (TypeError, ValueError):
        raise _bad("feature", "required: the id of the reach") from None
    if crs not in chinacoords.CRS_CHOICES:
        raise _bad("crs", f"one of {', '.join(chinacoords.CRS_CHOICES)}")
    n = len(lon)
    if n == 0:
        raise _bad("track.coordinates", "the track is empty", code="empty_track")
    if n < 2:
        raise _bad("track.coordinates", "a track needs at least two positions", code="empty_track")
    if n > MAX_POINTS:
        raise TooLarge(f"track.coordinates: more than {MAX_POINTS} positions", {"track.coordinates": "too many"})
    if len(t) != n:
        raise _bad("track.times", f"{len(t)} times for {n} positions")
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        raise _bad("track.coordinates", "positions must be finite numbers")
    outside = chinacoords.out_of_china(lon, lat)
    if outside.any():
        i = int(np.argmax(outside))
        raise _bad(f"track.coordinates[{i}]", f"({lon[i]:.5f}, {lat[i]:.5f}) lies outside China; "
                   "positions are [lon, lat]", code="outside_china")
    dt_ = np.diff(t)
    if (dt_ <= 0).any():
        i = int(np.argmax(dt_ <= 0)) + 1
        what = "repeats" if dt_[i - 1] == 0 else "goes back from"
        raise _bad(f"track.times[{i}]", f"time {what} the previous one; times must strictly increase",
                   code="bad_times")
    if t[-1] - t[0] > MAX_DURATION_S:
        raise _bad("track.times", "a patrol lasts at most 24 hours")
    now = timezone.now().timestamp()
    if t[-1] > now + CLOCK_SKEW.total_seconds():
        raise _bad("track.times", "the track ends in the future")
    if len(findings) > MAX_FINDINGS:
        raise _bad("findings", f"at most {MAX_FINDINGS}")
    # Storage keeps whole seconds: a phone that logged twice within one second keeps the first fix.
    keep = np.concatenate([[True], np.diff(np.round(t)) > 0])
    lon, lat, t = lon[keep], lat[keep], np.round(t[keep])
    lon_w, lat_w = chinacoords.to_wgs84(lon, lat, crs)
    return Upload(cid, feature_id, crs, lon_w, lat_w, t, [_finding(f, i, t) for i, f in enumerate(findings)])


def _finding(f, i: int, t: np.ndarray) -> dict:
    where = f"findings[{i}]"
    if not isinstance(f, dict):
        raise _bad(where, "expected an object")
    category = str(f.get("category") or "").strip()
    if not category:
        raise _bad(f"{where}.category", "required")
    try:
        lon, lat = float(f["lon"]), float(f["lat"])
    except (KeyError, TypeError, ValueError):
        raise _bad(f"{where}.lon", "lon and lat required") from None
    if chinacoords.out_of_china(lon, lat).any():
        raise _bad(f"{where}.lon", "outside China", code="outside_china")
    at = _parse_time(f["at"], f"{where}.at") if f.get("at") is not None else float(t[-1])
    photo = b""
    if f.get("photo"):
        raw = str(f["photo"])
        if raw.startswith("data:"):
            raw = raw.split(",", 1)[-1]
        if len(raw) > MAX_PHOTO_BYTES * 4 // 3 + 4:
            raise TooLarge(f"{where}.photo: larger than {MAX_PHOTO_BYTES // 2**20} MB", {f"{where}.photo": "too large"})
        try:
            photo = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise _bad(f"{where}.photo", "expected base64 (or a data: URL)") from None
        if sniff_image(photo[:16]) is None:
            raise _bad(f"{where}.photo", "a JPEG, PNG or WebP image")
    return {"category": category[:40], "note": str(f.get("note") or "")[:2000], "lon": lon, "lat": lat,
            "at": at, "photo": photo}


# -- the upload action ----------------------------------------------------------------------------

def _reach_coords(feature: Feature) -> np.ndarray:
    g = feature.geometry or {}
    if g.get("type") == "LineString":
        return np.asarray(g["coordinates"], np.float64)[:, :2]
    if g.get("type") == "MultiLineString":
        # parts in order; the joins between parts are short where a reach was cut at a border
        return np.concatenate([np.asarray(p, np.float64)[:, :2] for p in g["coordinates"]])
    raise _bad("feature", f"{feature.name} is not a line feature (a river or reach); patrols follow lines")


def _post_for(person: Person, chain: list[int], day: dt.date, cache: dict) -> Post | None:
    """The person's post held on ``day`` on the reach or, failing that, on the nearest feature
    above it. The person's posts on the chain are remembered in the batch cache."""
    key = ("posts", person.pk, chain[0])
    if key not in cache:
        cache[key] = list(Post.objects.filter(person=person, feature_id__in=chain).order_by())
    held = {p.feature_id: p for p in cache[key] if p.is_current(day)}
    return next((held[pk] for pk in chain if pk in held), None)


def _utc(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(ts), dt.UTC)


def do_upload_patrol(actor, payload: bytes | dict | Upload, *, fmt: str = "json", form: dict | None = None,
                     person: Person | None = None, source: str | None = None,
                     cache: dict | None = None) -> tuple[Patrol, bool]:
    """上传巡河: archive the raw upload, parse it, check the post, judge the track, store it.

    Returns (patrol, created). The same client_id from the same person returns the first patrol.
    `cache` (optional, a dict the caller keeps) remembers features and rule sets across calls of
    one batch, e.g. the demo's; each call still runs every check.
    """
    raw_rel = ""
    if isinstance(payload, bytes | bytearray):
        if len(payload) > MAX_UPLOAD_BYTES:
            raise TooLarge(f"upload larger than {MAX_UPLOAD_BYTES // 2**20} MB", {"body": "too large"})
        raw_rel = storage.archive_raw(bytes(payload), "patrols", "gpx" if fmt == "gpx" else "json", compress=True)
        try:
            if fmt == "gpx":
                upload = parse_gpx(bytes(payload), form or {})
            else:
                try:
                    body = json.loads(payload)
                except (ValueError, UnicodeDecodeError) as exc:
                    raise _bad("body", f"not JSON ({exc})", code="malformed") from None
                upload = parse_json(body)
        except ZhangzhiError:
            storage.drop(raw_rel)  # a clear 4xx: the client keeps its copy, nothing is stored
            raise
    elif isinstance(payload, dict):
        upload = parse_json(payload)
    else:
        upload = payload
    try:
        return _store(actor, upload, person=person, source=source or ("gpx" if fmt == "gpx" else "api"),
                      raw_rel=raw_rel, cache=cache if cache is not None else {})
    except ZhangzhiError:
        if raw_rel:
            storage.drop(raw_rel)
        raise


@transaction.atomic
def _store(actor, up: Upload, *, person, source, raw_rel, cache) -> tuple[Patrol, bool]:
    if actor is not None:
        person = getattr(actor, "person", None)
        if person is None:
            raise Forbidden("only a person with a post can upload patrols")
    elif person is None:
        raise ValueError("an internal caller names the person")
    existing = Patrol.objects.filter(person=person, client_id=up.client_id).order_by().first()
    if existing is not None:
        return existing, False
    hit = cache.get(("feature", up.feature_id))
    if hit is None:
        feature = Feature.objects.select_related("region", "kind").filter(pk=up.feature_id).first()
        if feature is None:
            raise _bad("feature", f"no reach with id {up.feature_id}", code="unknown_feature")
        hit = cache[("feature", up.feature_id)] = (feature, _reach_coords(feature),
                                                    [feature.pk] + [f.pk for f in feature.ancestors()])
    feature, reach, chain = hit
    start, end = _utc(up.t[0]), _utc(up.t[-1])
    post = _post_for(person, chain, periods.local_date(start), cache)
    if post is None:
        raise Forbidden(f"{person.name} holds no post on {feature.name} on {periods.local_date(start)}; "
                        "a chief files patrols only for their own reaches", {"feature": "not your reach"})
    key = ("rules", feature.kind.system_id, feature.region_id, post.level)
    if key not in cache:
        cache[key] = rules_for(feature.kind.system_id, feature.region, post.level)
    rules, rule_values = cache[key]

    earlier = list(Patrol.objects.filter(feature=feature, started_at__gte=start - LOOKBACK, started_at__lt=start)
                   .order_by().values_list("person_id", "started_at", "signature"))
    index_key = ("index", feature.pk, rules.buffer_m)
    if index_key not in cache:
        cache[index_key] = tracks.reach_index(reach, rules.buffer_m)
    track = tracks.Track(up.lon, up.lat, up.t)
    verdict = tracks.judge_many([track], cache[index_key], rules, [bytes(s) for _, _, s in earlier])[0]
    reasons = list(verdict.reasons)
    interval = tracks.check_interval(up.t[0], [s.timestamp() for p, s, _ in earlier if p == person.pk], rules)
    if interval:
        reasons.append(interval)
    m = verdict.metrics
    patrol = Patrol(
        person=person, feature=feature, region=feature.region, level=post.level,
        uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
        client_id=up.client_id, source=source, crs=up.crs, raw_path=raw_rel, started_at=start, ended_at=end,
        n_points=len(up.t), track=tracks.encode_track(up.lon, up.lat, up.t), signature=verdict.signature,
        duration_s=round(m.duration_s, 1), length_m=round(m.length_m, 1),
        within_buffer_share=round(m.within_buffer_share, 4), coverage=round(m.coverage, 4),
        max_speed_kmh=round(m.max_speed_kmh, 1), effective=not reasons, reasons=reasons, flags=m.flags,
        rules=rule_values, min_lon=float(up.lon.min()), min_lat=float(up.lat.min()),
        max_lon=float(up.lon.max()), max_lat=float(up.lat.max()))
    try:
        with transaction.atomic():
            patrol.save(force_insert=True)
    except IntegrityError:
        # the same client_id raced in from a second request: the first one wins
        return Patrol.objects.get(person=person, client_id=up.client_id), False
    for f in up.findings:
        finding = Finding(patrol=patrol, category=f["category"], note=f["note"], lon=f["lon"], lat=f["lat"],
                          at=_utc(f["at"]))
        if f["photo"]:
            ext = "png" if f["photo"].startswith(b"\x89PNG") else "webp" if f["photo"][8:12] == b"WEBP" else "jpg"
            finding.photo.save(f"{uuid.uuid4().hex}.{ext}", ContentFile(f["photo"]), save=False)
        finding.save()
    log_change(actor, "upload_patrol", patrol, {"feature": feature.pk, "effective": patrol.effective,
                                                "points": patrol.n_points, "findings": len(up.findings)})
    if up.findings:
        do_file_findings(actor, patrol)
    return patrol, True


def do_file_findings(actor, patrol: Patrol) -> int:
    """Turn the patrol's unfiled findings into problem reports (source 巡河发现) through the
    closed loop's `report`, naming the patrol. Only the person who made the patrol files them (or a
    trusted internal caller, actor None, for them). A finding that cannot be filed yet (the cases app
    missing, an unknown category, a place off the reach) keeps its reason and is retried on the next
    call. Returns how many were filed."""
    if actor is not None and getattr(getattr(actor, "person", None), "pk", None) != patrol.person_id:
        raise Forbidden(f"only {patrol.person.name}, who made this patrol, files its findings",
                        {"patrol": "not your patrol"})
    try:
        from zhangzhi.cases import actions as case_actions
    except ImportError as exc:  # the closed loop is not installed: keep the findings on the patrol
        Finding.objects.filter(patrol=patrol, case__isnull=True).update(file_error=str(exc)[:200])
        return 0
    filed = 0
    for finding in patrol.findings.filter(case__isnull=True):
        photos = []
        if finding.photo:
            with finding.photo.open("rb") as fh:
                photos.append((Path(finding.photo.name).name, fh.read()))
        try:
            with transaction.atomic():
                case = case_actions.report(
                    actor, category=finding.category,
                    description=finding.note or f"巡河发现：{patrol.feature.name}",
                    lat=finding.lat, lon=finding.lon, source="patrol", patrol=patrol,
                    reporter_name=patrol.person.name, reporter_phone=patrol.person.phone, photos=photos,
                    at=finding.at, external_ref=f"patrol:{patrol.pk}:{finding.pk}")
        except ZhangzhiError as exc:
            finding.file_error = exc.message[:200]
            finding.save(update_fields=["file_error"])
            continue
        finding.case = case
        finding.file_error = ""
        finding.save(update_fields=["case", "file_error"])
        filed += 1
    if filed:
        log_change(actor, "file_findings", patrol, {"filed": filed})
    return filed
