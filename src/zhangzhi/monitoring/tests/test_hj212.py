"""HJ 212 framing and parsing, checked against the shared vectors and 2,000 real 2016 packets."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from zhangzhi.lib.datadir import data_dir
from zhangzhi.monitoring.hj212 import (
    BEIJING,
    FrameSplitter,
    HJ212Error,
    build_data_frame,
    build_frame,
    build_reply,
    crc16,
    crc16_modbus,
    normalise,
    parse_frame,
)

DATA = data_dir()
VECTORS = [json.loads(line) for line in (DATA / "hj212" / "vectors.jsonl").read_text("utf-8").splitlines()]
REAL = [line + b"\n" for line in (DATA / "hj212" / "real-2016-sample.h212").read_bytes().split(b"\n") if line]
# Observed: every one of the 2,000 sampled real packets has a valid length and HJ 212 CRC.
REAL_VALID_COUNT = 2000


def reference_crc(data: bytes) -> int:
    """The bit-by-bit algorithm exactly as NOTES.md §2 transcribes the standard's Appendix A."""
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ b
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return reg


def segment_of(frame: bytes) -> bytes:
    body = frame.rstrip(b"\r\n")[2:-4]
    # One vector has a non-conforming 3-digit length field; segments start with a letter.
    digits = len(body) - len(body.lstrip(b"0123456789"))
    return body[min(digits, 4):]


def vector(note_fragment: str) -> dict:
    matches = [v for v in VECTORS if note_fragment in (v.get("note") or "")]
    assert len(matches) == 1, note_fragment
    return matches[0]


# ---------------------------------------------------------------------------------------------- CRC


def test_it_computes_the_appendix_a_vector() -> None:
    segment = (b"QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;"
               b"CP=&&RtdInterval=30&&")
    assert len(segment) == 101
    assert crc16(segment) == 0x1C80


def test_it_starts_from_ffff() -> None:
    assert crc16(b"") == 0xFFFF


@pytest.mark.parametrize("data", [b"a", b"##", bytes(range(256)), "清洗管路".encode(), b"\x00" * 50])
def test_it_agrees_with_the_bitwise_reference(data: bytes) -> None:
    assert crc16(data) == reference_crc(data)


def test_its_low_byte_takes_only_eight_values() -> None:
    # NOTES.md §2: the weakness that makes the length check essential.
    lows = {crc16(bytes([a, b])) & 0xFF for a in range(256) for b in range(0, 256, 7)}
    assert lows <= {0x00, 0x01, 0x40, 0x41, 0x80, 0x81, 0xC0, 0xC1}


def test_modbus_variant_matches_the_catalogue_check_value() -> None:
    assert crc16_modbus(b"123456789") == 0x4B37


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["packet"][:40])
def test_it_computes_the_crc_every_vector_records(vec: dict) -> None:
    assert f"{crc16(segment_of(vec['packet'].encode('utf-8'))):04X}" == vec["crc_computed"]


# ------------------------------------------------------------------------------------------ vectors


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["packet"][:40])
def test_it_parses_or_rejects_every_vector(vec: dict) -> None:
    frame = vec["packet"].encode("utf-8")
    if not vec["length_valid"] or not vec["crc_valid"]:
        with pytest.raises(HJ212Error) as caught:
            parse_frame(frame)
        # Length is checked first: with the HJ 212 CRC's 256 values it is the stronger check.
        assert caught.value.reason == ("bad_length" if not vec["length_valid"] else "bad_crc")
        assert caught.value.raw == frame
        return
    packet = parse_frame(frame)
    assert (packet.qn, packet.st, packet.cn, packet.pw, packet.mn) == (
        vec["QN"], vec["ST"], vec["CN"], vec["PW"], vec["MN"])
    assert packet.values == vec["values"]
    assert packet.cp == vec["cp_fields"]
    assert packet.data_time_raw == vec["DataTime"]
    assert list(packet.groups) == (vec.get("polid_groups") or [])
    assert packet.pnum == (int(vec["PNUM"]) if vec["PNUM"] else None)
    assert packet.pno == (int(vec["PNO"]) if vec["PNO"] else None)
    decoded = vec["flag_decoded"]
    if decoded is None:
        assert packet.flag is None and packet.version is None and not packet.needs_ack
    else:
        assert packet.flag == decoded["value"]
        assert packet.version == decoded["version_bits"]
        assert packet.needs_ack is decoded["A_ack_required"]
    assert packet.raw == frame


