"""无人机巡查 import: reading one upload (a GeoJSON FeatureCollection of points, photos in a ZIP or as
data: URIs, or one ZIP holding both) and checking every point before anything is written.

Reads only: the write is `actions.import_drone`. ZIPs are read with limits on the member count and
on the bytes they unpack to — both as declared in the directory and as actually read — so a ZIP
bomb is refused with 413 before it fills memory. Errors are keyed by the point's position, as
everywhere in the API: "features[3].properties.category".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import io
import json
import math
import posixpath
import zipfile
from dataclasses import dataclass, field

from django.utils import timezone

from zhangzhi.lib.errors import InvalidInput, TooLarge

from . import conf

GEOJSON_SUFFIXES = (".geojson", ".json")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


def upload_bytes(upload, what: str) -> bytes | None:
    """The bytes of an uploaded file (Django UploadedFile), refused with 413 before reading when too large."""
    if upload is None:
        return None
    limit = conf.get("DRONE_MAX_UPLOAD_BYTES")
    if upload.size > limit:
        raise TooLarge(f"the {what} is larger than {_mb(limit)}", {what: "too large"})
    return upload.read()


def is_zip(data: bytes) -> bool:
    return data[:4] in (b"PK\x03\x04", b"PK\x05\x06")


class Bundle:
    """The members of an uploaded ZIP, read on demand within the unpacked-bytes budget."""

    def __init__(self, data: bytes, what: str):
        self.what = what
        try:
            self.zf = zipfile.ZipFile(io.BytesIO(data))
        except (zipfile.BadZipFile, ValueError):
            raise InvalidInput(f"the {what} is not a readable ZIP file", {what: "not a readable ZIP"}) from None
        infos = [i for i in self.zf.infolist()
                 if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        if len(infos) > conf.get("DRONE_MAX_ZIP_MEMBERS"):
            raise TooLarge(f"the {what} holds {len(infos)} files, more than {conf.get('DRONE_MAX_ZIP_MEMBERS')}",
                           {what: "too many files"})
        self.budget = conf.get("DRONE_MAX_UNZIPPED_BYTES")
        declared = sum(i.file_size for i in infos)
        if declared > self.budget:
            raise TooLarge(f"the {what} unpacks to {_mb(declared)}, more than {_mb(self.budget)}",
                           {what: "unpacks too large"})
        self.members = {i.filename: i for i in infos}
        by_base: dict[str, list[zipfile.ZipInfo]] = {}
        for i in infos:
            by_base.setdefault(posixpath.basename(i.filename), []).append(i)
        self.by_base = {k: v[0] for k, v in by_base.items() if len(v) == 1}
        self.read_total = 0

    def find(self, name: str) -> zipfile.ZipInfo | None:
        name = name.replace("\\", "/").lstrip("./")
        return self.members.get(name) or self.by_base.get(posixpath.basename(name))

    def read(self, info: zipfile.ZipInfo, limit: int) -> bytes:
        """At most limit + 1 bytes of a member (the caller tells too large from the extra byte)."""
        if info.flag_bits & 0x1:
            raise InvalidInput(f"{info.filename} in the {self.what} is encrypted", {self.what: "encrypted member"})
        try:
            with self.zf.open(info) as fh:
                data = fh.read(limit + 1)
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            raise InvalidInput(f"{info.filename} in the {self.what} cannot be read: {exc}",
                               {self.what: "unreadable member"}) from None
        self.read_total += len(data)
        if self.read_total > self.budget:  # the directory lied about the sizes
            raise TooLarge(f"the {self.what} unpacks to more than {_mb(self.budget)}", {self.what: "unpacks too large"})
        return data

    def geojson_members(self) -> list[zipfile.ZipInfo]:
        return [i for n, i in self.members.items() if n.lower().endswith(GEOJSON_SUFFIXES)]


@dataclass
class Point:
    """One checked point, ready for `actions.report`."""

    index: int
    category: str
    description: str
    urgency: str
    lat: float
    lon: float
    taken_at: dt.datetime
    photo: tuple[str, bytes] | None
    data: dict = field(default_factory=dict)


def read_upload(file: bytes, photos: bytes | None) -> tuple[dict, Bundle | None]:
    """(the FeatureCollection, the ZIP its photo names refer to) from the upload's one or two files."""
    bundle = None
    if is_zip(file):
        bundle = Bundle(file, "file")
        found = bundle.geojson_members()
        if len(found) != 1:
            raise InvalidInput("the ZIP must hold exactly one .geojson (or .json) file; it holds "
                               f"{len(found)}", {"file": "one .geojson file expected in the ZIP"})
        text = bundle.read(found[0], conf.get("DRONE_MAX_UPLOAD_BYTES"))
        if photos:
            raise InvalidInput("send either one ZIP with the GeoJSON and the photos, or the GeoJSON and a ZIP "
                               "of photos", {"photos": "not expected with a ZIP file"})
    else:
        text = file
        if photos:
            if not is_zip(photos):
                raise InvalidInput("photos must be a ZIP file", {"photos": "not a ZIP"})
            bundle = Bundle(photos, "photos")
    try:
        collection = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInput(f"the GeoJSON cannot be read: {exc}", {"file": "not JSON"}) from None
    except RecursionError:  # arrays nested thousands deep: no GeoJSON looks like that
        raise InvalidInput("the GeoJSON is nested too deeply", {"file": "not GeoJSON"}) from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise InvalidInput("expected a GeoJSON FeatureCollection", {"file": "must be a FeatureCollection"})
    items = collection.get("features")
    if not isinstance(items, list) or not items:
        raise InvalidInput("the FeatureCollection has no features", {"features": "empty"})
    if len(items) > conf.get("DRONE_MAX_POINTS"):
        raise InvalidInput(f"at most {conf.get('DRONE_MAX_POINTS')} points per import", {"features": "too many"})
    return collection, bundle


