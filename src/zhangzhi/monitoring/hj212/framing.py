"""HJ 212 framing: ``##`` + 4-digit length + data segment + CRC + CRLF; validating a frame, building one, and
cutting a TCP byte stream into frames. Pure Python."""

from __future__ import annotations

from typing import NamedTuple

from .crc import crc16, crc16_modbus
from .packet import MAX_SEGMENT, HJ212Error, Packet, _fail, _parse_segment

__all__ = ["Event", "FrameSplitter", "build_frame", "parse_frame"]

_HEX_DIGITS = b"0123456789abcdefABCDEF"


def parse_frame(frame: bytes | bytearray | str, *, allow_modbus_crc: bool = False,
                max_segment: int = MAX_SEGMENT) -> Packet:
    """Validate and parse one frame (``##dddd...XXXX`` with or without the CRLF trailer).

    Raises :class:`HJ212Error` (only) when the frame is unusable; see the module docstring for the
    deviations tolerated.
    """
    if isinstance(frame, str):
        try:
            frame = frame.encode("utf-8")
        except UnicodeEncodeError:
            raise HJ212Error("unparseable", "text frame holds characters UTF-8 cannot encode") from None
    elif not isinstance(frame, bytes):
        frame = bytes(frame)
    raw = frame
    if frame.endswith(b"\n"):
        frame = frame[:-2] if frame.endswith(b"\r\n") else frame[:-1]
    if frame[:2] != b"##":
        raise _fail("bad_header", "frame does not start with '##'", raw)
    n = len(frame)
    if n < 10:
        raise _fail("truncated", f"frame of {n} bytes is shorter than the minimal 10", raw)
    if frame.endswith(b"\r"):
        raise _fail("bad_trailer", "frame ends with CR without LF", raw)
    length_field = frame[2:6]
    if not length_field.isdigit():
        raise _fail("bad_length", f"length field {length_field.decode('latin-1')!r} is not 4 digits", raw)
    segment = frame[6:-4]
    crc_field = frame[-4:]
    if crc_field.translate(None, _HEX_DIGITS):
        # Tell junk after a good CRC from a bad CRC: the CRC follows the '&&' closing the data area.
        cp_end = frame.rfind(b"&&", 6)
        tail = frame[cp_end + 2:] if cp_end >= 0 else b""
        if len(tail) > 4 and not tail[:4].translate(None, _HEX_DIGITS):
            raise _fail("bad_trailer", f"{len(tail) - 4} unexpected bytes after the CRC", raw)
        raise _fail("bad_crc", f"CRC field {crc_field.decode('latin-1')!r} is not 4 hex digits", raw)
    if len(segment) > max_segment:
        raise _fail("too_long", f"data segment of {len(segment)} bytes exceeds {max_segment}", raw)
    warnings: list[str] = []
    declared = int(length_field)
    try:
        text = segment.decode("utf-8")
    except UnicodeDecodeError:
        # Chinese text from old devices may be GBK; the CRC is over bytes anyway.
        text = segment.decode("gb18030", "replace")
        warnings.append("not_utf8")
    if declared != len(segment):
        if not text.isascii() and declared in (len(text), len(text.encode("utf-16-le")) // 2):
            warnings.append("length_counts_chars")
        else:
            raise _fail("bad_length", f"declared length {declared} but the data segment has"
                        f" {len(segment)} bytes", raw)
    sent = int(crc_field, 16)
    if crc16(segment) != sent:
        if allow_modbus_crc and crc16_modbus(segment) == ((sent & 0xFF) << 8 | sent >> 8):
            warnings.append("crc_modbus")
        else:
            raise _fail("bad_crc", f"CRC {crc_field.decode('ascii')} does not match the data segment"
                        f" (expected {crc16(segment):04X})", raw)
    return _parse_segment(text, raw, warnings)


def build_frame(segment: str) -> bytes:
    """Frame a data segment: ``##`` + length + segment + CRC + CRLF."""
    try:
        data = segment.encode("utf-8")
    except UnicodeEncodeError:
        raise HJ212Error("bad_value", "segment holds characters UTF-8 cannot encode") from None
    if len(data) > 9999:
        raise HJ212Error("too_long", f"data segment of {len(data)} bytes does not fit a 4-digit length")
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data))


class Event(NamedTuple):
    """What :meth:`FrameSplitter.feed` yields: a candidate frame, or an error carrying the bad bytes."""

    frame: bytes | None
    error: HJ212Error | None


