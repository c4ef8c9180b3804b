"""Coverage of a reach by the in-buffer points of each track.

Each in-buffer point has a chainage.  Consecutive points (of one track) that are
both in the buffer and whose chainages differ by less than ``max_gap`` (default
2 × buffer) cover every ``coverage_bin_m`` bin between them, so sparse sampling
still covers; isolated in-buffer points cover their own bin.  Coverage is
covered bins / bins of the reach, computed for all tracks of a batch with one
difference array.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .track import Float


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
