"""Files: every upload is written, read and served through Django's storage API, never by hand.

The bytes live in ``STORAGES["default"]`` (settings): a FileSystemStorage under MEDIA_ROOT on one
machine; on several machines point that setting at an S3-compatible store (django-storages'
``S3Storage`` against MinIO, OSS or COS) and nothing else changes, because no code opens a path
under MEDIA_ROOT. Nothing serves MEDIA_URL either: a file leaves only through a view that first
checks the owning object's visibility and then calls `serve()`. With
``ZHANGZHI_FILES_ACCEL_REDIRECT`` set (e.g. ``/protected/``) the view answers with an empty body and
``X-Accel-Redirect`` so the front server (nginx ``internal`` location) sends the bytes; otherwise the
bytes stream from the storage.
"""

from __future__ import annotations

import gzip
import re
import uuid
from urllib.parse import quote

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
# photos are checked by content on upload (the extension is chosen from it); nothing else is served
IMAGE_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
SERVED_TYPES = set(IMAGE_TYPES.values())


def archive_raw(data: bytes, app: str, suffix: str = "upload", *, compress: bool = False) -> str:
    """Keep an upload as received, before any check, so a check or parser bug loses nothing.

    Saved as ``<app>/raw/<year>/<month>/<uuid>.<suffix>`` (``.gz`` added when compressed) in the
    default storage; returns the storage name to keep beside the row that came from it.
    """
    now = timezone.now()
    name = f"{app}/raw/{now:%Y}/{now:%m}/{uuid.uuid4().hex}.{suffix}"
    if compress:
        data, name = gzip.compress(data, 6), name + ".gz"
    return default_storage.save(name, ContentFile(data))


def drop(name: str) -> None:
    """Delete a stored file (an archive whose upload was refused as a duplicate); missing is fine."""
    if name:
        default_storage.delete(name)


def viewer(request):
    """Who asks for a file: the session's user, or the owner of a live API token sent as
    `Authorization: Bearer …` (so API clients can follow the `url` of an attachment)."""
    if request.user.is_authenticated:
        return request.user
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        from zhangzhi.org.actions import token_for  # org's models import lib modules

        row = token_for(token.strip())
        if row is not None:
            return row.user
    return request.user


def safe_filename(name: str) -> str:
    """The last part of a storage name, reduced to characters safe in any header and file system."""
    base = SAFE_NAME.sub("_", name.rsplit("/", 1)[-1]).strip("._")
    return base or "file"


def serve(file, content_type: str) -> HttpResponse:
    """The bytes of a stored file (a FieldFile), for a caller that has already checked who may see it.

    Answers 404 when the file is gone from the storage. Headers: the stored content type (checked on
    upload; anything else is sent as octet-stream), nosniff, inline with a safe file name, and
    private caching only, since what is visible depends on who asks.
    """
    if not file or not file.name:
        raise Http404("no file")
    ctype = content_type if content_type in SERVED_TYPES else "application/octet-stream"
    prefix = getattr(settings, "FILES_ACCEL_REDIRECT", "")
    if prefix:
        response = HttpResponse(b"", content_type=ctype)
        response["X-Accel-Redirect"] = prefix.rstrip("/") + "/" + quote(file.name.lstrip("/"))
    else:
        try:
            handle = file.storage.open(file.name, "rb")
        except (FileNotFoundError, OSError):
            raise Http404("the file is missing from the storage") from None
        response = FileResponse(handle, content_type=ctype)
    response["Content-Disposition"] = content_disposition_header(False, safe_filename(file.name))
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
