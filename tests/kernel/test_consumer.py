"""The durable upstream consumer against a real nats-server, on SQLite and PostgreSQL.

A tiny downstream application counts the upstream positions it applies per
key (a ``Tally`` aggregate); the tests publish CloudEvents the way a relay does
and check what was stored, what was tracked and what reached the dead letters.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

import nats
import pytest
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate, event
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg

from revmentor.events.v1.enrolment_pb2 import ParticipantEnrolled, ProgrammeCreated
from revmentor.kernel import cloudevents
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.cloudevents import IntegrationEvent, ReceivedEvent
from revmentor.kernel.consumer import (
    CONFLICT_ATTEMPTS,
    SubscriptionRunner,
    UpstreamSubscription,
    run_subscriptions,
)
from revmentor.kernel.errors import ConcurrencyConflict, IllegalTransition
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.streams import DLQ_STREAM, declare_streams

UPSTREAM = "enrolment"
ENROLLED = "ParticipantEnrolled"
DEADLINE = 20.0


# -- the downstream service ---------------------------------------------------
class Tally(Aggregate):
    """The upstream positions seen for one key, in the order they were applied."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/tally/{key}")

    class Started(Aggregate.Created):
        key: str

    class Counted(Aggregate.Event):
        sequence: int

    @event(Started)
    def __init__(self, key: str) -> None:
        self.key = key
        self.seen: list[int] = []

    @event(Counted)
    def count(self, sequence: int) -> None:
        self.seen.append(sequence)


class Downstream(ServiceApplication):
    name = "downstream"

    def tally(self, key: str) -> list[int]:
        try:
            return list(self.repository.get(Tally.create_id(key)).seen)
        except AggregateNotFoundError:
            return []


class Behaviour:
    """The handler, with scripted failures; remembers every call and its thread."""

    def __init__(self, app: Downstream) -> None:
        self.app = app
        self.calls: list[int] = []
        self.times: dict[int, list[float]] = {}
        self.threads: set[str] = set()
        self.transient: dict[int, list[Exception]] = {}
        self.always: dict[int, Exception] = {}
        self.slow: dict[int, float] = {}

    def handle(self, received: ReceivedEvent) -> list[Tally]:
        seq = received.sequence
        self.calls.append(seq)
        self.times.setdefault(seq, []).append(time.monotonic())
        self.threads.add(threading.current_thread().name)
        if seq in self.slow:
            time.sleep(self.slow[seq])
        if self.transient.get(seq):
            raise self.transient[seq].pop(0)
        if seq in self.always:
            error = self.always[seq]
            raise type(error)(*error.args)  # a fresh exception per delivery
        key = received.subject
        try:
            tally: Tally = self.app.repository.get(Tally.create_id(key))
        except AggregateNotFoundError:
            tally = Tally(key)
        tally.count(seq)
        return [tally]


def subscription(app: Downstream, behaviour: Behaviour, **options: Any) -> UpstreamSubscription:
    settings: dict[str, Any] = {"backoff": (0.1,), "ack_wait": 2.0, **options}
    return UpstreamSubscription(app, UPSTREAM, {ENROLLED: behaviour.handle}, **settings)


def runner(server: LocalNatsServer, sub: UpstreamSubscription) -> SubscriptionRunner:
    return SubscriptionRunner(server.url, [sub], fetch_timeout=1.0, graceful_timeout=5.0)


