"""HJ 212 (污染物在线监控（监测）系统数据传输标准) framing, parsing and replies.

Pure Python, no Django: the TCP listener, the importer and the station simulator all call these
functions, and tests call them without a socket.

The wire format (HJ/T 212-2005, HJ 212-2017, HJ 212-2025 and the CNEMC surface-water profile share it)::

    ## dddd <data segment> XXXX \\r\\n

``dddd`` is the 4-digit length of the data segment, ``XXXX`` the HJ 212 CRC of the data segment
(hex, high byte first). The segment is ``QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&..&&``
and the CP data area is ``;``-separated items of ``,``-separated ``Key=Value`` pairs, pollutant keys
being ``<code>-<suffix>`` (``w21003-Rtd=0.16,w21003-Flag=N``).

Facts and deviations follow ``shared/data/hj212/NOTES.md``. What this module accepts, explicitly:

* trailer ``\\r\\n`` optional (also a bare ``\\n``); CRC hex in either case (``1dc0``);
* CRC = the HJ 212 algorithm of Appendix A over the segment's bytes. The CRC-16/MODBUS variant printed
  low byte first (seen in ``tonyxia2016/HJ212Receiver`` logs) is accepted **only** when the caller
  passes ``allow_modbus_crc=True`` (a per-device switch); the packet then carries the warning
  ``crc_modbus``. Placeholder CRCs such as ``0000`` are not accepted unless they are the real CRC;
* length = UTF-8 byte count of the segment; when the segment holds non-ASCII text and the declared
  length equals its character count instead (Java/Go senders), the packet is accepted with the warning
  ``length_counts_chars``. Any other mismatch is ``bad_length`` — the HJ 212 CRC has only 256 possible
  values, so the length check is what catches most corruption in transit;
* header keys missing (QN, Flag), reordered (PNO before PNUM), upper-cased (``FLAG=``), ``;,MN=``,
  empty ``PW=``, NUL bytes in ``ST``, 18-digit QN, unknown Flag version bits (kept as information);
* ``DataTime`` of 14 digits or 17 digits (with milliseconds); other lengths are ``bad_time``;
* ``PolId=`` groups (CN 3020, 3032): their pollutant keys are stored as ``<PolId>:<code>``;
* a stand-alone ``Flag=N`` CP item is kept in ``Packet.cp`` and used as the data flag of values
  that lack their own ``-Flag``.

Not accepted: 3-digit length fields (``##453...``), CRCs computed over UTF-16 chars or runes.

HJ 212 times are Beijing local time; parsed datetimes are aware, UTC+8 (China has had no DST since 1991).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import NamedTuple

__all__ = [
    "BEIJING",
    "DEFAULT_UNITS",
    "LEGACY_CODES",
    "MAX_SEGMENT",
    "Event",
    "FrameSplitter",
    "HJ212Error",
    "Packet",
    "Reading",
    "Reassembler",
    "build_data_frame",
    "build_frame",
    "build_reply",
    "canonical_code",
    "crc16",
    "crc16_modbus",
    "default_unit",
    "normalise",
    "parse_frame",
    "parse_many",
    "parse_segment",
    "parse_time",
    "readings",
]

BEIJING = timezone(timedelta(hours=8), "UTC+08:00")

# The standard caps the data segment at 1024 characters, but real 2016 traffic holds frames up to
# ~1600 bytes (NOTES.md §1), so the default bound is generous while still bounding memory.
MAX_SEGMENT = 4096


class HJ212Error(ValueError):
    """Any failure to frame or parse HJ 212 data.

    ``reason`` is a short machine code (``bad_header``, ``bad_length``, ``bad_crc``, ``bad_trailer``,
    ``bad_time``, ``too_long``, ``truncated``, ``garbage``, ``unparseable``, ``bad_value``);
    ``raw`` holds the offending bytes when there are any, so the caller can quarantine them.
    """

    def __init__(self, reason: str, message: str, raw: bytes | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.raw = raw

    def __repr__(self) -> str:
        return f"HJ212Error({self.reason!r}, {self.message!r})"


# ---------------------------------------------------------------------------------------------- CRC


def _hj212_step_table() -> tuple[int, ...]:
    # The HJ 212 CRC XORs each byte into ``reg >> 8`` (not into the whole register as Modbus does), so
    # the state entering the 8 shift rounds is a single byte: one table lookup per byte replaces them.
    table = []
    for x in range(256):
        reg = x
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
        table.append(reg)
    return tuple(table)


_HJ_TABLE = _hj212_step_table()
# The classic reflected CRC-16 table (poly 0xA001), used by the Modbus variant some devices send.
_MODBUS_TABLE = _HJ_TABLE


# The HJ 212 step only keeps the high byte h of the register: h' = M(h ^ b) with M(x) = T[x] >> 8, a linear
# map over GF(2)^8 whose 8th power is the identity. So the state before the last step is the XOR, over the
# bytes, of M^k(byte) with k its distance from the end mod 8 (plus M^(n-1) of the initial high byte): fold
# the segment, read as one integer, to 8 bytes (byte k = XOR of the bytes at distances = k mod 8; C-speed
# big-integer shifts and XORs), then map those 8 bytes (as four 16-bit words) through precomputed tables.
_M = [t >> 8 for t in _HJ_TABLE]
_POW = [list(range(256))]
for _ in range(7):
    _POW.append([_M[x] for x in _POW[-1]])
_PAIRS = [[_POW[k][w & 0xFF] ^ _POW[k + 1][w >> 8] for w in range(65536)] for k in (0, 2, 4, 6)]
_FOLD_MASKS: dict[int, int] = {}


def crc16(data: bytes, reg: int = 0xFFFF) -> int:
    """HJ 212 CRC (Appendix A) of ``data``, the data segment bytes only.

    ``reg`` continues from the CRC of a prefix: ``crc16(b, crc16(a)) == crc16(a + b)`` (the simulator
    frames thousands of packets that share all but their last bytes).
    """
    n = len(data)
    if n < 24:  # the byte loop (one lookup per byte) is quicker for short inputs
        table = _HJ_TABLE
        for b in data:
            reg = table[(reg >> 8) ^ b]
        return reg
    v = int.from_bytes(data, "big")
    blocks = (n + 7) >> 3  # 64-bit blocks, folded in halves until one is left
    masks = _FOLD_MASKS
    while blocks > 1:
        blocks = (blocks + 1) >> 1
        mask = masks.get(blocks)
        if mask is None:
            mask = masks[blocks] = (1 << (blocks << 6)) - 1
        v = (v >> (blocks << 6)) ^ (v & mask)
    q0, q1, q2, q3 = _PAIRS
    return _HJ_TABLE[_POW[(n - 1) & 7][reg >> 8] ^ q0[v & 0xFFFF] ^ q1[(v >> 16) & 0xFFFF]
                     ^ q2[(v >> 32) & 0xFFFF] ^ q3[v >> 48]]


def _crc16_bytewise(data: bytes, reg: int = 0xFFFF) -> int:
    """The CRC one byte at a time, as Appendix A states it (the reference the tests hold :func:`crc16` to)."""
    table = _HJ_TABLE
    for b in data:
        reg = table[(reg >> 8) ^ b]
    return reg


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS of ``data`` (what non-conforming devices send, printed low byte first)."""
    table = _MODBUS_TABLE
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ table[(reg ^ b) & 0xFF]
    return reg


