"""Whether the service's database answers, known before a call needs it.

When PostgreSQL restarts or fails over, the library's store calls retry for
many seconds (ten attempts, each waiting for a pool connection) before they
give up - longer than a client's deadline. So each process probes its
database once a second on a connection of its own; while the probe fails,
calls are answered UNAVAILABLE at once with a hint to retry (nothing is
written), and the gRPC health check reports NOT_SERVING so a load balancer
or Kubernetes readiness probe stops sending traffic. When the probe succeeds
again, the service serves again by itself. On SQLite (a local file) there is
nothing to watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from revmentor.kernel.schema import Setting, connect, on_postgres

log = logging.getLogger(__name__)

#: Seconds between probes (and the probe's own connect timeout).
PROBE_SECONDS = 1.0

Changed = Callable[[bool], Awaitable[None]]


class StoreWatch:
    """Probes the database of ``service`` and says whether it answers."""

    def __init__(self, service: str, setting: Setting, every: float = PROBE_SECONDS):
        self.service = service
        self.setting = setting
        self.every = every
        self.watching = on_postgres(setting)
        self.reachable = True
        self._conn: Any = None

    def unavailable(self) -> str:
        """Why calls cannot be served now ("" when they can)."""
        if self.reachable:
            return ""
        return (
            f"the {self.service} service's database is not reachable right now and nothing "
            "was written; retry in a few seconds"
        )

    async def run(self, stop: asyncio.Event, changed: Changed | None = None) -> None:
        """Probe until ``stop``; ``changed(reachable)`` is awaited on every change."""
        if not self.watching:
            return
        try:
            while not stop.is_set():
                answers = await asyncio.to_thread(self._probe)
                if answers != self.reachable:
                    self.reachable = answers
                    if answers:
                        log.info("%s: the database answers again; serving", self.service)
                    else:
                        log.warning(
                            "%s: the database does not answer; refusing calls", self.service
                        )
                    if changed is not None:
                        await changed(answers)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every)
        finally:
            await asyncio.to_thread(self._close)

    def _probe(self) -> bool:
        try:
            if self._conn is None:
                self._conn = connect(self.setting)
            self._conn.execute("SELECT 1")
        except Exception:  # noqa: BLE001 - any failure means "not now"
            self._close()
            return False
        return True

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None
