"""Tests for zhangzhi.lib.chinacoords (WGS84 ⇄ GCJ-02 ⇄ BD-09)."""

import numpy as np
import pytest

from zhangzhi.lib.chinacoords import bd09_to_gcj02, gcj02_to_bd09, gcj02_to_wgs84, to_wgs84, wgs84_to_gcj02

# Published reference outputs for the common test point (116.404, 39.915) in Beijing,
# from wandergis/coordtransform's test/app.js.
BEIJING = (116.404, 39.915)
REF_WGS_TO_GCJ = (116.41024449916938, 39.91640428150164)
REF_GCJ_TO_BD = (116.41036949371029, 39.92133699351021)
REF_BD_TO_GCJ_APPROX = (116.39762729119315, 39.90865673957631)  # Baidu's one-step inverse
REF_GCJ_TO_WGS_APPROX = (116.39775550083061, 39.91359571849836)  # the one-step inverse

CM_DEG = 1e-7  # ~1 cm in degrees


def test_it_matches_published_forward_values():
    assert np.allclose(wgs84_to_gcj02(*BEIJING), REF_WGS_TO_GCJ, atol=1e-12, rtol=0)
    assert np.allclose(gcj02_to_bd09(*BEIJING), REF_GCJ_TO_BD, atol=1e-12, rtol=0)


def test_it_improves_on_the_one_step_inverses():
    lon, lat = gcj02_to_wgs84(*BEIJING)
    # Close to the published approximation (which is good to a few metres) ...
    assert np.allclose((lon, lat), REF_GCJ_TO_WGS_APPROX, atol=5e-5, rtol=0)
    # ... but ours maps back exactly, the approximation does not.
    assert np.allclose(wgs84_to_gcj02(lon, lat), BEIJING, atol=1e-9, rtol=0)
    approx_back = wgs84_to_gcj02(*REF_GCJ_TO_WGS_APPROX)
    assert np.max(np.abs(np.subtract(approx_back, BEIJING))) > 1e-7
    blon, blat = bd09_to_gcj02(*BEIJING)
    assert np.allclose((blon, blat), REF_BD_TO_GCJ_APPROX, atol=5e-5, rtol=0)
    assert np.allclose(gcj02_to_bd09(blon, blat), BEIJING, atol=1e-9, rtol=0)


def test_round_trips_are_below_one_centimetre():
    rng = np.random.default_rng(3)
    lon = rng.uniform(74.0, 134.0, 20_000)
    lat = rng.uniform(18.0, 53.0, 20_000)
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert np.max(np.abs(back[0] - lon)) < CM_DEG and np.max(np.abs(back[1] - lat)) < CM_DEG
    back = bd09_to_gcj02(*gcj02_to_bd09(lon, lat))
    assert np.max(np.abs(back[0] - lon)) < CM_DEG and np.max(np.abs(back[1] - lat)) < CM_DEG
    bd = gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))
    back = to_wgs84(*bd, "bd09")
    assert np.max(np.abs(back[0] - lon)) < CM_DEG and np.max(np.abs(back[1] - lat)) < CM_DEG


def test_offset_in_yangquan_is_hundreds_of_metres():
    lon, lat = 113.58, 37.86
    glon, glat = wgs84_to_gcj02(lon, lat)
    dx = (glon - lon) * 111_320 * np.cos(np.radians(lat))
    dy = (glat - lat) * 110_540
    assert 300 < np.hypot(dx, dy) < 700


def test_outside_china_passes_through():
    lon = np.array([139.69, 2.35, -74.0, 100.5])  # Tokyo, Paris, New York, Indian Ocean
    lat = np.array([35.69, 48.86, 40.7, -5.0])  # the last is south of the box
    glon, glat = wgs84_to_gcj02(lon, lat)
    assert np.array_equal(glon, lon) and np.array_equal(glat, lat)
    wlon, wlat = gcj02_to_wgs84(lon, lat)
    assert np.array_equal(wlon, lon) and np.array_equal(wlat, lat)


def test_shapes_and_scalars():
    lon, lat = wgs84_to_gcj02(np.full((3, 4), 113.5), np.full((3, 4), 37.9))
    assert lon.shape == lat.shape == (3, 4)
    lon, lat = to_wgs84(113.5, 37.9, "wgs84")
    assert float(lon) == 113.5 and float(lat) == 37.9
    lon, lat = gcj02_to_wgs84(np.array([]), np.array([]))
    assert lon.size == 0


def test_unknown_crs_is_rejected():
    with pytest.raises(ValueError, match="unknown coordinate system"):
        to_wgs84(113.5, 37.9, "cgcs2000")
