"""The process function the listener calls: archive, parse, store once, quarantine, reply."""

from __future__ import annotations

import pytest

from zhangzhi.monitoring import actions, hj212
from zhangzhi.monitoring.ingest import Ingestor, Received, process_frame
from zhangzhi.monitoring.models import Quarantine, RawFrame, Reading

from .conftest import MN_YU, at, hourly

pytestmark = pytest.mark.django_db


def test_it_stores_readings_and_acknowledges(stations):
    frame = hourly(MN_YU, at(1, 8), {"w21003": 0.42, "w01009": 7.1})
    reply = process_frame(frame, "10.0.0.1:5000")
    packet = hj212.parse_frame(reply)
    assert packet.cn == "9014" and packet.mn == MN_YU and packet.qn == hj212.parse_frame(frame).qn
    rows = {r.parameter: r for r in Reading.objects.filter(station=stations["yu"])}
    assert rows["w21003"].value == pytest.approx(0.42)
    assert rows["w21003"].kind == "hour" and rows["w21003"].unit == "mg/L"
    assert rows["w21003"].time == at(1, 8)
    assert RawFrame.objects.get().raw == frame


def test_it_stores_data_sent_twice_once(stations):
    frame = hourly(MN_YU, at(1, 8), {"w21003": 0.42})
    ingestor = Ingestor()
    assert ingestor.process([Received(frame), Received(frame)]) != [None, None]
    process_frame(frame)
    assert Reading.objects.count() == 1
    assert RawFrame.objects.count() == 3  # every received frame is archived


def test_it_converts_micrograms_to_milligrams(stations):
    process_frame(hourly(MN_YU, at(1), {"w20115": 3.0, "w20117": 40}))  # Cd in μg/L (station), Pb default μg/L
    rows = dict(Reading.objects.values_list("parameter", "value"))
    assert rows["w20115"] == pytest.approx(0.003)
    assert rows["w20117"] == pytest.approx(0.04)
    assert set(Reading.objects.values_list("unit", flat=True)) == {"mg/L"}


def test_it_replies_only_when_the_flag_asks(stations):
    assert process_frame(hourly(MN_YU, at(1), {"w21003": 0.4}, flag=4)) is None
    assert Reading.objects.count() == 1


def test_it_parses_realtime_minute_and_daily_data(stations):
    process_frame(hourly(MN_YU, at(1, 8), {"w21003": 0.4}, cn="2011"))
    process_frame(hourly(MN_YU, at(1, 8), {"w21003": 0.5}, cn="2051"))
    process_frame(hourly(MN_YU, at(1), {"w21003": 0.6}, cn="2031"))
    assert dict(Reading.objects.values_list("kind", "value")) == {"rt": 0.4, "min": 0.5, "day": 0.6}


@pytest.mark.parametrize(("mutate", "reason"), [
    (lambda f: f[:-6] + (b"0000" if f[-6:-2] != b"0000" else b"1111") + b"\r\n", "bad_crc"),
    (lambda f: f[:2] + b"9999" + f[6:], "bad_length"),
    (lambda f: hj212.build_frame("QN=1;ST=21;CN=2061;MN=" + MN_YU + ";CP=&&DataTime=2025;w21003-Avg=1&&"),
     "bad_time"),
    (lambda f: hj212.build_frame("ST=21;CN=2061;garbage"), "unparseable"),
])
def test_it_quarantines_bad_frames_with_their_reason(stations, mutate, reason):
    bad = mutate(hourly(MN_YU, at(1), {"w21003": 0.4}))
    assert not process_frame(bad)
    q = Quarantine.objects.get()
    assert q.reason == reason and bytes(q.raw) == bad and q.status == "open"
    assert Reading.objects.count() == 0
    assert RawFrame.objects.get().raw == bad  # archived before parsing


