"""Monitoring writes: register stations, import readings (JSON, CSV, Excel), replay quarantine, thresholds."""

from __future__ import annotations

import csv
import datetime as dt
import hmac
import io
import re
from collections.abc import Iterable
from datetime import UTC

from django.db import transaction
from django.utils import timezone
from shapely.geometry import shape

from zhangzhi.features.models import Feature
from zhangzhi.lib.errors import Conflict, Forbidden, InvalidInput
from zhangzhi.lib.timezone import LOCAL_TZ
from zhangzhi.org import scope
from zhangzhi.org.actions import log_change
from zhangzhi.org.models import Region

from . import alerts, gb3838, hj212
from .ingest import Batch, Ingestor, Received, Row, _sniff_mn, _write, store_rows
from .models import Quarantine, Reading, Station, Threshold, sees_every_frame

TZ = LOCAL_TZ
_CODE_RE = re.compile(r"^[a-z]\d{5}$")
_CLASSES = ("I", "II", "III", "IV", "V")


def _check_write(actor, region: Region | None, what: str) -> None:
    if actor is not None and not scope.can_write(actor, region):
        raise Forbidden(f"{what}: {region.name if region else '-'} is outside your jurisdiction")


def feature_point(feature: Feature) -> tuple[float, float]:
    """A point on the feature (a line's middle, a polygon's inside) for a station placed on it."""
    geom = shape(feature.geometry)
    point = geom.interpolate(0.5, normalized=True) if geom.geom_type in ("LineString", "MultiLineString") \
        else geom.representative_point()
    return round(point.x, 6), round(point.y, 6)


@transaction.atomic
def create_station(actor, *, name: str, kind: str, mn: str | None = None, feature: Feature | None = None,
                   region: Region | None = None, target_class: str = "", water_body: str = "river",
                   level: str = "", parameters: dict[str, str] | None = None, lon: float | None = None,
                   lat: float | None = None, code: str | None = None, password: str = "") -> Station:
    """Register a station; it sits on ``feature`` (a reach or lake) or, for intakes, at lon/lat in ``region``."""
    fields = {}
    if not name.strip():
        fields["name"] = "required"
    if kind not in Station.Kind.values:
        fields["kind"] = f"one of {', '.join(Station.Kind.values)}"
    if water_body not in Station.WaterBody.values:
        fields["water_body"] = "river or lake"
    if target_class and target_class not in _CLASSES:
        fields["target_class"] = "one of I, II, III, IV, V"
    if level not in Station.Level.values:
        fields["level"] = f"one of {', '.join(v for v in Station.Level.values if v)} or empty"
    if kind == Station.Kind.AUTO and not mn:
        fields["mn"] = "an automatic station needs its HJ 212 MN"
    if mn is not None and (not mn or len(mn) > 32 or any(c in mn for c in ";,=&")):
        fields["mn"] = "1-32 characters without ; , = &"
    for pcode, unit in (parameters or {}).items():
        if not _CODE_RE.match(pcode) or not isinstance(unit, str):
            fields[f"parameters.{pcode}"] = "an HJ 212 code (w21003) mapped to a unit (mg/L, μg/L …)"
    if password and not _good_password(password):
        fields["password"] = "0-32 printable characters without ; , = &"
    if feature is None and region is None:
        fields["feature"] = "a station needs a feature (reach, lake) or a region"
    if feature is None and (lon is None or lat is None):
        fields["lon"] = "a station without a feature needs lon and lat"
    if fields:
        first = next(iter(fields.items()))
        raise InvalidInput(f"{first[0]}: {first[1]}", fields)
    region = region or feature.region
    _check_write(actor, region, "station")
    if lon is None or lat is None:
        lon, lat = feature_point(feature)
    if mn and Station.objects.filter(mn=mn).exists():
        raise Conflict(f"a station with MN {mn} exists", {"mn": "taken"})
    if code and Station.objects.filter(code=code).exists():
        raise Conflict(f"a station with code {code} exists", {"code": "taken"})
    station = Station.objects.create(name=name.strip(), kind=kind, mn=mn or None, feature=feature, region=region,
                                     target_class=target_class, water_body=water_body, level=level,
                                     parameters=parameters or {}, lon=lon, lat=lat, code=code or None,
                                     password=password)
    log_change(actor, "create_station", station, {"name": station.name, "kind": kind, "mn": mn})
    alerts.reset_cache()
    return station