class FrameSplitter:
    """Cut a TCP byte stream into candidate frames.

    Frames end at CRLF; when a device omits the CRLF the declared length tells where the frame ends
    (followed by the next ``##``, or — so a device that waits for its 9014 is not starved — at the end of
    the data received so far when the CRC over the declared segment checks). Bytes between frames are
    reported as ``garbage`` (whitespace is dropped silently), a frame cut short by the next ``##`` as
    ``truncated``, and a frame longer than ``max_segment`` + 12 bytes as ``too_long``; the buffer never
    grows beyond that bound. Candidate frames still need :func:`parse_frame`.
    """

    def __init__(self, max_segment: int = MAX_SEGMENT) -> None:
        self.max_frame = max_segment + 12
        self._buf = b""
        self._garbage = bytearray()
        self._discarding = False  # inside an overlong frame, already reported

    def feed(self, data: bytes) -> list[Event]:
        """Add received bytes; return the events they complete."""
        events: list[Event] = []
        buf = self._buf + data if self._buf else bytes(data)
        limit = self.max_frame
        while buf:
            start = buf.find(b"##")
            if start != 0:
                if start < 0:
                    # Keep a trailing '#': it may be the first half of the next header.
                    keep = 1 if buf.endswith(b"#") else 0
                    self._skip(buf[: len(buf) - keep], events)
                    buf = buf[len(buf) - keep:]
                    break
                self._skip(buf[:start], events)
                buf = buf[start:]
            # '###0101...': the frame starts at the last '#' of the run.
            while buf[2:3] == b"#":
                self._skip(buf[:1], events)
                buf = buf[1:]
            self._flush_garbage(events)
            self._discarding = False
            window = buf[:limit]
            crlf = window.find(b"\r\n", 2)
            nxt = window.find(b"##", 2)
            end: int | None = None
            length_field = buf[2:6]
            if len(length_field) == 4 and length_field.isdigit():
                end = 6 + int(length_field) + 4
            if crlf >= 0 and (nxt < 0 or nxt > crlf):
                events.append(Event(buf[: crlf + 2], None))
                buf = buf[crlf + 2:]
            elif nxt >= 0:
                if nxt == end:
                    events.append(Event(buf[:end], None))
                    buf = buf[end:]
                elif crlf >= 0 and crlf == end:
                    # The '##' is inside the text (e.g. a log line); the length vouches for the frame.
                    events.append(Event(buf[: crlf + 2], None))
                    buf = buf[crlf + 2:]
                else:
                    bad = buf[:nxt]
                    events.append(Event(None, HJ212Error(
                        "truncated", f"frame cut short by the next '##' after {nxt} bytes", bad)))
                    buf = buf[nxt:]
            elif len(buf) >= limit:
                events.append(Event(None, HJ212Error(
                    "too_long", f"no frame end within {limit} bytes", buf[:limit])))
                self._discarding = True
                # No '##' starts before limit - 1, but one may start on the window's last byte.
                buf = buf[limit - 1:]
                continue
            else:
                if end is not None and len(buf) == end and _crc_ok(buf[6: end - 4], buf[end - 4: end]):
                    events.append(Event(buf, None))
                    buf = b""
                break
        self._buf = buf
        return events

    def flush(self) -> list[Event]:
        """End of stream: report what is left (a frame without CRLF, or truncated bytes)."""
        events: list[Event] = []
        buf, self._buf = self._buf, b""
        if buf.startswith(b"##"):
            events.append(Event(buf, None))
        elif buf:
            self._skip(buf, events)
        self._flush_garbage(events)
        self._discarding = False
        return events

    def _skip(self, data: bytes, events: list[Event]) -> None:
        if self._discarding or not data.strip(b" \t\r\n\x00"):
            return
        room = self.max_frame - len(self._garbage)
        self._garbage += data[:room]
        if len(self._garbage) >= self.max_frame:
            self._flush_garbage(events)
            self._discarding = True

    def _flush_garbage(self, events: list[Event]) -> None:
        if self._garbage:
            bad = bytes(self._garbage)
            self._garbage.clear()
            events.append(Event(None, HJ212Error(
                "garbage", f"{len(bad)} bytes outside any frame", bad)))


def _crc_ok(segment: bytes, crc_field: bytes) -> bool:
    if crc_field.translate(None, _HEX_DIGITS):
        return False
    return crc16(segment) == int(crc_field, 16)