# ------------------------------------------------------------------------------------------- packet


@dataclass(frozen=True, slots=True)
class Packet:
    """One parsed HJ 212 packet (通讯包).

    ``values`` maps pollutant code → suffix → value text (``{"w21003": {"Rtd": "0.16", "Flag": "N"}}``),
    exactly as sent: numbers stay strings here, :func:`readings` converts. ``cp`` holds the CP keys that
    are not pollutant values (``QnRtn``, ``RestartTime``, the 2005 in-CP ``QN`` …); ``groups`` the
    ``PolId`` groups in order. ``warnings`` lists tolerated deviations.
    """

    qn: str | None
    st: str | None
    cn: str
    pw: str | None
    mn: str | None
    flag: int | None
    pnum: int | None
    pno: int | None
    data_time: datetime | None
    data_time_raw: str | None
    values: dict[str, dict[str, str]]
    cp: dict[str, str]
    groups: tuple[dict[str, str], ...] = ()
    raw: bytes = b""
    warnings: tuple[str, ...] = ()

    @property
    def version(self) -> int | None:
        """Flag version bits V5..V0: 0 = 2005, 1 = 2017, 2 = 2025 / surface-water profile; None if no Flag."""
        return None if self.flag is None else self.flag >> 2

    @property
    def needs_ack(self) -> bool:
        """The A bit: the sender expects a 9014 data acknowledgement (or 9011 for requests)."""
        return self.flag is not None and bool(self.flag & 1)

    @property
    def has_subpackets(self) -> bool:
        """The D bit, or PNUM/PNO present without it (seen in the wild)."""
        return (self.flag is not None and bool(self.flag & 2)) or self.pnum is not None

    @property
    def edition(self) -> str:
        """Human name of the framing edition the Flag announces."""
        return _EDITIONS.get(self.version, "unknown") if self.flag is not None else "HJ/T 212-2005 (no Flag)"

    @property
    def request_qn(self) -> str | None:
        """The QN a response refers to: 2005 devices put it inside CP, 2017 in the header."""
        return self.cp.get("QN") or self.qn


