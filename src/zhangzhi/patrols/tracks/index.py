"""Distance to the reach (the hot path): the grid index of a reach's segments.

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
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .projection import LocalFrame
from .track import Float

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