def test_vectors_cover_both_outcomes() -> None:
    valid = [v for v in VECTORS if v["crc_valid"] and v["length_valid"]]
    assert len(VECTORS) == 69 and len(valid) == 52


def test_it_accepts_modbus_crc_only_when_asked() -> None:
    modbus = [v for v in VECTORS if "MODBUS" in (v.get("note") or "")]
    assert len(modbus) == 3
    for vec in modbus:
        with pytest.raises(HJ212Error, match="CRC"):
            parse_frame(vec["packet"])
        packet = parse_frame(vec["packet"], allow_modbus_crc=True)
        assert "crc_modbus" in packet.warnings
    # The switch does not turn a corrupted HJ 212 CRC into a pass.
    with pytest.raises(HJ212Error):
        parse_frame(vector("Deliberately corrupted CRC")["packet"], allow_modbus_crc=True)


def test_it_catches_the_corruption_the_crc_misses() -> None:
    vec = vector("only the length check")
    assert vec["crc_valid"]
    with pytest.raises(HJ212Error) as caught:
        parse_frame(vec["packet"])
    assert caught.value.reason == "bad_length"


def test_it_decodes_surface_water_flag_9() -> None:
    packet = parse_frame(vector("Surface-water hourly packet, Flag=9")["packet"])
    assert packet.version == 2 and packet.needs_ack and packet.pnum is None


def test_it_reads_17_digit_data_times_as_beijing_time() -> None:
    packet = parse_frame(vector("Canonical xiaoyao9184 sample")["packet"])
    assert packet.data_time == datetime(2016, 8, 24, 0, 38, 17, tzinfo=BEIJING)
    assert packet.data_time.utcoffset() == timedelta(hours=8)


def test_it_keeps_2005_response_qn_from_cp() -> None:
    packet = parse_frame(vector("2005-era 9011 request-answer")["packet"])
    assert packet.qn is None and packet.request_qn == "20160824001302001"


# ------------------------------------------------------------------------------------- real traffic


def test_every_valid_real_packet_parses() -> None:
    valid = [f for f in REAL
             if int(f[2:6]) == len(segment_of(f)) and reference_crc(segment_of(f)) == int(f.rstrip()[-4:], 16)]
    assert len(valid) == REAL_VALID_COUNT > 0
    packets = [parse_frame(f) for f in valid]
    assert {p.cn for p in packets} >= {"2011", "2051", "2061", "2031", "9011", "9012", "8013"}
    assert all(p.warnings == () for p in packets)
    times = [p.data_time for p in packets if p.data_time is not None]
    assert times and all(t.utcoffset() == timedelta(hours=8) for t in times)


# ------------------------------------------------------------------------------------ frame details

GOOD = build_frame("QN=20240102030405006;ST=21;CN=2011;PW=123456;MN=A140100_2006;Flag=5;"
                   "CP=&&DataTime=20240102030400;w21003-Rtd=0.42,w21003-Flag=N&&")


def test_it_accepts_lower_case_crc_and_missing_trailer() -> None:
    bare = GOOD[:-2]
    assert parse_frame(bare[:-4] + bare[-4:].lower()).cn == "2011"
    assert parse_frame(bare + b"\n").cn == "2011"
    assert parse_frame(GOOD.decode()).mn == "A140100_2006"


