"""HJ 212 ingestion benchmark: 200 stations on loopback against `zhangzhi hj212 listen`.

Each station connection sends hourly packets (CN 2061) of 8 parameters, the next as soon as the previous
is acknowledged (9014), for --seconds. Then the same number of readings is inserted in bulk straight into
the database (PostgreSQL COPY, SQLite executemany in one transaction; no parsing, no network) as the
baseline, in the same run. Checks that frames archived = frames sent and readings stored = 8 × frames.

    ./run bench ingest                      # 60 s on SQLite, then on PostgreSQL
    ./run bench ingest --seconds 10 --db postgresql

The last line is JSON: {"db", "frames_per_s", "readings_per_s", "ratio_vs_bulk_insert", "lost"} (the
PostgreSQL result when both ran; each database's JSON line is printed as it finishes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/zz_bench"

from zhangzhi.demo import hj212_simulator as simulator  # noqa: E402
from zhangzhi.lib.datadir import data_dir  # noqa: E402
from zhangzhi.monitoring.hj212 import BEIJING  # noqa: E402

START = datetime(2020, 1, 1, tzinfo=BEIJING)
SETUP = """
import django
django.setup()
from zhangzhi.org.models import Region
from zhangzhi.monitoring.models import Station
r = Region.objects.create(name="阳泉市", level="city", path="/1/", code="140300")
Station.objects.bulk_create([Station(name="站%d" % i, kind="auto", mn="BENCH%04d" % i, region=r, lon=113.5,
                                     lat=38.0) for i in range({n})])
"""


def env(url: str) -> dict:
    e = dict(os.environ)
    e.update(DATABASE_URL=url, DJANGO_SETTINGS_MODULE="zhangzhi.settings", ZHANGZHI_LOG_LEVEL="ERROR")
    e.setdefault("ZHANGZHI_DATA_DIR", str(data_dir()))
    return e


def fresh_database(db: str, pg_url: str) -> str:
    if db == "sqlite":
        path = ROOT / "var" / "bench" / "ingest.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    base, name = pg_url.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return pg_url


def query(url: str, sql: str):
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            return conn.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(port: int, stations: list, seconds: float) -> list:
    return await simulator.run("127.0.0.1", port, stations, seconds=seconds, fast=True)


def bulk_baseline(url: str, station_ids: list[int], n_frames: int) -> float:
    """Insert 8 × n_frames readings of the same shape in bulk; return readings per second."""
    rng = random.Random(1)
    codes = list(simulator.PARAMETERS)
    base = START + timedelta(days=365 * 40)  # hours no station has sent, so nothing conflicts
    per = max(1, n_frames // len(station_ids) + 1)
    rows = []
    for sid in station_ids:
        for h in range(per):
            t = base + timedelta(hours=h)
            rows.extend((sid, c, "hour", t, round(rng.uniform(0.1, 10), 3), "mg/L", "N") for c in codes)
            if len(rows) >= 8 * n_frames:
                break
        if len(rows) >= 8 * n_frames:
            break
    if url.startswith("sqlite"):
        import sqlite3

        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        text_rows = [(s, c, k, t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"), v, u, f)
                     for s, c, k, t, v, u, f in rows]
        t0 = time.perf_counter()
        with conn:
            conn.executemany("INSERT INTO monitoring_reading (station_id, parameter, kind, time, value, unit, flag)"
                             " VALUES (?, ?, ?, ?, ?, ?, ?)", text_rows)
        elapsed = time.perf_counter() - t0
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            with conn.cursor() as cur, cur.copy(
                    "COPY monitoring_reading (station_id, parameter, kind, time, value, unit, flag) FROM STDIN") as cp:
                for row in rows:
                    cp.write_row(row)
            conn.commit()
            elapsed = time.perf_counter() - t0
    return len(rows) / elapsed


def run_one(db: str, args) -> dict:
    url = fresh_database(db, args.pg_url)
    subprocess.run([str(BIN / "zhangzhi"), "migrate", "-v0"], env=env(url), check=True, stderr=subprocess.DEVNULL)
    subprocess.run([sys.executable, "-c", SETUP.format(n=args.connections)], env=env(url), check=True)
    station_ids = [r[0] for r in query(url, "SELECT id FROM monitoring_station ORDER BY id")]
    port = free_port()
    n = args.listeners or (2 if db == "postgresql" else 1)
    cmd = [str(BIN / "zhangzhi"), "hj212", "listen", "--port", str(port), "--no-alerts"]
    listeners = [subprocess.Popen(cmd + (["--reuse-port"] if n > 1 else []), env=env(url), stdout=subprocess.PIPE)
                 for _ in range(n)]
    for proc in listeners:
        assert b"listening" in proc.stdout.readline()
    hours = int(args.seconds * 2000) + 10  # more than any station can send in the time
    stations = [simulator.SimStation(mn=f"BENCH{i:04d}", start=START, hours=hours, seed=i)
                for i in range(args.connections)]
    print(f"[{db}] {args.connections} connections, {args.seconds:g} s ...", flush=True)
    t0 = time.perf_counter()
    outcomes = asyncio.run(load(port, stations, args.seconds))
    elapsed = time.perf_counter() - t0
    client_cpu = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
    listener_cpu = 0.0
    for proc in listeners:
        proc.send_signal(signal.SIGTERM)
        _, _, usage = os.wait4(proc.pid, 0)
        proc.returncode = 0
        listener_cpu += usage.ru_utime + usage.ru_stime
    print(f"[{db}] {n} listener process(es); cpu seconds: listeners {listener_cpu:.1f}, load generator"
          f" {client_cpu:.1f} (cumulative, incl. start-up), wall {elapsed:.1f}", flush=True)
    sent = sum(o.sent for o in outcomes)
    acked = sum(o.acked for o in outcomes)
    errors = [o.error for o in outcomes if o.error]
    archived = query(url, "SELECT COUNT(*) FROM monitoring_rawframe")[0][0]
    stored = query(url, "SELECT COUNT(*) FROM monitoring_reading")[0][0]
    quarantined = query(url, "SELECT COUNT(*) FROM monitoring_quarantine")[0][0]
    frames_per_s = acked / elapsed
    readings_per_s = stored / elapsed
    print(f"[{db}] sent {sent} frames, acked {acked}, archived {archived}, readings {stored} "
          f"(expected {8 * sent}), quarantined {quarantined}, errors {len(errors)}; "
          f"{frames_per_s:,.0f} frames/s, {readings_per_s:,.0f} readings/s", flush=True)
    bulk = bulk_baseline(url, station_ids, acked)
    print(f"[{db}] bulk insert of {8 * acked} readings: {bulk:,.0f} readings/s", flush=True)
    lost = max(0, sent - archived) + max(0, 8 * sent - stored)
    result = {"db": db, "frames_per_s": round(frames_per_s), "readings_per_s": round(readings_per_s),
              "ratio_vs_bulk_insert": round(readings_per_s / bulk, 3), "lost": lost}
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--listeners", type=int, default=0,
                        help="listener processes sharing the port (SO_REUSEPORT); default 2 on PostgreSQL, 1 on SQLite")
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL", PG_DEFAULT))
    args = parser.parse_args()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    results = [run_one(db, args) for db in dbs]
    print(json.dumps(results[-1]))


if __name__ == "__main__":
    main()
