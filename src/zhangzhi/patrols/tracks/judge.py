"""Judging: a rule set, the metrics of a track and the verdict with its reasons in Chinese."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .coverage import coverage_from_chainage
from .fraud import (
    _cv,
    _line_rms,
    _max_speed_without_spikes,
    _pack_signatures,
    _signature_distance_xy,
    _signatures_xy,
    _unpack_signature,
)
from .index import ReachIndex, reach_index
from .track import Track

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
