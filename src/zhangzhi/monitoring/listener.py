"""The HJ 212 TCP listener: a thin asyncio layer over :class:`~zhangzhi.monitoring.ingest.Ingestor`.

Each connection has its own FrameSplitter; complete frames go to one writer thread that stores whatever
has queued up as one transaction (group commit: while one batch commits the next one gathers), and only
after the commit are the replies written back. So a 9014 is never sent for a frame that is not durable.

Defences, all per connection so one bad station does not hurt the others:

* bounded buffers: the splitter never holds more than one maximal frame; at most ``max_inflight`` frames
  wait for the writer, beyond that the connection stops being read (TCP back-pressure), as it does when
  the peer does not read its replies;
* slowloris: a frame must complete within ``frame_timeout`` seconds of its first byte, and a connection
  that sends nothing for ``idle_timeout`` seconds is closed;
* floods of garbage: after ``max_bad`` bad frames the connection is closed (each one is quarantined);
* at most ``max_connections`` connections; more are refused.

If the writer thread dies (the database stays unusable through every retry, or a bug), nothing more can
be stored or acknowledged: :attr:`Listener.died` is set, and ``zhangzhi hj212 listen`` exits non-zero so its
supervisor (systemd, Kubernetes) restarts it. Stations resend what was not acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import close_old_connections, connection

from . import hj212
from .ingest import QUARANTINED, Ingestor, Received

log = logging.getLogger(__name__)


@dataclass
class Limits:
    max_connections: int = 5000
    max_inflight: int = 256
    idle_timeout: float = 600.0
    frame_timeout: float = 60.0
    max_bad: int = 100
    max_batch: int = 5000


class StationProtocol(asyncio.Protocol):
    """One station connection."""

    def __init__(self, server: Listener) -> None:
        self.server = server
        self.splitter = hj212.FrameSplitter()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.inflight = 0
        self.bad = 0
        self.last_data = time.monotonic()
        self.partial_since: float | None = None
        self.read_paused = False
        self.write_paused = False
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else ""
        if len(self.server.connections) >= self.server.limits.max_connections:
            log.warning("refusing %s: %d connections", self.peer, len(self.server.connections))
            transport.close()
            self.closed = True
            return
        self.server.connections.add(self)
        transport.set_write_buffer_limits(high=64 * 1024)

    def connection_lost(self, exc) -> None:
        self.closed = True
        self.server.connections.discard(self)
        # a frame without CRLF at the end of the stream, or the truncated rest
        for event in self.splitter.flush():
            self._submit(event)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_data = now
        events = self.splitter.feed(data)
        if events:
            self.partial_since = None
            for event in events:
                self._submit(event)
        if self.partial_since is None and not events:
            self.partial_since = now

    def _submit(self, event: hj212.Event) -> None:
        at = datetime.now(UTC)
        if event.error is not None:
            self.server.submit(self, Received(event.error.raw or b"", self.peer, at, error=event.error))
            return
        self.server.submit(self, Received(event.frame, self.peer, at))

    def _bad(self) -> None:
        self.bad += 1
        if self.bad >= self.server.limits.max_bad and not self.closed:
            log.warning("closing %s: %d bad frames", self.peer, self.bad)
            self.close()

    # flow control -----------------------------------------------------------------------------------
    def added(self) -> None:
        self.inflight += 1
        if self.inflight >= self.server.limits.max_inflight:
            self._pause_reading()

    def done(self, reply: bytes | None) -> None:
        self.inflight -= 1
        if reply == QUARANTINED:
            self._bad()
        elif reply is not None and not self.closed and self.transport is not None:
            self.transport.write(reply)
        if self.inflight <= self.server.limits.max_inflight // 2 and not self.write_paused:
            self._resume_reading()

    def pause_writing(self) -> None:
        self.write_paused = True
        self._pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        if self.inflight < self.server.limits.max_inflight:
            self._resume_reading()

    def _pause_reading(self) -> None:
        if not self.read_paused and not self.closed and self.transport is not None:
            self.read_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self.read_paused and not self.closed and self.transport is not None:
            self.read_paused = False
            self.transport.resume_reading()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def sweep(self, now: float) -> None:
        limits = self.server.limits
        if self.read_paused:
            return  # we are the slow side, not the peer
        if self.partial_since is not None and now - self.partial_since > limits.frame_timeout:
            log.warning("closing %s: frame not completed in %.0f s", self.peer, limits.frame_timeout)
            for event in self.splitter.flush():
                raw = event.frame if event.frame is not None else (event.error.raw or b"")
                self.server.submit(self, Received(raw, self.peer, datetime.now(UTC), error=hj212.HJ212Error(
                    "timeout", f"frame not completed within {limits.frame_timeout:g} s", raw)))
            self.close()
        elif now - self.last_data > limits.idle_timeout:
            self.close()


class Listener:
    """The server: connections, one writer thread, and a sweeper for slow peers."""

    def __init__(self, ingestor: Ingestor | None = None, limits: Limits | None = None) -> None:
        self.ingestor = ingestor or Ingestor()
        self.limits = limits or Limits()
        self.connections: set[StationProtocol] = set()
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: asyncio.base_events.Server | None = None
        self.writer: threading.Thread | None = None
        self.stopping = False
        self.error: BaseException | None = None
        self.died: asyncio.Event | None = None  # set, on the loop, when the writer thread stops by failure

    def submit(self, proto: StationProtocol, item: Received) -> None:
        proto.added()
        self.queue.put((proto, item))

    async def start(self, host: str, port: int, *, reuse_port: bool = False) -> int:
        self.loop = asyncio.get_running_loop()
        self.died = asyncio.Event()
        self.writer = threading.Thread(target=self._write_loop, name="hj212-writer", daemon=True)
        self.writer.start()
        self.server = await self.loop.create_server(lambda: StationProtocol(self), host, port,
                                                    reuse_port=reuse_port or None, backlog=1024)
        self._sweeper = self.loop.create_task(self._sweep())
        return self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, store what is queued, and close the connections."""
        if self.server is not None:
            self.server.close()
        for proto in list(self.connections):
            proto.close()
        self._sweeper.cancel()
        self.stopping = True
        self.queue.put(None)
        await asyncio.get_running_loop().run_in_executor(None, self.writer.join)

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(min(1.0, self.limits.frame_timeout / 4))
            now = time.monotonic()
            for proto in list(self.connections):
                proto.sweep(now)

    def _write_loop(self) -> None:
        try:
            self.ingestor.reload()
            while True:
                first = self.queue.get()
                batch = [] if first is None else [first]
                done = first is None
                while len(batch) < self.limits.max_batch:
                    try:
                        item = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        done = True
                        continue
                    batch.append(item)
                if batch:
                    self._store(batch)
                if done and self.stopping:
                    return
        except BaseException as exc:  # the listener dies loudly rather than silently
            self.error = exc
            log.critical("hj212 writer thread died; nothing more can be stored", exc_info=True)
            if self.loop is not None and not self.loop.is_closed():
                self.loop.call_soon_threadsafe(self.died.set)
        finally:
            try:
                connection.close()
            except Exception:  # the connection may be what broke
                pass

    def _store(self, batch, attempts: int = 5) -> None:
        for attempt in range(1, attempts + 1):
            try:
                replies = self.ingestor.process([item for _, item in batch])
                break
            except Exception:
                # the database went away or is busy: nothing was acknowledged, so retry the whole batch
                log.exception("storing a batch of %d frames failed (attempt %d)", len(batch), attempt)
                if attempt == attempts:
                    raise  # the writer dies; the process exits and its supervisor restarts it
                close_old_connections()
                connection.close()
                time.sleep(0.2 * attempt)
        self.loop.call_soon_threadsafe(_deliver, [p for p, _ in batch], replies)


def _deliver(protos, replies) -> None:
    for proto, reply in zip(protos, replies, strict=True):
        proto.done(reply)


class Background:
    """Run a listener on its own event loop thread (the demo and tests use this)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kw) -> None:
        self.listener = Listener(**kw)
        self.host, self.port = host, port
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hj212-listener", daemon=True)

    def __enter__(self) -> Background:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("listener did not start")
        return self

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.port = self.loop.run_until_complete(self.listener.start(self.host, self.port))
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()
