"""The outbox relay: the service's notification log, published to JetStream.

A command's events and their notifications are written in one transaction, so
the log *is* the outbox. The relay follows it in order, turns each domain event
the service chooses to publish into a CloudEvent, publishes with
``Nats-Msg-Id = <service>:<notification id>``, and stores its position only
after JetStream has acknowledged everything up to it. A crash re-publishes at
most the unacknowledged tail, which JetStream drops as duplicates.

Publishes within a page are pipelined (sent in log order, acknowledgements
awaited together); the stored position never passes an unacknowledged event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats
from eventsourcing.persistence import Notification, Tracking
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace

from revmentor.kernel.application import RELAY_TRACKING, ServiceApplication
from revmentor.kernel.cloudevents import IntegrationEvent, OutgoingMessage, encode
from revmentor.kernel.streams import dlq_stream_config, ensure_stream, service_stream_config
from revmentor.kernel.telemetry import context_from, current_traceparent

log = logging.getLogger(__name__)

#: Maps a domain event to the integration event to publish, or None to skip it.
Translator = Callable[[Any], IntegrationEvent | None]


@dataclass(frozen=True)
class PendingPublish:
    position: int
    message: OutgoingMessage | None  # None: nothing to publish, position still counts


class Relay:
    """Follows one application's log and publishes it to its stream."""

    def __init__(
        self,
        app: ServiceApplication,
        translate: Translator,
        nats_url: str,
        batch: int = 256,
        idle_seconds: float = 0.05,
        ack_timeout: float = 5.0,
    ):
        self.app = app
        self.translate = translate
        self.nats_url = nats_url
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.ack_timeout = ack_timeout
        self.position = 0
        self.published = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tracer = trace.get_tracer(f"revmentor.{app.name}.relay")

    def wake(self) -> None:
        """Called (from any thread) after a save so publication starts at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, reconnecting and retrying as needed."""
        self._loop = asyncio.get_running_loop()
        self.app.save_listeners.append(self.wake)
        try:
            nc = await self._connect(stop)
            if nc is None:
                return
            try:
                js = nc.jetstream(timeout=self.ack_timeout)
                await ensure_stream(js, service_stream_config(self.app.name))
                await ensure_stream(js, dlq_stream_config())
                self.position = await asyncio.to_thread(self.app.tracked_position, RELAY_TRACKING)
                await self._follow(js, stop)
            finally:
                with contextlib.suppress(Exception):
                    await nc.drain()
        finally:
            self.app.save_listeners.remove(self.wake)

    async def _connect(self, stop: asyncio.Event) -> Client | None:
        """Connect, waiting out a NATS that is not up yet; None if stopped first."""
        attempt = 0
        while not stop.is_set():
            try:
                return await nats.connect(
                    self.nats_url,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    name=f"{self.app.name}-relay",
                )
            except Exception as error:  # noqa: BLE001 - keep trying; the outbox keeps events
                attempt += 1
                log.warning("relay cannot reach NATS at %s yet: %s", self.nats_url, error)
                await self._pause(stop, min(0.2 * 2**attempt, 5.0))
        return None

    async def _follow(self, js: JetStreamContext, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            self._wake.clear()  # a save from now on cuts the next pause short
            try:
                moved = await self.publish_next_page(js)
                failures = 0
            except Exception as error:  # noqa: BLE001 - the relay must outlive NATS outages
                failures += 1
                log.warning("relay could not publish (attempt %s): %s", failures, error)
                moved = False
                await self._pause(stop, min(0.2 * 2**failures, 5.0))
            if not moved:
                await self._pause(stop, self.idle_seconds)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()

    async def publish_next_page(self, js: JetStreamContext) -> bool:
        """Publish one page of the log; True when the position moved."""
        page = await asyncio.to_thread(self.app.notifications, self.position, self.batch)
        if not page:
            return False
        pending = [self._prepare(n) for n in page]
        acked_to = await self._publish_in_order(js, pending)
        if acked_to > self.position:
            await asyncio.to_thread(
                self.app.process_recorder.insert_tracking, Tracking(RELAY_TRACKING, acked_to)
            )
            self.position = acked_to
        if acked_to < pending[-1].position:
            raise ConnectionError(f"publication stopped after position {acked_to}")
        return True

    def _prepare(self, notification: Notification) -> PendingPublish:
        event, envelope = self.app.envelope_mapper.decode(notification)
        integration = self.translate(event)
        if integration is None:
            return PendingPublish(notification.id, None)
        message = encode(self.app.name, notification.id, integration, event.timestamp, envelope)
        return PendingPublish(notification.id, message)

    async def _publish_in_order(
        self, js: JetStreamContext, pending: Sequence[PendingPublish]
    ) -> int:
        """Send every message in order, await the acks, return the acked prefix end."""
        sends = [self._send(js, p.message) if p.message else _done() for p in pending]
        results = await asyncio.gather(*sends, return_exceptions=True)
        acked_to = self.position
        for item, result in zip(pending, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("publish of %s:%s failed: %s", self.app.name, item.position, result)
                break
            acked_to = item.position
        return acked_to

    async def _send(self, js: JetStreamContext, message: OutgoingMessage) -> None:
        parent = context_from(message.headers)
        with self._tracer.start_as_current_span(
            f"publish {message.subject}", context=parent, kind=trace.SpanKind.PRODUCER
        ) as span:
            span.set_attribute("messaging.system", "nats")
            span.set_attribute("messaging.destination.name", message.subject)
            span.set_attribute("messaging.message.id", message.headers["Nats-Msg-Id"])
            headers = dict(message.headers)
            headers["traceparent"] = current_traceparent()
            await js.publish(
                message.subject, message.data, headers=headers, timeout=self.ack_timeout
            )
            self.published += 1


async def _done() -> None:
    return None
