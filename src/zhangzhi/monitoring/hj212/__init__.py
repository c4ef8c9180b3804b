"""HJ 212 (污染物在线监控（监测）系统数据传输标准): framing, parsing, codes and replies.

Pure Python, no Django: the TCP listener, the HTTP frames API and the demo's station simulator call these
functions, and tests call them without a socket. By concern:

* :mod:`.crc` — the HJ 212 CRC of Appendix A, and the CRC-16/MODBUS variant;
* :mod:`.packet` — the data segment: header, CP data area, times (:class:`Packet`, :class:`HJ212Error`);
* :mod:`.framing` — ``##dddd…XXXX\\r\\n``: :func:`parse_frame`, :func:`build_frame`, :class:`FrameSplitter`;
* :mod:`.codes` — 2005 → 2017 pollutant codes, default units, conversion to mg/L;
* :mod:`.building` — the host's 9014 reply, and data uploads as a station sends them.

Turning a packet into stored readings is the ingestor's (``monitoring.ingest.rows_of``), on its hot path.

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

from .building import build_data_frame, build_reply
from .codes import AIR_SYSTEMS, DEFAULT_UNITS, LEGACY_CODES, canonical_code, default_unit, normalise
from .crc import crc16, crc16_modbus
from .framing import Event, FrameSplitter, build_frame, parse_frame
from .packet import BEIJING, MAX_SEGMENT, HJ212Error, Packet, parse_time

__all__ = [
    "AIR_SYSTEMS",
    "BEIJING",
    "DEFAULT_UNITS",
    "LEGACY_CODES",
    "MAX_SEGMENT",
    "Event",
    "FrameSplitter",
    "HJ212Error",
    "Packet",
    "build_data_frame",
    "build_frame",
    "build_reply",
    "canonical_code",
    "crc16",
    "crc16_modbus",
    "default_unit",
    "normalise",
    "parse_frame",
    "parse_time",
]
