"""The outbox relay against a real nats-server, on SQLite and PostgreSQL.

What must hold (DESIGN 3.1): every integration event reaches the stream once,
in log order, as a CloudEvent with Nats-Msg-Id = <service>:<notification id>;
the stored position never passes an unacknowledged event; a crash or a NATS
outage re-publishes at most the unacknowledged tail, which JetStream dedupes.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import nats
import pytest
from eventsourcing.domain import Aggregate, event
from support import eventually, read_stream

from revmentor.events.v1 import enrolment_pb2 as pb
from revmentor.kernel.application import RELAY_TRACKING, ServiceApplication
from revmentor.kernel.cloudevents import IntegrationEvent, translator
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay

STREAM = "REVMENTOR_LEDGER"


class Entry(Aggregate):
    @event("Written")
    def __init__(self, topic: str):
        self.topic = topic

    @event("Noted")
    def note(self) -> None:
        """A private event: never published, but the relay must move past it."""


class Ledger(ServiceApplication):
    name = "ledger"

    def write(self, n: int) -> None:
        for i in range(n):
            entry = Entry(topic=f"t{i}")
            entry.note()
            self.save(entry)


def translate(e: Any) -> IntegrationEvent | None:
    if isinstance(e, Entry.Written):
        return IntegrationEvent("EntryWritten", "p1", pb.ProgrammeLaunched(programme_id=e.topic))
    return None


async def run_relay(app: Ledger, url: str, **kwargs: Any) -> tuple[Relay, asyncio.Event, Any]:
    stop = asyncio.Event()
    relay = Relay(app, translate, url, idle_seconds=0.02, **kwargs)
    return relay, stop, asyncio.create_task(relay.run(stop))


async def stream_count(url: str) -> int:
    return len(await read_stream(url, STREAM))


def assert_once_in_order(messages: list[Any], expected: int) -> None:
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    positions = [int(m.headers["ce-sequence"]) for m in messages]
    assert len(ids) == expected == len(set(ids)), "each event exactly once"
    assert positions == sorted(positions), "stream order is log order"
    assert all(i == f"ledger:{p}" for i, p in zip(ids, positions, strict=True))


async def test_publishes_each_integration_event_once_in_order(
    nats_server: LocalNatsServer, store: dict[str, str]
) -> None:
    app = Ledger(env=store)
    app.write(30)  # 60 notifications: 30 published, 30 private
    _relay, stop, task = await run_relay(app, nats_server.url, batch=7)

    await eventually(lambda: _equals(stream_count(nats_server.url), 30), what="30 published")
    await eventually(
        lambda: _true(app.tracked_position(RELAY_TRACKING) == 60),
        what="position past the private tail",
    )
    stop.set()
    await task

    messages = await read_stream(nats_server.url, STREAM)
    assert_once_in_order(messages, 30)
    first = messages[0]
    assert first.subject == "revmentor.ledger.v1.EntryWritten.p1"
    assert first.headers["ce-type"] == "revmentor.ledger.v1.EntryWritten"
    assert first.headers["ce-source"] == "/revmentor/ledger"
    assert first.headers["ce-specversion"] == "1.0"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["ce-actor"] == "system"
    assert first.data == b'{"programmeId": "t0"}'


async def test_events_a_translator_never_publishes_are_not_even_decoded(
    nats_server: LocalNatsServer, store: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A service's translator names what it publishes; the relay passes over
    the other events by their topic (their position still counts)."""
    app = Ledger(env=store)
    app.write(10)  # 20 notifications: 10 Written (published), 10 Noted (private)
    decoded: list[str] = []
    decode = app.envelope_mapper.decode

    def counted(stored: Any, personal: bool = True) -> Any:
        decoded.append(stored.topic)
        return decode(stored, personal)

    monkeypatch.setattr(app.envelope_mapper, "decode", counted)
    stop = asyncio.Event()
    published_only = translator({"Entry.Written": translate})
    task = asyncio.create_task(Relay(app, published_only, nats_server.url).run(stop))
    await eventually(
        lambda: _true(app.tracked_position(RELAY_TRACKING) == 20), what="all 20 positions"
    )
    stop.set()
    await task
    assert await stream_count(nats_server.url) == 10
    assert len(decoded) == 10 and all(t.endswith("Entry.Written") for t in decoded)