@transaction.atomic
def set_threshold(actor, station: Station, parameter: str, *, low: float | None, high: float | None) -> Threshold:
    _check_write(actor, station.region, "threshold")
    if low is None and high is None:
        raise InvalidInput("give low, high or both", {"high": "required"})
    t, _ = Threshold.objects.update_or_create(station=station, parameter=parameter,
                                              defaults={"low": low, "high": high})
    log_change(actor, "set_threshold", station, {"parameter": parameter, "low": low, "high": high})
    alerts.reset_cache()
    return t


# ------------------------------------------------------------------------------------------- imports


def parse_time(text, field: str) -> dt.datetime:
    if isinstance(text, dt.datetime):
        when = text
    else:
        try:
            when = dt.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(f"{field}: {text!r} is not an ISO 8601 time", {field: "ISO 8601 time"}) from None
    if timezone.is_naive(when):
        when = when.replace(tzinfo=TZ)  # local time, as laboratories write it
    return when


def _rows(station: Station, items: Iterable[tuple[str, dict]]) -> list[Row]:
    """Validate readings of one station; ``items`` are (where, reading) so each error names its row."""
    rows, fields = [], {}
    kinds = {k for k, _ in Reading.Kind.choices}
    for path, item in items:
        code = str(item.get("parameter", "")).strip()
        kind = str(item.get("kind") or "sample").strip()
        if not _CODE_RE.match(code):
            fields[f"{path}.parameter"] = "an HJ 212 code such as w21003"
            continue
        if kind not in kinds:
            fields[f"{path}.kind"] = f"one of {', '.join(sorted(kinds))}"
            continue
        try:
            value = float(item.get("value"))
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            fields[f"{path}.value"] = "a finite number"
            continue
        try:
            when = parse_time(item.get("time"), f"{path}.time")
        except InvalidInput as exc:
            fields.update(exc.fields)
            continue
        unit = item.get("unit") or station.parameters.get(code) or None
        value, unit = hj212.normalise(code, value, str(unit) if unit is not None else None)
        rows.append(Row(station.pk, code, kind, when, value, unit[:16], str(item.get("flag") or "")[:4]))
        if len(fields) > 20:
            break
    if fields:
        first = next(iter(fields.items()))
        raise InvalidInput(f"{first[0]}: {first[1]}", fields)
    return rows


def import_readings(actor, station: Station, items: list[dict], *, raw: bytes = b"", source: str = "http",
                    where: str = "readings") -> dict:
    """Store readings of one station (all or nothing when any is invalid); duplicates are ignored."""
    _check_write(actor, station.region, "readings")
    rows = _rows(station, ((f"{where}[{i}]", item) for i, item in enumerate(items)))
    if raw:
        with transaction.atomic():
            _write(Batch(raws=[(dt.datetime.now(UTC), source, getattr(actor, "username", "")[:64], raw)]))
    stored = store_rows(rows)
    if actor is not None:  # a person's import (the listener's machine traffic is in the raw archive)
        log_change(actor, "import_readings", station, {"source": source, "received": len(rows), "stored": stored})
    return {"received": len(rows), "stored": stored, "duplicates": len(rows) - stored}


# A table names its station by code, MN or name; the lookup is limited to the stations the importer may
# edit, so a station of another county answers exactly like one that does not exist.
def _station_by_ref(stations, ref: str, cache: dict, line: str) -> Station:
    if ref not in cache:
        q = stations.filter(code=ref) | stations.filter(mn=ref)
        found = list(q[:1]) or list(stations.filter(name=ref)[:2])
        if len(found) > 1:
            raise InvalidInput(f"{line}: several stations are named {ref[:60]!r}; give its code or MN",
                               {f"{line}.station": "ambiguous"})
        cache[ref] = found[0] if found else None
    if cache[ref] is None:
        raise InvalidInput(f"{line}: unknown station {ref[:60]!r}", {f"{line}.station": "unknown"})
    return cache[ref]


MAX_IMPORT_ROWS = 100_000


