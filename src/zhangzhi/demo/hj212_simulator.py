"""A surface-water station simulator speaking HJ 212-2017 over TCP (the demo and the benchmark use it).

Each simulated station sends hourly data (CN 2061, Flag=5: 2017 framing, acknowledgement requested) of
eight parameters, one frame after another, waiting for the 9014 of each before the next — or keeping up to
``window`` frames in flight, as a station does when it backfills (补发) stored history. Values follow a
seasonal and daily cycle around a river's baseline with noise; pollution episodes multiply chosen
parameters for a while.
"""

from __future__ import annotations

import asyncio
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from zhangzhi.monitoring import hj212

# code → (baseline, relative seasonal swing, relative noise, decimals) for a class II river
PARAMETERS: dict[str, tuple[float, float, float, int]] = {
    "w01010": (14.0, 0.7, 0.03, 1),  # water temperature ℃
    "w01001": (7.9, 0.02, 0.01, 2),  # pH
    "w01009": (8.5, 0.12, 0.03, 2),  # dissolved oxygen mg/L
    "w01014": (520.0, 0.1, 0.03, 0),  # conductivity μS/cm
    "w01003": (12.0, 0.5, 0.2, 1),  # turbidity NTU
    "w01019": (3.0, 0.15, 0.08, 2),  # permanganate index mg/L
    "w21003": (0.3, 0.3, 0.15, 3),  # ammonia nitrogen mg/L
    "w21011": (0.06, 0.3, 0.12, 3),  # total phosphorus mg/L
}


@dataclass
class Episode:
    """A pollution episode: from ``start`` for ``hours``, parameters multiplied by their factor."""

    start: datetime
    hours: int
    factors: dict[str, float]


@dataclass
class SimStation:
    mn: str
    start: datetime  # the first DataTime (Beijing time)
    hours: int
    pw: str = "123456"
    scale: dict[str, float] = field(default_factory=dict)  # per-code multiplier of the baseline
    episodes: list[Episode] = field(default_factory=list)
    seed: int = 0

    def values(self, i: int, when: datetime, rng: random.Random) -> dict[str, str]:
        day = when.timetuple().tm_yday
        season = math.cos(2 * math.pi * (day - 200) / 365)  # warmest late July
        diurnal = math.sin(2 * math.pi * (when.hour - 9) / 24)
        factors: dict[str, float] = {}
        for ep in self.episodes:
            if ep.start <= when < ep.start + timedelta(hours=ep.hours):
                factors = ep.factors
        out = {}
        for code, (base, swing, noise, decimals) in PARAMETERS.items():
            b = base * self.scale.get(code, 1.0)
            if code == "w01009":  # cold water holds more oxygen
                v = b * (1 - swing * season) + 0.4 * diurnal
            elif code == "w01001":
                v = b + 0.15 * diurnal
            else:
                v = b * (1 + swing * season)
            v *= 1 + rng.gauss(0, noise)
            v *= factors.get(code, 1.0)
            out[code] = f"{max(v, 0.0):.{decimals}f}"
        return out

    def fast_frame(self, i: int, variants: list[tuple[bytes, int]]) -> bytes:
        """A load-generator frame: one of a few prepared value sets, DataTime last, no QN (as 2005-era
        devices send), so only the last 26 bytes need their CRC computed."""
        head, reg = variants[i % len(variants)]
        when = self.start + timedelta(hours=i)
        tail = b"DataTime=%04d%02d%02d%02d0000&&" % (when.year, when.month, when.day, when.hour)
        return b"##%04d%s%s%04X\r\n" % (len(head) + len(tail), head, tail, hj212.crc16(tail, reg))

    def variants(self, n: int = 4) -> list[tuple[bytes, int]]:
        rng = random.Random(self.seed)
        out = []
        for k in range(n):
            items = ";".join(f"{c}-Avg={v},{c}-Flag=N" for c, v in self.values(k, self.start + timedelta(hours=k),
                                                                               rng).items())
            head = f"ST=21;CN=2061;PW={self.pw};MN={self.mn};Flag=5;CP=&&{items};".encode()
            out.append((head, hj212.crc16(head)))
        return out

    def frame(self, i: int, rng: random.Random) -> bytes:
        """The i-th hourly upload (DataTime = start + i hours)."""
        when = self.start + timedelta(hours=i)
        values = {c: {"Avg": v, "Flag": "N"} for c, v in self.values(i, when, rng).items()}
        return hj212.build_data_frame(self.mn, "2061", self.pw, when, values, flag=5,
                                      qn=f"{when:%Y%m%d%H%M%S}{i % 1000:03d}")


@dataclass
class Outcome:
    """What one simulated connection achieved: frames [first, first + acked) were acknowledged."""

    mn: str
    first: int
    sent: int = 0
    acked: int = 0
    error: str = ""


class _Client(asyncio.Protocol):
    def __init__(self, station: SimStation, first: int, last: int, window: int, deadline: float | None,
                 done: asyncio.Future, frames: list[bytes] | None, fast: bool = False) -> None:
        self.station, self.next, self.last, self.window = station, first, last, window
        self.deadline, self.done = deadline, done
        self.outcome = Outcome(station.mn, first)
        self.rng = random.Random(station.seed * 7919 + first)
        self.frames = frames
        self.fast = station.variants() if fast else None
        self.buf = b""
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self._fill()

    def _fill(self) -> None:
        out = []
        o = self.outcome
        while o.sent - o.acked < self.window and self.next < self.last:
            if self.deadline is not None and self.loop.time() >= self.deadline:
                break
            if self.frames:
                out.append(self.frames[self.next])
            elif self.fast:
                out.append(self.station.fast_frame(self.next, self.fast))
            else:
                out.append(self.station.frame(self.next, self.rng))
            self.next += 1
            o.sent += 1
        if out:
            self.transport.write(b"".join(out))
        elif o.sent == o.acked:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        n = self.buf.count(b"\r\n")
        if n:
            cut = self.buf.rfind(b"\r\n") + 2
            replies, self.buf = self.buf[:cut], self.buf[cut:]
            if b"CN=9014" not in replies:
                self.outcome.error = "unexpected reply " + replies[:80].decode("latin-1")
            self.outcome.acked += n
            self._fill()

    def connection_lost(self, exc) -> None:
        if exc is not None and not self.outcome.error:
            self.outcome.error = str(exc) or type(exc).__name__
        if not self.done.done():
            self.done.set_result(self.outcome)


async def send(host: str, port: int, station: SimStation, *, first: int = 0, last: int | None = None,
               window: int = 1, seconds: float | None = None, frames: list[bytes] | None = None,
               fast: bool = False) -> Outcome:
    """Connect and upload frames ``first``..``last`` (default: all hours), as acknowledged."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future = loop.create_future()
    deadline = loop.time() + seconds if seconds else None
    last = station.hours if last is None else last
    try:
        await loop.create_connection(
            lambda: _Client(station, first, last, window, deadline, done, frames, fast), host, port)
    except OSError as exc:
        return Outcome(station.mn, first, error=str(exc))
    return await done


async def run(host: str, port: int, stations: list[SimStation], **kw) -> list[Outcome]:
    """All stations at once, one connection each."""
    return list(await asyncio.gather(*(send(host, port, s, **kw) for s in stations)))
