"""Case photos: stored through the storage API, served only after a visibility check, public only
once the office has looked at the case, any bytes answered with a 4xx."""

from __future__ import annotations

import os

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from zhangzhi.cases import actions
from zhangzhi.cases.models import Attachment, Case

from .conftest import ON_RIVER
from .images import JPEG_HEAD, png
from .test_drone import geojson, point, zipped


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def memory_storage(settings, tmp_path):
    """STORAGES["default"] swapped for an in-memory store: what lands under MEDIA_ROOT was written by hand."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    return tmp_path


def files_under(root) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def public_report(client, photo: bytes = b"", name="p.png"):
    data = {"category": "garbage", "description": "河边有人倒垃圾", **ON_RIVER}
    if photo is not None:
        data["photo"] = SimpleUploadedFile(name, photo)
    return client.post("/report/", data)


def upload(api_client, case, content, name="photo.png"):
    return api_client.client.post(f"/api/v1/cases/{case.pk}/attachments",
                                  {"file": SimpleUploadedFile(name, content)}, **api_client._headers())


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# -- storage ---------------------------------------------------------------------------------------------

def test_it_writes_every_upload_through_the_storage_api(loop, new_case, api, client, memory_storage):
    case = new_case(source="office")
    assert upload(api("township-chief"), case, png()).status_code == 201
    public_report(client, png())
    survey = zipped({"survey.geojson": geojson(point()), "DJI_0001.JPG": JPEG_HEAD + b"\0" * 64})
    r = api("county-office").client.post("/api/v1/cases/import-drone", {"file": SimpleUploadedFile("s.zip", survey)},
                                         **api("county-office")._headers())
    assert r.status_code == 201, r.content
    upload(api("township-chief"), case, b"not an image")  # refused, but archived raw first
    assert files_under(memory_storage) == []  # nothing written to MEDIA_ROOT by hand
    atts = list(Attachment.objects.all())
    assert len(atts) == 3
    for a in atts:
        assert default_storage.exists(a.file.name) and default_storage.exists(a.raw_path)
        assert a.raw_path.startswith("cases/raw/")
    raw_dir = atts[0].raw_path.rsplit("/", 1)[0]
    assert len(default_storage.listdir(raw_dir)[1]) == 5  # 3 photos, the drone ZIP, the refused upload


# -- staff: /files/cases/<id> -----------------------------------------------------------------------------

@pytest.fixture
def photo(new_case):
    case = new_case(source="office")
    return actions.add_attachment(None, case, ("site.png", png()), log=case.log.get())


def test_it_serves_a_photo_to_the_cases_jurisdiction(photo, client):
    client.login(username="county-office", password="test-pass-123")
    r = client.get(f"/files/cases/{photo.pk}")
    assert r.status_code == 200 and body(r) == png()
    assert r["Content-Type"] == "image/png" and r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"] == f'inline; filename="{photo.file.name.rsplit("/", 1)[-1]}"'
    assert r["Cache-Control"].startswith("private")


@pytest.mark.parametrize("username", ["other-county-chief", None])
def test_it_hides_a_photo_outside_the_jurisdiction_like_a_missing_one(photo, client, username):
    if username:
        client.login(username=username, password="test-pass-123")
    outside, missing = client.get(f"/files/cases/{photo.pk}"), client.get(f"/files/cases/{photo.pk + 1000}")
    assert outside.status_code == missing.status_code == 404


def test_nothing_serves_the_media_folder(photo, client, loop):
    client.force_login(loop.users["county-office"])
    assert client.get(f"/media/{photo.file.name}").status_code == 404
    assert client.get(f"/media/{photo.raw_path}").status_code == 404


def test_it_hands_the_bytes_to_the_front_server_when_configured(photo, client, settings):
    settings.FILES_ACCEL_REDIRECT = "/protected/"
    client.login(username="county-office", password="test-pass-123")
    r = client.get(f"/files/cases/{photo.pk}")
    assert r.status_code == 200 and r.content == b""
    assert r["X-Accel-Redirect"] == f"/protected/{photo.file.name}" and r["Content-Type"] == "image/png"
    assert r["X-Content-Type-Options"] == "nosniff" and r["Cache-Control"].startswith("private")


def test_an_api_client_follows_the_url_with_its_token(photo, api):
    chief = api("county-office")
    url = chief.get(f"/cases/{photo.case_id}").json()["attachments"][0]["url"]
    r = chief.client.get(url, **chief._headers())
    assert r.status_code == 200 and body(r) == png()
    other = api("other-county-chief")
    assert other.client.get(url, **other._headers()).status_code == 404
    assert other.client.get(url, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 404


def test_it_answers_404_when_the_file_is_gone_from_the_storage(photo, client):
    default_storage.delete(photo.file.name)
    client.login(username="county-office", password="test-pass-123")
    assert client.get(f"/files/cases/{photo.pk}").status_code == 404


def test_the_api_and_the_page_link_the_checked_view(photo, api, client):
    r = api("county-office").get(f"/cases/{photo.case_id}")
    assert r.json()["attachments"][0]["url"] == f"/files/cases/{photo.pk}"
    client.login(username="county-office", password="test-pass-123")
    page = client.get(f"/cases/{photo.case_id}/").content.decode()
    assert f'src="/files/cases/{photo.pk}"' in page and "/media/" not in page


# -- public: /r/<code>/photos/<id> ---------------------------------------------------------------------------

def reported_with_photo(client) -> tuple[Case, Attachment]:
    assert public_report(client, png()).status_code == 302
    case = Case.objects.get()
    return case, case.attachments.get()


def test_it_publishes_the_reporters_photo_only_once_the_office_has_accepted_the_case(loop, client):
    case, att = reported_with_photo(client)
    url = f"/r/{case.code}/photos/{att.pk}"
    assert client.get(url).status_code == 404  # a fresh report: nobody has looked at it yet
    assert url not in client.get(f"/r/{case.code}/").content.decode()
    actions.act(None, case, "accept")
    r = client.get(url)
    assert r.status_code == 200 and body(r) == png() and r["Content-Type"] == "image/png"
    assert r["Cache-Control"].startswith("private") and r["X-Content-Type-Options"] == "nosniff"
    assert f'src="{url}"' in client.get(f"/r/{case.code}/").content.decode()
    assert client.get(f"/r/{case.code.lower()}/photos/{att.pk}").status_code == 200
    assert client.get(f"/r/ZZZZZZZZ/photos/{att.pk}").status_code == 404  # another code


def test_it_hides_the_photo_of_a_flagged_or_declined_case(loop, client, settings):
    settings.ZHANGZHI_CASES = {"ABUSE_FLAGS_TO_HIDE": 1}
    case, att = reported_with_photo(client)
    actions.act(None, case, "accept")
    actions.flag_abuse(case, "10.0.0.1")
    assert client.get(f"/r/{case.code}/photos/{att.pk}").status_code == 404
    actions.moderate(None, case, hidden=False)  # the office restores it
    assert client.get(f"/r/{case.code}/photos/{att.pk}").status_code == 200

    other, other_att = reported_with_photo_again(client)
    actions.act(None, other, "decline", note="不属于河湖问题")
    assert client.get(f"/r/{other.code}/photos/{other_att.pk}").status_code == 404


def reported_with_photo_again(client) -> tuple[Case, Attachment]:
    before = set(Case.objects.values_list("pk", flat=True))
    assert public_report(client, png()).status_code == 302
    case = Case.objects.exclude(pk__in=before).get()
    return case, case.attachments.get()


def test_a_moderated_report_shows_its_photo_before_acceptance(loop, client):
    case, att = reported_with_photo(client)
    actions.moderate(None, case, hidden=False, note="内容属实")
    assert Case.objects.get(pk=case.pk).state == "new"
    assert client.get(f"/r/{case.code}/photos/{att.pk}").status_code == 200


def test_it_keeps_staff_photos_off_the_public_page(loop, client, new_case):
    case = new_case(source="office")
    actions.act(None, case, "accept")
    internal = actions.add_attachment(None, case, ("check.png", png()), log=case.log.last())  # the accept entry
    loose = actions.add_attachment(None, case, ("api.png", png()))  # added through the API: no log entry
    report_photo = actions.add_attachment(None, case, ("site.png", png()), log=case.log.get(action="report"))
    assert client.get(f"/r/{case.code}/photos/{internal.pk}").status_code == 404
    assert client.get(f"/r/{case.code}/photos/{loose.pk}").status_code == 404
    assert client.get(f"/r/{case.code}/photos/{report_photo.pk}").status_code == 200


def test_open311_gives_a_media_url_only_for_a_public_photo(loop, client):
    case, att = reported_with_photo(client)
    assert client.get(f"/open311/v2/requests/{case.code}.json").json()[0]["media_url"] == ""
    actions.act(None, case, "accept")
    row = client.get(f"/open311/v2/requests/{case.code}.json").json()[0]
    assert row["media_url"] == f"http://testserver/r/{case.code}/photos/{att.pk}"


# -- any bytes: a clear 4xx ----------------------------------------------------------------------------------

JUNK = {
    "random": os.urandom(4096),
    "png": png(),
    "not utf-8": "河道垃圾".encode("gb18030") + b"\xff\xfe\x00",
    "empty": b"",
    "truncated zip": zipped({"a.geojson": b"{}"})[:40],
    "zip of junk": zipped({"survey.geojson": b"\x89PNG\r\n\x1a\n\xff\xfe"}),
}


@pytest.mark.parametrize("kind", list(JUNK))
def test_every_case_upload_answers_4xx_for_any_bytes(loop, api, client, new_case, kind):
    data = JUNK[kind]
    office, case = api("county-office"), new_case(source="office")
    h = office._headers()
    answers = {
        "photo": upload(office, case, data, name="x.jpg"),
        "drone file": office.client.post("/api/v1/cases/import-drone",
                                         {"file": SimpleUploadedFile("s.geojson", data)}, **h),
        "drone photos": office.client.post("/api/v1/cases/import-drone", {
            "file": SimpleUploadedFile("s.geojson", geojson(point())),
            "photos": SimpleUploadedFile("p.zip", data)}, **h),
    }
    for what, r in answers.items():
        if kind == "png" and what == "photo":
            assert r.status_code == 201
            continue
        assert 400 <= r.status_code < 500, (what, r.status_code, r.content[:300])
        assert r.json()["error"]["message"], what
    # the pages: the form again with the message (or back to the case), never a 5xx
    assert public_report(client, data, name="x.jpg").status_code < 500
    r = client.post("/open311/v2/requests.json", {"service_code": "garbage", "lat": ON_RIVER["lat"],
                                                  "long": ON_RIVER["lon"], "description": "垃圾",
                                                  "media": SimpleUploadedFile("m.jpg", data)})
    assert 400 <= r.status_code < 500 or (kind == "png" and r.status_code == 201), r.content
    client.force_login(loop.users["county-office"])
    assert client.post("/cases/import-drone/", {"file": SimpleUploadedFile("s.geojson", data)}).status_code < 500
    assert client.post(f"/cases/{case.pk}/act", {"action": "accept", "photo": SimpleUploadedFile("x.jpg", data)}
                       ).status_code < 500


ODD_GEOJSON = {
    "category as a list": geojson(point(category=["dumping"])),
    "urgency as an object": geojson(point(urgency={"x": 1})),
    "a huge coordinate": b'{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": '
                         b'{"type": "Point", "coordinates": [1' + b"0" * 400 + b', 38]}, "properties": {}}]}',
    "deep nesting": b'{"type": "FeatureCollection", "features": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "features as an object": b'{"type": "FeatureCollection", "features": {"a": 1}}',
    "photo as a number": geojson(point(photo=7)),
    "taken_at far away": geojson(point(taken_at="0001-01-01T00:00:00")),
}


@pytest.mark.parametrize("kind", list(ODD_GEOJSON))
def test_a_drone_import_of_odd_json_answers_422(loop, api, client, kind):
    office = api("county-office")
    r = office.client.post("/api/v1/cases/import-drone",
                           {"file": SimpleUploadedFile("s.geojson", ODD_GEOJSON[kind])}, **office._headers())
    assert r.status_code == 422, (r.status_code, r.content[:300])
    client.force_login(loop.users["county-office"])
    page = client.post("/cases/import-drone/", {"file": SimpleUploadedFile("s.geojson", ODD_GEOJSON[kind])})
    assert page.status_code < 500
    assert not Case.objects.exists()
