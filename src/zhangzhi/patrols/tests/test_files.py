"""Patrol files: raw uploads and finding photos through the storage API, photos served after a check."""

from __future__ import annotations

import base64
import os

import pytest
from django.core.files.storage import default_storage

from zhangzhi.patrols.models import Finding, Patrol

from .conftest import payload, walk
from .test_api import PNG


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def finding(world, rules, api) -> Finding:
    track = walk(world.town_reach)
    spot = {"category": "garbage", "note": "河岸堆放生活垃圾", "lon": float(track.lon[50]),
            "lat": float(track.lat[50]), "photo": "data:image/png;base64," + base64.b64encode(PNG).decode()}
    r = api("township-chief").post("/patrols", payload(world.town_reach, track, findings=[spot]))
    assert r.status_code == 201, r.content
    return Finding.objects.get(patrol_id=r.json()["id"])


def test_it_writes_patrol_uploads_through_the_storage_api(world, rules, api, settings, media):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    track = walk(world.town_reach)
    spot = {"category": "garbage", "note": "垃圾", "lon": float(track.lon[50]), "lat": float(track.lat[50]),
            "photo": "data:image/png;base64," + base64.b64encode(PNG).decode()}
    r = api("township-chief").post("/patrols", payload(world.town_reach, track, findings=[spot]))
    assert r.status_code == 201, r.content
    patrol = Patrol.objects.get(pk=r.json()["id"])
    f = patrol.findings.get()
    assert [n for _, _, names in os.walk(media) for n in names] == []  # nothing by hand under MEDIA_ROOT
    assert patrol.raw_path.startswith("patrols/raw/") and patrol.raw_path.endswith(".json.gz")
    assert default_storage.exists(patrol.raw_path) and default_storage.exists(f.photo.name)


def test_it_serves_a_finding_photo_to_whoever_sees_the_patrol(finding, client):
    client.login(username="township-chief", password="test-pass-123")
    r = client.get(f"/files/patrols/{finding.pk}")
    assert r.status_code == 200 and b"".join(r.streaming_content) == PNG
    assert r["Content-Type"] == "image/png" and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith('inline; filename="') and r["Cache-Control"].startswith("private")
    client.login(username="county-office", password="test-pass-123")
    assert client.get(f"/files/patrols/{finding.pk}").status_code == 200


@pytest.mark.parametrize("username", ["other-county-chief", None])
def test_it_hides_a_finding_photo_outside_the_jurisdiction(finding, client, username):
    if username:
        client.login(username=username, password="test-pass-123")
    assert client.get(f"/files/patrols/{finding.pk}").status_code == 404
    assert client.get(f"/files/patrols/{finding.pk + 1000}").status_code == 404
    assert client.get(f"/media/{finding.photo.name}").status_code == 404


def test_the_patrol_api_links_the_checked_view(finding, api):
    body = api("township-chief").get(f"/patrols/{finding.patrol_id}").json()
    assert body["findings"][0]["photo"] == f"/files/patrols/{finding.pk}"
