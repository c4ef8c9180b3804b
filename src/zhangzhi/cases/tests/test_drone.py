"""无人机巡查 import: one upload of points with photos becomes cases, all or nothing."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from zhangzhi.cases import actions
from zhangzhi.cases.models import Attachment, Case

from .conftest import ON_RIVER
from .images import JPEG_HEAD, png

NOWHERE = {"lat": 30.0, "lon": 120.0}          # far outside 阳泉


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def point(where=ON_RIVER, **props):
    base = {"category": "dumping", "description": "河滩堆放建筑垃圾", "urgency": "urgent",
            "taken_at": "2026-03-01T10:15:00+08:00", "photo": "DJI_0001.JPG"}
    base.update(props)
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [where["lon"], where["lat"]]},
            "properties": {k: v for k, v in base.items() if v is not None}}


def geojson(*points) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(points)}).encode()


def zipped(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def post(api_client, file: bytes, photos: bytes | None = None, name="survey.geojson"):
    files = {"file": SimpleUploadedFile(name, file)}
    if photos is not None:
        files["photos"] = SimpleUploadedFile("photos.zip", photos)
    return api_client.client.post("/api/v1/cases/import-drone", files, **api_client._headers())


def raw_files(media):
    return list((media / "cases" / "raw").rglob("*.upload")) if (media / "cases" / "raw").exists() else []


def test_it_imports_points_with_photos_from_a_zip(loop, api, media):
    photos = zipped({"DJI_0001.JPG": JPEG_HEAD + b"\0" * 64, "img/DJI_0002.PNG": png()})
    r = post(api("county-office"), geojson(point(), point({"lat": 38.06, "lon": 113.33}, photo="img/DJI_0002.PNG",
                                                         urgency=None)), photos)
    assert r.status_code == 201, r.content
    assert r.json()["count"] == 2
    cases = list(Case.objects.order_by("pk"))
    assert [c.source for c in cases] == ["drone", "drone"]
    assert [c.urgency for c in cases] == ["urgent", "normal"]
    assert all(c.office == loop.units["yu_office"] for c in cases)
    assert sorted(a.content_type for a in Attachment.objects.all()) == ["image/jpeg", "image/png"]
    entry = cases[0].log.get()
    assert entry.action == "report" and entry.actor_name == "县办李"
    assert entry.data["taken_at"].startswith("2026-03-01T10:15") and len(entry.data["raw"]) == 2


def test_it_imports_one_zip_holding_the_geojson_and_a_data_uri_photo(loop, api, media):
    uri = "data:image/png;base64," + base64.b64encode(png()).decode()
    bundle = zipped({"survey/points.geojson": geojson(point(photo=uri), point(photo="survey/a.jpg")),
                     "survey/a.jpg": JPEG_HEAD})
    r = post(api("county-office"), bundle, name="survey.zip")
    assert r.status_code == 201, r.content
    assert Case.objects.filter(source="drone").count() == 2 and Attachment.objects.count() == 2


def test_a_bad_category_is_reported_per_point_and_nothing_is_created(loop, api, media):
    photos = zipped({"DJI_0001.JPG": JPEG_HEAD})
    r = post(api("county-office"), geojson(point(), point(category="no-such"), point(taken_at="yesterday")), photos)
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert set(fields) == {"features[1].properties.category", "features[2].properties.taken_at"}
    assert "nothing was imported" in r.json()["error"]["message"]
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0
    assert len(raw_files(media)) == 2  # the raw uploads were archived before any check


def test_a_point_outside_every_jurisdiction_is_refused(loop, api, media):
    r = post(api("county-office"), geojson(point(photo=None), point(NOWHERE, photo=None)))
    assert r.status_code == 422
    assert "outside every jurisdiction" in r.json()["error"]["fields"]["features[1].geometry"]
    assert Case.objects.count() == 0


def test_a_county_office_cannot_import_points_in_another_county(loop, api, media):
    in_pingding = {"lat": loop.pd.center_lat, "lon": loop.pd.center_lon}
    r = post(api("county-office"), geojson(point(photo=None), point(in_pingding, photo=None)))
    assert r.status_code == 422
    assert "outside your jurisdiction" in r.json()["error"]["fields"]["features[1].geometry"]
    assert Case.objects.count() == 0
    # the city office above both counties may
    assert post(api("city-office"), geojson(point(photo=None), point(in_pingding, photo=None))).status_code == 201
    assert {c.office.name for c in Case.objects.all()} == {"盂县河长办", "平定县河长办"}


def test_only_office_staff_import(loop, api, media):
    r = post(api("township-chief"), geojson(point(photo=None)))
    assert r.status_code == 403 and Case.objects.count() == 0


def test_a_photo_that_is_not_an_image_is_refused_by_content(loop, api, media):
    photos = zipped({"DJI_0001.JPG": b"MZ\x90\x00 this is a program, not a photo"})
    r = post(api("county-office"), geojson(point(), point(photo="missing.jpg")), photos)
    assert r.status_code == 422
    fields = r.json()["error"]["fields"]
    assert "not a JPEG, PNG or WebP image" in fields["features[0].properties.photo"]
    assert "no file" in fields["features[1].properties.photo"]
    assert Case.objects.count() == 0 and Attachment.objects.count() == 0


def test_a_zip_bomb_is_refused_before_it_is_unpacked(loop, api, media, settings):
    settings.ZHANGZHI_CASES = {"DRONE_MAX_UNZIPPED_BYTES": 4 * 1024 * 1024}
    bomb = zipped({"DJI_0001.JPG": JPEG_HEAD + b"\0" * (8 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    r = post(api("county-office"), geojson(point()), bomb)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"
    assert Case.objects.count() == 0


def test_a_zip_whose_directory_lies_about_sizes_is_refused(loop, media, settings):
    settings.ZHANGZHI_CASES = {"DRONE_MAX_UNZIPPED_BYTES": 1024 * 1024, "MAX_PHOTO_BYTES": 2 * 1024 * 1024}
    big = zipped({"a.jpg": JPEG_HEAD + b"\0" * 700_000, "b.jpg": JPEG_HEAD + b"\0" * 700_000})
    # shrink the declared sizes in the central directory so the sum looks small
    patched = bytearray(big)
    cd = patched.rfind(b"PK\x05\x06")
    offset = int.from_bytes(patched[cd + 16:cd + 20], "little")
    while patched[offset:offset + 4] == b"PK\x01\x02":
        patched[offset + 24:offset + 28] = (1000).to_bytes(4, "little")
        n, m, k = (int.from_bytes(patched[offset + i:offset + i + 2], "little") for i in (28, 30, 32))
        offset += 46 + n + m + k
    from zhangzhi.lib.errors import ZhangzhiError

    with pytest.raises(ZhangzhiError):
        actions.import_drone(loop.users["county-office"], geojson(point(photo="a.jpg"), point(photo="b.jpg")),
                             bytes(patched))
    assert Case.objects.count() == 0


def test_an_oversized_upload_is_413(loop, api, media, settings):
    settings.ZHANGZHI_CASES = {"DRONE_MAX_UPLOAD_BYTES": 1000}
    r = post(api("county-office"), geojson(point(photo=None)), b"PK\x03\x04" + b"\0" * 2000)
    assert r.status_code == 413 and r.json()["error"]["fields"] == {"photos": "too large"}
    assert Case.objects.count() == 0


def test_an_oversized_photo_is_a_point_error(loop, api, media, settings):
    settings.ZHANGZHI_CASES = {"MAX_PHOTO_BYTES": 1000}
    r = post(api("county-office"), geojson(point()), zipped({"DJI_0001.JPG": JPEG_HEAD + b"\0" * 2000}))
    assert r.status_code == 422 and "larger than" in r.json()["error"]["fields"]["features[0].properties.photo"]


def test_garbage_uploads_are_clear_4xx(loop, api, media):
    office = api("county-office")
    assert post(office, b"not json").json()["error"]["fields"] == {"file": "not JSON"}
    assert post(office, b'{"type": "Feature"}').status_code == 422
    assert post(office, b"PK\x03\x04broken", name="x.zip").json()["error"]["fields"] == {
        "file": "not a readable ZIP"}
    assert post(office, zipped({"a.txt": b"x"}), name="x.zip").status_code == 422
    assert Case.objects.count() == 0


def test_the_office_imports_through_the_page(loop, client, media):
    assert client.login(username="county-office", password="test-pass-123")
    assert client.get("/cases/import-drone/").status_code == 200
    bad = client.post("/cases/import-drone/", {"file": SimpleUploadedFile("s.geojson", geojson(
        point(category="nope", photo=None)))})
    assert bad.status_code == 422 and "features[0].properties.category" in bad.content.decode()
    ok = client.post("/cases/import-drone/", {
        "file": SimpleUploadedFile("s.geojson", geojson(point())),
        "photos": SimpleUploadedFile("p.zip", zipped({"DJI_0001.JPG": png()}))})
    assert ok.status_code == 302 and ok["Location"].endswith("?source=drone")
    assert Case.objects.get().source == "drone"


def test_the_import_page_is_for_office_staff(loop, client):
    assert client.login(username="member-unit", password="test-pass-123")
    assert client.get("/cases/import-drone/").status_code == 403
