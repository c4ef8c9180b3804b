"""Photos of a case: archived raw, checked by content and size, stored through the storage API."""

from __future__ import annotations

import hashlib

from django.core.files.base import ContentFile
from django.db import transaction

from zhangzhi.lib import storage
from zhangzhi.lib.errors import Forbidden, InvalidInput, TooLarge
from zhangzhi.lib.images import sniff_image
from zhangzhi.org.actions import log_change

from .. import conf
from ..models import Attachment, Case, CaseLog
from .base import _now
from .transitions import roles_of


def _read(photo) -> tuple[bytes, str]:
    limit = conf.get("MAX_PHOTO_BYTES")
    if isinstance(photo, bytes | bytearray):
        return bytes(photo[: limit + 1]), ""
    if isinstance(photo, tuple):
        name, content = photo
        return bytes(content[: limit + 1]), name
    return photo.read(limit + 1), getattr(photo, "name", "") or ""


@transaction.atomic
def add_attachment(actor, case: Case, photo, *, at=None, log: CaseLog | None = None) -> Attachment:
    """A photo for a case: archived raw first, then checked by content (JPEG/PNG/WebP) and size."""
    data, name = _read(photo)
    raw = storage.archive_raw(data, "cases")
    limit = conf.get("MAX_PHOTO_BYTES")
    if len(data) > limit:
        raise TooLarge(f"the photo is larger than {limit // (1024 * 1024)} MB", {"file": "too large"})
    kind = sniff_image(data[:16])
    if kind is None:
        raise InvalidInput(f"{name or 'the file'} is not a JPEG, PNG or WebP image", {"file": "not an image"})
    if actor is not None and getattr(actor, "is_authenticated", False) and not (
            roles_of(actor, case) or Case.objects.visible_to(actor).filter(pk=case.pk).exists()):
        raise Forbidden("you cannot add photos to this case")
    ctype, ext = kind
    digest = hashlib.sha256(data).hexdigest()
    att = Attachment(case=case, log=log, raw_path=raw, content_type=ctype, size=len(data), sha256=digest,
                     uploaded_by=actor if getattr(actor, "is_authenticated", False) else None, at=_now(at))
    att.file.save(f"{case.code}-{digest[:12]}.{ext}", ContentFile(data), save=False)
    att.save()
    log_change(actor, "case_attach", att, {"case": case.code, "sha256": digest, "size": len(data)})
    return att
