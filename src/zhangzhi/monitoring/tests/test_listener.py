"""The TCP layer: many stations at once, and the listener surviving garbage, floods and slow peers.

These tests run the asyncio listener on loopback over a stand-in ingestor (no database), so they check
framing, replies, limits and timeouts alone; test_kill.py runs the real command against a database.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime

import pytest

from zhangzhi.demo import hj212_simulator as simulator
from zhangzhi.monitoring import hj212
from zhangzhi.monitoring.hj212 import BEIJING
from zhangzhi.monitoring.listener import Background, Limits


class FakeIngestor:
    """Parses like the real one and records what it would store or quarantine."""

    def __init__(self, delay: float = 0.0):
        self.frames: list[bytes] = []
        self.quarantine: list[str] = []
        self.delay = delay
        self.lock = threading.Lock()

    def reload(self):
        pass

    def process(self, items):
        import time

        if self.delay:
            time.sleep(self.delay)
        replies = []
        with self.lock:
            for item in items:
                if item.error is not None:
                    self.quarantine.append(item.error.reason)
                    replies.append(b"")
                    continue
                try:
                    packet = hj212.parse_frame(item.raw)
                except hj212.HJ212Error as exc:
                    self.quarantine.append(exc.reason)
                    replies.append(b"")
                    continue
                self.frames.append(item.raw)
                replies.append(hj212.build_reply(packet) if packet.needs_ack else None)
        return replies


def station(i: int, hours: int = 50) -> simulator.SimStation:
    return simulator.SimStation(mn=f"SIM{i:04d}", start=datetime(2025, 1, 1, tzinfo=BEIJING), hours=hours, seed=i)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 40))


def test_it_serves_many_stations_at_once():
    fake = FakeIngestor()
    with Background(ingestor=fake) as bg:
        outcomes = run(simulator.run("127.0.0.1", bg.port, [station(i) for i in range(60)]))
    assert all(o.acked == 50 and not o.error for o in outcomes), [o for o in outcomes if o.acked != 50][:3]
    assert len(fake.frames) == 60 * 50


async def _raw_conn(port):
    return await asyncio.open_connection("127.0.0.1", port)


def test_it_quarantines_garbage_and_overlong_frames_and_keeps_serving_others():
    fake = FakeIngestor()

    async def scenario(port):
        r, w = await _raw_conn(port)
        w.write(b"hello, this is not HJ 212\r\n")
        w.write(b"##9999" + b"A" * 6000 + b"\r\n")  # overlong
        good = station(1, 1).frame(0, __import__("random").Random(1))
        w.write(good)
        await w.drain()
        reply = await asyncio.wait_for(r.readline(), 5)
        w.close()
        ok = await simulator.run("127.0.0.1", port, [station(i) for i in range(5)])
        return reply, ok

    with Background(ingestor=fake) as bg:
        reply, ok = run(scenario(bg.port))
    assert b"CN=9014" in reply
    assert all(o.acked == 50 for o in ok)
    assert "garbage" in fake.quarantine and "too_long" in fake.quarantine


def test_it_closes_a_slowloris_connection_and_quarantines_its_bytes():
    fake = FakeIngestor()

    async def scenario(port):
        r, w = await _raw_conn(port)
        w.write(b"##0100QN=2025")  # one byte a minute, in effect: never completes
        await w.drain()
        others = await simulator.run("127.0.0.1", port, [station(i, 20) for i in range(3)])
        closed = await asyncio.wait_for(r.read(), 5)  # EOF once the listener gives up
        return others, closed

    with Background(ingestor=fake, limits=Limits(frame_timeout=0.6)) as bg:
        others, closed = run(scenario(bg.port))
    assert closed == b""
    assert all(o.acked == 20 for o in others)
    assert "timeout" in fake.quarantine


def test_it_closes_an_idle_connection():
    async def scenario(port):
        r, _w = await _raw_conn(port)
        return await asyncio.wait_for(r.read(), 5)

    with Background(ingestor=FakeIngestor(), limits=Limits(idle_timeout=0.5, frame_timeout=0.5)) as bg:
        assert run(scenario(bg.port)) == b""


def test_it_survives_a_flood_of_bad_frames_from_one_connection():
    fake = FakeIngestor()

    async def scenario(port):
        _r, w = await _raw_conn(port)
        bad = hj212.build_frame("QN=1;ST=21;CN=2061;MN=X;CP=&&DataTime=20250101000000;w21003-Avg=1&&")
        bad = bad[:-6] + b"0000\r\n"
        try:
            for _ in range(400):
                w.write(bad * 50)
                await w.drain()
        except (ConnectionError, OSError):
            pass
        await asyncio.sleep(0.1)
        ok = await simulator.run("127.0.0.1", port, [station(i, 30) for i in range(4)])
        return ok

    with Background(ingestor=fake, limits=Limits(max_bad=100)) as bg:
        ok = run(scenario(bg.port))
    assert all(o.acked == 30 for o in ok), ok
    assert 100 <= fake.quarantine.count("bad_crc") < 20000  # the flood was cut off


def test_it_stops_reading_a_connection_that_outruns_the_writer():
    fake = FakeIngestor(delay=0.05)

    async def scenario(port):
        flood = station(99, 2000)
        rng = __import__("random").Random(0)
        frames = [flood.frame(i, rng) for i in range(2000)]
        _r, w = await _raw_conn(port)
        w.write(b"".join(frames))  # no waiting for acks
        await asyncio.sleep(0.3)
        ok = await simulator.run("127.0.0.1", port, [station(i, 5) for i in range(3)])
        w.close()
        return ok

    with Background(ingestor=fake, limits=Limits(max_inflight=64)) as bg:
        ok = run(scenario(bg.port))
        inflight_peak = bg.listener.limits.max_inflight
    assert all(o.acked == 5 for o in ok)
    assert inflight_peak == 64


@pytest.mark.parametrize("max_connections", [3])
def test_it_refuses_connections_beyond_its_limit(max_connections):
    async def scenario(port):
        held = [await _raw_conn(port) for _ in range(max_connections)]
        await asyncio.sleep(0.1)
        r, _w = await _raw_conn(port)
        data = await asyncio.wait_for(r.read(), 5)
        for _, w in held:
            w.close()
        return data

    with Background(ingestor=FakeIngestor(), limits=Limits(max_connections=max_connections)) as bg:
        assert run(scenario(bg.port)) == b""
