"""Local metric frame for a reach (projection).

Everything is measured in a local metric frame centred on the reach
(:class:`LocalFrame`).  By default this is an equirectangular projection with
the WGS84 meridional radius M(φ0) for y and the prime-vertical radius N(φ0)·cos φ0
for x.  The only scale error is in x and equals |cos φ / cos φ0 − 1| ≈
tan φ0 · |φ − φ0|; for a 15 km reach at 38° N (±7.5 km, plus the buffer) that
is ≤ 0.1 %, i.e. ≤ 0.2 m on a 200 m buffer and ≤ 15 m on a 15 km length —
far below GPS noise.  It costs two multiply-adds per point, which matters: a
pyproj transverse Mercator runs at a few million points/s, slower than the
whole rest of the engine.  If a reach is so tall that the bound exceeds 0.1 %,
the frame switches to a pyproj transverse Mercator centred on the reach (the
Transformer is built once and cached with the reach).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from .track import Float

# WGS84 ellipsoid, for the local radii of curvature.
_WGS84_A = 6378137.0
_WGS84_E2 = 0.00669437999014
_DEG = np.pi / 180.0


class LocalFrame:
    """Local metric frame (metres east/north of a centre); see the module docstring."""

    MAX_SCALE_ERROR = 1e-3

    def __init__(self, lon0: float, lat0: float, half_height_m: float = 0.0) -> None:
        self.lon0 = float(lon0)
        self.lat0 = float(lat0)
        phi = self.lat0 * _DEG
        w = 1.0 - _WGS84_E2 * np.sin(phi) ** 2
        n_radius = _WGS84_A / np.sqrt(w)
        m_radius = _WGS84_A * (1.0 - _WGS84_E2) / w**1.5
        self.kx = float(n_radius * np.cos(phi) * _DEG)  # metres per degree of longitude
        self.ky = float(m_radius * _DEG)  # metres per degree of latitude
        self.scale_error = abs(np.tan(phi)) * half_height_m / m_radius
        self._tm = None
        if self.scale_error > self.MAX_SCALE_ERROR:
            from pyproj import Transformer  # only tall reaches pay for pyproj

            proj = f"+proj=tmerc +lat_0={self.lat0} +lon_0={self.lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
            self._tm = (
                Transformer.from_crs("EPSG:4326", proj, always_xy=True),
                Transformer.from_crs(proj, "EPSG:4326", always_xy=True),
            )

    @property
    def kind(self) -> str:
        return "equirectangular" if self._tm is None else "tmerc"

    def forward(self, lon: ArrayLike, lat: ArrayLike) -> tuple[Float, Float]:
        lon_a = np.asarray(lon, np.float64)
        lat_a = np.asarray(lat, np.float64)
        if self._tm is not None:
            x, y = self._tm[0].transform(lon_a, lat_a)
            return np.asarray(x, np.float64), np.asarray(y, np.float64)
        return (lon_a - self.lon0) * self.kx, (lat_a - self.lat0) * self.ky

    def inverse(self, x: ArrayLike, y: ArrayLike) -> tuple[Float, Float]:
        x_a = np.asarray(x, np.float64)
        y_a = np.asarray(y, np.float64)
        if self._tm is not None:
            lon, lat = self._tm[1].transform(x_a, y_a)
            return np.asarray(lon, np.float64), np.asarray(lat, np.float64)
        return x_a / self.kx + self.lon0, y_a / self.ky + self.lat0

    @classmethod
    def around(cls, lon: ArrayLike, lat: ArrayLike, margin_m: float = 0.0) -> LocalFrame:
        lon_a = np.asarray(lon, np.float64)
        lat_a = np.asarray(lat, np.float64)
        lon0 = (lon_a.min() + lon_a.max()) / 2.0
        lat0 = (lat_a.min() + lat_a.max()) / 2.0
        half = (lat_a.max() - lat_a.min()) / 2.0 * 111_000.0 + margin_m
        return cls(lon0, lat0, half)
