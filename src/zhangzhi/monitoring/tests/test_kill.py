"""SIGKILL the real listener in the middle of a load, restart it: every acknowledged frame is stored, none twice.

Runs `zhangzhi hj212 listen` as a subprocess against its own database (a SQLite file, or a scratch
PostgreSQL database when the suite runs on PostgreSQL), on loopback, bounded to a few seconds.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings

from zhangzhi.demo import hj212_simulator as simulator
from zhangzhi.monitoring.hj212 import BEIJING

STATIONS = 12
START = datetime(2025, 1, 1, tzinfo=BEIJING)
BIN = Path(sys.executable).parent


def _database_url(tmp_path) -> str:
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        import psycopg

        base = f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        with psycopg.connect(base + "/postgres", autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS zz_mon_kill")
            conn.execute("CREATE DATABASE zz_mon_kill")
        return base + "/zz_mon_kill"
    return f"sqlite:///{tmp_path / 'kill.sqlite3'}"


SETUP = """
import django, os
django.setup()
from zhangzhi.org.models import Region
from zhangzhi.monitoring.models import Station
r = Region.objects.create(name="阳泉市", level="city", path="/1/", code="140300")
for i in range({n}):
    Station.objects.create(name="站%d" % i, kind="auto", mn="KILL%04d" % i, region=r, lon=113.5, lat=38.0)
"""


def _env(url):
    return {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "zhangzhi.settings"}


def _start(url, port):
    proc = subprocess.Popen([str(BIN / "zhangzhi"), "hj212", "listen", "--port", str(port), "--no-alerts"],
                            env=_env(url), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline()
    assert b"listening" in line, line
    return proc


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _query(url, sql, params=()):
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql.replace("%s", "?"), params).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def _stored_before(url, mn, hours):
    """Readings of station ``mn`` with DataTime before START + hours (DataTime is what identifies a frame)."""
    bound = START + timedelta(hours=hours)
    bound = bound.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if url.startswith("sqlite") else bound
    return _query(url, "SELECT COUNT(*) FROM monitoring_reading r JOIN monitoring_station s ON s.id = r.station_id"
                       " WHERE s.mn = %s AND r.time < %s", (mn, bound))[0][0]


@pytest.mark.django_db
def test_it_loses_no_acknowledged_frame_when_killed(tmp_path):
    url = _database_url(tmp_path)
    subprocess.run([str(BIN / "zhangzhi"), "migrate", "-v0"], env=_env(url), check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", SETUP.format(n=STATIONS)], env=_env(url), check=True)
    port = _free_port()
    stations = [simulator.SimStation(mn=f"KILL{i:04d}", start=START, hours=100_000, seed=i) for i in range(STATIONS)]

    proc = _start(url, port)
    try:
        async def load():
            loop = asyncio.get_running_loop()
            loop.call_later(1.5, os.kill, proc.pid, signal.SIGKILL)
            return await asyncio.wait_for(simulator.run("127.0.0.1", port, stations, window=8), 20)

        outcomes = asyncio.run(load())
        proc.wait(10)
        assert proc.returncode == -signal.SIGKILL
        acked = {o.mn: o.acked for o in outcomes}
        print("acked before the kill:", sum(acked.values()))
        assert sum(acked.values()) > 200, acked  # the kill came in the middle of a real load
        # every acknowledged frame survived the kill (8 readings each)
        for mn, n in acked.items():
            assert _stored_before(url, mn, n) == 8 * n, mn

        # the stations resend everything they sent (acked or not): still stored once
        proc = _start(url, port)
        sent = {o.mn: o.sent for o in outcomes}
        again = asyncio.run(asyncio.wait_for(_resend(port, stations, sent), 30))
        assert all(o.acked == sent[o.mn] for o in again), again
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(10)
    rows = dict(_query(url, "SELECT s.mn, COUNT(*) FROM monitoring_reading r JOIN monitoring_station s"
                            " ON s.id = r.station_id GROUP BY s.mn"))
    assert rows == {mn: 8 * n for mn, n in sent.items() if n}
    dupes = _query(url, "SELECT COUNT(*) FROM (SELECT station_id, parameter, kind, time FROM monitoring_reading"
                        " GROUP BY station_id, parameter, kind, time HAVING COUNT(*) > 1) d")[0][0]
    assert dupes == 0


async def _resend(port, stations, sent):
    return list(await asyncio.gather(*(
        simulator.send("127.0.0.1", port, s, last=sent[s.mn], window=8) for s in stations)))


@pytest.mark.django_db
def test_it_exits_non_zero_when_its_writer_dies(tmp_path):
    """The database becomes unusable under a running listener: after its retries the writer thread dies,
    and the process exits non-zero (so systemd or Kubernetes restarts it) instead of idling as a zombie."""
    url = _database_url(tmp_path)
    subprocess.run([str(BIN / "zhangzhi"), "migrate", "-v0"], env=_env(url), check=True,
                   stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", SETUP.format(n=1)], env=_env(url), check=True)
    port = _free_port()
    proc = subprocess.Popen([str(BIN / "zhangzhi"), "hj212", "listen", "--port", str(port), "--no-alerts"],
                            env=_env(url), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert b"listening" in proc.stdout.readline()
        # the archive table every frame is written to first disappears
        _execute(url, "DROP TABLE monitoring_rawframe")
        station = simulator.SimStation(mn="KILL0000", start=START, hours=1)
        outcome = asyncio.run(asyncio.wait_for(simulator.send("127.0.0.1", port, station), 30))
        assert outcome.acked == 0  # nothing was stored, so nothing was acknowledged
        assert proc.wait(30) == 3
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    stderr = proc.stderr.read().decode()
    assert "hj212 writer thread died" in stderr and "storing a batch of 1 frames failed (attempt 5)" in stderr


def _execute(url, sql):
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            conn.execute(sql)
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)