# -- upstream publishing and NATS inspection --------------------------------------
@pytest.fixture
async def nc(nats_server: LocalNatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(nats_server.url, reconnect_time_wait=0.2, max_reconnect_attempts=-1)
    await declare_streams(client.jetstream())
    yield client
    await client.close()


@pytest.fixture
def js(nc: Client) -> JetStreamContext:
    return nc.jetstream()


def upstream_message(
    position: int, key: str = "k1", name: str = ENROLLED
) -> cloudevents.OutgoingMessage:
    message = (
        ProgrammeCreated(programme_id=key)
        if name == "ProgrammeCreated"
        else ParticipantEnrolled(participant_id=f"p{position}", programme_id=key, role="MENTOR")
    )
    envelope = {"actor": "u1", "correlation_id": "c1", "causation_id": "c1"}
    return cloudevents.encode(
        UPSTREAM, position, IntegrationEvent(name, key, message), datetime.now(UTC), envelope
    )


async def publish(
    js: JetStreamContext, position: int, key: str = "k1", name: str = ENROLLED, msg_id: str = ""
) -> cloudevents.OutgoingMessage:
    msg = upstream_message(position, key, name)
    headers = {**msg.headers, **({"Nats-Msg-Id": msg_id} if msg_id else {})}
    ack = await js.publish(msg.subject, msg.data, headers=headers)
    assert not ack.duplicate
    return msg


async def publish_until_stored(js: JetStreamContext, position: int) -> None:
    """Publish like a relay does while NATS comes back: retry; a duplicate is stored."""
    msg = upstream_message(position)
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            await js.publish(msg.subject, msg.data, headers=msg.headers, timeout=1.0)
            return
        except Exception:  # noqa: BLE001 - still reconnecting
            assert time.monotonic() < deadline, "NATS did not come back"
            await asyncio.sleep(0.1)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = DEADLINE) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not reached before the deadline"
        await asyncio.sleep(0.05)


async def dead_letters(js: JetStreamContext) -> list[RawStreamMsg]:
    count = (await js.stream_info(DLQ_STREAM)).state.messages
    return [await js.get_msg(DLQ_STREAM, seq) for seq in range(1, count + 1)]


async def tracked(app: Downstream) -> int:
    return await asyncio.to_thread(app.tracked_position, UPSTREAM)