async def test_crash_before_position_is_stored_republishes_without_duplicates(
    nats_server: LocalNatsServer, store: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = Ledger(env=store)
    app.write(20)

    def crash(*args: Any) -> None:
        raise RuntimeError("process died before storing its position")

    with monkeypatch.context() as patch:
        patch.setattr(app.process_recorder, "insert_tracking", crash)
        _first, stop, task = await run_relay(app, nats_server.url)
        await eventually(lambda: _equals(stream_count(nats_server.url), 20), what="published")
        stop.set()
        await task
    assert app.tracked_position(RELAY_TRACKING) == 0, "position never stored"

    app.write(5)
    second, stop, task = await run_relay(app, nats_server.url)
    await eventually(lambda: _true(app.tracked_position(RELAY_TRACKING) == 50), what="resume")
    stop.set()
    await task
    assert second.published == 5, "what the stream already held was not sent again"
    assert_once_in_order(await read_stream(nats_server.url, STREAM), 25)


async def test_two_relays_on_one_store_publish_each_event_once(
    nats_server: LocalNatsServer, store: dict[str, str]
) -> None:
    """Scale-out: replicas share the store; dedupe and the chain keep one copy, in order."""
    replicas = [Ledger(env=store), Ledger(env=store)]
    runs = [await run_relay(app, nats_server.url, batch=5) for app in replicas]
    writers = [asyncio.to_thread(app.write, 20) for app in replicas]
    await asyncio.gather(*writers)
    await eventually(lambda: _equals(stream_count(nats_server.url), 40), what="40 published")
    for app in replicas:
        await eventually(
            lambda app=app: _true(app.tracked_position(RELAY_TRACKING) == 80),
            what="both positions at the end",
        )
    for _, stop, task in runs:
        stop.set()
        await task
    assert_once_in_order(await read_stream(nats_server.url, STREAM), 40)


async def test_position_never_passes_an_unacknowledged_event(
    nats_server: LocalNatsServer, store: dict[str, str]
) -> None:
    app = Ledger(env=store)
    app.write(10)
    relay = Relay(app, translate, nats_server.url)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    from revmentor.kernel.streams import ensure_stream, service_stream_config

    await ensure_stream(js, service_stream_config("ledger"))
    original = js.publish_async
    failed: list[str] = []

    async def flaky(subject: str, payload: bytes, **kwargs: Any) -> Any:
        if kwargs["headers"]["ce-sequence"] == "9" and not failed:
            failed.append(subject)
            raise TimeoutError("no PubAck")
        return await original(subject, payload, **kwargs)

    js.publish_async = flaky  # type: ignore[method-assign]
    stop = asyncio.Event()
    with pytest.raises(ConnectionError):
        await relay.publish_pages(js, stop)
    assert app.tracked_position(RELAY_TRACKING) == 8, "stops before the unacked event 9"
    assert await relay.publish_pages(js, stop)
    assert app.tracked_position(RELAY_TRACKING) == 20
    await nc.close()
    assert_once_in_order(await read_stream(nats_server.url, STREAM), 10)


async def test_a_failure_with_the_next_page_in_flight_loses_and_repeats_nothing(
    nats_server: LocalNatsServer, store: dict[str, str]
) -> None:
    """Pages are pipelined: page 2 is on the wire while page 1's acks come in.
    Event 9 (page 1 of 10 notifications) is never acknowledged: the position
    stops at 8, page 2 (chained after 9) is refused and dropped, and the next
    round re-sends from 9 - every event once, in log order."""
    app = Ledger(env=store)
    app.write(15)  # 30 notifications: pages of 10, odd positions published
    relay = Relay(app, translate, nats_server.url, batch=10, ack_timeout=1.0)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    from revmentor.kernel.streams import ensure_stream, service_stream_config

    await ensure_stream(js, service_stream_config("ledger"))
    original = js.publish_async
    dropped: list[str] = []
    sent_after_drop: list[str] = []

    async def lossy(subject: str, payload: bytes, **kwargs: Any) -> Any:
        sequence = kwargs["headers"]["ce-sequence"]
        if sequence == "9" and not dropped:
            dropped.append(sequence)  # on the wire, but its ack never comes
            return asyncio.get_running_loop().create_future()
        if dropped and len(dropped) == 1:
            sent_after_drop.append(sequence)
        return await original(subject, payload, **kwargs)

    js.publish_async = lossy  # type: ignore[method-assign]
    stop = asyncio.Event()
    with pytest.raises(ConnectionError):
        await relay.publish_pages(js, stop)
    assert "11" in sent_after_drop, "page 2 was sent before page 1 was settled"
    assert app.tracked_position(RELAY_TRACKING) == 8, "stops before the unacked event 9"
    assert await relay.publish_pages(js, stop)
    assert app.tracked_position(RELAY_TRACKING) == 30
    await nc.close()
    assert_once_in_order(await read_stream(nats_server.url, STREAM), 15)


async def test_survives_nats_crash_and_waits_for_nats_at_start(
    tmp_path: Path, store: dict[str, str]
) -> None:
    server = LocalNatsServer(store_dir=tmp_path / "nats")  # not started yet
    app = Ledger(env=store)
    app.write(5)
    _relay, stop, task = await run_relay(app, server.url)
    await asyncio.sleep(0.3)  # the relay is retrying its connection now
    server.start()
    try:
        await eventually(lambda: _equals(stream_count(server.url), 5), what="first 5")
        server.kill()  # kill -9: JetStream loses nothing it acknowledged
        await asyncio.to_thread(app.write, 5)
        server.start()
        await eventually(
            lambda: _equals(stream_count(server.url), 10), timeout=30, what="all 10 after restart"
        )
        await eventually(lambda: _true(app.tracked_position(RELAY_TRACKING) == 20), what="pos")
        stop.set()
        await asyncio.wait_for(task, 15)
        assert_once_in_order(await read_stream(server.url, STREAM), 10)
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 5)
        server.stop()


async def _equals(value: Any, expected: int) -> bool:
    return bool(await value == expected)


async def _true(value: bool) -> bool:
    return value