@pytest.mark.parametrize(("frame", "reason"), [
    (GOOD[:-1], "bad_trailer"),
    (GOOD[:-2] + b"XY\r\n", "bad_trailer"),
    (b"#!" + GOOD[2:], "bad_header"),
    (b"##00", "truncated"),
    (GOOD[:2] + b"01a0" + GOOD[6:], "bad_length"),
    (GOOD[:-6] + b"ZZZZ\r\n", "bad_crc"),
    (GOOD[:-4] + b"\r\n", "bad_crc"),
])
def test_it_names_what_is_wrong(frame: bytes, reason: str) -> None:
    with pytest.raises(HJ212Error) as caught:
        parse_frame(frame)
    assert caught.value.reason == reason


@pytest.mark.parametrize(("segment", "reason"), [
    ("QN=1;ST=21;CN=2011;MN=X;CP=&&DataTime=2024010203040;w21003-Rtd=1&&", "bad_time"),
    ("QN=1;ST=21;CN=2011;MN=X;CP=&&DataTime=20241302030400;w21003-Rtd=1&&", "bad_time"),
    ("QN=1;ST=21;CN=2011;MN=X;Flag=x;CP=&&&&", "unparseable"),
    ("QN=1;ST=21;MN=X;CP=&&&&", "unparseable"),
    ("QN=1;ST=21;CN=2011;MN=X", "unparseable"),
    ("QN=1;ST=21;CN=2011;MN=X;CP=&&w21003-Rtd=1", "unparseable"),
    ("QN=1;ST21;CN=2011;MN=X;CP=&&&&", "unparseable"),
])
def test_it_rejects_well_framed_nonsense(segment: str, reason: str) -> None:
    with pytest.raises(HJ212Error) as caught:
        parse_frame(build_frame(segment))
    assert caught.value.reason == reason


def test_it_rejects_text_that_cannot_be_utf8() -> None:
    with pytest.raises(HJ212Error):
        parse_frame("##0010\ud800")
    with pytest.raises(HJ212Error):
        build_frame("ST=21;CN=2011;CP=&&i11001-Info=\ud800&&")


def test_it_rejects_segments_beyond_the_bound() -> None:
    frame = build_frame("ST=21;CN=2011;MN=X;CP=&&i11001-Info=" + "x" * 5000 + "&&")
    with pytest.raises(HJ212Error) as caught:
        parse_frame(frame)
    assert caught.value.reason == "too_long"
    assert parse_frame(frame, max_segment=6000).cn == "2011"


def test_it_counts_length_in_utf8_bytes_and_tolerates_char_counts() -> None:
    segment = "QN=1;ST=21;CN=3020;MN=X;Flag=4;CP=&&PolId=w21003,i11001-Info=//清洗管路//&&"
    packet = parse_frame(build_frame(segment))
    assert packet.values == {"w21003:i11001": {"Info": "//清洗管路//"}} and packet.warnings == ()
    data = segment.encode()
    by_chars = b"##%04d%s%04X\r\n" % (len(segment), data, crc16(data))
    assert "length_counts_chars" in parse_frame(by_chars).warnings
    wrong = b"##%04d%s%04X\r\n" % (len(segment) + 1, data, crc16(data))
    with pytest.raises(HJ212Error, match="declared length"):
        parse_frame(wrong)


def test_it_reads_gbk_text_without_failing() -> None:
    data = "ST=21;CN=3020;MN=X;CP=&&i11001-Info=//清洗//&&".encode("gb18030")
    packet = parse_frame(b"##%04d%s%04X" % (len(data), data, crc16(data)))
    assert "not_utf8" in packet.warnings
    assert packet.values["i11001"]["Info"] == "//清洗//"