def _data_uri(uri: str, limit: int) -> bytes | str:
    """The bytes of a base64 data: URI, or what is wrong with it."""
    head, sep, payload = uri.partition(",")
    if not sep or not head.endswith(";base64"):
        return "a data: URI must be base64 (data:image/jpeg;base64,…)"
    if len(payload) > (limit + 3) * 4 // 3 + 4:
        return f"larger than {_mb(limit)}"
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return "not valid base64"


def _photo(value, bundle: Bundle | None, sniff) -> tuple[str, bytes] | str:
    """(name, bytes) of a point's photo, or what is wrong with it."""
    limit = conf.get("MAX_PHOTO_BYTES")
    if not isinstance(value, str) or not value.strip():
        return "a file name in the ZIP or a data: URI"
    value = value.strip()
    if value.startswith("data:"):
        got = _data_uri(value, limit)
        name = "photo"
    elif bundle is None:
        return f"{value!r}: no ZIP of photos was uploaded"
    else:
        info = bundle.find(value)
        if info is None:
            return f"no file {value!r} in the ZIP"
        if info.file_size > limit:
            return f"{value} is larger than {_mb(limit)}"
        got = bundle.read(info, limit)
        name = posixpath.basename(info.filename)
    if isinstance(got, str):
        return got
    if len(got) > limit:
        return f"larger than {_mb(limit)}"
    if sniff(got[:16]) is None:
        return f"{name} is not a JPEG, PNG or WebP image"
    return name, got


def _taken_at(value, now: dt.datetime) -> dt.datetime | str:
    if not isinstance(value, str) or not value:
        return "required, ISO 8601 (2026-03-02T09:30:00+08:00)"
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return f"{value!r} is not ISO 8601"
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when > now + dt.timedelta(minutes=10):
        return "lies in the future"
    return when


def check_points(collection: dict, bundle: Bundle | None, *, categories: set[str], urgencies: set[str],
                 sniff, locate, now: dt.datetime) -> tuple[list[Point], dict[str, str]]:
    """Every point checked; errors keyed "features[i]…". `locate(lat, lon)` returns an error or None."""
    points, errors = [], {}
    for i, item in enumerate(collection["features"]):
        where = f"features[{i}]"
        if not isinstance(item, dict) or item.get("type") != "Feature":
            errors[where] = "not a GeoJSON Feature"
            continue
        props = item.get("properties")
        if not isinstance(props, dict):
            errors[f"{where}.properties"] = "must be an object"
            continue
        geom = item.get("geometry") or {}
        coords = geom.get("coordinates") if isinstance(geom, dict) else None
        lat = lon = None
        if not (isinstance(geom, dict) and geom.get("type") == "Point" and isinstance(coords, list)
                and len(coords) >= 2 and all(isinstance(c, int | float) and not isinstance(c, bool)
                                             for c in coords[:2])):
            errors[f"{where}.geometry"] = "must be a Point with [lon, lat]"
        else:
            try:
                lon, lat = float(coords[0]), float(coords[1])
            except OverflowError:  # an integer of hundreds of digits
                lon = lat = math.nan
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                errors[f"{where}.geometry"] = f"({lat}, {lon}) is not a coordinate"
            else:
                problem = locate(lat, lon)
                if problem:
                    errors[f"{where}.geometry"] = problem
        p = f"{where}.properties"
        category = props.get("category")
        if not isinstance(category, str) or category not in categories:
            errors[f"{p}.category"] = f"unknown category {category!r}; see GET /api/v1/case-categories"
        description = props.get("description")
        if not isinstance(description, str) or not description.strip():
            errors[f"{p}.description"] = "required"
        urgency = props.get("urgency") or "normal"
        if not isinstance(urgency, str) or urgency not in urgencies:
            errors[f"{p}.urgency"] = f"one of {', '.join(sorted(urgencies))}"
        taken = _taken_at(props.get("taken_at"), now)
        if isinstance(taken, str):
            errors[f"{p}.taken_at"] = taken
        photo = None
        if props.get("photo") not in (None, ""):
            photo = _photo(props.get("photo"), bundle, sniff)
            if isinstance(photo, str):
                errors[f"{p}.photo"] = photo
        if not any(k == where or k.startswith(where + ".") for k in errors):
            points.append(Point(index=i, category=category, description=description.strip(), urgency=urgency,
                                lat=lat, lon=lon, taken_at=taken, photo=photo,
                                data={"taken_at": taken.isoformat(), "drone_index": i}))
    return points, errors
