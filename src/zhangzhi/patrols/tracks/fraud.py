"""Fraud signs and duplicate signatures.

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

The flags themselves are computed for a whole batch in :func:`..judge.judge_many`; this module
holds the duplicate signatures and the checks run only on the tracks a cheap test made suspicious.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .projection import LocalFrame
from .track import Float, Track

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