def test_it_tolerates_the_header_deviations_of_real_devices() -> None:
    packet = parse_frame(build_frame("ST=32;CN=2011;PW=;,MN=88888881234567;FLAG=3;PNO=2;PNUM=0002;Extra=1;"
                                     "CP=&&DataTime=20180306120000;001-Rtd=6.9;&&"))
    assert (packet.pw, packet.mn, packet.flag, packet.pnum, packet.pno) == ("", "88888881234567", 3, 2, 2)
    assert packet.needs_ack and packet.flag & 2
    assert "unknown_header_key:Extra" in packet.warnings


# --------------------------------------------------------------------------------------------- units


@pytest.mark.parametrize(("code", "value", "unit", "expected"), [
    ("w20111", 0.05, None, (0.05e-3, "mg/L")),   # total Hg defaults to μg/L
    ("020", 0.05, None, (0.05e-3, "mg/L")),      # its 2005 code
    ("w20142", 1.0, None, (1e-3, "mg/L")),
    ("w20089", 5.0, None, (5e-6, "mg/L")),       # thallium in ng/L
    ("w20111", 0.0001, "mg/L", (0.0001, "mg/L")),
    ("w21003", 0.4, None, (0.4, "mg/L")),
    ("w21003", 400, "ug/L", (0.4, "mg/L")),
    ("w01001", 7.2, None, (7.2, "")),
    ("w02003", 900, None, (900, "个/L")),
])
def test_it_normalises_concentrations_to_mg_per_l(code: str, value: float, unit: str | None,
                                                  expected: tuple[float, str]) -> None:
    got = normalise(code, value, unit)
    assert got[1] == expected[1] and got[0] == pytest.approx(expected[0])


# ---------------------------------------------------------------------------------------- splitter

STREAM = b"".join(REAL[:200])


@pytest.mark.parametrize("chunk", [1, 2, 7, 64, 1000, len(STREAM)])
def test_splitter_rebuilds_frames_from_any_read_size(chunk: int) -> None:
    splitter = FrameSplitter()
    events = []
    for i in range(0, len(STREAM), chunk):
        events += splitter.feed(STREAM[i:i + chunk])
    events += splitter.flush()
    assert all(e.error is None for e in events)
    frames = [e.frame for e in events]
    # A frame whose CRC checks at the end of a read is released before its CRLF arrives.
    assert [f.rstrip(b"\r\n") for f in frames] == [f.rstrip(b"\r\n") for f in REAL[:200]]
    assert all(parse_frame(f) for f in frames)


def test_splitter_releases_a_crlf_less_frame_awaiting_its_ack() -> None:
    frame = GOOD[:-2]
    assert FrameSplitter().feed(frame) == [(frame, None)]


def test_splitter_reports_garbage_and_resyncs() -> None:
    splitter = FrameSplitter()
    events = splitter.feed(b"\r\n\x00 noise" + REAL[0] + b"more noise #" + b"#" + REAL[1][2:])
    assert [(e.frame, e.error and e.error.reason) for e in events] == [
        (None, "garbage"), (REAL[0], None), (None, "garbage"), (REAL[1], None)]
    assert events[0].error.raw == b"\r\n\x00 noise"
    assert events[2].error.raw == b"more noise "


def test_splitter_splits_crlf_less_frames_by_declared_length() -> None:
    a, b = REAL[0].rstrip(b"\r\n"), REAL[1]
    assert FrameSplitter().feed(a + b) == [(a, None), (b, None)]


def test_splitter_reports_a_frame_cut_short() -> None:
    cut = REAL[0][:50]
    events = FrameSplitter().feed(cut + REAL[1])
    assert [(e.frame, e.error and e.error.reason) for e in events] == [(None, "truncated"), (REAL[1], None)]
    assert events[0].error.raw == cut


def test_splitter_keeps_hashes_inside_text_when_the_length_vouches() -> None:
    frame = build_frame("ST=21;CN=3020;MN=X;CP=&&i11001-Info=//pump ##2 ok//&&")
    assert FrameSplitter().feed(frame + REAL[0]) == [(frame, None), (REAL[0], None)]


