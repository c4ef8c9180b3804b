"""Property tests: whatever arrives on the socket, the parser fails only with HJ212Error."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhangzhi.lib.datadir import data_dir
from zhangzhi.monitoring.hj212 import (
    BEIJING,
    FrameSplitter,
    HJ212Error,
    Packet,
    build_data_frame,
    build_frame,
    crc16,
    parse_frame,
)
from zhangzhi.monitoring.ingest import StationInfo, rows_of

DATA = data_dir()
REAL = [line + b"\n" for line in (DATA.resolve() / "hj212" / "real-2016-sample.h212").read_bytes().split(b"\n")
        if line][:300]
SEEDS = [*REAL, build_frame("QN=1;ST=21;CN=3020;MN=X;Flag=7;PNUM=2;PNO=1;CP=&&PolId=w21003,i11001-Info=//清洗//&&")]

CHECKED = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_error(frame: bytes, **kwargs: bool) -> Packet | HJ212Error:
    try:
        packet = parse_frame(frame, **kwargs)
    except HJ212Error as exc:
        assert exc.reason and str(exc)
        return exc
    rows_of(packet, StationInfo(1, "", False, {}))  # the ingestor's readings must not raise either
    return packet


@CHECKED
@given(st.binary(max_size=300))
def test_random_bytes_only_raise_hj212_errors(data: bytes) -> None:
    parse_or_error(data)
    parse_or_error(b"##" + data, allow_modbus_crc=True)
    parse_or_error(b"##%04d" % len(data) + data + b"\r\n")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    frame = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(frame)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from([*b"#;,=&-0123456789AZaz\r\n\x00\xff", *"湖".encode()]))
        if action == "replace" and where < len(frame):
            frame[where] = byte
        elif action == "insert":
            frame.insert(where, byte)
        elif where < len(frame):
            del frame[where]
    return bytes(frame)


@CHECKED
@given(mutated())
def test_mutated_frames_only_raise_hj212_errors(frame: bytes) -> None:
    parse_or_error(frame)


@st.composite
def reframed(draw: st.DrawFn) -> bytes:
    """A mutation with length and CRC recomputed, so it reaches the segment parser."""
    frame = draw(mutated())
    segment = frame.rstrip(b"\r\n")[6:-4]
    try:
        return build_frame(segment.decode("utf-8"))
    except (UnicodeDecodeError, HJ212Error):
        return frame


@CHECKED
@given(reframed())
def test_reframed_mutations_only_raise_hj212_errors(frame: bytes) -> None:
    parse_or_error(frame)


@CHECKED
@given(st.lists(st.sampled_from(SEEDS[:50]), min_size=1, max_size=8), st.data())
def test_splitter_finds_the_frames_whatever_the_read_boundaries(frames: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(frames)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    splitter = FrameSplitter()
    events = []
    for start, end in zip([0, *cuts], [*cuts, len(stream)], strict=True):
        events += splitter.feed(stream[start:end])
    events += splitter.flush()
    assert [e.error for e in events] == [None] * len(frames)
    assert [e.frame.rstrip(b"\r\n") for e in events] == [f.rstrip(b"\r\n") for f in frames]


@CHECKED
@given(st.lists(st.one_of(st.binary(max_size=200), st.sampled_from(SEEDS[:20]), mutated()), max_size=10))
def test_splitter_survives_any_stream_within_its_bound(chunks: list[bytes]) -> None:
    splitter = FrameSplitter(max_segment=300)
    for chunk in chunks:
        for event in splitter.feed(chunk):
            assert (event.frame is None) != (event.error is None)
            if event.frame is not None:
                parse_or_error(event.frame)
            else:
                assert isinstance(event.error, HJ212Error) and event.error.raw
        assert len(splitter._buf) <= splitter.max_frame
    splitter.flush()


codes = st.from_regex(r"\A[a-z][0-9]{5}\Z")
numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                     timezones=st.just(BEIJING)).map(lambda t: t.replace(microsecond=0))


@CHECKED
@given(
    mn=st.from_regex(r"\A[A-Za-z0-9_]{1,24}\Z"),
    cn=st.sampled_from(["2011", "2051", "2061", "2031"]),
    pw=st.from_regex(r"\A[0-9A-Za-z]{0,8}\Z"),
    when=times,
    values=st.dictionaries(codes, numbers, min_size=1, max_size=20),
    flag=st.integers(0, 255),
    st_code=st.sampled_from(["21", "32", "91"]),
)
def test_built_data_frames_parse_back(mn: str, cn: str, pw: str, when: datetime, values: dict[str, float],
                                      flag: int, st_code: str) -> None:
    packet = parse_frame(build_data_frame(mn, cn, pw, when, values, st=st_code, flag=flag))
    assert (packet.mn, packet.cn, packet.pw, packet.st, packet.flag) == (mn, cn, pw, st_code, flag)
    assert packet.data_time == when and packet.data_time.utcoffset() == timedelta(hours=8)
    main = "Rtd" if cn == "2011" else "Avg"
    got = {code: float(fields[main]) for code, fields in packet.values.items()}
    assert set(got) == set(values)
    for code, value in values.items():
        assert math.isclose(got[code], value, rel_tol=1e-9, abs_tol=1e-12)


@CHECKED
@given(st.binary(max_size=5000), st.integers(0, 0xFFFF))
def test_the_folded_crc_equals_the_bytewise_crc(data: bytes, reg: int) -> None:
    # crc16 folds the segment 8 bytes at a time (the register's step map has order 8); Appendix A's loop is
    # the reference, from any starting register
    assert crc16(data, reg) == _crc16_bytewise(data, reg)
    assert crc16(data) == _crc16_bytewise(data)


def _crc16_bytewise(data: bytes, reg: int = 0xFFFF) -> int:
    """The CRC one byte at a time, as Appendix A states it."""
    for b in data:
        reg = (reg >> 8) ^ b
        for _ in range(8):
            reg = (reg >> 1) ^ 0xA001 if reg & 1 else reg >> 1
    return reg
