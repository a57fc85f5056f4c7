"""The nats-server killed (SIGKILL) and restarted while the outbox relay is in
the middle of a burst, on SQLite and PostgreSQL.

The relay tests (tests/kernel/test_relay.py) kill NATS while the relay is
idle. Here the relay is working through a backlog of 1,000 integration
events in pipelined pages while 1,000 more are being saved as fast as the
store takes them; the server is killed at a random point with a page in
flight, stays down longer than the relay waits for acknowledgements (so the
relay does see publishes fail: some stored, their acks lost, some never
stored), the writer carries on through the outage, and the server is
restarted on the same store directory. Must hold afterwards, by themselves
(nobody pokes the relay or the consumer):

- the stream holds exactly the log's published events, each once
  (``Nats-Msg-Id`` unique), in log order (ce-sequence strictly increasing and
  equal to the positions of the log's publishable events: none missing, none
  extra), stored back to back (stream sequences 1..N);
- the relay's stored position reaches the end of the log;
- a durable consumer running throughout catches up by itself and applies
  every event exactly once, in order.

The kill point and outage length come from a seeded random generator (SEED).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from support import read_stream

from revmentor.events.v1 import enrolment_pb2 as pb
from revmentor.kernel.application import RELAY_TRACKING, ServiceApplication
from revmentor.kernel.cloudevents import IntegrationEvent, ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription, run_subscriptions
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay

pytestmark = pytest.mark.timeout(120)

SEED = 424242
SERVICE = "burst"
STREAM = "REVMENTOR_BURST"
TOTAL = 2000
#: Aggregates saved per transaction by the writer.
BATCH = 20
#: How long the relay waits for PubAcks; the outage is longer.
ACK_TIMEOUT = 1.0
DEADLINE = 60.0


class Entry(Aggregate):
    @event("Written")
    def __init__(self, number: int):
        self.number = number

    @event("Noted")
    def note(self) -> None:
        """A private event: never published, but the relay must move past it."""


class Burst(ServiceApplication):
    name = SERVICE

    def write(self, first: int, count: int) -> None:
        entries = []
        for number in range(first, first + count):
            entry = Entry(number)
            entry.note()
            entries.append(entry)
        self.save(*entries)


class Watcher(ServiceApplication):
    name = "burstwatch"


def translate(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Entry.Written):
        message = pb.ProgrammeLaunched(programme_id=f"entry-{e.number}")
        return IntegrationEvent("EntryWritten", "ledger", message)
    return None


def publishable_positions(app: Burst) -> list[int]:
    """The log positions of the events the relay must publish, in log order."""
    return [n.id for n in app.notifications(0, 10 * TOTAL) if n.topic.endswith("Entry.Written")]


async def eventually_true(check: Any, what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"not reached within {DEADLINE}s: {what}"
        await asyncio.sleep(0.1)


async def test_nats_killed_mid_burst_loses_and_duplicates_nothing(
    tmp_path: Path,
    store: dict[str, str],
    nats_server: LocalNatsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = random.Random(SEED)
    kill_after = rng.randint(200, 800)
    outage = ACK_TIMEOUT + rng.uniform(0.2, 1.0)
    app = Burst(env=store)
    watcher = Watcher(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "w.db")}
    )
    applied: list[int] = []

    def entry_written(received: ReceivedEvent) -> list[Any]:
        applied.append(received.sequence)
        return []

    subscription = UpstreamSubscription(
        watcher, SERVICE, {"EntryWritten": entry_written}, backoff=(0.2,), ack_wait=2.0
    )
    for first in range(0, TOTAL // 2, BATCH):  # the backlog
        app.write(first, BATCH)
    caplog.set_level(logging.WARNING, logger="revmentor.kernel.relay")
    relay = Relay(app, translate, nats_server.url, idle_seconds=0.02, ack_timeout=ACK_TIMEOUT)
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    writing_done = threading.Event()

    def writer() -> None:
        for first in range(TOTAL // 2, TOTAL, BATCH):
            app.write(first, BATCH)
        writing_done.set()

    try:
        async with run_subscriptions(
            nats_server.url, [subscription], fetch_timeout=0.5, graceful_timeout=2.0
        ):
            writing = asyncio.create_task(asyncio.to_thread(writer))
            deadline = time.monotonic() + DEADLINE
            while relay.published < kill_after:
                assert time.monotonic() < deadline, f"relay at {relay.published} of {kill_after}"
                await asyncio.sleep(0.001)
            nats_server.kill()  # SIGKILL with a page of publishes in flight
            published_at_kill = relay.published
            assert published_at_kill < TOTAL, "killed in the middle of the burst"
            await asyncio.sleep(outage)
            nats_server.start()  # same port, same store directory
            await writing
            end = app.recorder.max_notification_id()

            async def relay_at_end() -> bool:
                return await asyncio.to_thread(app.tracked_position, RELAY_TRACKING) >= end

            await eventually_true(relay_at_end, "the relay's position at the end of the log")
            positions = publishable_positions(app)
            assert len(positions) == TOTAL
            await subscription.wait_for_position(positions[-1], DEADLINE)

        messages = await read_stream(nats_server.url, STREAM)
        ids = [m.headers["Nats-Msg-Id"] for m in messages]
        on_stream = [int(m.headers["ce-sequence"]) for m in messages]
        assert len(ids) == len(set(ids)), "no event twice on the stream"
        assert on_stream == positions, "exactly the log's publishable events, in log order"
        assert ids == [f"{SERVICE}:{p}" for p in positions]
        assert [m.seq for m in messages] == list(range(1, TOTAL + 1)), "nothing else stored"
        assert applied == positions, "the consumer applied each event once, in order"
        assert watcher.tracked_position(SERVICE) == positions[-1]
        failures = [r.getMessage() for r in caplog.records if r.name == "revmentor.kernel.relay"]
        assert any("failed" in f or "could not publish" in f for f in failures), (
            "the relay saw the outage"
        )
        print(
            f"seed {SEED}: killed after {published_at_kill} published "
            f"(threshold {kill_after}), outage {outage:.2f}s"
        )
    finally:
        stop.set()
        await asyncio.wait_for(relaying, 15)
        watcher.close()
        app.close()