def import_table(actor, header: list, records: Iterable[list], *, raw: bytes, source: str) -> dict:
    """Lab results as a table: ``station,time,parameter,value[,unit,kind,flag]`` (long) or
    ``station,time,w01001,w21003,…`` (wide, one sample per line). ``station`` is a code, MN or name of a
    station the actor may edit. All or nothing: any bad line refuses the whole file, naming the line."""
    header = [str(h if h is not None else "").strip() for h in header]
    low = [h.lower() for h in header]
    if "station" not in low or "time" not in low:
        raise InvalidInput("the table needs 'station' and 'time' columns", {"header": "station, time"})
    long = "parameter" in low and "value" in low
    codes = [(i, h) for i, h in enumerate(header) if _CODE_RE.match(h)]
    if not long and not codes:
        raise InvalidInput("no parameter columns (HJ 212 codes such as w21003) and no parameter/value columns",
                           {"header": "parameters"})
    stations = Station.objects.all() if actor is None else Station.objects.editable_by(actor)
    per_station: dict[int, tuple[Station, list[tuple[str, dict]]]] = {}
    cache: dict = {}
    for n, rec in enumerate(records, start=2):
        if n > MAX_IMPORT_ROWS + 1:
            raise InvalidInput(f"at most {MAX_IMPORT_ROWS} lines per file", {"file": "too many lines"})
        rec = list(rec) + [None] * (len(header) - len(rec))
        get = dict(zip(low, rec, strict=False))
        if not any(v not in (None, "") for v in rec):
            continue
        line = f"line {n}"
        ref = str(get["station"] if get["station"] is not None else "").strip()
        if not ref:
            raise InvalidInput(f"{line}: no station", {f"{line}.station": "required"})
        station = _station_by_ref(stations, ref, cache, line)
        bucket = per_station.setdefault(station.pk, (station, []))[1]
        if long:
            bucket.append((line, {"parameter": get["parameter"], "value": get["value"], "time": get["time"],
                                  "unit": get.get("unit"), "kind": get.get("kind") or "sample",
                                  "flag": get.get("flag")}))
        else:
            for i, code in codes:
                if rec[i] not in (None, ""):
                    bucket.append((f"{line}.{code}", {"parameter": code, "value": rec[i], "time": get["time"],
                                                      "kind": "sample"}))
    total = {"received": 0, "stored": 0, "duplicates": 0}
    with transaction.atomic():
        prepared = [(st, _rows(st, items)) for st, items in per_station.values()]
        for st, _ in prepared:
            _check_write(actor, st.region, "readings")
        _write(Batch(raws=[(dt.datetime.now(UTC), source, getattr(actor, "username", "")[:64], raw)]))
        for st, rows in prepared:
            stored = store_rows(rows)
            total["received"] += len(rows)
            total["stored"] += stored
            log_change(actor, "import_readings", st, {"source": source, "received": len(rows), "stored": stored})
    total["duplicates"] = total["received"] - total["stored"]
    return total


# C0 controls other than tab, CR and LF: never in a CSV someone saved, always in images and binaries
_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV: UTF-8 (with or without the BOM Excel writes), else GB18030 — what Excel
    on a Chinese Windows saves as "CSV" (GB18030 is a superset of GBK and GB2312). Anything else, or bytes
    that decode but hold control characters (an image, a zip, an old .xls), is refused."""
    if not data.strip():
        raise InvalidInput("empty file", {"file": "empty"})
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _BINARY.search(text):
            return text
    raise InvalidInput("not a CSV text file (UTF-8 or GBK/GB18030); save the sheet as CSV or .xlsx",
                       {"file": "not CSV text"})


def _guarded(rows: Iterable, what: str) -> Iterable:
    """Iterate ``rows``, turning a reader's failure half-way (a damaged file) into a 422 naming the line."""
    it = iter(rows)
    n = 1
    while True:
        try:
            rec = next(it)
        except StopIteration:
            return
        except Exception as exc:
            raise InvalidInput(f"line {n}: the {what} cannot be read further ({type(exc).__name__})",
                               {f"line {n}": "unreadable"}) from None
        n += 1
        yield rec


def import_csv(actor, data: bytes) -> dict:
    reader = _guarded(csv.reader(io.StringIO(decode_csv(data), newline="")), "CSV file")
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput("empty file", {"file": "empty"}) from None
    return import_table(actor, header, reader, raw=data, source="csv")


def import_excel(actor, data: bytes) -> dict:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        sheet = wb.worksheets[0]
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the bytes are not a usable workbook
        raise InvalidInput(f"not an Excel workbook (.xlsx): {type(exc).__name__}", {"file": "xlsx"}) from None
    try:
        rows = _guarded(sheet.iter_rows(values_only=True), "workbook")
        try:
            header = list(next(rows))
        except StopIteration:
            raise InvalidInput("empty sheet", {"file": "empty"}) from None
        return import_table(actor, header, rows, raw=data, source="xlsx")
    finally:
        wb.close()


# ---------------------------------------------------------------------------------------- quarantine


