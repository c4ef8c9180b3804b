"""WGS84 ⇄ GCJ-02 ⇄ BD-09 coordinate conversion, vectorised over numpy arrays.

Chinese map SDKs (AMap/高德, Tencent, the phone's own map view) report GCJ-02
("Mars") coordinates and Baidu reports BD-09; GPS chips and our storage use
WGS84.  A GCJ-02 point read as WGS84 is off by a few hundred metres, which is
larger than a patrol buffer, so every incoming track is normalised here first.

Method
------
* WGS84 → GCJ-02 is the well-known public algorithm: two polynomial/sine
  offsets in degrees-ish units (``_transform_lat``/``_transform_lon``) scaled by
  the Krasovsky-1940 ellipsoid radii (a = 6378245 m, e² = 0.00669342162296594323).
  Points outside the usual mainland bounding box are returned unchanged, exactly
  like every published implementation, so our output matches the map SDKs.
* GCJ-02 → WGS84 has no closed form.  The common one-step approximation
  (``2·p − f(p)``) is off by up to a couple of metres; we iterate the fixed
  point ``w ← w − (f(w) − g)`` until the residual is below 1e-9 degrees (4–6
  iterations in practice), which makes the round trip exact to well under 1 cm.
* GCJ-02 ⇄ BD-09 uses Baidu's ``x_pi`` polar-coordinate twist.  Baidu's
  published inverse is itself an approximation, so ``bd09_to_gcj02`` starts from
  it and refines with the same fixed-point iteration against the forward formula.

All functions accept scalars or arrays (any shape) and return float64 arrays of
the broadcast shape.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CRS_CHOICES",
    "bd09_to_gcj02",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "out_of_china",
    "to_wgs84",
    "wgs84_to_gcj02",
]

CRS_CHOICES = ("wgs84", "gcj02", "bd09")

_A = 6378245.0  # Krasovsky 1940 semi-major axis, as fixed by the GCJ-02 algorithm
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

# Fixed-point iteration stops once the worst point moved less than this (degrees,
# ~0.1 mm); the cap is a safety net, convergence is geometric with ratio ~1e-5.
_TOL_DEG = 1e-9
_MAX_ITER = 30

Float = NDArray[np.float64]


def _arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
    lon_a, lat_a = np.broadcast_arrays(np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64))
    return lon_a, lat_a


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """The bounding test every GCJ-02 implementation uses (not a real border)."""
    lon_a, lat_a = _arrays(lon, lat)
    return (lon_a < 72.004) | (lon_a > 137.8347) | (lat_a < 0.8293) | (lat_a > 55.8271)


def _transform_lat(x: Float, y: Float) -> Float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: Float, y: Float) -> Float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def _gcj_offset(lon: Float, lat: Float) -> tuple[Float, Float]:
    """GCJ-02 minus WGS84, in degrees, for WGS84 input (zero outside China)."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    outside = out_of_china(lon, lat)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
    """WGS84 → GCJ-02; points outside mainland China pass through unchanged."""
    lon_a, lat_a = _arrays(lon, lat)
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return lon_a + dlon, lat_a + dlat


def _invert(forward, lon_t: Float, lat_t: Float, lon0: Float, lat0: Float) -> tuple[Float, Float]:
    """Solve forward(x) = target by fixed-point iteration from a first guess.

    The forward maps are a tiny perturbation of the identity (Jacobian within
    ~1e-5 of I), so ``x ← x − (forward(x) − target)`` contracts very fast.
    """
    lon_w, lat_w = lon0.copy(), lat0.copy()
    for _ in range(_MAX_ITER):
        flon, flat = forward(lon_w, lat_w)
        elon, elat = flon - lon_t, flat - lat_t
        lon_w -= elon
        lat_w -= elat
        if lon_w.size == 0 or max(np.max(np.abs(elon)), np.max(np.abs(elat))) < _TOL_DEG:
            break
    return lon_w, lat_w


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
    """GCJ-02 → WGS84 by iteration (exact inverse of :func:`wgs84_to_gcj02`)."""
    lon_a, lat_a = _arrays(lon, lat)
    # Start from the usual one-step approximation; it is already within ~2 m.
    dlon, dlat = _gcj_offset(lon_a, lat_a)
    return _invert(wgs84_to_gcj02, lon_a, lat_a, lon_a - dlon, lat_a - dlat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
    """GCJ-02 → BD-09 (Baidu's published formula)."""
    x, y = _arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
    """BD-09 → GCJ-02: Baidu's approximate inverse, refined to the exact inverse."""
    lon_a, lat_a = _arrays(lon, lat)
    x = lon_a - 0.0065
    y = lat_a - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    return _invert(gcj02_to_bd09, lon_a, lat_a, z * np.cos(theta), z * np.sin(theta))


def to_wgs84(lon: ArrayLike, lat: ArrayLike, crs: str) -> tuple[Float, Float]:
    """Normalise coordinates labelled ``crs`` ('wgs84', 'gcj02' or 'bd09') to WGS84."""
    if crs == "wgs84":
        return _arrays(lon, lat)
    if crs == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if crs == "bd09":
        return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))
    raise ValueError(f"unknown coordinate system {crs!r}; expected one of {', '.join(CRS_CHOICES)}")