def test_it_quarantines_unknown_stations_and_replays_them_after_registration(world, stations):
    frame = hourly("A140300_NEW1", at(2, 3), {"w21003": 0.3, "w21011": 0.05})
    reply = process_frame(frame)
    assert reply is not None  # durable in quarantine, so the device may stop resending
    q = Quarantine.objects.get()
    assert (q.reason, q.mn) == ("unknown_mn", "A140300_NEW1")
    assert actions.replay_quarantine(None) == {"replayed": 0, "still_quarantined": 1}
    actions.create_station(None, name="新站", kind="auto", mn="A140300_NEW1", feature=world.county_reach)
    assert actions.replay_quarantine(None) == {"replayed": 1, "still_quarantined": 0}
    assert Reading.objects.filter(station__mn="A140300_NEW1").count() == 2
    assert Quarantine.objects.get().status == "replayed"
    assert actions.replay_quarantine(None) == {"replayed": 0, "still_quarantined": 0}


def test_it_rejects_a_wrong_password(world):
    actions.create_station(None, name="密码站", kind="auto", mn="PW1", feature=world.county_reach)
    from zhangzhi.monitoring.models import Station

    Station.objects.filter(mn="PW1").update(password="secret")
    assert not process_frame(hourly("PW1", at(1), {"w21003": 0.4}, pw="wrong"))
    assert Quarantine.objects.get().reason == "bad_password"


def test_it_accepts_modbus_crcs_only_from_stations_allowed_to(world, stations):
    from zhangzhi.monitoring.models import Station

    segment = (f"QN=20250301000000000;ST=21;CN=2061;PW=123456;MN={MN_YU};Flag=5;"
               "CP=&&DataTime=20250301000000;w21003-Avg=0.4&&")
    crc = hj212.crc16_modbus(segment.encode())
    frame = b"##%04d%s%02X%02X\r\n" % (len(segment), segment.encode(), crc & 0xFF, crc >> 8)
    assert not process_frame(frame)
    Station.objects.filter(mn=MN_YU).update(allow_modbus_crc=True)
    assert process_frame(frame) is not None
    assert Reading.objects.count() == 1


def test_it_archives_and_acknowledges_other_commands(stations):
    heartbeat = hj212.build_frame(f"QN=20250301000000000;ST=21;CN=2081;PW=123456;MN={MN_YU};Flag=5;"
                                  "CP=&&RestartTime=20250301000000&&")
    assert hj212.parse_frame(process_frame(heartbeat)).cn == "9014"
    assert Reading.objects.count() == 0 and Quarantine.objects.count() == 0


def test_it_stores_each_part_of_a_split_upload(stations):
    p1 = hourly(MN_YU, at(1), {"w21003": 0.4})
    p1 = hj212.build_data_frame(MN_YU, "2061", "123456", at(1), {"w21003": 0.4}, flag=7, pnum=2, pno=1)
    p2 = hj212.build_data_frame(MN_YU, "2061", "123456", at(1), {"w21011": 0.1}, flag=7, pnum=2, pno=2)
    Ingestor().process([Received(p1), Received(p2)])
    assert set(Reading.objects.values_list("parameter", flat=True)) == {"w21003", "w21011"}


def test_it_parses_every_real_packet_that_frames(stations, world):
    """The shared 2016 traffic: valid frames are stored or quarantined as unknown_mn, never crash."""
    from pathlib import Path

    from django.conf import settings

    lines = Path(settings.DATA_DIR, "hj212", "real-2016-sample.h212").read_bytes().splitlines(keepends=True)
    ingestor = Ingestor()
    replies = ingestor.process([Received(line) for line in lines[:500]])
    assert len(replies) == 500
    reasons = set(Quarantine.objects.values_list("reason", flat=True))
    assert "internal_error" not in reasons


