"""Storing what stations send: archive, parse, readings or quarantine — one transaction per batch.

The TCP listener (``zhangzhi hj212 listen``), the HTTP bulk API and the tests all call
:meth:`Ingestor.process` with a list of received frames and get back, for each, the reply to send (a 9014 when
the frame asked for one and is durably stored), ``None`` (stored, no reply asked) or ``QUARANTINED`` (empty
bytes: nothing to send, and the listener counts it against the connection). The order inside the transaction
is: raw frames archived first, then each frame parsed, then readings inserted ignoring duplicates and bad
frames quarantined; the caller sends replies only after the commit, so nothing acknowledged is lost.

The hot path is raw SQL in one place (:func:`_write`): PostgreSQL gets binary COPYs of the archive and of the
readings straight into their table, falling back (only when a station resent data and the COPY hits the
unique constraint) to a staging table and ``INSERT … SELECT … ON CONFLICT DO NOTHING``; SQLite gets executemany
with ``ON CONFLICT DO NOTHING``. In the same transaction the daily values (:mod:`aggregates`) take the new rows.
"""

from __future__ import annotations

import logging
import time as _time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import NamedTuple

import psycopg
from django.db import connection, transaction

from . import aggregates, hj212
from .models import Station

log = logging.getLogger(__name__)

# the value that represents each reading kind: Rtd for real-time data, Avg for interval data
_MAIN_FIELD = {"rt": "Rtd", "min": "Avg", "hour": "Avg", "day": "Avg"}
_KINDS = {"2011": "rt", "2051": "min", "2061": "hour", "2031": "day"}
_DATA_CNS = frozenset(_KINDS)
QUARANTINED = b""
STATION_RELOAD_S = 30.0  # how stale the MN registry may get while the listener runs
UNKNOWN_RELOAD_S = 1.0  # an unknown MN reloads the registry at most this often


@dataclass(slots=True)
class Received:
    """One frame (or a splitter error's bytes) as received, waiting to be stored."""

    raw: bytes
    peer: str = ""
    at: datetime | None = None
    error: hj212.HJ212Error | None = None  # set when the splitter already knows the bytes are bad
    source: str = "tcp"


@dataclass(slots=True)
class StationInfo:
    id: int
    password: str
    allow_modbus_crc: bool
    units: dict[str, str]
    # code as sent → (stored code, factor to mg/L, unit), filled as codes are seen (air systems apart)
    factors: dict[str, tuple[str, float, str]] = field(default_factory=dict)
    factors_air: dict[str, tuple[str, float, str]] = field(default_factory=dict)


@dataclass
class Stats:
    frames: int = 0
    readings: int = 0
    stored: int = 0
    quarantined: int = 0
    batches: int = 0


class Row(NamedTuple):
    """A reading ready for the database (value already normalised); a tuple so COPY takes it as is."""

    station_id: int
    parameter: str
    kind: str
    time: datetime
    value: float
    unit: str
    flag: str


@dataclass
class Batch:
    raws: list[tuple] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    quarantine: list[tuple] = field(default_factory=list)
    replies: list[bytes | None] = field(default_factory=list)