# -- tests ----------------------------------------------------------------------
async def test_applies_each_event_once_in_order_and_stamps_the_envelope(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    sub = subscription(app, behaviour)
    for position, key in enumerate(["k1", "k2", "k1", "k2", "k1"], start=1):
        await publish(js, position, key)
    await publish(js, 6, "k1", name="ProgrammeCreated")  # no handler: tracked, not applied

    async with run_subscriptions(nats_server.url, [sub], fetch_timeout=1.0):
        assert await sub.wait_for_position(6, DEADLINE) == 6

    assert behaviour.calls == [1, 2, 3, 4, 5]
    assert app.tally("k1") == [1, 3, 5]
    assert app.tally("k2") == [2, 4]
    assert await tracked(app) == 6  # the event without a handler moved tracking too
    assert threading.main_thread().name not in behaviour.threads  # store work off the loop

    envelopes = [app.envelope_mapper.decode(n) for n in app.notifications(0, 100)]
    assert len(envelopes) == 7  # two Started + five Counted
    for domain_event, envelope in envelopes:
        assert envelope["correlation_id"] == "c1"
        assert envelope["actor"] == "service:downstream"
        if isinstance(domain_event, Tally.Counted):
            assert envelope["causation_id"] == f"enrolment:{domain_event.sequence}"
    started = [env["causation_id"] for ev, env in envelopes if isinstance(ev, Tally.Started)]
    assert started == ["enrolment:1", "enrolment:2"]


async def test_a_position_published_twice_is_applied_once(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    sub = subscription(app, behaviour)
    await publish(js, 1)
    await publish(js, 2)
    await publish(js, 2, msg_id="enrolment:2:republished")  # not deduplicated by JetStream
    await publish(js, 3)
    assert (await js.stream_info("REVMENTOR_ENROLMENT")).state.messages == 4

    async with SubscriptionRunner(nats_server.url, [sub], fetch_timeout=1.0):
        await sub.wait_for_position(3, DEADLINE)

        async def all_acknowledged() -> bool:
            info = await js.consumer_info("REVMENTOR_ENROLMENT", sub.durable)
            return info.ack_floor.stream_seq == 4 and info.num_ack_pending == 0

        await eventually(all_acknowledged)

    assert behaviour.calls == [1, 2, 3]
    assert app.tally("k1") == [1, 2, 3]


async def test_transient_failures_are_retried_with_backoff_and_hold_back_later_events(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    behaviour.transient[2] = [RuntimeError("connection reset"), RuntimeError("db blip")]
    sub = subscription(app, behaviour, backoff=(0.3, 0.6))
    for position in (1, 2, 3):
        await publish(js, position)

    async with runner(nats_server, sub):
        await sub.wait_for_position(3, DEADLINE)

    assert behaviour.calls == [1, 2, 2, 2, 3]  # 3 waited for 2 to succeed
    assert app.tally("k1") == [1, 2, 3]
    first, second, third = behaviour.times[2]
    assert second - first >= 0.28  # backoff[0] before the 2nd delivery
    assert third - second >= 0.58  # backoff[1] before the 3rd
    assert behaviour.times[3][0] > third
    assert await dead_letters(js) == []


async def test_a_message_that_keeps_failing_is_dead_lettered_and_consumption_moves_on(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    behaviour.always[2] = RuntimeError("boom\nsecond line")
    sub = subscription(app, behaviour, max_deliver=3)
    await publish(js, 1)
    original = await publish(js, 2)
    await publish(js, 3)

    async with runner(nats_server, sub):
        await sub.wait_for_position(3, DEADLINE)

    assert behaviour.calls == [1, 2, 2, 2, 3]
    assert app.tally("k1") == [1, 3]
    assert await tracked(app) == 3
    [letter] = await dead_letters(js)
    assert letter.subject == "revmentor.dlq.downstream.enrolment"
    assert letter.data == original.data
    headers = letter.headers or {}
    assert headers["ce-id"] == "enrolment:2"
    assert headers["ce-type"] == "revmentor.enrolment.v1.ParticipantEnrolled"
    assert headers["x-revmentor-error"] == "RuntimeError: boom second line"
    assert headers["x-revmentor-deliveries"] == "3"
    assert headers["x-revmentor-consumer"] == "downstream-from-enrolment"
    assert headers["Nats-Msg-Id"] == "dlq:downstream:enrolment:2"


async def test_domain_errors_and_malformed_messages_go_straight_to_the_dead_letters(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    behaviour.always[2] = IllegalTransition("programme is closed")
    sub = subscription(app, behaviour)
    await publish(js, 1)
    await publish(js, 2)
    await js.publish("revmentor.enrolment.v1.Junk.k1", b"not json", headers={"x-from": "test"})
    await publish(js, 3)

    async with runner(nats_server, sub):
        await sub.wait_for_position(3, DEADLINE)

    assert behaviour.calls == [1, 2, 3]  # no retry of the refusal
    assert app.tally("k1") == [1, 3]
    refused, malformed = await dead_letters(js)
    refused_headers = refused.headers or {}
    assert refused_headers["x-revmentor-error"] == "IllegalTransition: programme is closed"
    assert refused_headers["x-revmentor-deliveries"] == "1"
    assert refused_headers["ce-id"] == "enrolment:2"
    malformed_headers = malformed.headers or {}
    assert malformed.data == b"not json"
    assert malformed_headers["x-revmentor-error"].startswith("MalformedEvent: ")
    assert malformed_headers["x-revmentor-deliveries"] == "1"
    assert malformed_headers["x-from"] == "test"
    assert malformed_headers["x-revmentor-subject"] == "revmentor.enrolment.v1.Junk.k1"
    assert malformed_headers["Nats-Msg-Id"] == "dlq:downstream:REVMENTOR_ENROLMENT:3"


async def test_a_new_consumer_resumes_where_the_durable_left_off(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    first = Behaviour(app)
    first.slow[3] = 0.5
    sub = subscription(app, first)
    for position in (1, 2, 3):
        await publish(js, position)

    consuming = runner(nats_server, sub)
    await consuming.start()

    async def three_in_hand() -> bool:
        return 3 in first.calls

    await eventually(three_in_hand)
    await consuming.stop()  # while 3 is in hand: it is finished and acknowledged first

    assert sub.position() == 3
    info = await js.consumer_info("REVMENTOR_ENROLMENT", sub.durable)
    assert (info.ack_floor.stream_seq, info.num_ack_pending) == (3, 0)

    await publish(js, 4)
    await publish(js, 5)
    restarted_app = Downstream(env=store)  # a new process: new app, same store and durable
    second = Behaviour(restarted_app)
    resumed = subscription(restarted_app, second)
    async with runner(nats_server, resumed):
        await resumed.wait_for_position(5, DEADLINE)

    assert first.calls == [1, 2, 3]
    assert second.calls == [4, 5]
    assert restarted_app.tally("k1") == [1, 2, 3, 4, 5]


async def test_replicas_sharing_the_durable_apply_each_event_once_in_order(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    """A handler slower than ack_wait is not redelivered to the idle replica meanwhile."""
    apps = [Downstream(env=store), Downstream(env=store)]
    behaviours = [Behaviour(app) for app in apps]
    for behaviour in behaviours:
        behaviour.slow[1] = 1.5
    subs = [subscription(app, b, ack_wait=1.0) for app, b in zip(apps, behaviours, strict=True)]
    for position in (1, 2, 3):
        await publish(js, position)

    async with runner(nats_server, subs[0]), runner(nats_server, subs[1]):
        await subs[0].wait_for_position(3, DEADLINE)

    timeline = sorted((t, seq) for b in behaviours for seq, ts in b.times.items() for t in ts)
    assert [seq for _, seq in timeline] == [1, 2, 3]
    assert apps[1].tally("k1") == [1, 2, 3]


async def test_recovers_from_a_nats_server_crash_and_applies_everything_exactly_once(
    store: dict[str, str], nats_server: LocalNatsServer, js: JetStreamContext
) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    behaviour.slow = dict.fromkeys(range(1, 31), 0.02)  # still busy when the server dies
    sub = subscription(app, behaviour)
    for position in range(1, 31):
        await publish(js, position)

    async with runner(nats_server, sub):
        await sub.wait_for_position(5, DEADLINE)
        nats_server.kill()  # SIGKILL mid-stream; the store directory survives
        assert sub.position() < 30
        nats_server.start()
        for position in range(31, 41):
            await publish_until_stored(js, position)
        await sub.wait_for_position(40, DEADLINE)

    assert app.tally("k1") == list(range(1, 41))
    assert await tracked(app) == 40
    counted = [n for n in app.notifications(0, 1000) if "Counted" in n.topic]
    assert len(counted) == 40


def received(sequence: int, subject: str = "k1") -> ReceivedEvent:
    return ReceivedEvent(
        id=f"{UPSTREAM}:{sequence}",
        source=f"/revmentor/{UPSTREAM}",
        type=f"revmentor.{UPSTREAM}.v1.{ENROLLED}",
        time=datetime.now(UTC).isoformat(),
        subject=subject,
        sequence=sequence,
        actor="service:enrolment",
        correlation_id="c",
        causation_id="c",
        traceparent="",
        data={},
    )


def test_lost_races_are_rerun_in_place_not_spent_as_deliveries(store: dict[str, str]) -> None:
    app = Downstream(env=store)
    behaviour = Behaviour(app)
    sub = subscription(app, behaviour)
    behaviour.transient[1] = [ConcurrencyConflict("lost"), ConcurrencyConflict("lost again")]
    assert sub.apply(received(1))  # one delivery: the handler ran three times
    assert behaviour.calls == [1, 1, 1] and app.tally("k1") == [1]
    # a race lost every time within one delivery: left to the redelivery
    behaviour.transient[2] = [ConcurrencyConflict("busy")] * CONFLICT_ATTEMPTS
    with pytest.raises(ConcurrencyConflict):
        sub.apply(received(2))
    assert behaviour.calls.count(2) == CONFLICT_ATTEMPTS and app.tally("k1") == [1]
    assert sub.apply(received(2)) and app.tally("k1") == [1, 2]
