"""Where a report lands: the region containing the point, the nearest reach, the responsible office.

Region borders are known down to the county; below that the nearest reach (within
REACH_MAX_DISTANCE_M) names the township or village. Borders are parsed once per process and
kept as prepared shapely geometries, keyed by (id, centre) so a changed border is re-read.
"""

from __future__ import annotations

import math
import threading

import shapely
from shapely.geometry import Point, shape

from zhangzhi.features.models import Feature
from zhangzhi.org import levels
from zhangzhi.org.models import Region, Unit

from . import conf

M_PER_DEG = 111_320.0
_borders: dict[tuple, object] = {}
_lock = threading.Lock()


def _border(pk: int, center: tuple, boundary_loader):
    key = (pk, center)
    geom = _borders.get(key)
    if geom is None:
        geom = shape(boundary_loader())
        shapely.prepare(geom)
        with _lock:
            _borders[key] = geom
    return geom


def region_at(lon: float, lat: float) -> Region | None:
    """The deepest region with a known border that contains the point."""
    rows = list(Region.objects.filter(boundary__isnull=False).values_list("pk", "center_lon", "center_lat", "path"))
    pt = Point(lon, lat)
    best = None
    for pk, clon, clat, path in rows:
        geom = _border(pk, (clon, clat, path),
                       lambda pk=pk: Region.objects.values_list("boundary", flat=True).get(pk=pk))
        if geom.contains(pt) and (best is None or len(path) > len(best[1])):
            best = (pk, path)
    return Region.objects.get(pk=best[0]) if best else None


def distance_m(geometry, lon: float, lat: float) -> float:
    """Distance from a point to a geometry in metres (local equirectangular: fine within km)."""
    k = math.cos(math.radians(lat))
    geom = shapely.transform(shape(geometry), lambda c: c * [k, 1.0])
    return float(geom.distance(Point(lon * k, lat))) * M_PER_DEG


def nearest_reach(lon: float, lat: float, within: Region | None = None) -> Feature | None:
    """The closest feature to the point; among equally close ones (a village reach is cut from its
    township reach) the finest level wins."""
    max_m = conf.get("REACH_MAX_DISTANCE_M")
    dlat = max_m / M_PER_DEG
    dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
    qs = Feature.objects.in_bbox(lon - dlon, lat - dlat, lon + dlon, lat + dlat).select_related("region")
    if within is not None:
        qs = qs.filter(region__path__startswith=within.path)
    best, best_key = None, None
    for f in qs.only("pk", "geometry", "level", "region__path", "region__level", "name"):
        d = distance_m(f.geometry, lon, lat)
        if d > max_m:
            continue
        key = (round(d / 10), -levels.rank(f.level))
        if best_key is None or key < best_key:
            best, best_key = f, key
    return best


def office_for(region: Region) -> Unit | None:
    """The chief office of the region or of the nearest region above it."""
    offices = {u.region_id: u for u in Unit.objects.filter(kind=Unit.Kind.OFFICE, region_id__in=region.ancestor_ids)
               .order_by("pk")}
    for pk in reversed(region.ancestor_ids):
        if pk in offices:
            return offices[pk]
    return None


def office_above(office: Unit) -> Unit | None:
    parent = office.region.parent
    return office_for(parent) if parent is not None else None


def county_of(region: Region) -> Region | None:
    """The county-level (or zone) ancestor of a region, or the region itself above that level."""
    for r in region.ancestors():
        if r.level in (levels.COUNTY, levels.ZONE):
            return r
    return None


# the rings searched for the nearest managed water, smallest first: a tap on a river needs one small
# box query, a tap in the hills a few more
WATER_SEARCH_M = (2_000, 10_000, 50_000)


def nearest_water(lon: float, lat: float) -> tuple[Feature | None, float | None]:
    """(feature, metres) of the nearest managed water (a feature of the 河湖长制 system: river, reach,
    lake, reservoir, canal …) within 50 km of the point, or (None, None). Inside a lake is 0 m."""
    for radius in WATER_SEARCH_M:
        dlat = radius / M_PER_DEG
        dlon = dlat / max(math.cos(math.radians(lat)), 0.1)
        qs = (Feature.objects.public().in_bbox(lon - dlon, lat - dlat, lon + dlon, lat + dlat)
              .filter(kind__system__code="river").only("pk", "name", "geometry", "level"))
        best, best_d = None, None
        for f in qs:
            d = distance_m(f.geometry, lon, lat)
            if d <= radius and (best_d is None or d < best_d):
                best, best_d = f, d
        if best is not None:
            return best, best_d
    return None, None


def midpoint(geometry) -> tuple[float, float]:
    """(lon, lat) of a point on the feature to stand for it: halfway along a line, a point inside a
    polygon (not the centroid, which may lie outside a bent lake)."""
    geom = shape(geometry)
    if geom.geom_type in ("LineString", "MultiLineString"):
        pt = geom.interpolate(0.5, normalized=True)
    else:
        pt = geom.representative_point()
    return round(pt.x, 6), round(pt.y, 6)
