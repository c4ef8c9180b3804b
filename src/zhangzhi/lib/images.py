"""What an uploaded photo really is, judged by its first bytes, never by its name."""

from __future__ import annotations

IMAGE_MAGIC = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


def sniff_image(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) when the bytes start like a JPEG, PNG or WebP; None otherwise."""
    for magic, ctype, ext in IMAGE_MAGIC:
        if head.startswith(magic):
            return ctype, ext
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None
