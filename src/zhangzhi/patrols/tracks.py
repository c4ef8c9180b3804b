"""Patrol track judging (有效巡河判定) — pure numpy (+ pyproj as a fallback).

A patrol is a GPS track (WGS84 lon/lat + epoch seconds) along a reach (a WGS84
LineString).  :func:`judge` / :func:`judge_many` decide whether it counts as an
effective patrol under a :class:`Rules` set and say why not, in Chinese.

Projection
----------
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

Distance to the reach (the hot path)
------------------------------------
:class:`ReachIndex` (built once per reach × buffer, cached) lays a uniform grid
of ``cell_m`` cells over the reach.  For each cell it stores the padded list of
segments that can be the nearest segment of some point in the cell *and* be
within the buffer: with h the cell half-diagonal and d_c the smallest
centre-to-segment distance of the cell, a segment qualifies iff its distance
to the centre is ≤ min(d_c + 2h, buffer + h).  (Triangle inequality: for a
point q in the cell the true nearest distance is ≤ d_c + h, so its nearest
segment is within d_c + 2h of the centre.)  Cells with no qualifying segment are
entirely outside the buffer, so most off-river points are rejected by one
table lookup.  For the rest, distance and projection to the K candidates are
computed vectorised over (points × K), in float32 on cache-sized chunks, and the
argmin gives the exact nearest distance and its chainage (distance along the
reach).  Candidates are stored in two tables (narrow for the common cells,
wide for bends) so bends do not widen the work for every point.

Coverage
--------
Each in-buffer point has a chainage.  Consecutive points (of one track) that are
both in the buffer and whose chainages differ by less than ``max_gap`` (default
2 × buffer) cover every ``coverage_bin_m`` bin between them, so sparse sampling
still covers; isolated in-buffer points cover their own bin.  Coverage is
covered bins / bins of the reach, computed for all tracks of a batch with one
difference array.

Fraud signs
-----------
* ``short_and_long`` — duration ≤ 15 min and length > 4 km.
* ``jump`` — a segment faster than ``max_speed_kmh`` after removing isolated
  one-point GPS spikes (the neighbours of a spike are close to each other; a
  real teleport is not followed by a return).
* ``driving`` — more than half of the moving segments faster than 25 km/h for
  at least two minutes in total.
* ``duplicate`` — the track's signature (32 points resampled uniformly in
  *elapsed-time fraction* and 32 in *length fraction*) is within 4 m mean
  distance of an earlier signature.  A copy keeps its time profile even when
  shifted or lightly noised, so it lands within the noise (~1–3 m); a genuine
  second walk has independent GPS noise (mean ≥ ~9 m for 5 m noise even at
  identical pace) and different pauses/pace (tens to hundreds of metres).
* ``no_jitter`` — real GPS never sits still or moves perfectly regularly: flag
  (a) exact repeated coordinates for ≥ 50 % of the duration and ≥ 10 minutes,
  or (b) ≥ 20 steps with coefficient of variation < 2 % in both step length and
  time step that lie on a straight line (RMS perpendicular < 0.5 m) or exactly
  on the reach (every point < 0.5 m from it).  A phone left on a table shows
  exact repeats or jitter without progress; the latter is caught by coverage.

Storage
-------
:func:`encode_track`/:func:`decode_track` keep a whole track in one bytes
value: lon/lat in integer micro-degrees and time in whole seconds,
delta-encoded, as zigzag LEB128 varints, zlib-compressed.  Both directions are
vectorised in numpy (no per-byte Python loop): ~0.17 ms to decode a
2,900-point track.  Measured on 5-s walks with 6 m GPS noise: 2.18 bytes/point
(vs 24 raw, 2.37 for the alternative kept as format 1: fixed-width int32
deltas, byte-shuffled, zlib).  A leading format byte keeps both decodable.
"""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhangzhi.lib.chinacoords import to_wgs84

__all__ = [
    "REASONS",
    "LocalFrame",
    "Metrics",
    "ReachIndex",
    "Rules",
    "Track",
    "Verdict",
    "check_interval",
    "coverage_from_chainage",
    "decode_track",
    "encode_track",
    "judge",
    "judge_many",
    "make_track",
    "nearest_bruteforce",
    "reach_index",
    "signature_distance_m",
    "track_signature",
]

Float = NDArray[np.float64]

# WGS84 ellipsoid, for the local radii of curvature.
_WGS84_A = 6378137.0
_WGS84_E2 = 0.00669437999014
_DEG = np.pi / 180.0

