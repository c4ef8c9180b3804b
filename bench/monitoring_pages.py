"""Time to first byte of the monitoring pages (station list, station pages, chart series) on a built demo.

Serves the given database with ``zhangzhi runserver`` on a free loopback port, logs in as a persona (a
session made in-process, no password typed), and requests each page ``--runs`` times, timing from the
request sent to the response's status line (the time to first byte). Build the demo first:

    DATABASE_URL=sqlite:////tmp/zzmon/demo.sqlite3 .venv/bin/zhangzhi load_demo
    ./run bench monitoring_pages --db sqlite:////tmp/zzmon/demo.sqlite3

The last line is JSON: {"db", "readings", "pages": {path: median ms}, "worst_ms"}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_cookie(username: str) -> tuple[str, list[str], int]:
    """A logged-in session for ``username``, the pages to time, and the number of readings."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "zhangzhi.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from zhangzhi.monitoring.models import Reading, Station

    user = get_user_model().objects.get(username=username)
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    stations = Station.objects.visible_to(user).exclude(kind="intake").order_by("pk")
    paths = ["/monitoring/"]
    for s in stations:
        paths.append(f"/monitoring/stations/{s.pk}/")
    first = stations.filter(kind="auto").first()
    if first is not None:
        code = "w21003" if "w21003" in first.parameters or not first.parameters else sorted(first.parameters)[0]
        # the chart's data: before issue 9 the page fetched every hourly reading; now the series endpoint
        paths.append(f"/api/v1/stations/{first.pk}/readings?parameter={code}&limit=50000")
        paths.append(f"/api/v1/stations/{first.pk}/series?parameter={code}")
    return cookie, paths, Reading.objects.count()


def ttfb(port: int, path: str, cookie: str) -> tuple[float, int, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    conn.request("GET", path, headers={"Cookie": cookie, "Accept-Language": "zh-hans"})
    resp = conn.getresponse()
    first = time.perf_counter() - start
    body = resp.read()
    conn.close()
    return first * 1000, resp.status, len(body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", default=os.environ.get("DATABASE_URL") or f"sqlite:///{ROOT / 'var' / 'zhangzhi.sqlite3'}")
    ap.add_argument("--user", default="city-office")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    os.environ["DATABASE_URL"] = args.db
    os.environ.setdefault("ZHANGZHI_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    cookie, paths, readings = session_cookie(args.user)
    port = free_port()
    server = subprocess.Popen([str(BIN / "zhangzhi"), "runserver", "--noreload", "--insecure", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        ttfb(port, "/monitoring/", cookie)  # warm up (imports, template loading, the GB 3838 table)
        result = {}
        for path in paths:
            times = []
            for _ in range(args.runs):
                ms, status, size = ttfb(port, path, cookie)
                if status != 200:
                    break
                times.append(ms)
            if not times:
                print(f"{path:60s} answered {status}", flush=True)
                continue
            result[path] = round(statistics.median(times), 1)
            print(f"{path:60s} median {result[path]:8.1f} ms  max {max(times):8.1f} ms  {size:8d} bytes", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    print(json.dumps({"db": args.db.split("@")[-1], "readings": readings, "pages": result,
                      "worst_ms": max(result.values())}))


if __name__ == "__main__":
    main()
