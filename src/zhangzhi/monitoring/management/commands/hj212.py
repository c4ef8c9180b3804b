"""`zhangzhi hj212 listen`: the HJ 212 TCP listener; `zhangzhi hj212 replay`: retry quarantined frames."""

from __future__ import annotations

import asyncio
import signal

from django.core.management.base import BaseCommand, CommandError

from zhangzhi.monitoring.listener import Limits, Listener


class Command(BaseCommand):
    help = "HJ 212 stations: listen for their TCP connections, or replay quarantined frames."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="accept station connections and store what they send")
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--port", type=int, default=9212)
        listen.add_argument("--reuse-port", action="store_true",
                            help="share the port with other listener processes (SO_REUSEPORT)")
        listen.add_argument("--max-connections", type=int, default=Limits.max_connections)
        listen.add_argument("--idle-timeout", type=float, default=Limits.idle_timeout,
                            help="close a connection silent for this many seconds")
        listen.add_argument("--frame-timeout", type=float, default=Limits.frame_timeout,
                            help="close a connection whose frame is not complete this many seconds after it began")
        listen.add_argument("--no-alerts", action="store_true", help="do not evaluate alerts while storing")
        replay = sub.add_parser("replay", help="replay open quarantined frames (after fixing the registry)")
        replay.add_argument("--mn", default="", help="only frames of this MN")
        replay.add_argument("--reason", default="", help="only frames quarantined for this reason")

    def handle(self, *args, action, **options):
        if action == "replay":
            from zhangzhi.monitoring.actions import replay_quarantine

            result = replay_quarantine(None, mn=options["mn"] or None, reason=options["reason"] or None)
            self.stdout.write(f"replayed {result['replayed']} frames, {result['still_quarantined']} still bad")
            return
        from zhangzhi.monitoring.ingest import Ingestor

        limits = Limits(max_connections=options["max_connections"], idle_timeout=options["idle_timeout"],
                        frame_timeout=options["frame_timeout"])
        listener = Listener(Ingestor(alerts=not options["no_alerts"]), limits)
        asyncio.run(self._serve(listener, options["host"], options["port"], options["reuse_port"]))

    async def _serve(self, listener: Listener, host: str, port: int, reuse_port: bool) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        port = await listener.start(host, port, reuse_port=reuse_port)
        self.stdout.write(f"hj212: listening on {host}:{port}")
        self.stdout.flush()
        stopped = asyncio.ensure_future(stop.wait())
        died = asyncio.ensure_future(listener.died.wait())
        await asyncio.wait([stopped, died], return_when=asyncio.FIRST_COMPLETED)
        if listener.error is not None:
            # frames can no longer be stored: exit non-zero so the supervisor restarts a clean process
            listener.server.close()
            for proto in list(listener.connections):
                proto.close()
            raise CommandError(f"hj212: the writer thread died ({listener.error!r}); exiting", returncode=3)
        stopped.cancel()
        died.cancel()
        await listener.stop()
        s = listener.ingestor.stats
        self.stdout.write(f"hj212: stopped after {s.frames} frames, {s.stored} readings stored, "
                          f"{s.quarantined} quarantined")
