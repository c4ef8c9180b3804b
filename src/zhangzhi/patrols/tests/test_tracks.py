"""Tests for the pure patrol-judging engine (zhangzhi.patrols.tracks)."""

import numpy as np
import pytest

from zhangzhi.demo import track_simulator as simulate
from zhangzhi.lib.chinacoords import wgs84_to_gcj02
from zhangzhi.patrols.tracks import (
    LocalFrame,
    ReachIndex,
    Rules,
    Track,
    check_interval,
    decode_track,
    encode_track,
    judge,
    judge_many,
    make_track,
    nearest_bruteforce,
    reach_index,
    signature_distance_m,
    track_signature,
)

T0 = 1_718_000_000.0  # an afternoon in June 2024
RULES = Rules()


@pytest.fixture(scope="module")
def reach():
    """A gently meandering 15 km reach near Yangquan (lon 113.5, lat 37.9)."""
    return simulate.meander_reach(113.5, 37.9, 15_000.0, 600, rng=np.random.default_rng(7))


def test_it_accepts_a_walk_along_the_river(reach):
    walk = simulate.walk_along(reach, T0, np.random.default_rng(1), portion=(0.1, 0.6))
    v = judge(walk, reach, RULES)
    assert v.effective, v.reasons
    assert v.reasons == [] and v.metrics.flags == []
    assert v.metrics.within_buffer_share > 0.99
    assert 0.45 < v.metrics.coverage < 0.56  # half the reach walked
    assert 6_500 < v.metrics.length_m < 10_000
    assert v.metrics.max_speed_kmh < 20


def test_it_rejects_a_drive_along_a_road_one_km_away(reach):
    drive = simulate.drive_along_offset(reach, T0, np.random.default_rng(2), offset_m=1000.0)
    v = judge(drive, reach, RULES)
    assert not v.effective
    assert v.metrics.within_buffer_share == 0.0 and v.metrics.coverage == 0.0
    assert "driving" in v.metrics.flags
    assert any(r.startswith("轨迹偏离河道") for r in v.reasons)
    assert any(r.startswith("疑似驾车巡河") for r in v.reasons)


def test_it_rejects_a_phone_left_on_a_table(reach):
    phone = simulate.phone_on_table(reach[300], T0, 3600.0, np.random.default_rng(3))
    v = judge(phone, reach, RULES)
    assert not v.effective
    assert v.metrics.duration_s >= 3600  # long enough ...
    assert v.metrics.coverage < 0.01  # ... but it went nowhere
    assert any(r.startswith("河段覆盖率不足30%") for r in v.reasons)


def test_a_phone_that_repeats_one_fix_is_flagged_no_jitter(reach):
    phone = simulate.phone_on_table(reach[300], T0, 3600.0, np.random.default_rng(3), repeat_share=0.9)
    v = judge(phone, reach, RULES)
    assert "no_jitter" in v.metrics.flags


def test_a_fabricated_perfectly_regular_track_is_flagged(reach):
    fake = simulate.fake_regular(reach, T0)
    v = judge(fake, reach, RULES)
    assert v.metrics.coverage > 0.45  # it would pass on geometry alone
    assert v.metrics.flags == ["no_jitter"]
    assert not v.effective


def test_too_short_reports_duration_in_chinese(reach):
    short = simulate.too_short(reach, T0, np.random.default_rng(4), duration_s=360.0)
    v = judge(short, reach, RULES)
    assert not v.effective
    assert v.reasons[0] == "巡河时长不足10分钟（实际6分钟）"


def test_short_and_long_and_jump(reach):
    frame = LocalFrame.around(reach[:, 0], reach[:, 1])
    # 5 km in 10 minutes on the river, with a 2 km teleport in the middle.
    walk = simulate.walk_along(reach, T0, np.random.default_rng(5), speed_mps=8.0, portion=(0.1, 0.45), pauses=False)
    x, y = frame.forward(walk.lon, walk.lat)
    mid = len(x) // 2
    x[mid:] += 2000.0
    lon, lat = frame.inverse(x, y)
    v = judge(Track(lon, lat, walk.t), reach, RULES)
    assert {"short_and_long", "jump"} <= set(v.metrics.flags)
    assert v.metrics.max_speed_kmh > 1000


def test_a_single_gps_spike_is_not_a_jump(reach):
    walk = simulate.walk_along(reach, T0, np.random.default_rng(6), portion=(0.1, 0.5))
    frame = LocalFrame.around(reach[:, 0], reach[:, 1])
    x, y = frame.forward(walk.lon, walk.lat)
    x[100] += 400.0  # multipath: one fix 400 m off, then back
    lon, lat = frame.inverse(x, y)
    v = judge(Track(lon, lat, walk.t), reach, RULES)
    assert "jump" not in v.metrics.flags
    assert v.effective, v.reasons