_EDITIONS = {0: "HJ/T 212-2005", 1: "HJ 212-2017", 2: "HJ 212-2025"}

_HEADER_KEYS = {"QN": "qn", "ST": "st", "CN": "cn", "PW": "pw", "MN": "mn", "FLAG": "flag",
                "PNUM": "pnum", "PNO": "pno"}
_HEX_DIGITS = b"0123456789abcdefABCDEF"


def _fail(reason: str, message: str, raw: bytes) -> HJ212Error:
    return HJ212Error(reason, message, raw)


def parse_time(text: str) -> datetime:
    """Parse an HJ 212 timestamp (14 digits, or 17 with milliseconds) as Beijing time."""
    n = len(text)
    if (n != 14 and n != 17) or not text.isdigit() or not text.isascii():
        raise HJ212Error("bad_time", f"time {text[:40]!r} is not 14 or 17 digits")
    try:
        return datetime(int(text[0:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]),
                        int(text[10:12]), int(text[12:14]), int(text[14:17]) * 1000 if n == 17 else 0,
                        BEIJING)
    except ValueError as exc:
        raise HJ212Error("bad_time", f"time {text!r} is not a valid date: {exc}") from None


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


def parse_segment(segment: str) -> Packet:
    """Parse a data segment without framing (for logs and archives that dropped the frame)."""
    return _parse_segment(segment, segment.encode("utf-8"), [])


