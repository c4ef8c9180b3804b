"""Geometry checks and measures for managed objects (pure: shapely + pyproj, no Django).

Input is GeoJSON in WGS84 longitude/latitude. Lengths and areas are geodesic on the WGS84
ellipsoid (pyproj.Geod), which is exact at any scale and needs no choice of projection zone.
"""

from __future__ import annotations

import math
from typing import Any

import shapely
from pyproj import Geod
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

GEOD = Geod(ellps="WGS84")

# Mainland China, Hainan and Taiwan with a margin; a coordinate outside is a swapped lat/lon
# or a projected coordinate sent as degrees.
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)

LINE_TYPES = {"LineString", "MultiLineString"}
POLYGON_TYPES = {"Polygon", "MultiPolygon"}
POINT_TYPES = {"Point", "MultiPoint"}
TYPES_FOR = {"line": LINE_TYPES, "polygon": POLYGON_TYPES, "point": POINT_TYPES}


class GeometryError(ValueError):
    """A geometry that cannot be accepted; the message says why, in words for the user."""


def parse(obj: Any, expected: str | None = None) -> BaseGeometry:
    """Validate a GeoJSON geometry object and return it as a shapely geometry."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise GeometryError("geometry must be a GeoJSON object with a 'type'")
    gtype = obj.get("type")
    if expected is not None and gtype not in TYPES_FOR[expected]:
        allowed = " or ".join(sorted(TYPES_FOR[expected]))
        raise GeometryError(f"geometry type {gtype} does not fit this kind (expected {allowed})")
    if not _numbers_only(obj.get("coordinates")):
        raise GeometryError(f"{gtype} coordinates must be finite numbers [longitude, latitude]")
    if gtype == "LineString" and len(obj["coordinates"]) < 2:
        raise GeometryError("a LineString needs at least two points")
    try:
        geom = shape(obj)
    except Exception as exc:  # shapely raises several types for malformed coordinates
        raise GeometryError(f"malformed {gtype} coordinates: {exc}") from None
    if geom.is_empty:
        raise GeometryError("geometry is empty")
    minx, miny, maxx, maxy = geom.bounds
    lo_x, lo_y, hi_x, hi_y = CHINA_BOX
    if not (lo_x <= minx and maxx <= hi_x and lo_y <= miny and maxy <= hi_y):
        raise GeometryError(
            f"coordinates ({minx:.4f},{miny:.4f})–({maxx:.4f},{maxy:.4f}) lie outside China; "
            "send [longitude, latitude] in degrees"
        )
    if gtype in POLYGON_TYPES and not geom.is_valid:
        raise GeometryError(f"invalid polygon: {shapely.is_valid_reason(geom)}")
    if gtype in LINE_TYPES and geom.length == 0:
        raise GeometryError("line has zero length")
    return geom


def _numbers_only(coords: Any) -> bool:
    """Whether nested coordinate lists hold only finite numbers (shapely would take "113.3" and NaN)."""
    if isinstance(coords, list | tuple):
        return all(_numbers_only(c) for c in coords)
    return isinstance(coords, int | float) and not isinstance(coords, bool) and math.isfinite(coords)


def length_m(geom: BaseGeometry) -> float:
    return float(GEOD.geometry_length(geom))


def area_m2(geom: BaseGeometry) -> float:
    area, _perimeter = GEOD.geometry_area_perimeter(geom)
    return abs(float(area))


def measures(geom: BaseGeometry) -> tuple[float | None, float | None]:
    """(length in m for lines, area in m² for polygons)."""
    if geom.geom_type in LINE_TYPES:
        return length_m(geom), None
    if geom.geom_type in POLYGON_TYPES:
        return None, area_m2(geom)
    return None, None


def to_geojson(geom: BaseGeometry, precision: int = 6) -> dict:
    """GeoJSON dict with coordinates rounded to ~0.1 m, as stored."""
    return shapely.geometry.mapping(shapely.set_precision(geom, 10 ** -precision, mode="pointwise"))


def line_ends(geom: BaseGeometry) -> tuple[tuple[float, float], tuple[float, float]] | None:
    if geom.geom_type == "LineString":
        return geom.coords[0], geom.coords[-1]
    if geom.geom_type == "MultiLineString":
        return geom.geoms[0].coords[0], geom.geoms[-1].coords[-1]
    return None
