"""Durable, ordered, idempotent consumption of another service's integration events.

A service that reacts to an upstream service declares one
:class:`UpstreamSubscription` per upstream (its application, the upstream's
name, one handler per event name) and runs them with :func:`run_subscriptions`
(or a :class:`SubscriptionRunner`). DESIGN "Idempotent, ordered consumption":

- **Order.** The JetStream consumer lets one message be unacknowledged at a
  time (``max_ack_pending=1``) and messages are handled one by one, so a message
  waiting for a retry holds back every message behind it.
- **Exactly-once effect.** The events a handler causes and the upstream
  position are saved in one transaction (``record_processed``); a position at or
  below the tracked one is acknowledged without being applied again, so
  redelivery, re-publication and crashes never apply an event twice.
- **No poison pill.** What retrying cannot fix (a malformed message, a
  :class:`DomainError`) and what still fails after ``max_deliver`` deliveries is
  published to the dead-letter stream, and only then acknowledged, so the
  consumer moves on without losing the message.

This is an adapter: handlers are plain synchronous functions from a
:class:`ReceivedEvent` to the aggregates they changed, and never see NATS.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from faststream.middlewares import AckPolicy
from faststream.nats import JStream, NatsBroker, PullSub
from faststream.nats.message import NatsMessage
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import ConsumerConfig, DeliverPolicy, ReplayPolicy
from opentelemetry import trace

from revmentor.kernel.application import Saveable, ServiceApplication
from revmentor.kernel.cloudevents import (
    MSG_ID_HEADER,
    MalformedEvent,
    ReceivedEvent,
    decode,
    stream_name,
)
from revmentor.kernel.context import RequestContext, acting_as
from revmentor.kernel.errors import ConcurrencyConflict, DomainError
from revmentor.kernel.natsauth import nats_broker_options
from revmentor.kernel.settings import nats_servers
from revmentor.kernel.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX, SERVICES, declare_streams
from revmentor.kernel.telemetry import context_from, current_traceparent

log = logging.getLogger(__name__)
_tracer = trace.get_tracer("revmentor.kernel.consumer")

#: faststream logs every message at INFO; that costs more than handling most of them.
broker_log = logging.getLogger(f"{__name__}.faststream")
broker_log.setLevel(logging.WARNING)

#: A handler loads or creates aggregates through the app and returns them unsaved.
Handler = Callable[[ReceivedEvent], Sequence[Saveable]]

ERROR_HEADER = "x-revmentor-error"
DELIVERIES_HEADER = "x-revmentor-deliveries"
CONSUMER_HEADER = "x-revmentor-consumer"
SUBJECT_HEADER = "x-revmentor-subject"
STREAM_SEQUENCE_HEADER = "x-revmentor-stream-sequence"
MAX_ERROR_LENGTH = 1024
#: How many times one delivery re-runs a handler that lost a race on an aggregate.
CONFLICT_ATTEMPTS = 5


def is_deterministic(error: BaseException) -> bool:
    """True when retrying cannot help: bad input or a domain refusal.

    A :class:`ConcurrencyConflict` is a domain error too, but it only means a
    race was lost (e.g. with a command on the same aggregate): retrying wins.
    """
    if isinstance(error, ConcurrencyConflict):
        return False
    return isinstance(error, MalformedEvent | DomainError)


def describe(error: BaseException) -> str:
    """One header-safe line: exception type and message, never a stack."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text[:MAX_ERROR_LENGTH]