def _parse_segment(text: str, raw: bytes, warnings: list[str]) -> Packet:
    cp_at = text.find("CP=&&")
    if cp_at < 0 or (cp_at > 0 and text[cp_at - 1] not in ";,"):
        raise _fail("unparseable", "no 'CP=&&' data area in the segment", raw)
    body = text[cp_at + 5:]
    if not body.endswith("&&"):
        raise _fail("unparseable", "data area does not end with '&&'", raw)
    body = body[:-2]

    head: dict[str, str] = {}
    for piece in text[:cp_at].split(";"):
        if not piece:
            continue
        key, sep, value = piece.partition("=")
        if not sep:
            raise _fail("unparseable", f"header item {piece[:40]!r} has no '='", raw)
        # ';,MN=' and 'FLAG=' are real-device deviations (NOTES.md §1.1).
        name = _HEADER_KEYS.get(key.lstrip(", ").upper())
        if name is None:
            warnings.append(f"unknown_header_key:{key[:20]}")
            continue
        head[name] = value
    cn = head.get("cn")
    if not cn:
        raise _fail("unparseable", "no CN in the header", raw)
    flag = pnum = pno = None
    try:
        if "flag" in head:
            flag = _small_int(head["flag"])
        if "pnum" in head:
            pnum = _small_int(head["pnum"])
        if "pno" in head:
            pno = _small_int(head["pno"])
    except ValueError:
        raise _fail("unparseable", "Flag/PNUM/PNO is not a small integer", raw) from None

    values: dict[str, dict[str, str]] = {}
    cp: dict[str, str] = {}
    groups: list[dict[str, str]] = []
    data_time_raw: str | None = None
    if body and "PolId=" not in body:
        # no PolId groups (the usual upload): the ';' and ',' levels mean the same, so one flat pass
        for item in body.replace(";", ",").split(","):
            key, sep, value = item.partition("=")
            if not sep:
                if item:
                    warnings.append("item_without_value")
                continue
            code, dash, suffix = key.partition("-")
            if dash and code and suffix:
                fields = values.get(code)
                if fields is None:
                    fields = values[code] = {}
                fields[suffix] = value
            elif key == "DataTime":
                data_time_raw = value
            else:
                cp[key] = value
    elif body:
        for item_group in body.split(";"):
            if not item_group:
                continue
            prefix = ""
            group: dict[str, str] | None = None
            if item_group.startswith("PolId="):
                group = {}
                groups.append(group)
            for item in item_group.split(","):
                key, sep, value = item.partition("=")
                if not sep:
                    if item:
                        warnings.append("item_without_value")
                    continue
                if group is not None:
                    group[key] = value
                    if key == "PolId":
                        prefix = value + ":"
                        continue
                code, dash, suffix = key.partition("-")
                if dash and code and suffix:
                    fields = values.get(prefix + code)
                    if fields is None:
                        fields = values[prefix + code] = {}
                    fields[suffix] = value
                elif key == "DataTime":
                    data_time_raw = value
                else:
                    cp[key] = value

    data_time = None
    if data_time_raw is not None:
        # uploads of the same hour share their DataTime: parse each text once (datetimes are immutable)
        data_time = _TIMES.get(data_time_raw)
        if data_time is None:
            data_time = parse_time(data_time_raw)
            if len(_TIMES) >= 4096:
                _TIMES.clear()
            _TIMES[data_time_raw] = data_time
    return Packet(
        qn=head.get("qn"), st=head.get("st"), cn=cn, pw=head.get("pw"), mn=head.get("mn"),
        flag=flag, pnum=pnum, pno=pno, data_time=data_time, data_time_raw=data_time_raw,
        values=values, cp=cp, groups=tuple(groups), raw=raw, warnings=tuple(warnings),
    )


_TIMES: dict[str, datetime] = {}


def _small_int(text: str) -> int:
    if not (0 < len(text) <= 5 and text.isdigit() and text.isascii()):
        raise ValueError(text)
    return int(text)


# ----------------------------------------------------------------------------------------- splitter


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


# ----------------------------------------------------------------------------------------- readings


@dataclass(frozen=True, slots=True)
class Reading:
    """One numeric value of one pollutant: ``field`` is the HJ 212 suffix it came from."""

    code: str
    kind: str
    time: datetime
    value: float
    flag: str | None
    field: str


_KINDS = {"2011": "rt", "2051": "min", "2061": "hour", "2031": "day"}
_FIELDS = {
    "rt": ("Rtd", "ZsRtd"),
    "min": ("Avg", "Min", "Max", "Cou", "ZsAvg", "ZsMin", "ZsMax", "ZsCou"),
}
_FIELDS["hour"] = _FIELDS["day"] = _FIELDS["min"]

# HJ 212-2017 Table B.1 "原编码" column (NOTES.md §6): HJ/T 212-2005 water codes → 2017 codes.
# The 2005 flue-gas codes (01, 02, 03, B02, S01 …) are not mapped: the notes give no 2017 equivalents.
LEGACY_CODES: dict[str, str] = {
    "B01": "w00000", "001": "w01001", "002": "w01002", "003": "w01012", "010": "w01017",
    "011": "w01018", "015": "w01020", "550": "w02003", "570": "w03001", "571": "w03002",
    "520": "w19002", "039": "w20012", "037": "w20023", "040": "w20038", "038": "w20061",
    "041": "w20089", "036": "w20092", "020": "w20111", "021": "w20113", "022": "w20115",
    "023": "w20116", "024": "w20117", "026": "w20119", "027": "w20120", "028": "w20121",
    "029": "w20122", "030": "w20123", "031": "w20124", "032": "w20125", "033": "w20126",
    "034": "w20127", "035": "w20128", "065": "w21001", "060": "w21003", "062": "w21004",
    "063": "w21006", "064": "w21007", "101": "w21011", "070": "w21016", "072": "w21017",
    "071": "w21019", "090": "w21022", "080": "w22001", "110": "w23002", "540": "w25043",
    "350": "w33001", "351": "w33007", "061": "w99001",
}
# Systems whose 3-digit codes are vendor or flue-gas codes, where the water mapping would be wrong
# (e.g. a vendor '101' on a ST=31 chimney is not total phosphorus).
AIR_SYSTEMS = _AIR_SYSTEMS = frozenset({"22", "27", "31", "39", "51"})