def test_splitter_bounds_overlong_frames() -> None:
    splitter = FrameSplitter(max_segment=200)
    events = []
    events += splitter.feed(b"##0100")
    for _ in range(50):
        events += splitter.feed(b"x" * 100)
        assert len(splitter._buf) <= splitter.max_frame
    events += splitter.feed(REAL[1])
    assert [e.error.reason for e in events if e.error] == ["too_long"]
    assert events[-1] == (REAL[1], None)


def test_splitter_bounds_endless_garbage() -> None:
    splitter = FrameSplitter(max_segment=100)
    events = []
    for _ in range(100):
        events += splitter.feed(b"noise" * 20)
    events += splitter.feed(REAL[1])
    assert [e.error.reason for e in events if e.error] == ["garbage"]
    assert len(events[0].error.raw) == splitter.max_frame
    assert events[-1] == (REAL[1], None)


def test_splitter_flush_hands_back_leftovers() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(REAL[0][:40]) == []
    assert splitter.flush() == [(REAL[0][:40], None)]
    assert splitter.feed(b"junk") == []
    assert [e.error.reason for e in splitter.flush()] == ["garbage"]


# ------------------------------------------------------------------------------------------ replies


def test_it_acknowledges_a_2017_upload_with_9014() -> None:
    upload = parse_frame(vector("Surface-water hourly packet, Flag=9")["packet"])
    reply = parse_frame(build_reply(upload))
    assert (reply.qn, reply.st, reply.cn, reply.pw, reply.mn) == (upload.qn, "91", "9014", upload.pw, upload.mn)
    assert reply.flag == 8 and not reply.needs_ack and reply.values == {} and reply.cp == {}
    assert build_reply(upload).endswith(b"CP=&&&&" + b"%04X" % crc16(segment_of(build_reply(upload))) + b"\r\n")


def test_it_echoes_the_qn_inside_cp_for_2005_devices() -> None:
    request = parse_frame(vector("Time-calibration request")["packet"])
    reply = parse_frame(build_reply(request))
    assert reply.qn is None and reply.cn == "9014" and reply.cp == {"QN": "20160824143114000"} and reply.flag == 0


# ----------------------------------------------------------------------------------------- building


def test_build_data_frame_round_trips() -> None:
    when = datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=BEIJING)
    frame = build_data_frame("A140100_2006", "2061", "123456", when,
                             {"w21003": 0.42, "w21011": {"Avg": 0.031, "Max": 0.05, "Flag": "N"},
                              "w20111": 1e-5},
                             st="21", flag=5)
    packet = parse_frame(frame)
    assert packet.qn == "20240102030405006" and packet.flag == 5 and packet.needs_ack
    assert packet.data_time == when.replace(microsecond=0)
    assert packet.values == {"w21003": {"Avg": "0.42"}, "w21011": {"Avg": "0.031", "Max": "0.05", "Flag": "N"},
                             "w20111": {"Avg": "0.00001"}}


def test_build_data_frame_converts_times_to_beijing() -> None:
    utc_time = datetime(2024, 1, 1, 16, 0, tzinfo=BEIJING) - timedelta(hours=8)
    frame = build_data_frame("X", "2011", "1", utc_time.astimezone(BEIJING).replace(tzinfo=None), {"w01001": 7})
    assert b"DataTime=20240101080000" in frame


@pytest.mark.parametrize("values", [{"w21003": float("nan")}, {"w21003": "1;2"}, {"w2;1": 1}, {"w21003": [1]}])
def test_build_data_frame_rejects_what_would_break_the_frame(values: dict) -> None:
    with pytest.raises(HJ212Error):
        build_data_frame("X", "2011", "1", datetime(2024, 1, 1, tzinfo=BEIJING), values)


def test_build_frame_refuses_oversized_segments() -> None:
    with pytest.raises(HJ212Error) as caught:
        build_frame("x" * 10000)
    assert caught.value.reason == "too_long"
