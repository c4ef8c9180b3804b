"""The track value: WGS84 lon/lat and epoch seconds, converted and sorted on input."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhangzhi.lib.chinacoords import to_wgs84

Float = NDArray[np.float64]


class Track(NamedTuple):
    """A GPS track in WGS84; ``t`` in epoch seconds, sorted."""

    lon: Float
    lat: Float
    t: Float


def make_track(lon: ArrayLike, lat: ArrayLike, t: ArrayLike, crs: str = "wgs84") -> Track:
    """Build a :class:`Track` from raw arrays: convert from ``crs`` and sort by time."""
    lon_w, lat_w = to_wgs84(np.asarray(lon, np.float64), np.asarray(lat, np.float64), crs)
    t_a = np.asarray(t, np.float64)
    if not (lon_w.shape == lat_w.shape == t_a.shape and lon_w.ndim == 1):
        raise ValueError("lon, lat and t must be 1-D arrays of one length")
    if not (np.isfinite(lon_w).all() and np.isfinite(lat_w).all() and np.isfinite(t_a).all()):
        raise ValueError("track contains non-finite values")
    order = np.argsort(t_a, kind="stable")
    return Track(lon_w[order], lat_w[order], t_a[order])