@dataclass
class UpstreamSubscription:
    """How one service consumes one upstream service's integration events."""

    app: ServiceApplication
    upstream: str
    handlers: Mapping[str, Handler]
    max_deliver: int = 5
    backoff: Sequence[float] = (0.5, 1.0, 2.0, 4.0)
    #: Seconds before a message pulled by a process that died (or lost its NATS
    #: node) is handed out again; a slow handler keeps it with in-progress acks.
    ack_wait: float = 10.0

    def __post_init__(self) -> None:
        if self.max_deliver < 1 or not self.backoff or self.ack_wait <= 0:
            raise ValueError("max_deliver >= 1, a non-empty backoff and ack_wait > 0 are needed")

    # -- naming -------------------------------------------------------------
    @property
    def durable(self) -> str:
        """One durable consumer per (consumer, upstream): its position survives restarts."""
        return f"{self.app.name}-from-{self.upstream}"

    @property
    def stream(self) -> str:
        return stream_name(self.upstream)

    @property
    def filter_subject(self) -> str:
        return f"revmentor.{self.upstream}.>"

    @property
    def dlq_subject(self) -> str:
        return f"{DLQ_SUBJECT_PREFIX}.{self.app.name}.{self.upstream}"

    def consumer_config(self) -> ConsumerConfig:
        """Explicit server-side settings; nothing is left to library defaults.

        ``max_deliver=-1``: the application dead-letters after ``max_deliver``
        deliveries, and the server must never drop a message silently when the
        dead-letter stream cannot be reached (that would skip it for good).
        """
        return ConsumerConfig(
            name=self.durable,
            durable_name=self.durable,
            description=f"{self.app.name} consuming {self.upstream} integration events",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=JsAckPolicy.EXPLICIT,
            ack_wait=self.ack_wait,
            max_deliver=-1,
            max_ack_pending=1,
            filter_subject=self.filter_subject,
            replay_policy=ReplayPolicy.INSTANT,
        )

    def retry_delay(self, deliveries: int) -> float:
        """Backoff before delivery ``deliveries + 1``; the last value repeats."""
        return float(self.backoff[min(max(deliveries, 1), len(self.backoff)) - 1])

    # -- progress -----------------------------------------------------------
    def position(self) -> int:
        """The last upstream position applied (blocking: the store is synchronous)."""
        return self.app.tracked_position(self.upstream)

    async def wait_for_position(self, position: int, timeout: float) -> int:
        """Wait until ``position`` is applied; raises TimeoutError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while (current := await asyncio.to_thread(self.position)) < position:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{self.durable} at {current}, not {position}, after {timeout}s")
            await asyncio.sleep(0.05)
        return current

    # -- applying one event (worker thread) ---------------------------------
    def request_context(self, event: ReceivedEvent) -> RequestContext:
        """The upstream event causes what we record; its correlation chain carries on."""
        return RequestContext(
            actor=f"service:{self.app.name}",
            correlation_id=event.correlation_id or event.id,
            causation_id=event.id,
            traceparent=current_traceparent() or event.traceparent,
        )

    def apply(self, event: ReceivedEvent) -> bool:
        """Apply ``event`` at most once; False when it was already applied.

        Events without a handler still record their position, so the tracked
        position keeps moving and says how far this consumer has read.
        """
        if event.sequence <= self.app.tracked_position(self.upstream):
            return False
        handler = self.handlers.get(event.name)
        if handler is None:
            return self.app.record_processed(self.upstream, event.sequence)
        parent = context_from({"traceparent": event.traceparent})
        with (
            _tracer.start_as_current_span(
                f"consume {event.type}", context=parent, kind=trace.SpanKind.CONSUMER
            ) as span,
            acting_as(self.request_context(event)),
        ):
            span.set_attribute("messaging.message.id", event.id)
            for attempt in range(1, CONFLICT_ATTEMPTS + 1):
                try:
                    aggregates = handler(event)
                    return self.app.record_processed(self.upstream, event.sequence, *aggregates)
                except ConcurrencyConflict:
                    # A race lost to a command or another consumer on the same
                    # aggregate: the handler reloads and recomputes at once, so a
                    # busy aggregate never uses up the deliveries that lead to
                    # the dead letters (and, applied by a replica meanwhile,
                    # it is simply done).
                    if attempt == CONFLICT_ATTEMPTS:
                        raise
                    if event.sequence <= self.app.tracked_position(self.upstream):
                        return False
            raise AssertionError("unreachable")

    # -- handling one message (event loop) ----------------------------------
    async def process(self, message: NatsMessage, js: JetStreamContext) -> None:
        """Apply one message and settle it: ack, retry later, or dead-letter then ack."""
        raw = message.raw_message
        deliveries = raw.metadata.num_delivered
        try:
            event = decode(raw.headers, raw.data)
            await self._apply_keeping_alive(raw, event)
        except Exception as error:  # noqa: BLE001 - every failure is classified, none escapes
            await self._settle_failure(message, js, error, deliveries)
        else:
            await message.ack()

    async def _apply_keeping_alive(self, raw: Msg, event: ReceivedEvent) -> None:
        """Run :meth:`apply` in a thread, telling the server we are still working.

        Without the progress signal the server would redeliver a message whose
        handler is slower than ``ack_wait`` to another replica while it still runs.
        """
        work = asyncio.ensure_future(asyncio.to_thread(self.apply, event))
        while True:
            done, _ = await asyncio.wait({work}, timeout=self.ack_wait / 2)
            if done:
                work.result()
                return
            with contextlib.suppress(Exception):  # best effort: at worst it is redelivered
                await raw.in_progress()

    async def _settle_failure(
        self, message: NatsMessage, js: JetStreamContext, error: Exception, deliveries: int
    ) -> None:
        raw = message.raw_message
        if not is_deterministic(error) and deliveries < self.max_deliver:
            delay = self.retry_delay(deliveries)
            log.warning(
                "%s: %s failed on delivery %d of %d, retrying in %.1fs: %s",
                self.durable,
                raw.subject,
                deliveries,
                self.max_deliver,
                delay,
                describe(error),
                exc_info=error,
            )
            await message.nack(delay=delay)
            return
        try:
            await self.dead_letter(js, raw, error, deliveries)
        except Exception as publish_error:  # noqa: BLE001 - whatever it is, retry later
            # Not acknowledged: it comes back and is dead-lettered again later.
            log.error(
                "%s: cannot dead-letter %s: %s", self.durable, raw.subject, describe(publish_error)
            )
            await message.nack(delay=self.retry_delay(len(self.backoff)))
            return
        await message.ack()

    # -- dead letters ---------------------------------------------------------
    def dead_letter_headers(
        self, raw: Msg, error: BaseException, deliveries: int
    ) -> dict[str, str]:
        """The original headers (minus NATS control headers) plus why it was given up.

        ``Nats-Msg-Id`` is derived from the consumer and the CloudEvent id so a
        retried dead-lettering is stored once.
        """
        original = {
            k: v for k, v in (raw.headers or {}).items() if not k.lower().startswith("nats-")
        }
        sequence = raw.metadata.sequence.stream
        ce_id = original.get("ce-id") or f"{raw.metadata.stream}:{sequence}"
        return {
            **original,
            ERROR_HEADER: describe(error),
            DELIVERIES_HEADER: str(deliveries),
            CONSUMER_HEADER: self.durable,
            SUBJECT_HEADER: raw.subject,
            STREAM_SEQUENCE_HEADER: str(sequence),
            MSG_ID_HEADER: f"dlq:{self.app.name}:{ce_id}",
        }

    async def dead_letter(
        self, js: JetStreamContext, raw: Msg, error: BaseException, deliveries: int
    ) -> None:
        """Publish to the dead-letter stream and wait for its PubAck (raises otherwise)."""
        headers = self.dead_letter_headers(raw, error, deliveries)
        ack = await js.publish(
            self.dlq_subject, raw.data, headers=headers, stream=DLQ_STREAM, timeout=5.0
        )
        log.error(
            "%s: dead-lettered %s after %d deliveries (%s#%d): %s",
            self.durable,
            raw.subject,
            deliveries,
            ack.stream,
            ack.seq,
            headers[ERROR_HEADER],
        )


async def _undecoded(message: NatsMessage) -> NatsMessage:
    """faststream decoder that hands over the message itself.

    The default decoder parses JSON before our code runs; a malformed body
    would then fail outside our control and never be dead-lettered.
    """
    return message


class SubscriptionRunner:
    """Runs subscriptions on one NATS connection: :meth:`start`, then :meth:`stop`.

    One-shot: after :meth:`stop`, build a new runner (same subscriptions, same
    durables) to consume again from where the durables left off.
    """

    def __init__(
        self,
        nats_url: str,
        subscriptions: Sequence[UpstreamSubscription],
        *,
        fetch_timeout: float = 5.0,
        graceful_timeout: float | None = None,
        name: str | None = None,
    ) -> None:
        durables = [sub.durable for sub in subscriptions]
        if len(set(durables)) != len(durables):
            raise ValueError(f"each durable may be consumed once per runner: {durables}")
        self.subscriptions = list(subscriptions)
        self.fetch_timeout = fetch_timeout
        self._js: JetStreamContext | None = None
        # Long enough to finish the message in hand; the server redelivers after ack_wait anyway.
        graceful = graceful_timeout or max((sub.ack_wait for sub in subscriptions), default=30.0)
        connection = nats_broker_options(self.subscriptions[0].app.name if subscriptions else "")
        # Pulled messages arrive on the user's own inbox prefix (see kernel/natsauth.py).
        self.inbox_prefix = f"{connection.get('inbox_prefix', '_INBOX')}.".encode()
        self.broker = NatsBroker(
            nats_servers(nats_url),
            name=name or ",".join(durables) or "revmentor-consumer",
            max_reconnect_attempts=-1,  # a consumer that gives up is silently dead
            graceful_timeout=graceful,
            apply_types=False,  # the handler gets the message itself, nothing is injected
            logger=broker_log,
            **connection,
        )
        for sub in self.subscriptions:
            self._register(sub)

    @property
    def jetstream(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("the runner is not started")
        return self._js

    def _register(self, sub: UpstreamSubscription) -> None:
        """One pull consumer, one message per fetch, acknowledged by us alone."""
        subscriber = self.broker.subscriber(
            sub.filter_subject,
            stream=JStream(sub.stream, declare=False),  # streams.py owns stream config
            durable=sub.durable,
            config=sub.consumer_config(),
            pull_sub=PullSub(batch_size=1, timeout=self.fetch_timeout),
            inbox_prefix=self.inbox_prefix,
            ack_policy=AckPolicy.MANUAL,
            no_reply=True,
            decoder=_undecoded,
        )
        subscriber(self._handler_for(sub))

    def _handler_for(self, sub: UpstreamSubscription) -> Callable[[NatsMessage], Awaitable[None]]:
        async def on_message(message: NatsMessage) -> None:
            await sub.process(message, self.jetstream)

        on_message.__name__ = f"consume_{sub.durable.replace('-', '_')}"
        return on_message

    async def start(self) -> None:
        """Connect, declare streams and consumers explicitly, then consume."""
        try:
            connection = await self.broker.connect()
            js = connection.jetstream()
            upstreams = tuple(sub.upstream for sub in self.subscriptions)
            await declare_streams(js, tuple(dict.fromkeys((*SERVICES, *upstreams))))
            for sub in self.subscriptions:
                await js.add_consumer(sub.stream, sub.consumer_config())  # create or update
            self._js = js
            await self.broker.start()
        except BaseException:
            await self.broker.stop()
            raise

    async def stop(self) -> None:
        """Finish the message in hand (up to the graceful timeout), then close."""
        await self.broker.stop()
        self._js = None

    async def __aenter__(self) -> SubscriptionRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()


@contextlib.asynccontextmanager
async def run_subscriptions(
    nats_url: str,
    subscriptions: Sequence[UpstreamSubscription],
    *,
    fetch_timeout: float = 5.0,
    graceful_timeout: float | None = None,
) -> AsyncIterator[SubscriptionRunner]:
    """``async with run_subscriptions(url, [sub]) as runner:`` consumes until the block ends."""
    runner = SubscriptionRunner(
        nats_url, subscriptions, fetch_timeout=fetch_timeout, graceful_timeout=graceful_timeout
    )
    async with runner:
        yield runner
