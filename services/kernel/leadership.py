"""One leader per service: the process that runs its singleton duties.

Replicas of a service share its store and its consumers (a durable JetStream
consumer lets one message be in flight at a time, whichever replica pulls it).
Three duties are better done by one process at a time, though each stays
correct if two overlap for a moment:

- the outbox relay: concurrent relays are safe (publishes are chained by
  ``Nats-Expected-Last-Msg-Id`` and deduplicated by ``Nats-Msg-Id``) but on a
  clustered JetStream they trip over each other's in-flight duplicates
  ("duplicate message id is in process") and retry;
- the audit checkpoints: each is chained on the audit stream's last sequence;
- the timers (reminders, expiries, deadlines, stalls, feedback windows): their
  effects are guarded by aggregate versions, so two runs fire once, but the
  loser's work is wasted and logged as a conflict.

The leader is the process holding a PostgreSQL session advisory lock named
after the service, on a connection of its own: when the process dies, or its
connection does, the lock is released and another replica takes it within
:data:`POLL_SECONDS`. A leader that cannot reach its connection steps down.
On SQLite there is one process per store, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from revmentor.kernel.schema import Setting, connect, on_postgres

log = logging.getLogger(__name__)

#: How often a follower tries to take the lead, and a leader checks it still holds it.
POLL_SECONDS = 2.0

Duty = Callable[[asyncio.Event], Awaitable[None]]


class Leadership:
    """Whether this process leads ``service`` (see the module docstring)."""

    def __init__(self, service: str, setting: Setting, poll_seconds: float = POLL_SECONDS):
        self.service = service
        self.setting = setting
        self.poll_seconds = poll_seconds
        self.always = not on_postgres(setting)
        self._leading = asyncio.Event()
        self._lost = asyncio.Event()
        self._conn: Any = None
        if self.always:
            self._leading.set()

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    async def run(self, stop: asyncio.Event) -> None:
        """Take the lead when free, keep checking it is held, until ``stop``.
        (The database calls run in worker threads; the events change here.)"""
        if self.always:
            return
        try:
            while not stop.is_set():
                if self.leading and not await asyncio.to_thread(self._still_held):
                    self._leading.clear()
                    self._lost.set()
                elif not self.leading and await asyncio.to_thread(self._take):
                    log.info("%s: this process leads (relay, checkpoints, timers)", self.service)
                    self._lost.clear()
                    self._leading.set()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
        finally:
            if self.leading:
                self._leading.clear()
                self._lost.set()
            await asyncio.to_thread(self._close)

    def _take(self) -> bool:
        try:
            if self._conn is None:
                self._conn = connect(self.setting)
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(hashtext(%s))", (self._key,)
            ).fetchone()
        except Exception as error:  # noqa: BLE001 - PostgreSQL away: try again next poll
            log.warning("%s: cannot ask for the lead (%s)", self.service, error)
            self._close()
            return False
        return bool(row and row[0])

    def _still_held(self) -> bool:
        try:
            self._conn.execute("SELECT 1")
        except Exception as error:  # noqa: BLE001 - the lock went with the connection
            log.warning("%s: lost the lead (%s)", self.service, error)
            self._close()
            return False
        return True

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None

    @property
    def _key(self) -> str:
        return f"revmentor:lead:{self.service}"

    async def lead(self, duty: Duty, stop: asyncio.Event) -> None:
        """Run ``duty`` while leading; stop it when the lead is lost, run it
        again when it comes back, until ``stop``."""
        while not stop.is_set():
            if not await _first(self._leading, stop):
                return
            term = asyncio.Event()
            watcher = asyncio.ensure_future(_either(stop, self._lost, term))
            try:
                await duty(term)
            except Exception:  # a duty that fails is run again, never silently lost
                log.exception("%s: a leader's duty failed; running it again", self.service)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
            finally:
                watcher.cancel()


async def _first(wanted: asyncio.Event, stop: asyncio.Event) -> bool:
    """Wait for ``wanted`` or ``stop``; True when ``wanted`` came (and not stop)."""
    waiters = [asyncio.ensure_future(wanted.wait()), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for waiter in waiters:
        waiter.cancel()
    return wanted.is_set() and not stop.is_set()


async def _either(stop: asyncio.Event, lost: asyncio.Event, term: asyncio.Event) -> None:
    """Set ``term`` as soon as ``stop`` or ``lost`` is."""
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(lost.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    term.set()
