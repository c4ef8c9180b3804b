"""Fixtures for patrol tests: default rules as data, and tracks along the world's reaches."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest

from zhangzhi.demo import track_simulator as simulate

# 2026-05-12 09:00 Beijing time: a Tuesday morning in the second 旬 of May
T0 = dt.datetime(2026, 5, 12, 1, 0, tzinfo=dt.UTC).timestamp()


@pytest.fixture
def rules(db):
    from zhangzhi.org import reference as org_reference
    from zhangzhi.patrols import reference

    org_reference.ensure()
    reference.ensure()


def reach_coords(feature) -> np.ndarray:
    return np.asarray(feature.geometry["coordinates"], np.float64)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat().replace("+00:00", "Z")


def payload(feature, track, *, crs="wgs84", client_id=None, findings=()):
    return {"client_id": str(client_id or uuid.uuid4()), "feature": feature.pk, "crs": crs,
            "track": {"type": "LineString",
                      "coordinates": [[round(x, 7), round(y, 7)] for x, y in zip(track.lon, track.lat, strict=True)],
                      "times": [iso(t) for t in track.t]},
            "findings": list(findings)}


def walk(feature, seed=1, start=T0, portion=(0.05, 0.7)):
    return simulate.walk_along(reach_coords(feature), start, np.random.default_rng(seed), portion=portion)


def gpx(track, *, name="巡河") -> bytes:
    pts = "".join(f'<trkpt lat="{y:.7f}" lon="{x:.7f}"><time>{iso(t)}</time></trkpt>'
                  for x, y, t in zip(track.lon, track.lat, track.t, strict=True))
    return (f'<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
            f'xmlns="http://www.topografix.com/GPX/1/1"><trk><name>{name}</name><trkseg>{pts}</trkseg></trk></gpx>'
            ).encode()
