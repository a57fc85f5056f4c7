"""Poison messages end to end: the real enrolment relay, a real nats-server and
training's real enrolment consumer, on SQLite and PostgreSQL.

The kernel's consumer tests (tests/kernel/test_consumer.py) prove dead-lettering
with a toy downstream application. This proves it for a real service: the
enrolment application and its relay publish programmes and enrolments to
REVMENTOR_ENROLMENT, and training consumes them with its own handlers. On that
stream sit a message that is not a CloudEvent, a relay message whose body was
corrupted, and a real enrolment whose training handler keeps failing with a
transient error (the store "connection lost"). Must hold:

- the malformed messages reach REVMENTOR_DLQ after one delivery (retrying
  cannot fix them), the failing one after exactly ``max_deliver`` deliveries
  with the backoff between them; each letter carries the original body and
  the error, deliveries, consumer, subject and stream-sequence headers;
- the consumer's lag returns to zero (JetStream's own view: nothing pending,
  nothing awaiting an ack, the ack floor at the stream's end);
- every good enrolment before and after the poison gets exactly one training
  record, opened in stream order; the poisoned one gets none (it is not
  applied later behind the consumer's back), and the consumer keeps going.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import nats
import pytest
from nats.js import JetStreamContext
from support import read_stream

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.integration import translate
from revmentor.kernel.application import RELAY_TRACKING
from revmentor.kernel.consumer import run_subscriptions
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay
from revmentor.kernel.streams import DLQ_STREAM
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.record import TrainingRecord
from revmentor.training.subscriptions import enrolment_subscription

STREAM = "REVMENTOR_ENROLMENT"
DURABLE = "training-from-enrolment"
MAX_DELIVER = 3
BACKOFF = (0.2, 0.4)
DEADLINE = 30.0


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not await check():
        assert time.monotonic() < deadline, f"not reached before the deadline: {what}"
        await asyncio.sleep(0.05)


def profile(n: int, role: str) -> Profile:
    mentor = role == MENTOR
    return Profile(
        display_name=f"Person {n}",
        email=f"p{n}@example.com",
        birth_year=1995 if mentor else 1968,
        department="Finance",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en",),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=(AvailabilityWindow(1, "09:00", "12:00"),),
    )


async def last_published(url: str) -> int:
    """The log position of the relay's latest message on the stream."""
    messages = await read_stream(url, STREAM)
    relayed = [m for m in messages if m.headers.get("ce-id", "").startswith("enrolment:")]
    return max(int(m.headers["ce-sequence"]) for m in relayed)


class FlakyStore:
    """training's ``find_record``, losing its database connection for one participant."""

    def __init__(self, app: TrainingApplication, poisoned: set[str]) -> None:
        self.real = app.find_record
        self.poisoned = poisoned
        self.failures: list[float] = []

    def __call__(self, participant_id: UUID) -> TrainingRecord | None:
        if str(participant_id) in self.poisoned:
            self.failures.append(time.monotonic())
            raise ConnectionError("server closed the connection unexpectedly")
        return self.real(participant_id)


@pytest.fixture
async def relay_of(nats_server: LocalNatsServer) -> AsyncIterator[Callable[[Any], Any]]:
    """Start the outbox relay of an application; stopped at the end."""
    running: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    def start(app: EnrolmentApplication) -> tuple[asyncio.Event, asyncio.Task[None]]:
        stop = asyncio.Event()
        relay = Relay(app, translate, nats_server.url, idle_seconds=0.02)
        run = (stop, asyncio.create_task(relay.run(stop)))
        running.append(run)
        return run

    yield start
    for stop, task in running:
        stop.set()
        await asyncio.wait_for(task, 10)