def replay_quarantine(actor, *, ids: list[int] | None = None, mn: str | None = None,
                      reason: str | None = None) -> dict:
    """Process open quarantined frames again (after the station registry was fixed).

    Only frames the actor may replay: those of stations they may edit (all of them for the system
    administrator and the command line). Frames that now store are marked replayed; the others stay open
    with their new reason.
    """
    if actor is not None and not sees_every_frame(actor) and not scope.write_paths(actor):
        raise Forbidden("only a river chief office may replay quarantined frames")
    qs = Quarantine.objects.all() if actor is None else Quarantine.objects.editable_by(actor)
    qs = qs.filter(status=Quarantine.Status.OPEN).order_by("pk")
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    if mn:
        qs = qs.filter(mn=mn)
    if reason:
        qs = qs.filter(reason=reason)
    ingestor = Ingestor()
    ingestor.reload()
    replayed = still = 0
    now = dt.datetime.now(UTC)
    for q in qs.iterator():
        batch = Batch()
        ingestor._one(Received(bytes(q.raw), q.peer, q.received_at, source="replay"), q.received_at, batch)
        if batch.quarantine:
            _, new_reason, message, *_ = batch.quarantine[0]
            Quarantine.objects.filter(pk=q.pk).update(reason=new_reason, message=message)
            still += 1
            continue
        with transaction.atomic():
            _write(batch)
            Quarantine.objects.filter(pk=q.pk).update(status=Quarantine.Status.REPLAYED, replayed_at=now)
        if batch.rows:
            alerts.check_rows(batch.rows)
        replayed += 1
    if actor is not None:
        log_change(actor, "replay_quarantine", Quarantine(pk=0), {"replayed": replayed, "still": still})
    return {"replayed": replayed, "still_quarantined": still}


# ------------------------------------------------------------------------------------- frames over HTTP


def _sniff(raw: bytes, key: bytes) -> str | None:
    at = raw.find(b";" + key)
    if at < 0:
        return None
    end = raw.find(b";", at + 1)
    value = raw[at + 1 + len(key): end if end >= 0 else at + 1 + len(key) + 32][:32]
    return value.decode("utf-8", "replace")


def frame_identity(raw: bytes) -> tuple[set[str], str | None]:
    """Every MN the ingestor could file ``raw`` under, and the PW it carries.

    A frame that parses is filed under its header MN; one that does not, under the first ``MN=`` in its
    bytes (:func:`~zhangzhi.monitoring.ingest._sniff_mn`). Both count, so no crafted frame can land in
    another station's readings or quarantine."""
    mns: set[str] = set()
    pw = None
    try:
        packet = hj212.parse_frame(raw, allow_modbus_crc=True)
    except hj212.HJ212Error:
        pw = _sniff(raw, b"PW=")
    else:
        mns.add(packet.mn or "")
        pw = packet.pw
    mns.add(_sniff_mn(raw) or "")
    return mns, pw


def check_frame_senders(actor, frames: list[bytes]) -> None:
    """Frames over HTTP are taken only for stations the caller may edit, or with the station's own password.

    Refuses the whole request, naming the first frame that fails, with the same message whether its MN
    names a station of another county, an inactive one or none at all."""
    if sees_every_frame(actor):
        return
    identities = [frame_identity(raw) for raw in frames]
    mns = {mn for found, _ in identities for mn in found if mn}
    mine = set()
    if actor is not None and actor.is_authenticated:
        mine = set(Station.objects.editable_by(actor).filter(mn__in=mns).values_list("mn", flat=True))
    passwords = dict(Station.objects.filter(mn__in=mns - mine, active=True).exclude(password="")
                     .values_list("mn", "password"))
    for i, (found, pw) in enumerate(identities):
        for mn in found:
            if mn in mine:
                continue
            secret = passwords.get(mn)
            if secret is None or pw is None or not hmac.compare_digest(secret.encode(), pw.encode()):
                raise Forbidden(f"frames[{i}]: not a station you may send data for (give its MN and PW)",
                                {f"frames[{i}]": "not yours"})


def _good_password(password: str) -> bool:
    # it travels inside every HJ 212 header: no separators, no control characters
    return len(password) <= 32 and password.isprintable() and not any(c in password for c in ";,=&")


@transaction.atomic
def set_station_password(actor, station: Station, password: str) -> None:
    """Set (or clear, with ``""``) the HJ 212 PW the station must send; the value is never logged."""
    _check_write(actor, station.region, "station")
    if not _good_password(password):
        raise InvalidInput("password: 0-32 printable characters without ; , = &", {"password": "invalid"})
    Station.objects.filter(pk=station.pk).update(password=password)
    log_change(actor, "set_station_password", station, {"password": "set" if password else "cleared"})


def classify_values(values: dict[str, float], water_body: str) -> gb3838.Result:
    try:
        return gb3838.classify(values, water_body)
    except gb3838.NothingToGrade as exc:
        raise InvalidInput(str(exc), {"values": "no class-deciding GB 3838 item"}) from None
    except ValueError as exc:
        raise InvalidInput(str(exc), {"values": str(exc)}) from None