class Ingestor:
    """Turns received frames into stored rows; holds the MN → station registry (reloaded when stale)."""

    def __init__(self, *, alerts: bool = True) -> None:
        self.alerts = alerts
        self.stats = Stats()
        self._stations: dict[str, StationInfo] = {}
        self._loaded = 0.0
        self._loaded_unknown = 0.0

    # ------------------------------------------------------------------ registry
    def reload(self) -> None:
        rows = Station.objects.filter(active=True, mn__isnull=False).values_list(
            "id", "mn", "password", "allow_modbus_crc", "parameters")
        self._stations = {mn: StationInfo(pk, pw, modbus, params or {}) for pk, mn, pw, modbus, params in rows}
        self._loaded = _time.monotonic()

    def station(self, mn: str | None) -> StationInfo | None:
        now = _time.monotonic()
        if now - self._loaded > STATION_RELOAD_S:
            self.reload()
        if mn is None:
            return None
        info = self._stations.get(mn)
        if info is None and now - self._loaded_unknown > UNKNOWN_RELOAD_S:
            self._loaded_unknown = now
            self.reload()
            info = self._stations.get(mn)
        return info

    # ------------------------------------------------------------------ processing
    def process(self, frames: list[Received]) -> list[bytes | None]:
        """Store a batch; return one reply (or None) per frame, valid once this returns (committed)."""
        now = datetime.now(UTC)
        batch = Batch()
        for item in frames:
            at = item.at or now
            if item.error is None:
                batch.raws.append((at, item.source, item.peer[:64], item.raw))
            self._one(item, at, batch)
        with transaction.atomic():
            stored = _write(batch)
        self.stats.frames += len(frames)
        self.stats.readings += len(batch.rows)
        self.stats.stored += stored
        self.stats.quarantined += len(batch.quarantine)
        self.stats.batches += 1
        if self.alerts and batch.rows:
            try:
                from .alerts import check_rows

                check_rows(batch.rows)
            except Exception:  # an alert bug must not stop ingestion; the readings are stored
                log.exception("alert evaluation failed")
        return batch.replies

    def _one(self, item: Received, at: datetime, batch: Batch) -> None:
        if item.error is not None:
            batch.quarantine.append(_q(at, item.error.reason, item.error.message, item.raw, "", item.peer))
            batch.replies.append(QUARANTINED)
            return
        raw = item.raw
        try:
            try:
                packet = hj212.parse_frame(raw)
            except hj212.HJ212Error as exc:
                info = self.station(_sniff_mn(raw)) if exc.reason == "bad_crc" else None
                if info is None or not info.allow_modbus_crc:
                    raise
                packet = hj212.parse_frame(raw, allow_modbus_crc=True)
            info = self.station(packet.mn)
            if info is None:
                batch.quarantine.append(_q(at, "unknown_mn", f"no active station with MN {packet.mn!r}", raw,
                                           packet.mn or "", item.peer))
                # durable in quarantine, replayable: the station may stop resending
                batch.replies.append(_reply(packet))
                return
            if info.password and packet.pw != info.password:
                batch.quarantine.append(_q(at, "bad_password", "PW does not match the station's password", raw,
                                           packet.mn or "", item.peer))
                batch.replies.append(QUARANTINED)
                return
            if packet.cn in _DATA_CNS:
                batch.rows.extend(rows_of(packet, info))
            batch.replies.append(_reply(packet))
        except hj212.HJ212Error as exc:
            batch.quarantine.append(_q(at, exc.reason, exc.message, raw, _sniff_mn(raw) or "", item.peer))
            batch.replies.append(QUARANTINED)
        except Exception as exc:  # a parser bug: the frame is archived and quarantined, never lost
            log.exception("frame could not be processed")
            batch.quarantine.append(_q(at, "internal_error", repr(exc)[:500], raw, _sniff_mn(raw) or "", item.peer))
            batch.replies.append(QUARANTINED)


def rows_of(packet: hj212.Packet, info: StationInfo) -> list[Row]:
    """The readings of a data packet that the database keeps: the main value of each code, normalised."""
    kind = _KINDS.get(packet.cn)
    when = packet.data_time
    if kind is None or when is None:
        return []
    main = _MAIN_FIELD[kind]
    default_flag = packet.cp.get("Flag") or ""
    st = packet.st
    # code as sent → (stored code, factor to mg/L, unit); legacy codes map differently on air systems
    convs = info.factors if st not in hj212.AIR_SYSTEMS else info.factors_air
    sid = info.id
    out = []
    for code, fields in packet.values.items():
        text = fields.get(main)
        if text is None:
            continue
        try:
            value = float(text)
        except ValueError:
            continue
        if value - value != 0.0:  # NaN or ±inf
            continue
        conv = convs.get(code)
        if conv is None:
            canonical = hj212.canonical_code(code, st)
            one, unit = hj212.normalise(canonical, 1.0, info.units.get(canonical))
            conv = convs[code] = (canonical[:24], one, unit[:16])
        out.append(_new_row(Row, (sid, conv[0], kind, when, value * conv[1], conv[2],
                                  fields.get("Flag", default_flag)[:4])))
    return out


_new_row = tuple.__new__  # Row(...) without the NamedTuple's Python-level __new__


def _reply(packet: hj212.Packet) -> bytes | None:
    if not packet.needs_ack:
        return None
    if packet.qn is not None:
        return hj212.build_reply(packet)
    # no header QN (2005-style uploads): the 9014 depends only on these, so build it once per station
    key = (packet.mn, packet.pw, packet.flag, packet.cp.get("QN"))
    reply = _REPLIES.get(key)
    if reply is None:
        reply = hj212.build_reply(packet)
        if len(_REPLIES) >= 10000:
            _REPLIES.clear()
        _REPLIES[key] = reply
    return reply


_REPLIES: dict[tuple, bytes] = {}


def _q(at, reason, message, raw, mn, peer) -> tuple:
    return (at, reason[:24], message, raw, (mn or "")[:32], peer[:64], "open")


def _sniff_mn(raw: bytes) -> str | None:
    """The MN of a frame that did not parse, for quarantine lists and per-device CRC switches."""
    at = raw.find(b"MN=")
    if at < 0:
        return None
    end = raw.find(b";", at)
    mn = raw[at + 3: end if end >= 0 else at + 35][:32]
    return mn.decode("latin-1") if mn else None


