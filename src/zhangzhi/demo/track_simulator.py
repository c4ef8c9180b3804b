"""Realistic synthetic patrol tracks (pure numpy) for tests, benchmarks and the demo.

All generators take a numpy ``Generator`` and return a :class:`Track` in WGS84
with integer epoch seconds.  Geometry is done in the reach's
:class:`~zhangzhi.patrols.tracks.LocalFrame`.

GPS noise is modelled as an AR(1) process (ρ = 0.9 per 5 s fix) rather than
white noise: consecutive phone fixes are strongly correlated, so a standing
phone drifts by a few metres instead of hopping by the full noise amplitude
every fix, and path length is not wildly inflated.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from zhangzhi.patrols.tracks import LocalFrame, Track

__all__ = [
    "copy_track",
    "drive_along_offset",
    "fake_regular",
    "meander_reach",
    "phone_on_table",
    "too_short",
    "walk_along",
]

Float = NDArray[np.float64]


def meander_reach(
    lon0: float = 113.5,
    lat0: float = 37.9,
    length_m: float = 15_000.0,
    n_vertices: int = 600,
    rng: np.random.Generator | None = None,
    heading_deg: float = 60.0,
) -> Float:
    """A gently meandering river line of ``length_m`` as an (n, 2) lon/lat array."""
    rng = rng if rng is not None else np.random.default_rng(0)
    s = np.linspace(0.0, 1.0, n_vertices)
    # Heading wanders smoothly: a few low-frequency sines with random phases.
    phases = rng.uniform(0, 2 * np.pi, 3)
    heading = (
        np.deg2rad(heading_deg)
        + 0.6 * np.sin(2 * np.pi * 3 * s + phases[0])
        + 0.3 * np.sin(2 * np.pi * 7 * s + phases[1])
        + 0.15 * np.sin(2 * np.pi * 13 * s + phases[2])
    )
    step = length_m / (n_vertices - 1)
    x = np.concatenate([[0.0], np.cumsum(step * np.cos(heading[:-1]))])
    y = np.concatenate([[0.0], np.cumsum(step * np.sin(heading[:-1]))])
    frame = LocalFrame(lon0, lat0)
    lon, lat = frame.inverse(x - x.mean(), y - y.mean())
    return np.column_stack([lon, lat])


def _frame_xy(reach_lonlat: ArrayLike) -> tuple[LocalFrame, Float, Float, Float]:
    reach = np.asarray(reach_lonlat, np.float64)
    frame = LocalFrame.around(reach[:, 0], reach[:, 1])
    x, y = frame.forward(reach[:, 0], reach[:, 1])
    chain = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    return frame, x, y, chain


def _along(x: Float, y: Float, chain: Float, s: Float, offset: Float | float) -> tuple[Float, Float]:
    """Point at chainage ``s`` shifted ``offset`` metres to the left of the line."""
    px, py = np.interp(s, chain, x), np.interp(s, chain, y)
    seg = np.clip(np.searchsorted(chain, s, side="right") - 1, 0, len(x) - 2)
    dx, dy = x[seg + 1] - x[seg], y[seg + 1] - y[seg]
    norm = np.maximum(np.hypot(dx, dy), 1e-9)
    return px - offset * dy / norm, py + offset * dx / norm


_AR1_BLOCK = 32  # rho**-31 stays ~1e3 for rho = 0.8, so the scaled cumulative sum is exact enough


def _ar1(rng: np.random.Generator, n: int, sigma: float, rho: float = 0.9) -> Float:
    """out[i] = rho * out[i-1] + e[i], vectorised in blocks (the demo simulates millions of fixes).

    Within a block of B values starting from state s: out[j] = rho**(j+1) * s + rho**j *
    cumsum(e[k] * rho**-k)[j]; the carry between blocks is a short loop over n / B blocks.
    """
    e = rng.normal(0.0, sigma * np.sqrt(1 - rho * rho), n)
    acc = rng.normal(0.0, sigma)
    b = _AR1_BLOCK
    nb = -(-n // b)
    blocks = np.zeros(nb * b)
    blocks[:n] = e
    blocks = blocks.reshape(nb, b)
    j = np.arange(b)
    up, down = rho**j, rho ** (-j.astype(np.float64))
    partial = np.cumsum(blocks * down, axis=1) * up  # each block from a zero state
    out = np.empty((nb, b))
    grow = rho ** (j + 1)
    for k in range(nb):
        out[k] = partial[k] + grow * acc
        acc = out[k, -1]
    return out.ravel()[:n]


def _times(start_time: float, n: int, interval_s: float, rng: np.random.Generator) -> Float:
    # Phones log at a nominal interval with the odd late fix.
    dt = np.full(n, float(interval_s))
    dt[0] = 0.0
    late = rng.random(n) < 0.05
    dt[late] += rng.integers(1, 3, late.sum())
    return np.round(start_time + np.cumsum(dt))


def walk_along(
    reach_lonlat: ArrayLike,
    start_time: float,
    rng: np.random.Generator,
    speed_mps: float = 1.1,
    interval_s: float = 5.0,
    noise_m: float = 6.0,
    pauses: bool = True,
    portion: tuple[float, float] = (0.0, 0.6),
    bank_offset_m: float = 25.0,
) -> Track:
    """A chief walking a bank path along ``portion`` of the reach, with pauses and GPS noise."""
    frame, x, y, chain = _frame_xy(reach_lonlat)
    s0, s1 = portion[0] * chain[-1], portion[1] * chain[-1]
    walk_time = (s1 - s0) / speed_mps
    n_pause = int(rng.integers(1, 4)) if pauses else 0
    pause_at = np.sort(rng.uniform(0.1, 0.9, n_pause)) * walk_time
    pause_len = rng.uniform(60.0, 300.0, n_pause)
    n = int((walk_time + pause_len.sum()) / interval_s) + 1
    t_rel = np.arange(n) * interval_s
    # Moving time = clock time minus pause time already spent.
    moving_t = t_rel.copy()
    for at, ln in zip(pause_at, pause_len, strict=True):
        moving_t -= np.clip(t_rel - at, 0.0, ln)
    pace = speed_mps * (1.0 + 0.15 * np.sin(t_rel / 240.0 + rng.uniform(0, 6.3)))
    s = s0 + np.minimum(np.cumsum(pace * np.gradient(moving_t)), s1 - s0)
    offset = bank_offset_m + 10.0 * np.sin(s / 500.0 + rng.uniform(0, 6.3))
    px, py = _along(x, y, chain, s, offset)
    px += _ar1(rng, n, noise_m)
    py += _ar1(rng, n, noise_m)
    lon, lat = frame.inverse(px, py)
    return Track(lon, lat, _times(start_time, n, interval_s, rng))


def drive_along_offset(
    reach_lonlat: ArrayLike,
    start_time: float,
    rng: np.random.Generator,
    offset_m: float = 1000.0,
    speed_kmh: float = 40.0,
    interval_s: float = 5.0,
    noise_m: float = 5.0,
    portion: tuple[float, float] = (0.0, 1.0),
) -> Track:
    """Driving a road parallel to the river ``offset_m`` away, at ``speed_kmh`` with variation."""
    frame, x, y, chain = _frame_xy(reach_lonlat)
    # Roads do not follow every bend: offset a ~1 km running mean of the river,
    # then drive along the road's own length so speed stays realistic.
    grid = np.linspace(0.0, chain[-1], max(int(chain[-1] / 50.0), 2) + 1)
    gx, gy = np.interp(grid, chain, x), np.interp(grid, chain, y)
    w = min(21, len(grid))
    kernel = np.ones(w) / w
    sx = np.convolve(np.pad(gx, w // 2, mode="edge"), kernel, mode="valid")[: len(grid)]
    sy = np.convolve(np.pad(gy, w // 2, mode="edge"), kernel, mode="valid")[: len(grid)]
    schain = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(sx), np.diff(sy)))])
    rx, ry = _along(sx, sy, schain, schain, offset_m)
    rchain = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(rx), np.diff(ry)))])
    s0, s1 = portion[0] * rchain[-1], portion[1] * rchain[-1]
    v = speed_kmh / 3.6
    n = int((s1 - s0) / v / interval_s) + 1
    pace = v * (1.0 + 0.2 * np.sin(np.arange(n) / 15.0 + rng.uniform(0, 6.3)))
    s = np.minimum(s0 + np.concatenate([[0.0], np.cumsum(pace[:-1] * interval_s)]), s1)
    px, py = np.interp(s, rchain, rx), np.interp(s, rchain, ry)
    px += _ar1(rng, n, noise_m)
    py += _ar1(rng, n, noise_m)
    lon, lat = frame.inverse(px, py)
    return Track(lon, lat, _times(start_time, n, interval_s, rng))


def phone_on_table(
    center_lonlat: ArrayLike,
    start_time: float,
    duration_s: float,
    rng: np.random.Generator,
    interval_s: float = 5.0,
    jitter_m: float = 3.0,
    repeat_share: float = 0.5,
) -> Track:
    """A phone lying still: tiny drift around one spot, often the exact same fix repeated."""
    lon0, lat0 = np.asarray(center_lonlat, np.float64)
    frame = LocalFrame(lon0, lat0)
    n = int(duration_s / interval_s) + 1
    px, py = _ar1(rng, n, jitter_m, rho=0.95), _ar1(rng, n, jitter_m, rho=0.95)
    # Fused location providers keep returning the previous fix while nothing moves.
    hold = rng.random(n) < repeat_share
    hold[0] = False
    src = np.maximum.accumulate(np.where(hold, 0, np.arange(n)))
    lon, lat = frame.inverse(px[src], py[src])
    return Track(lon, lat, _times(start_time, n, interval_s, rng))


def copy_track(
    track: Track, rng: np.random.Generator, tiny_noise_m: float = 0.0, time_shift_s: float = 3 * 86400.0
) -> Track:
    """Re-submission of an old track: shifted in time, optionally with tiny added noise."""
    frame = LocalFrame(float(np.mean(track.lon)), float(np.mean(track.lat)))
    px, py = frame.forward(track.lon, track.lat)
    px = px + rng.normal(0.0, tiny_noise_m, len(px)) if tiny_noise_m else px
    py = py + rng.normal(0.0, tiny_noise_m, len(py)) if tiny_noise_m else py
    lon, lat = frame.inverse(px, py)
    return Track(lon, lat, np.asarray(track.t, np.float64) + time_shift_s)


def too_short(
    reach_lonlat: ArrayLike, start_time: float, rng: np.random.Generator, duration_s: float = 360.0, **kwargs: object
) -> Track:
    """A walk that stops after ``duration_s`` seconds (e.g. 6 minutes)."""
    speed = float(kwargs.pop("speed_mps", 1.1))  # type: ignore[arg-type]
    chain = _frame_xy(reach_lonlat)[3]
    span = speed * duration_s / chain[-1]
    return walk_along(reach_lonlat, start_time, rng, speed_mps=speed, pauses=False, portion=(0.1, 0.1 + span), **kwargs)  # type: ignore[arg-type]


def fake_regular(
    reach_lonlat: ArrayLike,
    start_time: float,
    speed_mps: float = 1.2,
    interval_s: float = 5.0,
    portion: tuple[float, float] = (0.0, 0.5),
) -> Track:
    """A fabricated track: points exactly on the reach at constant speed and interval."""
    frame, x, y, chain = _frame_xy(reach_lonlat)
    s = np.arange(portion[0] * chain[-1], portion[1] * chain[-1], speed_mps * interval_s)
    px, py = _along(x, y, chain, s, 0.0)
    lon, lat = frame.inverse(px, py)
    return Track(lon, lat, start_time + np.arange(len(s)) * interval_s)