@pytest.mark.django_db(transaction=True)
def test_readings_still_need_their_station(stations):
    # the foreign key holds both ways (its own index was dropped: reading_once covers station lookups)
    import psycopg
    from django.db import IntegrityError, connection, transaction

    from zhangzhi.monitoring.ingest import Row, store_rows
    from zhangzhi.monitoring.models import Station

    yu = stations["yu"]
    missing = Station.objects.order_by("-pk").first().pk + 1000
    with pytest.raises((IntegrityError, psycopg.errors.IntegrityError)):  # the COPY path raises psycopg's
        store_rows([Row(missing, "w21003", "hour", at(1), 0.1, "mg/L", "N")])
    store_rows([Row(yu.pk, "w21003", "hour", at(1), 0.1, "mg/L", "N")])
    with pytest.raises(IntegrityError), transaction.atomic():
        Reading.objects.filter(station=yu).update(station_id=missing)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cur:
        cur.execute("DELETE FROM monitoring_station WHERE id = %s", [yu.pk])
    assert Reading.objects.filter(station=yu).count() == 1
    yu.delete()  # Django's CASCADE deletes the readings first
    assert not Reading.objects.exists()


# ------------------------------------------------------------------ rows_of: the readings a packet gives


def _rows(frame: bytes, units: dict | None = None):
    from zhangzhi.monitoring.ingest import StationInfo, rows_of

    return rows_of(hj212.parse_frame(frame), StationInfo(7, "", False, units or {}))


def _vector(note_fragment: str) -> bytes:
    import json

    from django.conf import settings

    lines = (settings.DATA_DIR / "hj212" / "vectors.jsonl").read_text("utf-8").splitlines()
    found = [v for v in map(json.loads, lines) if note_fragment in (v.get("note") or "")]
    assert len(found) == 1
    return found[0]["packet"].encode()


@pytest.mark.parametrize(("cn", "kind", "field"), [
    ("2011", "rt", "Rtd"), ("2051", "min", "Avg"), ("2061", "hour", "Avg"), ("2031", "day", "Avg")])
def test_rows_of_maps_command_codes_to_kinds_and_keeps_the_main_value(cn, kind, field):
    when = at(1, 8)
    frame = hj212.build_data_frame("M", cn, "1", when, {"w21003": 0.42, "w01009": {field: 6.5, "Max": 9, "Flag": "D"}})
    assert [tuple(r) for r in _rows(frame)] == [
        (7, "w21003", kind, when, 0.42, "mg/L", ""), (7, "w01009", kind, when, 6.5, "mg/L", "D")]


def test_rows_of_maps_2005_water_codes_but_not_flue_gas_codes():
    assert {r.parameter for r in _rows(_vector("HJ/T 212-2005 style (2005 codes"))} >= {"w01018"}
    vendor = {r.parameter for r in _rows(_vector("Receiver log, 2005-style 3-digit vendor factor codes"))}
    assert "023" in vendor and "039" in vendor  # ST=31: not water codes
    assert hj212.canonical_code("060") == "w21003" and hj212.canonical_code("060", st="31") == "060"


def test_rows_of_uses_a_stand_alone_flag_skips_bad_numbers_and_converts_units():
    frame = hj212.build_frame("ST=21;CN=2011;MN=X;Flag=4;CP=&&DataTime=20250131202809;"
                              "w21003-Rtd=0.5;w21011-Rtd=nan;w01009-Rtd=;w01019-Rtd=x1;w20115-Rtd=3;Flag=N&&")
    rows = _rows(frame, {"w20115": "μg/L"})
    assert [(r.parameter, r.value, r.unit, r.flag) for r in rows] == [
        ("w21003", 0.5, "mg/L", "N"), ("w20115", pytest.approx(0.003), "mg/L", "N")]


def test_rows_of_gives_nothing_for_other_commands_or_without_a_data_time():
    assert _rows(_vector("CN=3020 instrument status")) == []
    assert _rows(hj212.build_frame("ST=21;CN=2011;MN=X;CP=&&w21003-Rtd=1&&")) == []
