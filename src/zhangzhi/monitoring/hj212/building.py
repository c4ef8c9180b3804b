"""Building HJ 212 packets: the host's 9014 acknowledgement, and data uploads as a station sends them
(the demo's station simulator and the tests)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

from .framing import build_frame
from .packet import BEIJING, HJ212Error, Packet

__all__ = ["build_data_frame", "build_reply"]


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


def _check_text(name: str, text: str) -> None:
    if not text.isprintable() or ";" in text or "," in text or "=" in text or "&" in text:
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


def build_reply(packet: Packet) -> bytes:
    """The host's 9014 (数据应答) to a data upload that set the A bit: ``ST=91``, same QN, PW and MN, Flag = the
    packet's version bits with A and D cleared (4 for 2017), ``CP=&&&&``. A packet without a header QN (2005
    devices) gets its QN echoed inside CP, as 2005 peers do."""
    qn = packet.qn
    cp = "" if qn is not None or packet.request_qn is None else "QN=" + packet.request_qn
    head = [] if qn is None else ["QN=" + qn]
    head += ["ST=91", "CN=9014", "PW=" + (packet.pw or ""), "MN=" + (packet.mn or "")]
    head.append(f"Flag={(packet.version or 0) << 2}")
    return build_frame(";".join(head) + ";CP=&&" + cp + "&&")