def test_copies_are_duplicates_but_a_genuine_second_walk_is_not(reach):
    original = simulate.walk_along(reach, T0, np.random.default_rng(10), portion=(0.1, 0.5))
    earlier = [judge(original, reach, RULES).signature]
    rng = np.random.default_rng(11)
    exact = simulate.copy_track(original, rng)
    noisy = simulate.copy_track(original, rng, tiny_noise_m=1.5)
    # Same person, same stretch, next week: independent GPS noise, other pauses.
    again = simulate.walk_along(reach, T0 + 7 * 86400, np.random.default_rng(12), portion=(0.1, 0.5), noise_m=5.0)
    # Even the hardest case: same pace, no pauses, low noise.
    steady_a = simulate.walk_along(reach, T0, np.random.default_rng(13), portion=(0.1, 0.5), pauses=False, noise_m=5.0)
    steady_b = simulate.walk_along(reach, T0, np.random.default_rng(14), portion=(0.1, 0.5), pauses=False, noise_m=5.0)
    v_exact, v_noisy, v_again = judge_many([exact, noisy, again], reach, RULES, earlier_signatures=earlier)
    assert "duplicate" in v_exact.metrics.flags and v_exact.metrics.duplicate_distance_m < 0.5
    assert "duplicate" in v_noisy.metrics.flags
    assert any(r.startswith("疑似作弊：轨迹与此前巡河记录几乎相同") for r in v_noisy.reasons)
    assert "duplicate" not in v_again.metrics.flags and v_again.effective
    assert v_again.metrics.duplicate_distance_m > 2 * RULES.duplicate_max_mean_m
    sig_a, sig_b = track_signature(steady_a), track_signature(steady_b)
    assert signature_distance_m(sig_a, sig_b) > 1.5 * RULES.duplicate_max_mean_m
    assert signature_distance_m(earlier[0], track_signature(exact)) < 0.5


def test_gcj02_track_must_be_converted(reach):
    """A phone map SDK reports GCJ-02; read as WGS84 it sits ~500 m off the river."""
    tight = Rules(buffer_m=100.0)
    walk = simulate.walk_along(
        reach, T0, np.random.default_rng(20), portion=(0.1, 0.6), bank_offset_m=10.0, noise_m=5.0
    )
    glon, glat = wgs84_to_gcj02(walk.lon, walk.lat)
    converted = make_track(glon, glat, walk.t, crs="gcj02")
    mislabelled = make_track(glon, glat, walk.t, crs="wgs84")
    assert np.max(np.abs(converted.lon - walk.lon)) < 1e-8  # back to where the chief walked
    frame = LocalFrame.around(reach[:, 0], reach[:, 1])
    gx, gy = frame.forward(glon, glat)
    wx, wy = frame.forward(walk.lon, walk.lat)
    assert 300 < np.median(np.hypot(gx - wx, gy - wy)) < 700
    good, bad = judge_many([converted, mislabelled], reach, tight)
    assert good.effective, good.reasons
    assert good.metrics.within_buffer_share > 0.95 and good.metrics.coverage > 0.45
    assert not bad.effective
    assert bad.metrics.within_buffer_share < 0.2 and bad.metrics.coverage < 0.1


def test_check_interval():
    rules = Rules(min_interval_s=3600)
    assert check_interval(T0, [], rules) is None
    assert check_interval(T0, [T0 - 7200, T0 + 100], rules) is None
    assert check_interval(T0, [T0 - 7200, T0 - 1800], rules) == "距上次巡河不足60分钟（实际30分钟）"


def test_encode_decode_round_trip(reach):
    walk = simulate.walk_along(reach, T0, np.random.default_rng(30), portion=(0.0, 0.3))
    for method in (1, 2):
        blob = encode_track(walk.lon, walk.lat, walk.t, method=method)
        back = decode_track(blob)
        assert np.array_equal(np.round(back.lon * 1e6), np.round(walk.lon * 1e6))
        assert np.array_equal(np.round(back.lat * 1e6), np.round(walk.lat * 1e6))
        assert np.array_equal(back.t, np.round(walk.t))
        assert len(blob) / len(walk.t) < 5.0  # vs 24 bytes raw
    empty = decode_track(encode_track([], [], []))
    assert len(empty.t) == 0
    one = decode_track(encode_track([113.5], [37.9], [T0]))
    assert one.lon[0] == 113.5 and one.t[0] == T0