# Human reasons (Simplified Chinese), kept in one place so wording is reviewed once.
REASONS: dict[str, str] = {
    "duration": "巡河时长不足{min_min:.0f}分钟（实际{actual_min:.0f}分钟）",
    "length": "巡河里程不足{min_km:.1f}公里（实际{actual_km:.2f}公里）",
    "within": "轨迹偏离河道：仅{share:.0%}的轨迹点在河道{buffer_m:.0f}米范围内（要求{min_share:.0%}）",
    "coverage": "河段覆盖率不足{min_cov:.0%}（实际{actual:.0%}）",
    "interval": "距上次巡河不足{min_min:.0f}分钟（实际{actual_min:.0f}分钟）",
    "short_and_long": "疑似作弊：{actual_min:.0f}分钟内巡河{actual_km:.1f}公里，时长与里程不符",
    "jump": "疑似作弊：轨迹存在瞬移（最高速度{speed:.0f}公里/小时）",
    "driving": "疑似驾车巡河：移动速度多在{limit:.0f}公里/小时以上（平均{speed:.0f}公里/小时）",
    "duplicate": "疑似作弊：轨迹与此前巡河记录几乎相同（平均偏差{distance:.1f}米）",
    "no_jitter": "疑似作弊：轨迹缺少正常的GPS漂移（坐标长时间完全不变或过于规则）",
    "empty": "轨迹点过少，无法判定",
}


@dataclass(frozen=True)
class Rules:
    """One validity rule set (有效巡河标准); defaults are the demo values."""

    min_duration_s: float = 600.0
    min_length_m: float = 1000.0
    buffer_m: float = 200.0
    min_coverage: float = 0.30
    min_within_share: float = 0.50
    min_interval_s: float = 3600.0
    max_speed_kmh: float = 120.0
    # short_and_long: this fast over this distance is not a walk
    short_long_max_duration_s: float = 900.0
    short_long_min_length_m: float = 4000.0
    driving_speed_kmh: float = 25.0
    driving_min_time_s: float = 120.0
    duplicate_max_mean_m: float = 4.0
    repeat_min_s: float = 600.0
    coverage_bin_m: float = 10.0
    coverage_max_gap_m: float | None = None  # None → 2 × buffer_m

    @property
    def max_gap_m(self) -> float:
        return 2.0 * self.buffer_m if self.coverage_max_gap_m is None else self.coverage_max_gap_m


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


@dataclass
class Metrics:
    duration_s: float
    length_m: float
    within_buffer_share: float
    coverage: float
    max_speed_kmh: float
    moving_speed_kmh: float
    duplicate_distance_m: float | None
    flags: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    effective: bool
    reasons: list[str]
    metrics: Metrics
    signature: bytes


# --------------------------------------------------------------------------- projection


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


# --------------------------------------------------------------------------- reach index

_FAR = np.float32(1e9)  # padding segment far away: never the nearest