def canonical_code(code: str, st: str | None = None) -> str:
    """Map a HJ/T 212-2005 water code to its 2017 code; other codes are returned unchanged."""
    if st in _AIR_SYSTEMS:
        return code
    return LEGACY_CODES.get(code, code)


def readings(packet: Packet) -> list[Reading]:
    """Numeric readings of a 2011/2051/2061/2031 packet; other CNs, or no DataTime, give ``[]``.

    ``time`` is ``DataTime``: the sampling instant for real-time data, the interval start otherwise.
    Values are as sent (see :func:`normalise` for units); non-numeric or non-finite values are skipped.
    """
    kind = _KINDS.get(packet.cn)
    when = packet.data_time
    if kind is None or when is None:
        return []
    wanted = _FIELDS[kind]
    default_flag = packet.cp.get("Flag")
    st = packet.st
    out: list[Reading] = []
    for code, fields in packet.values.items():
        flag = fields.get("Flag", default_flag)
        mapped = None
        for name in wanted:
            text = fields.get(name)
            if text is None:
                continue
            try:
                value = float(text)
            except ValueError:
                continue
            if not math.isfinite(value):
                continue
            if mapped is None:
                mapped = canonical_code(code, st)
            out.append(Reading(mapped, kind, when, value, flag, name))
    return out


# ---------------------------------------------------------------------------------------------- units

_UG = "μg/L"
# Default concentration units of HJ 212-2017 Table B.1 for water codes that are not mg/L
# (NOTES.md §6, "Unit trap"): values in these units must be converted before GB 3838 grading.
DEFAULT_UNITS: dict[str, str] = {
    "w00000": "L/s", "w01001": "", "w01002": "[色]度", "w01010": "℃", "w01014": "μS/cm",
    "w02003": "个/L", "w02006": "个/L", "w03001": "Bq/L", "w03002": "Bq/L",
    "w20089": "ng/L", "w20111": _UG, "w20113": "ng/L", "w20115": _UG, "w20117": _UG, "w20119": _UG,
    "w20120": _UG, "w20127": _UG, "w20128": _UG, "w20142": _UG, "w20143": _UG, "w25043": _UG,
    "w33001": "ng/L", "w33007": "ng/L",
}
_TO_MG_PER_L = {"mg/L": 1.0, "μg/L": 1e-3, "µg/L": 1e-3, "ug/L": 1e-3, "ng/L": 1e-6, "g/L": 1e3}


def default_unit(code: str) -> str:
    """HJ 212 default concentration unit of a water code (mg/L unless Table B.1 says otherwise)."""
    code = LEGACY_CODES.get(code, code)
    return DEFAULT_UNITS.get(code, "mg/L")


def normalise(code: str, value: float, unit: str | None = None) -> tuple[float, str]:
    """Convert a concentration to mg/L.

    ``unit`` is the unit ``value`` is in; ``None`` means the code's HJ 212 default unit. Mass
    concentrations come back in mg/L; other quantities (pH, ℃, 个/L, L/s …) are returned unchanged
    with their unit.
    """
    if unit is None:
        unit = default_unit(code)
    factor = _TO_MG_PER_L.get(unit.replace(" ", ""))
    if factor is None:
        return value, unit
    return value * factor, "mg/L"


# ------------------------------------------------------------------------------------------ building