# ---------------------------------------------------------------------------------------- the hot path

_READING_COLUMNS = "(station_id, parameter, kind, time, value, unit, flag)"
_READING_TYPES = ["int8", "varchar", "varchar", "timestamptz", "float8", "varchar", "varchar"]
_SQLITE_READINGS = ("INSERT INTO monitoring_reading " + _READING_COLUMNS
                    + " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")
_RAW_COLUMNS = "(received_at, source, peer, raw)"
_RAW_TYPES = ["timestamptz", "varchar", "varchar", "bytea"]
_Q_COLUMNS = "(received_at, reason, message, raw, mn, peer, status)"


def _write(batch: Batch) -> int:
    """Write one batch inside the caller's transaction; return the number of new readings."""
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        return _write_pg(batch)
    return _write_sqlite(batch)


def _write_pg(batch: Batch) -> int:
    # COPY through a plain psycopg cursor (Django's cursors bind parameters on the client). Readings are
    # COPYed straight into the table, optimistically: a duplicate (a station resending) fails the COPY, and
    # only then does the batch go through a staging table and INSERT … ON CONFLICT DO NOTHING.
    with psycopg.Cursor(connection.connection) as cur:
        if batch.raws:
            with cur.copy("COPY monitoring_rawframe " + _RAW_COLUMNS + " FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_RAW_TYPES)
                for row in batch.raws:
                    copy.write_row(row)
        if batch.quarantine:
            with cur.copy("COPY monitoring_quarantine " + _Q_COLUMNS + " FROM STDIN") as copy:
                for row in batch.quarantine:
                    copy.write_row(row)
        if not batch.rows:
            return 0
        try:
            with transaction.atomic():
                _copy_rows(cur, "monitoring_reading", batch.rows)
            aggregates.record(batch.rows, len(batch.rows))
            return len(batch.rows)
        except psycopg.errors.UniqueViolation:
            pass
        cur.execute("CREATE TEMP TABLE IF NOT EXISTS monitoring_reading_stage (station_id int8, parameter varchar,"
                    " kind varchar, time timestamptz, value float8, unit varchar, flag varchar)"
                    " ON COMMIT DELETE ROWS")
        _copy_rows(cur, "monitoring_reading_stage", batch.rows)
        cur.execute("INSERT INTO monitoring_reading " + _READING_COLUMNS + " SELECT * FROM monitoring_reading_stage"
                    " ON CONFLICT DO NOTHING RETURNING station_id, parameter, kind, time, value")
        inserted = cur.fetchall()  # only the new rows: the daily values add exactly these
        cur.execute("TRUNCATE monitoring_reading_stage")
        aggregates.record(batch.rows, len(inserted), inserted)
        return len(inserted)


def _copy_rows(cur, table: str, rows: list[Row]) -> None:
    with cur.copy("COPY " + table + " " + _READING_COLUMNS + " FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(_READING_TYPES)
        for row in rows:
            copy.write_row(row)


def _write_sqlite(batch: Batch) -> int:
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cur:
        if batch.raws:
            cur.executemany("INSERT INTO monitoring_rawframe " + _RAW_COLUMNS + " VALUES (%s, %s, %s, %s)",
                            [(adapt(a), s, p, r) for a, s, p, r in batch.raws])
        if batch.quarantine:
            cur.executemany("INSERT INTO monitoring_quarantine " + _Q_COLUMNS
                            + " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            [(adapt(q[0]), *q[1:]) for q in batch.quarantine])
        if not batch.rows:
            return 0
        before = connection.connection.total_changes
        cur.executemany(_SQLITE_READINGS, [
            (r.station_id, r.parameter, r.kind, adapt(r.time), r.value, r.unit, r.flag) for r in batch.rows])
        stored = connection.connection.total_changes - before
    aggregates.record(batch.rows, stored)
    return stored


def store_rows(rows: list[Row]) -> int:
    """Insert readings ignoring duplicates (the HTTP bulk API and imports), in one transaction."""
    with transaction.atomic():
        stored = _write(Batch(rows=rows))
    try:
        from .alerts import check_rows

        check_rows(rows)
    except Exception:
        log.exception("alert evaluation failed")
    return stored


def process_frame(raw: bytes, peer: str = "", ingestor: Ingestor | None = None) -> bytes | None:
    """Store one frame and return the reply to send, if any (tests and tools call this with no socket).

    ``None`` or ``QUARANTINED`` (empty, falsy) mean nothing is sent back."""
    return (ingestor or Ingestor()).process([Received(raw, peer)])[0]