class ReachIndex:
    """A reach prepared for fast nearest-segment queries at one buffer width."""

    def __init__(self, reach_lonlat: ArrayLike, buffer_m: float, cell_m: float | None = None) -> None:
        coords = np.asarray(reach_lonlat, np.float64)
        if coords.ndim != 2 or coords.shape[1] != 2 or len(coords) < 2:
            raise ValueError("reach must be an (n >= 2, 2) array of lon/lat")
        self.lonlat = coords
        self.buffer_m = float(buffer_m)
        self.frame = LocalFrame.around(coords[:, 0], coords[:, 1], margin_m=self.buffer_m)
        x, y = self.frame.forward(coords[:, 0], coords[:, 1])
        self.x, self.y = x, y
        seg_len = np.hypot(np.diff(x), np.diff(y))
        self.chain = np.concatenate([[0.0], np.cumsum(seg_len)])  # chainage of each vertex
        self.length_m = float(self.chain[-1])
        if self.length_m <= 0:
            raise ValueError("reach has zero length")
        keep = np.flatnonzero(seg_len > 0)  # zero-length segments are covered by neighbours
        self.seg_ids = keep
        ax, ay = x[keep], y[keep]
        lens = seg_len[keep]
        ux, uy = np.diff(x)[keep] / lens, np.diff(y)[keep] / lens
        self._segs = (ax, ay, ux, uy, lens, self.chain[keep])
        self._build_grid(cell_m if cell_m is not None else self._default_cell())

    def _default_cell(self) -> float:
        # ~buffer/13 keeps K (candidates per cell) small; grow it for huge reaches
        # so the dense cell table stays under ~4M entries.
        cell = max(self.buffer_m / 13.0, 5.0)
        w = np.ptp(self.x) + 2 * self.buffer_m
        h = np.ptp(self.y) + 2 * self.buffer_m
        while (w / cell + 3) * (h / cell + 3) > 4e6:
            cell *= 1.5
        return cell

    def _build_grid(self, cell: float) -> None:
        ax, ay, ux, uy, lens, chain0 = self._segs
        buf = self.buffer_m
        hdiag = cell * np.sqrt(0.5)
        reach_r = buf + hdiag
        self.cell_m = cell
        self.gx0 = float(self.x.min() - buf - cell)
        self.gy0 = float(self.y.min() - buf - cell)
        nx = int(np.ceil((self.x.max() + buf + cell - self.gx0) / cell)) + 1
        ny = int(np.ceil((self.y.max() + buf + cell - self.gy0) / cell)) + 1
        self.nx, self.ny = nx, ny
        # Candidate (segment, cell) pairs: cells overlapping each segment's bbox
        # grown by buffer + half-diagonal.
        bx, by = ax + ux * lens, ay + uy * lens
        ix0 = np.floor((np.minimum(ax, bx) - reach_r - self.gx0) / cell).astype(np.int64)
        ix1 = np.floor((np.maximum(ax, bx) + reach_r - self.gx0) / cell).astype(np.int64)
        iy0 = np.floor((np.minimum(ay, by) - reach_r - self.gy0) / cell).astype(np.int64)
        iy1 = np.floor((np.maximum(ay, by) + reach_r - self.gy0) / cell).astype(np.int64)
        ix0, iy0 = np.maximum(ix0, 0), np.maximum(iy0, 0)
        ix1, iy1 = np.minimum(ix1, nx - 1), np.minimum(iy1, ny - 1)
        wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
        counts = wx * wy
        seg = np.repeat(np.arange(len(ax)), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cx = ix0[seg] + k % wx[seg]
        cy = iy0[seg] + k // wx[seg]
        px = self.gx0 + (cx + 0.5) * cell
        py = self.gy0 + (cy + 0.5) * cell
        d = _point_segment_distance(px, py, ax[seg], ay[seg], ux[seg], uy[seg], lens[seg])
        ok = d <= reach_r
        seg, d, cell_id = seg[ok], d[ok], (cy * nx + cx)[ok]
        dmin = np.full(nx * ny, np.inf)
        np.minimum.at(dmin, cell_id, d)
        ok = d <= dmin[cell_id] + 2 * hdiag
        seg, d, cell_id = seg[ok], d[ok], cell_id[ok]
        order = np.lexsort((d, cell_id))
        seg, cell_id = seg[order], cell_id[order]
        cells, start, count = np.unique(cell_id, return_index=True, return_counts=True)
        # Two tables: the narrow one serves most cells, the wide one the bends.
        k_narrow = int(max(1, np.percentile(count, 90))) if len(count) else 1
        narrow = count <= k_narrow
        self.cell_row = np.full(nx * ny, -1, np.int32)
        n_narrow = int(narrow.sum())
        order_rows = np.concatenate([np.flatnonzero(narrow), np.flatnonzero(~narrow)])
        self.cell_row[cells[order_rows]] = np.arange(len(cells), dtype=np.int32)
        self.n_narrow = n_narrow
        self.k_max = int(count.max()) if len(count) else 1
        self.k_narrow = k_narrow
        # Cell centres: points are taken relative to them so float32 keeps mm precision.
        self.row_cx = self.gx0 + (cells[order_rows] % nx + 0.5) * cell
        self.row_cy = self.gy0 + (cells[order_rows] // nx + 0.5) * cell
        rank = np.arange(len(seg)) - np.repeat(start, count)  # position within its cell
        row_of_pair = np.empty(len(seg), np.int64)
        row_pos = np.empty(len(cells), np.int64)
        row_pos[order_rows] = np.arange(len(cells))
        row_of_pair[:] = np.repeat(row_pos, count)
        self.tables = []
        for lo, hi, width in ((0, n_narrow, k_narrow), (n_narrow, len(cells), self.k_max)):
            # Layout (field, rows, K): a row gather per field yields contiguous
            # (points, K) planes, so the kernel's numpy loops are long and flat.
            table = np.zeros((6, hi - lo, width), np.float32)
            table[0] = table[1] = _FAR  # padding: a zero-length segment far away
            table[2] = 1.0
            pick = (row_of_pair >= lo) & (row_of_pair < hi)
            r, k, sg = row_of_pair[pick] - lo, rank[pick], seg[pick]
            table[0, r, k] = ax[sg] - self.row_cx[r + lo]
            table[1, r, k] = ay[sg] - self.row_cy[r + lo]
            table[2, r, k] = ux[sg]
            table[3, r, k] = uy[sg]
            table[4, r, k] = lens[sg]
            table[5, r, k] = chain0[sg]
            self.tables.append(table)

    def nearest(self, x: Float, y: Float, chunk: int = 2048) -> tuple[NDArray[np.float32], Float]:
        """Distance (m, inf if beyond the buffer) and chainage (nan) of each point."""
        inv = 1.0 / self.cell_m
        nx, ny = self.nx, self.ny
        fx = (x - self.gx0) * inv
        fy = (y - self.gy0) * inv
        inside = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
        np.clip(fx, 0, nx - 1, out=fx)
        np.clip(fy, 0, ny - 1, out=fy)
        cell = fy.astype(np.int32)
        cell *= nx
        cell += fx.astype(np.int32)
        row = self.cell_row[cell]
        row[~inside] = -1  # beyond the grid: outside the buffer
        dist = np.full(len(x), np.inf, np.float32)
        chain = np.full(len(x), np.nan)
        n_narrow = self.n_narrow
        for which, mask in ((0, (row >= 0) & (row < n_narrow)), (1, row >= n_narrow)):
            idx = np.flatnonzero(mask)
            if not len(idx):
                continue
            table = self.tables[which]
            offset = 0 if which == 0 else n_narrow
            for s in range(0, len(idx), chunk):
                ii = idx[s : s + chunk]
                r = row[ii]
                rx = (x[ii] - self.row_cx[r]).astype(np.float32)
                ry = (y[ii] - self.row_cy[r]).astype(np.float32)
                d2, ch = _kernel(table, r - offset, rx, ry)
                dist[ii] = d2
                chain[ii] = ch
        np.sqrt(dist, out=dist)
        dist[dist > self.buffer_m] = np.inf
        chain[np.isinf(dist)] = np.nan
        return dist, chain


def _kernel(
    table: NDArray[np.float32], r: NDArray[np.intp], px: NDArray[np.float32], py: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Squared distance and chainage to the nearest of each point's K candidates.

    Every array is a contiguous (n, K) plane, so numpy runs one flat loop per
    operation (broadcasting over a short K axis would run n tiny loops instead).
    """
    n = len(r)
    k_width = table.shape[2]
    dx = np.repeat(px, k_width).reshape(n, k_width)
    dy = np.repeat(py, k_width).reshape(n, k_width)
    dx -= table[0].take(r, axis=0)
    dy -= table[1].take(r, axis=0)
    ux = table[2].take(r, axis=0)
    uy = table[3].take(r, axis=0)
    along = dx * ux
    tmp = dy * uy
    along += tmp
    cross = np.multiply(dx, uy, out=dx)
    cross -= np.multiply(dy, ux, out=tmp)
    t = np.maximum(along, 0.0, out=dy)
    np.minimum(t, table[4].take(r, axis=0), out=t)
    along -= t  # overshoot beyond the segment ends, 0 inside
    along *= along
    cross *= cross
    cross += along  # squared distance, numerically safe near the line
    flat = np.arange(n) * k_width + cross.argmin(axis=1)
    chain0 = table[5].reshape(-1)[r * k_width + flat % k_width]
    return cross.reshape(-1)[flat], t.reshape(-1)[flat] + chain0


def _point_segment_distance(px: Float, py: Float, ax: Float, ay: Float, ux: Float, uy: Float, lens: Float) -> Float:
    dx, dy = px - ax, py - ay
    along = dx * ux + dy * uy
    t = np.clip(along, 0.0, lens)
    return np.hypot(dx - t * ux, dy - t * uy)


_INDEX_CACHE: OrderedDict[tuple, ReachIndex] = OrderedDict()
_INDEX_CACHE_SIZE = 64


def reach_index(reach_lonlat: ArrayLike | ReachIndex, buffer_m: float, key: object = None) -> ReachIndex:
    """Return the (cached) :class:`ReachIndex`; the cache key defaults to a hash of the vertices."""
    if isinstance(reach_lonlat, ReachIndex):
        if reach_lonlat.buffer_m == buffer_m:
            return reach_lonlat
        reach_lonlat = reach_lonlat.lonlat
    coords = np.ascontiguousarray(reach_lonlat, np.float64)
    if key is None:
        key = hashlib.sha1(coords.tobytes()).hexdigest()
    ck = (key, float(buffer_m))
    hit = _INDEX_CACHE.get(ck)
    if hit is not None:
        _INDEX_CACHE.move_to_end(ck)
        return hit
    idx = ReachIndex(coords, buffer_m)
    _INDEX_CACHE[ck] = idx
    if len(_INDEX_CACHE) > _INDEX_CACHE_SIZE:
        _INDEX_CACHE.popitem(last=False)
    return idx


def nearest_bruteforce(index: ReachIndex, x: Float, y: Float) -> tuple[Float, Float]:
    """Reference: float64 distance and chainage to the nearest of ALL segments (tests only)."""
    ax, ay, ux, uy, lens, chain0 = (a[None, :] for a in index._segs)
    dx, dy = x[:, None] - ax, y[:, None] - ay
    along = dx * ux + dy * uy
    t = np.clip(along, 0.0, lens)
    d = np.hypot(dx - t * ux, dy - t * uy)
    k = d.argmin(axis=1)
    rows = np.arange(len(x))
    return d[rows, k], chain0[0, k] + t[rows, k]


# --------------------------------------------------------------------------- coverage


def coverage_from_chainage(
    chain: Float, track_id: NDArray[np.intp], n_tracks: int, reach_length_m: float, bin_m: float, max_gap_m: float
) -> Float:
    """Share of the reach's bins covered, per track.

    ``chain`` is each point's chainage (nan when outside the buffer), points of
    one track contiguous and in time order, ``track_id`` their track number.
    """
    nb = max(1, int(np.ceil(reach_length_m / bin_m)))
    inb = ~np.isnan(chain)
    c = np.where(inb, chain, 0.0)
    nxt = np.empty_like(c)
    nxt[:-1] = c[1:]
    nxt[-1:] = c[-1:]
    pair = np.zeros(len(c), bool)
    pair[:-1] = inb[:-1] & inb[1:] & (track_id[:-1] == track_id[1:]) & (np.abs(c[1:] - c[:-1]) < max_gap_m)
    other = np.where(pair, nxt, c)
    lo = np.minimum(c, other)[inb]
    hi = np.maximum(c, other)[inb]
    base = track_id[inb].astype(np.int64) * nb
    b_lo = base + np.minimum((lo / bin_m).astype(np.int64), nb - 1)
    b_hi = base + np.minimum((hi / bin_m).astype(np.int64), nb - 1) + 1
    size = n_tracks * nb + 1
    diff = np.bincount(b_lo, minlength=size) - np.bincount(b_hi, minlength=size)
    covered = np.cumsum(diff)[:-1].reshape(n_tracks, nb) > 0
    return covered.sum(axis=1) / nb


# --------------------------------------------------------------------------- signatures

_SIG_N = 32
_SIG_MAGIC = b"ZS1"


def _resample(
    x: Float,
    y: Float,
    param: Float,
    track_id: NDArray[np.intp],
    first: NDArray[np.intp],
    last: NDArray[np.intp],
    n: int,
) -> tuple[Float, Float]:
    """Resample every track at n equally spaced fractions of ``param`` (batched).

    ``param`` must be non-decreasing within each track.  Shifting each track's
    values onto its own disjoint interval makes the whole array sorted, so one
    ``searchsorted`` serves all tracks.
    """
    n_tracks = len(first)
    span = param[last] - param[first]
    base = np.concatenate([[0.0], np.cumsum(span + 1.0)[:-1]])
    shift = base - param[first]
    key = param + shift[track_id]
    q = (base[:, None] + np.linspace(0.0, 1.0, n)[None, :] * span[:, None]).ravel()
    lo = np.repeat(first, n)
    hi = np.repeat(last, n)
    i0 = np.clip(np.searchsorted(key, q, side="right") - 1, lo, np.maximum(hi - 1, lo))
    i1 = np.minimum(i0 + 1, hi)
    den = key[i1] - key[i0]
    w = np.clip(np.where(den > 0, (q - key[i0]) / np.where(den > 0, den, 1.0), 0.0), 0.0, 1.0)
    rx = x[i0] + w * (x[i1] - x[i0])
    ry = y[i0] + w * (y[i1] - y[i0])
    return rx.reshape(n_tracks, n), ry.reshape(n_tracks, n)


def _pack_signatures(lon: Float, lat: Float) -> list[bytes]:
    """lon/lat of shape (tracks, 2, N) → per track: magic + micro-degree int32 pairs."""
    q = np.round(np.stack([lon, lat], axis=-1) * 1e6).astype("<i4")
    return [_SIG_MAGIC + row.tobytes() for row in q]


def _unpack_signature(sig: bytes) -> tuple[Float, Float]:
    if not sig.startswith(_SIG_MAGIC) or len(sig) != 3 + 2 * _SIG_N * 2 * 4:
        raise ValueError("not a track signature")
    q = np.frombuffer(sig, "<i4", offset=3).reshape(2, _SIG_N, 2) / 1e6
    return q[..., 0], q[..., 1]


def _signature_distance_xy(ax: Float, ay: Float, bx: Float, by: Float) -> Float:
    """Mean point distance per kind, minimum over kinds; inputs (..., 2, N)."""
    return np.hypot(ax - bx, ay - by).mean(axis=-1).min(axis=-1)


def signature_distance_m(a: bytes, b: bytes) -> float:
    """Similarity of two signatures: mean distance in metres (small = same track)."""
    alon, alat = _unpack_signature(a)
    blon, blat = _unpack_signature(b)
    frame = LocalFrame((alon.mean() + blon.mean()) / 2, (alat.mean() + blat.mean()) / 2)
    ax, ay = frame.forward(alon, alat)
    bx, by = frame.forward(blon, blat)
    return float(_signature_distance_xy(ax, ay, bx, by))


def track_signature(track: Track) -> bytes:
    """Compact fingerprint of a track (~0.5 kB) for duplicate detection."""
    frame = LocalFrame.around(track.lon, track.lat)
    x, y = frame.forward(track.lon, track.lat)
    step = np.concatenate([[0.0], np.hypot(np.diff(x), np.diff(y))])
    sx, sy = _signatures_xy(
        x,
        y,
        np.asarray(track.t, np.float64),
        np.cumsum(step),
        np.zeros(len(x), np.intp),
        np.array([0]),
        np.array([len(x) - 1]),
    )
    lon, lat = frame.inverse(sx, sy)
    return _pack_signatures(lon, lat)[0]


def _signatures_xy(
    x: Float,
    y: Float,
    t: Float,
    cum_len: Float,
    track_id: NDArray[np.intp],
    first: NDArray[np.intp],
    last: NDArray[np.intp],
) -> tuple[Float, Float]:
    """Resampled signature coordinates, shape (tracks, 2 kinds, N): by time, by length."""
    tx, ty = _resample(x, y, t, track_id, first, last, _SIG_N)
    lx, ly = _resample(x, y, cum_len, track_id, first, last, _SIG_N)
    return np.stack([tx, lx], axis=1), np.stack([ty, ly], axis=1)


# --------------------------------------------------------------------------- judging


def check_interval(start_s: float, previous_starts_s: Iterable[float], rules: Rules) -> str | None:
    """Reason if this patrol starts too soon after the same person's previous one on the reach.

    The interval is measured start to start (as most provincial rules word it);
    patrols starting later than this one are ignored.
    """
    prev = np.asarray([p for p in previous_starts_s if p <= start_s], np.float64)
    if not len(prev):
        return None
    gap = start_s - prev.max()
    if gap < rules.min_interval_s:
        return REASONS["interval"].format(min_min=rules.min_interval_s / 60, actual_min=gap / 60)
    return None


def judge(
    track: Track, reach: ArrayLike | ReachIndex, rules: Rules = Rules(), earlier_signatures: Sequence[bytes] = ()
) -> Verdict:
    """Judge one patrol track against one reach."""
    return judge_many([track], reach, rules, earlier_signatures)[0]


def judge_many(
    tracks: Sequence[Track],
    reach: ArrayLike | ReachIndex,
    rules: Rules = Rules(),
    earlier_signatures: Sequence[bytes] = (),
    reach_key: object = None,
) -> list[Verdict]:
    """Judge many tracks against one reach in one vectorised pass (the hot path).

    Each track is compared with ``earlier_signatures`` for duplicates (not with
    the other tracks of the batch: the caller decides what "earlier" means).
    Per-track sums use ``reduceat`` over the contiguous tracks; the rare,
    expensive checks (spike filtering, line fit) run only on tracks that a
    cheap test has already made suspicious.
    """
    index = reach_index(reach, rules.buffer_m, key=reach_key)
    verdicts: list[Verdict | None] = [None] * len(tracks)
    keep = [i for i, tr in enumerate(tracks) if len(tr.t) >= 2]
    for i in set(range(len(tracks))) - set(keep):
        verdicts[i] = _empty_verdict()
    if not keep:
        return verdicts  # type: ignore[return-value]
    batch = [tracks[i] for i in keep]
    n_tracks = len(batch)
    counts = np.fromiter((len(tr.t) for tr in batch), np.int64, n_tracks)
    lon = np.concatenate([tr.lon for tr in batch]).astype(np.float64, copy=False)
    lat = np.concatenate([tr.lat for tr in batch]).astype(np.float64, copy=False)
    t = np.concatenate([tr.t for tr in batch]).astype(np.float64, copy=False)
    n = len(t)
    track_id = np.repeat(np.arange(n_tracks), counts)
    first = np.cumsum(counts) - counts
    last = first + counts - 1

    x, y = index.frame.forward(lon, lat)
    dist, chain = index.nearest(x, y)
    inb = np.isfinite(dist)
    coverage = coverage_from_chainage(chain, track_id, n_tracks, index.length_m, rules.coverage_bin_m, rules.max_gap_m)
    duration = t[last] - t[first]

    # Segment i joins points i and i+1; the ones that cross into the next track are zeroed.
    dx = np.diff(x)
    dy = np.diff(y)
    step = np.sqrt(dx * dx + dy * dy)
    dt = np.diff(t)
    step[last[:-1]] = 0.0
    dt[last[:-1]] = 0.0
    speed = step / np.maximum(dt, 1.0)  # m/s; equal timestamps count as 1 s
    moving = speed > 0.5  # above the GPS creep of a standing phone
    fast = speed > rules.driving_speed_kmh / 3.6
    same = step == 0.0  # exactly repeated coordinates (the projection is affine)
    same[last[:-1]] = False
    rows = np.empty((10, n - 1))
    rows[0] = step
    rows[1] = dt
    np.multiply(step, moving, out=rows[2])
    np.multiply(dt, moving, out=rows[3])
    rows[4] = moving
    rows[5] = fast
    np.multiply(dt, fast, out=rows[6])
    np.multiply(dt, same, out=rows[7])
    np.multiply(step, step, out=rows[8])
    np.multiply(dt, dt, out=rows[9])
    sums = np.add.reduceat(rows, first, axis=1)
    length, dt_sum, moving_len, moving_dt, moving_n, fast_n, fast_time, repeat_time, step2, dt2 = sums
    within = np.add.reduceat(inb, first) / counts
    max_speed = np.maximum.reduceat(speed, first) * 3.6
    max_dist = np.maximum.reduceat(dist, first)
    moving_speed_kmh = 3.6 * moving_len / np.maximum(moving_dt, 1e-9)

    # Jumps: re-check suspicious tracks without isolated one-point GPS spikes.
    for i in np.flatnonzero(max_speed > rules.max_speed_kmh):
        sl = slice(first[i], last[i] + 1)
        max_speed[i] = _max_speed_without_spikes(x[sl], y[sl], t[sl])
    jump = max_speed > rules.max_speed_kmh
    driving = (fast_n > 0.5 * moving_n) & (fast_time >= rules.driving_min_time_s)
    short_long = (duration <= rules.short_long_max_duration_s) & (length > rules.short_long_min_length_m)

    # no_jitter: (a) long exact repeats; (b) perfectly regular steps on a line or on the reach.
    repeats = (repeat_time >= rules.repeat_min_s) & (repeat_time >= 0.5 * np.maximum(duration, 1e-9))
    n_seg = (counts - 1).astype(np.float64)
    regular = (n_seg >= 20) & (length > 0) & (_cv(length, step2, n_seg) < 0.02) & (_cv(dt_sum, dt2, n_seg) < 0.02)
    for i in np.flatnonzero(regular):
        sl = slice(first[i], last[i] + 1)
        regular[i] = max_dist[i] < 0.5 or _line_rms(x[sl], y[sl]) < 0.5
    no_jitter = repeats | regular

    # Signatures and duplicates.
    cum_len = np.empty(n)
    cum_len[0] = 0.0
    np.cumsum(step, out=cum_len[1:])
    sx, sy = _signatures_xy(x, y, t, cum_len, track_id, first, last)
    slon, slat = index.frame.inverse(sx, sy)
    dup_dist = np.full(n_tracks, np.inf)
    for s in range(0, len(earlier_signatures), 256):
        parts = [_unpack_signature(sig) for sig in earlier_signatures[s : s + 256]]
        ex, ey = index.frame.forward(np.stack([p[0] for p in parts]), np.stack([p[1] for p in parts]))
        d = _signature_distance_xy(sx[:, None], sy[:, None], ex[None], ey[None])
        dup_dist = np.minimum(dup_dist, d.min(axis=1))
    duplicate = dup_dist <= rules.duplicate_max_mean_m

    signatures = _pack_signatures(slon, slat)
    flag_names = ("short_and_long", "jump", "driving", "duplicate", "no_jitter")
    flag_rows = np.stack([short_long, jump, driving, duplicate, no_jitter], axis=1).tolist()
    columns = zip(
        duration.tolist(),
        length.tolist(),
        within.tolist(),
        coverage.tolist(),
        max_speed.tolist(),
        moving_speed_kmh.tolist(),
        dup_dist.tolist(),
        flag_rows,
        signatures,
        strict=True,
    )
    for i, (dur, ln, wi, cov, ms, mv, dd, fl, sig) in zip(keep, columns, strict=True):
        flags = [name for name, on in zip(flag_names, fl, strict=True) if on]
        metrics = Metrics(dur, ln, wi, cov, ms, mv, dd if dd != np.inf else None, flags)
        reasons = _reasons(metrics, rules)
        verdicts[i] = Verdict(not reasons, reasons, metrics, sig)
    return verdicts  # type: ignore[return-value]


def _max_speed_without_spikes(x: Float, y: Float, t: Float) -> float:
    """Max speed (km/h) ignoring one-point spikes: a point far from both neighbours
    whose neighbours are close to each other (a multipath glitch, not a teleport)."""
    step = np.hypot(np.diff(x), np.diff(y))
    speed = step / np.maximum(np.diff(t), 1.0)
    if len(x) >= 3:
        bridge = np.hypot(x[2:] - x[:-2], y[2:] - y[:-2])
        spike = np.zeros(len(x), bool)
        spike[1:-1] = bridge < 0.3 * np.minimum(step[:-1], step[1:])
        speed = speed[~(spike[:-1] | spike[1:])]
    return float(speed.max(initial=0.0) * 3.6)


def _line_rms(x: Float, y: Float) -> float:
    """RMS distance of the points from their best-fit straight line."""
    cov = np.cov(np.stack([x - x.mean(), y - y.mean()]), bias=True)
    return float(np.sqrt(max(np.linalg.eigvalsh(cov)[0], 0.0)))


def _cv(s: Float, s2: Float, n: Float) -> Float:
    mean = s / np.maximum(n, 1)
    var = np.maximum(s2 / np.maximum(n, 1) - mean * mean, 0.0)
    return np.sqrt(var) / np.maximum(mean, 1e-9)


def _reasons(m: Metrics, rules: Rules) -> list[str]:
    r = []
    if m.duration_s < rules.min_duration_s:
        r.append(REASONS["duration"].format(min_min=rules.min_duration_s / 60, actual_min=m.duration_s / 60))
    if m.length_m < rules.min_length_m:
        r.append(REASONS["length"].format(min_km=rules.min_length_m / 1000, actual_km=m.length_m / 1000))
    if m.within_buffer_share < rules.min_within_share:
        r.append(
            REASONS["within"].format(
                share=m.within_buffer_share, buffer_m=rules.buffer_m, min_share=rules.min_within_share
            )
        )
    if m.coverage < rules.min_coverage:
        r.append(REASONS["coverage"].format(min_cov=rules.min_coverage, actual=m.coverage))
    for flag in m.flags:
        r.append(
            REASONS[flag].format(
                actual_min=m.duration_s / 60,
                actual_km=m.length_m / 1000,
                speed=m.max_speed_kmh if flag == "jump" else m.moving_speed_kmh,
                limit=rules.driving_speed_kmh,
                distance=m.duplicate_distance_m or 0.0,
            )
        )
    return r


def _empty_verdict() -> Verdict:
    metrics = Metrics(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, [])
    return Verdict(False, [REASONS["empty"]], metrics, b"")


# --------------------------------------------------------------------------- storage

_ENC_SHUFFLE = 1
_ENC_VARINT = 2
_HEADER = struct.Struct("<BI")


def encode_track(lon: ArrayLike, lat: ArrayLike, t: ArrayLike, *, method: int = _ENC_VARINT) -> bytes:
    """Compact bytes for a track: micro-degrees and whole seconds, exact to those units."""
    cols = _integer_columns(lon, lat, t)
    n = cols.shape[1]
    if method == _ENC_VARINT:
        return _HEADER.pack(_ENC_VARINT, n) + zlib.compress(_encode_varint(cols), 9)
    deltas = np.diff(cols, axis=1, prepend=0)
    if np.abs(deltas[:, 1:]).max(initial=0) >= 2**31:
        raise ValueError("track step too large to encode")
    head = cols[:, :1].astype("<i8")  # absolute first values (time does not fit in int32 forever)
    body = deltas[:, 1:].astype("<i4")
    # Byte shuffle: zlib sees long runs of near-constant high bytes.
    shuffled = body.view(np.uint8).reshape(3, n - 1 if n else 0, 4).transpose(0, 2, 1).tobytes() if n else b""
    return _HEADER.pack(_ENC_SHUFFLE, n) + zlib.compress(head.tobytes() + shuffled, 9)


def decode_track(data: bytes) -> Track:
    """Inverse of :func:`encode_track`."""
    method, n = _HEADER.unpack_from(data)
    raw = zlib.decompress(data[_HEADER.size :])
    if method == _ENC_VARINT:
        cols = _decode_varint(raw, n)
    elif method == _ENC_SHUFFLE:
        if n == 0:
            cols = np.zeros((3, 0), np.int64)
        else:
            head = np.frombuffer(raw, "<i8", count=3)
            body = np.frombuffer(raw, np.uint8, offset=24).reshape(3, 4, n - 1).transpose(0, 2, 1)
            deltas = np.ascontiguousarray(body).view("<i4").reshape(3, n - 1).astype(np.int64)
            cols = np.concatenate([head[:, None], deltas], axis=1).cumsum(axis=1)
    else:
        raise ValueError(f"unknown track encoding {method}")
    return Track(cols[0] / 1e6, cols[1] / 1e6, cols[2].astype(np.float64))


def _integer_columns(lon: ArrayLike, lat: ArrayLike, t: ArrayLike) -> NDArray[np.int64]:
    return np.stack(
        [
            np.round(np.asarray(lon, np.float64) * 1e6),
            np.round(np.asarray(lat, np.float64) * 1e6),
            np.round(np.asarray(t, np.float64)),
        ]
    ).astype(np.int64)


def _encode_varint(cols: NDArray[np.int64]) -> bytes:
    """Zigzag LEB128 varints of the deltas, interleaved per column (vectorised)."""
    deltas = np.diff(cols, axis=1, prepend=0).ravel()
    z = ((deltas << 1) ^ (deltas >> 63)).astype(np.uint64)
    nbytes = np.maximum(1, (np.floor(np.log2(np.maximum(z, 1).astype(np.float64))) // 7 + 1).astype(np.int64))
    nbytes[z == 0] = 1
    total = int(nbytes.sum())
    owner = np.repeat(np.arange(len(z)), nbytes)
    pos = np.arange(total) - np.repeat(np.cumsum(nbytes) - nbytes, nbytes)
    out = ((z[owner] >> (7 * pos).astype(np.uint64)) & np.uint64(0x7F)).astype(np.uint8)
    out[pos < nbytes[owner] - 1] |= 0x80
    return out.tobytes()


def _decode_varint(raw: bytes, n: int) -> NDArray[np.int64]:
    b = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(b < 0x80)
    starts = np.concatenate([[0], ends[:-1] + 1])
    owner = np.repeat(np.arange(len(ends)), ends - starts + 1)
    pos = np.arange(len(b)) - starts[owner]
    vals = np.zeros(len(ends), np.uint64)
    np.add.at(vals, owner, (b & 0x7F).astype(np.uint64) << (7 * pos).astype(np.uint64))
    z = vals.astype(np.int64)
    deltas = (z >> 1) ^ -(z & 1)
    return deltas.reshape(3, n).cumsum(axis=1)
