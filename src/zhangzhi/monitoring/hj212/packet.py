"""The HJ 212 data segment: the packet it holds (header and CP data area), its times. Pure Python.

The segment is ``QN=..;ST=..;CN=..;PW=..;MN=..;Flag=..;[PNUM=..;PNO=..;]CP=&&..&&`` and the CP data area is
``;``-separated items of ``,``-separated ``Key=Value`` pairs, pollutant keys being ``<code>-<suffix>``
(``w21003-Rtd=0.16,w21003-Flag=N``). HJ 212 times are Beijing local time; parsed datetimes are aware,
UTC+8 (China has had no DST since 1991).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

__all__ = ["BEIJING", "MAX_SEGMENT", "HJ212Error", "Packet", "parse_time"]

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


@dataclass(frozen=True, slots=True)
class Packet:
    """One parsed HJ 212 packet (通讯包).

    ``values`` maps pollutant code → suffix → value text (``{"w21003": {"Rtd": "0.16", "Flag": "N"}}``),
    exactly as sent: numbers stay strings here (the ingestor converts them). ``cp`` holds the CP keys that
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
    def request_qn(self) -> str | None:
        """The QN a response refers to: 2005 devices put it inside CP, 2017 in the header."""
        return self.cp.get("QN") or self.qn


_HEADER_KEYS = {"QN": "qn", "ST": "st", "CN": "cn", "PW": "pw", "MN": "mn", "FLAG": "flag",
                "PNUM": "pnum", "PNO": "pno"}


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