def build_frame(segment: str) -> bytes:
    """Frame a data segment: ``##`` + length + segment + CRC + CRLF."""
    try:
        data = segment.encode("utf-8")
    except UnicodeEncodeError:
        raise HJ212Error("bad_value", "segment holds characters UTF-8 cannot encode") from None
    if len(data) > 9999:
        raise HJ212Error("too_long", f"data segment of {len(data)} bytes does not fit a 4-digit length")
    return b"##%04d%s%04X\r\n" % (len(data), data, crc16(data))


def _beijing_stamp(when: datetime, millis: bool) -> str:
    if when.tzinfo is not None:
        when = when.astimezone(BEIJING)
    stamp = when.strftime("%Y%m%d%H%M%S")
    return f"{stamp}{when.microsecond // 1000:03d}" if millis else stamp


def _number(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise HJ212Error("bad_value", f"value {value!r} is not a number or text")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise HJ212Error("bad_value", f"value {value!r} is not finite")
    text = repr(value)
    if "e" in text or "E" in text:
        # HJ 212 numbers are plain decimals (N14.2 etc.), never exponent notation.
        text = (f"{value:.12f}").rstrip("0").rstrip(".")
        if text in ("-0", ""):
            text = "0"
    return text


_RESERVED = set(";,=&")


def _check_text(name: str, text: str) -> None:
    if not text.isprintable() or _RESERVED.intersection(text):
        raise HJ212Error("bad_value", f"{name} {text!r} contains a separator or control character")


def build_data_frame(mn: str, cn: str, pw: str, data_time: datetime,
                     values: Mapping[str, float | str | Mapping[str, float | str]], *,
                     st: str = "21", flag: int | None = 4, qn: str | None = None,
                     pnum: int | None = None, pno: int | None = None) -> bytes:
    """Build a data upload (2011/2051/2061/2031 …) as a station would send it.

    ``values`` maps code → number (sent as ``-Rtd`` for CN 2011, ``-Avg`` otherwise) or code → {suffix:
    value} (``{"w21003": {"Avg": 0.4, "Flag": "N"}}``). Naive ``data_time`` is taken as Beijing time.
    ``qn`` defaults to ``data_time`` with milliseconds; ``flag=None`` omits the Flag (2005 style).
    """
    main = "Rtd" if cn == "2011" else "Avg"
    if qn is None:
        qn = _beijing_stamp(data_time, millis=True)
    for name, text in (("MN", mn), ("CN", cn), ("PW", pw), ("ST", st), ("QN", qn)):
        _check_text(name, text)
    items = []
    for code, entry in values.items():
        _check_text("code", code)
        if isinstance(entry, Mapping):
            pairs = []
            for suffix, value in entry.items():
                _check_text("suffix", suffix)
                text = _number(value)
                _check_text("value", text)
                pairs.append(f"{code}-{suffix}={text}")
            items.append(",".join(pairs))
        else:
            text = _number(entry)
            _check_text("value", text)
            items.append(f"{code}-{main}={text}")
    head = ["QN=" + qn, "ST=" + st, "CN=" + cn, "PW=" + pw, "MN=" + mn]
    if flag is not None:
        head.append(f"Flag={flag}")
    if pnum is not None:
        head.append(f"PNUM={pnum}")
    if pno is not None:
        head.append(f"PNO={pno}")
    cp = ";".join(["DataTime=" + _beijing_stamp(data_time, millis=False), *items])
    return build_frame(";".join(head) + ";CP=&&" + cp + "&&")


def build_reply(packet: Packet, cn: str = "9014", *, qn_rtn: int | None = None,
                exe_rtn: int | None = None) -> bytes:
    """The host's answer to ``packet``.

    ``9014`` (default) acknowledges a data upload that set the A bit: ``ST=91``, same QN, PW and MN,
    Flag = the packet's version bits with A and D cleared (4 for 2017), ``CP=&&&&``. ``9011`` (with
    ``qn_rtn``, default 1 = 准备执行请求), ``9012`` (``exe_rtn``, default 1 = 执行成功) and ``9013`` (empty
    CP) are the other interaction replies. A packet without a header QN (2005 devices) gets its QN
    echoed inside CP, as 2005 peers do.
    """
    if cn not in ("9011", "9012", "9013", "9014"):
        raise HJ212Error("bad_value", f"CN {cn!r} is not an interaction reply (9011-9014)")
    qn = packet.qn
    cp_items = []
    if qn is None and packet.request_qn is not None:
        cp_items.append("QN=" + packet.request_qn)
    if cn == "9011":
        cp_items.append(f"QnRtn={1 if qn_rtn is None else qn_rtn}")
    elif cn == "9012":
        cp_items.append(f"ExeRtn={1 if exe_rtn is None else exe_rtn}")
    head = []
    if qn is not None:
        head.append("QN=" + qn)
    head += ["ST=91", "CN=" + cn, "PW=" + (packet.pw or ""), "MN=" + (packet.mn or "")]
    head.append(f"Flag={(packet.version or 0) << 2}")
    return build_frame(";".join(head) + ";CP=&&" + ";".join(cp_items) + "&&")


# ---------------------------------------------------------------------------------------- reassembly


@dataclass
class _Pending:
    parts: dict[int, Packet]
    since: float


class Reassembler:
    """Join split uploads (PNUM/PNO sub-packets) into one packet.

    Sub-packets of one upload have consecutive, different QNs and share MN, CN and DataTime
    (NOTES.md §4.4, §9.8), so that is the key, with PNUM (QN stands in when there is no DataTime).
    :meth:`add` returns the combined packet when the last part arrives (values merged, QN and header of
    part 1, ``raw`` the parts' frames joined in PNO order, PNUM/PNO cleared), the packet itself when it
    is not split, else ``None``. At most ``max_pending`` uploads are held, the oldest dropped first;
    :meth:`expire` drops stale ones.
    """

    def __init__(self, max_pending: int = 1000) -> None:
        self.max_pending = max_pending
        self._pending: OrderedDict[tuple[str | None, str, str | None, int], _Pending] = OrderedDict()

    def add(self, packet: Packet, now: float = 0.0) -> Packet | None:
        """Add a packet; ``now`` is any monotonic clock reading, used by :meth:`expire`."""
        pnum, pno = packet.pnum, packet.pno
        if pnum is None or pno is None or pnum <= 1:
            return packet
        if not 1 <= pno <= pnum:
            raise HJ212Error("unparseable", f"PNO {pno} is outside 1..PNUM {pnum}", packet.raw)
        key = (packet.mn, packet.cn, packet.data_time_raw or packet.qn, pnum)
        entry = self._pending.get(key)
        if entry is None:
            entry = self._pending[key] = _Pending({}, now)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
        entry.parts[pno] = packet
        if len(entry.parts) < pnum:
            return None
        del self._pending[key]
        parts = [entry.parts[i] for i in range(1, pnum + 1)]
        values: dict[str, dict[str, str]] = {}
        cp: dict[str, str] = {}
        groups: list[dict[str, str]] = []
        warnings: list[str] = []
        for part in parts:
            for code, fields in part.values.items():
                values.setdefault(code, {}).update(fields)
            cp.update(part.cp)
            groups.extend(part.groups)
            warnings.extend(part.warnings)
        return replace(parts[0], values=values, cp=cp, groups=tuple(groups), pnum=None, pno=None,
                       raw=b"".join(p.raw for p in parts), warnings=tuple(dict.fromkeys(warnings)))

    def expire(self, older_than: float) -> list[list[Packet]]:
        """Drop uploads first seen before ``older_than``; return their parts for quarantine."""
        dropped = []
        for key in [k for k, v in self._pending.items() if v.since < older_than]:
            entry = self._pending.pop(key)
            dropped.append([entry.parts[i] for i in sorted(entry.parts)])
        return dropped

    def __len__(self) -> int:
        return len(self._pending)


def parse_many(frames: Iterable[bytes], **kwargs: bool) -> tuple[list[Packet], list[HJ212Error]]:
    """Parse several frames, separating good packets from errors (for importers and benchmarks)."""
    good: list[Packet] = []
    bad: list[HJ212Error] = []
    for frame in frames:
        try:
            good.append(parse_frame(frame, **kwargs))
        except HJ212Error as exc:
            bad.append(exc)
    return good, bad
