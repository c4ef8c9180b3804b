"""Photos: real images only (by content), a size limit, raw uploads archived before any check."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from zhangzhi.cases import actions
from zhangzhi.cases.models import Attachment, Case
from zhangzhi.lib.errors import InvalidInput

from .conftest import ON_RIVER
from .images import JPEG_HEAD, WEBP, png


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(api_client, case, content, name="photo.jpg"):
    return api_client.client.post(f"/api/v1/cases/{case.pk}/attachments",
                                  {"file": SimpleUploadedFile(name, content)}, **api_client._headers())


def test_it_accepts_png_jpeg_and_webp(loop, new_case, api, media):
    case, chief = new_case(), api("township-chief")
    for content, ctype in ((png(), "image/png"), (JPEG_HEAD + b"\x00" * 50, "image/jpeg"), (WEBP, "image/webp")):
        r = upload(chief, case, content)
        assert r.status_code == 201, r.content
        assert r.json()["content_type"] == ctype
    assert case.attachments.count() == 3
    assert all((media / a.raw_path).exists() for a in Attachment.objects.all())


def test_it_refuses_a_file_that_is_not_an_image_whatever_its_name(loop, new_case, api, media):
    case = new_case()
    r = upload(api("township-chief"), case, b"MZ\x90\x00 not a photo", name="photo.jpg")
    assert r.status_code == 422 and r.json()["error"]["fields"] == {"file": "not an image"}
    assert not Attachment.objects.exists()
    # … but the raw upload was kept
    assert len(list(Path(media, "cases", "raw").rglob("*.upload"))) == 1


def test_it_refuses_an_oversized_photo(loop, new_case, api, settings):
    settings.ZHANGZHI_CASES = {"MAX_PHOTO_BYTES": 1000}
    r = upload(api("township-chief"), new_case(), png() + b"\x00" * 2000)
    assert r.status_code == 413 and r.json()["error"]["code"] == "too_large"


def test_it_hides_attachments_of_other_counties(loop, new_case, api):
    assert upload(api("other-county-chief"), new_case(), png()).status_code == 404


def test_a_report_with_a_bad_photo_creates_nothing(loop):
    with pytest.raises(InvalidInput):
        actions.report(None, category="garbage", description="x", **ON_RIVER, photos=[("a.png", b"GIF89a....")])
    assert not Case.objects.exists() and not Attachment.objects.exists()