async def test_poison_messages_are_dead_lettered_and_training_moves_on(
    tmp_path: Path,
    store: dict[str, str],
    nats_server: LocalNatsServer,
    relay_of: Callable[[Any], Any],
) -> None:
    enrolment = EnrolmentApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    training = TrainingApplication(env=store)
    nc = await nats.connect(nats_server.url)
    js: JetStreamContext = nc.jetstream()
    stop_relay, relay_task = asyncio.Event(), None  # the relay running, if any
    try:
        programme = enrolment.create_programme(
            "Poison cohort",
            "",
            "2027-01-11",
            "2027-06-30",
            [Topic("generative-ai", "Generative AI")],
            ProgrammeRules(),
        )
        programme_id = str(programme.id)
        enrolment.open_enrolment(programme_id)
        consent = Consent(True, "2027-01")

        def enrol(n: int) -> str:
            role = MENTOR if n % 2 else MENTEE
            return str(enrolment.enrol(programme_id, f"E-{n}", role, profile(n, role), consent).id)

        def published_up_to_log_end() -> Callable[[], Awaitable[bool]]:
            end = enrolment.recorder.max_notification_id() or 0

            async def done() -> bool:
                return enrolment.tracked_position(RELAY_TRACKING) >= end

            return done

        # -- before the poison: two good enrolments, then the one training cannot store
        stop_relay, relay_task = relay_of(enrolment)
        before = [enrol(1), enrol(2)]
        poisoned = enrol(3)
        flaky = FlakyStore(training, {poisoned})
        training.find_record = flaky  # type: ignore[method-assign]
        await eventually(published_up_to_log_end(), "the first enrolments published")
        stop_relay.set()
        await asyncio.wait_for(relay_task, 10)

        # -- on the stream, between relay runs: a stranger's message and a corrupted copy
        messages = await read_stream(nats_server.url, STREAM)
        last = messages[-1]
        assert last.headers["ce-subject"] == programme_id
        garbage = b"\x00\xff definitely not a cloud event"
        await js.publish(
            f"revmentor.enrolment.v1.ParticipantEnrolled.{programme_id}",
            garbage,
            headers={"x-from": "a misconfigured integrator"},
        )
        copied = {k: v for k, v in last.headers.items() if not k.startswith("Nats-")}
        corrupted = {**copied, "Nats-Msg-Id": "enrolment:corrupted", "ce-id": "corrupted"}
        truncated = last.data[: len(last.data) // 2]
        await js.publish(last.subject, truncated, headers=corrupted)

        # -- after the poison: the relay starts again and three more people enrol
        stop_relay, relay_task = relay_of(enrolment)
        after = [enrol(4), enrol(5), enrol(6)]
        await eventually(published_up_to_log_end(), "the later enrolments published")
        end = await last_published(nats_server.url)

        subscription = enrolment_subscription(
            training, max_deliver=MAX_DELIVER, backoff=BACKOFF, ack_wait=5.0
        )
        async with run_subscriptions(nats_server.url, [subscription], fetch_timeout=0.5):
            await subscription.wait_for_position(end, DEADLINE)

            async def caught_up() -> bool:
                info = await js.consumer_info(STREAM, DURABLE)
                stream = await js.stream_info(STREAM)
                return (
                    info.num_pending == 0
                    and info.num_ack_pending == 0
                    and info.ack_floor.stream_seq == stream.state.last_seq
                )

            await eventually(caught_up, "the consumer's lag back to zero")

            # the fault is repaired: the consumer is alive and does not go back for the poison
            training.find_record = flaky.real  # type: ignore[method-assign]
            late = enrol(7)
            await eventually(published_up_to_log_end(), "the late enrolment published")
            end = await last_published(nats_server.url)
            await subscription.wait_for_position(end, DEADLINE)
            await eventually(caught_up, "the lag back to zero after the late enrolment")

        # -- the dead letters: three, in stream order, each with why and how often
        letters = await read_stream(nats_server.url, DLQ_STREAM)
        assert [m.headers["x-revmentor-consumer"] for m in letters] == [DURABLE] * 3
        assert {m.subject for m in letters} == {"revmentor.dlq.training.enrolment"}
        failing, stranger, broken = letters
        stream_seq = {m.headers.get("Nats-Msg-Id", ""): m.seq for m in messages}

        assert failing.headers["ce-type"] == "revmentor.enrolment.v1.ParticipantEnrolled"
        assert poisoned.encode() in failing.data
        assert failing.headers["x-revmentor-deliveries"] == str(MAX_DELIVER)
        assert failing.headers["x-revmentor-error"] == (
            "ConnectionError: server closed the connection unexpectedly"
        )
        assert failing.headers["Nats-Msg-Id"] == f"dlq:training:{failing.headers['ce-id']}"
        assert failing.headers["x-revmentor-stream-sequence"] == str(
            stream_seq[failing.headers["ce-id"]]
        )
        assert len(flaky.failures) == MAX_DELIVER, "delivered max_deliver times, then given up"
        gaps = [b - a for a, b in zip(flaky.failures, flaky.failures[1:], strict=False)]
        assert all(gap >= delay - 0.02 for gap, delay in zip(gaps, BACKOFF, strict=True)), gaps

        assert stranger.data == garbage
        assert stranger.headers["x-revmentor-deliveries"] == "1", "malformed: at once"
        assert stranger.headers["x-revmentor-error"].startswith("MalformedEvent: not a revmentor")
        assert stranger.headers["x-from"] == "a misconfigured integrator"
        assert stranger.headers["x-revmentor-subject"].startswith(
            "revmentor.enrolment.v1.ParticipantEnrolled."
        )
        assert stranger.headers["x-revmentor-stream-sequence"] == str(len(messages) + 1)

        assert broken.data == truncated
        assert broken.headers["x-revmentor-deliveries"] == "1", "malformed: at once"
        assert broken.headers["x-revmentor-error"].startswith("MalformedEvent: unreadable event")
        assert broken.headers["Nats-Msg-Id"] == "dlq:training:corrupted"
        assert broken.headers["x-revmentor-stream-sequence"] == str(len(messages) + 2)

        # -- training: one record per good enrolment, opened in stream order; none for the poison
        opened = [
            str(event.participant_id)
            for notification in training.notifications(0, 10_000)
            for event in [training.envelope_mapper.decode(notification)[0]]
            if type(event).__qualname__ == "TrainingRecord.Opened"
        ]
        assert opened == [*before, *after, late]
        assert training.find_record(UUID(poisoned)) is None
        readiness = training.readiness(programme_id)
        assert sum(readiness["counts"].values()) == len(opened)
        assert training.tracked_position("enrolment") == end
    finally:
        # the relay's worker thread reads enrolment's store: stop it before closing that
        stop_relay.set()
        if relay_task is not None:
            await asyncio.wait_for(relay_task, 10)
        await nc.close()
        training.close()
        enrolment.close()