def test_empty_and_single_point_tracks(reach):
    one = Track(np.array([113.5]), np.array([37.9]), np.array([T0]))
    none = Track(np.array([]), np.array([]), np.array([]))
    walk = simulate.walk_along(reach, T0, np.random.default_rng(31), portion=(0.1, 0.6))
    v_one, v_walk, v_none = judge_many([one, walk, none], reach, RULES)
    assert not v_one.effective and not v_none.effective and v_walk.effective


def test_batch_equals_one_by_one(reach):
    rng = np.random.default_rng(40)
    tracks = [simulate.walk_along(reach, T0, rng, portion=(s, s + 0.3)) for s in (0.0, 0.3, 0.6)]
    tracks.append(simulate.drive_along_offset(reach, T0, rng, offset_m=150.0))
    batch = judge_many(tracks, reach, RULES)
    for tr, v in zip(tracks, batch, strict=True):
        single = judge(tr, reach, RULES)
        assert single.metrics == v.metrics and single.signature == v.signature


def _zigzag_reach(rng):
    """Sharp bends and a hairpin: the hard case for candidate lists."""
    frame = LocalFrame(113.6, 37.85)
    x = np.cumsum(rng.uniform(-150, 300, 80))
    y = np.cumsum(rng.uniform(-400, 400, 80))
    lon, lat = frame.inverse(x, y)
    return np.column_stack([lon, lat])


@pytest.mark.parametrize("case", range(6))
def test_grid_engine_agrees_with_brute_force(reach, case):
    rng = np.random.default_rng(100 + case)
    geometry = reach if case % 2 == 0 else _zigzag_reach(rng)
    buffer_m = [200.0, 50.0, 100.0, 300.0, 200.0, 25.0][case]
    cell = [None, None, 40.0, 7.0, 150.0, None][case]
    index = ReachIndex(geometry, buffer_m, cell_m=cell)
    # Points everywhere near the reach, many close to the buffer edge.
    k = rng.integers(0, len(index.x) - 1, 40_000)
    f = rng.random(40_000)
    px = index.x[k] + f * (index.x[k + 1] - index.x[k]) + rng.normal(0, buffer_m, 40_000)
    py = index.y[k] + f * (index.y[k + 1] - index.y[k]) + rng.normal(0, buffer_m, 40_000)
    px = np.concatenate([px, rng.uniform(index.x.min() - 2e3, index.x.max() + 2e3, 5000)])
    py = np.concatenate([py, rng.uniform(index.y.min() - 2e3, index.y.max() + 2e3, 5000)])
    dist, chain = index.nearest(px, py)
    ref_d, ref_c = nearest_bruteforce(index, px, py)
    edge = np.abs(ref_d - buffer_m) < 1e-3  # float32 may flip exactly-on-the-edge points
    assert np.array_equal(np.isfinite(dist)[~edge], (ref_d <= buffer_m)[~edge])
    inb = np.isfinite(dist)
    assert inb.sum() > 10_000
    assert np.max(np.abs(dist[inb] - ref_d[inb])) < 5e-3
    # Chainages must agree, except where two parts of the reach are equally near.
    bad = np.abs(chain[inb] - ref_c[inb]) > 0.05
    if bad.any():
        cx = np.interp(chain[inb][bad], index.chain, index.x)
        cy = np.interp(chain[inb][bad], index.chain, index.y)
        assert np.max(np.abs(np.hypot(px[inb][bad] - cx, py[inb][bad] - cy) - ref_d[inb][bad])) < 5e-3


def test_local_frame_is_within_a_tenth_of_a_percent_of_transverse_mercator(reach):
    from pyproj import Transformer

    index = reach_index(reach, 200.0)
    assert index.frame.kind == "equirectangular"
    proj = f"+proj=tmerc +lat_0={index.frame.lat0} +lon_0={index.frame.lon0} +k=1 +ellps=WGS84 +units=m"
    tm = Transformer.from_crs("EPSG:4326", proj, always_xy=True)
    tx, ty = tm.transform(reach[:, 0], reach[:, 1])
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(reach), (2, 5000))
    ours = np.hypot(index.x[i] - index.x[j], index.y[i] - index.y[j])
    ref = np.hypot(tx[i] - tx[j], ty[i] - ty[j])
    ok = ref > 100
    assert np.max(np.abs(ours[ok] / ref[ok] - 1)) < 1e-3
    # A tall reach switches to pyproj transverse Mercator.
    tall = np.column_stack([np.full(50, 113.5), np.linspace(37.0, 38.5, 50)])
    assert reach_index(tall, 200.0).frame.kind == "tmerc"
