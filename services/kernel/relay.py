"""The outbox relay: the service's notification log, published to JetStream.

A command's events and their notifications are written in one transaction, so
the log *is* the outbox. The relay follows it in order, turns each domain event
the service chooses to publish into a CloudEvent, publishes with
``Nats-Msg-Id = <service>:<notification id>``, and stores its position only
after JetStream has acknowledged everything up to it. A crash re-publishes at
most the unacknowledged tail, which JetStream drops as duplicates.

Publishes are pipelined (sent in log order, a page's acknowledgements awaited
together while the next page is already read, prepared and sent) and chained:
each carries ``Nats-Expected-Last-Msg-Id`` of the one before, so if one is
refused every later one is refused too and the stream can never hold a gap or
a reordering. The stored position never passes
an unacknowledged event, and at start (and after any failure) the relay reads
the stream's last message so it never re-sends what is already there, even
after the duplicate window has passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import nats
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.utils import resolve_topic
from nats.aio.client import Client
from nats.js import JetStreamContext
from opentelemetry import trace

from revmentor.kernel.application import RELAY_TRACKING, ServiceApplication
from revmentor.kernel.cloudevents import (
    MSG_ID_HEADER,
    IntegrationEvent,
    OutgoingMessage,
    encode,
    stream_name,
)
from revmentor.kernel.natsauth import nats_connect_options
from revmentor.kernel.settings import nats_servers
from revmentor.kernel.streams import dlq_stream_config, ensure_stream, service_stream_config
from revmentor.kernel.telemetry import context_from, traceparent_of

log = logging.getLogger(__name__)

EXPECTED_LAST_HEADER = "Nats-Expected-Last-Msg-Id"

#: Maps a domain event to the integration event to publish, or None to skip it.
Translator = Callable[[Any], IntegrationEvent | None]


@dataclass(frozen=True)
class PendingPublish:
    position: int
    message: OutgoingMessage | None  # None: nothing to publish, position still counts

    @property
    def headers_msg_id(self) -> str:
        return self.message.headers[MSG_ID_HEADER] if self.message else ""


@dataclass
class SentPage:
    """One page on the wire: what was prepared, the acks of what was sent
    (None where nothing is published; shorter than ``pending`` if a send
    failed), and the message id the chain started after."""

    pending: list[PendingPublish]
    acks: list[asyncio.Future[Any] | None]
    chain_start: str

    def waiting(self) -> list[asyncio.Future[Any]]:
        return [ack for ack in self.acks if ack is not None]

    def cancel(self) -> None:
        for ack in self.waiting():
            ack.cancel()


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
        self.last_msg_id = ""
        self.published = 0
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tracer = trace.get_tracer(f"revmentor.{app.name}.relay")

    def wake(self) -> None:
        """Called (from any thread) after a save so publication starts at once."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until ``stop`` is set, reconnecting and retrying as needed.

        Nothing ends it but ``stop``: a JetStream that does not answer (a
        cluster electing a new stream leader after a node died) makes it
        start over after a pause, never give up - the outbox keeps the events.
        """
        self._loop = asyncio.get_running_loop()
        self.app.save_listeners.append(self.wake)
        attempt = 0
        try:
            while not stop.is_set():
                try:
                    await self._session(stop)
                    return
                except Exception as error:  # noqa: BLE001 - start over; the log keeps everything
                    attempt += 1
                    log.warning("relay of %s starts over (%s): %s", self.app.name, attempt, error)
                    await self._pause(stop, min(0.2 * 2**attempt, 5.0))
        finally:
            self.app.save_listeners.remove(self.wake)

    async def _session(self, stop: asyncio.Event) -> None:
        """One connection: declare, catch up with the stream, follow the log."""
        nc = await self._connect(stop)
        if nc is None:
            return
        try:
            js = nc.jetstream(timeout=self.ack_timeout)
            await ensure_stream(js, service_stream_config(self.app.name))
            await ensure_stream(js, dlq_stream_config())
            await self.sync_with_stream(js)
            await self._follow(js, stop)
        finally:
            with contextlib.suppress(Exception):
                await nc.drain()

    async def _connect(self, stop: asyncio.Event) -> Client | None:
        """Connect, waiting out a NATS that is not up yet; None if stopped first."""
        attempt = 0
        while not stop.is_set():
            try:
                return await nats.connect(
                    nats_servers(self.nats_url),
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    name=f"{self.app.name}-relay",
                    **nats_connect_options(self.app.name),
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
                moved = await self.publish_pages(js, stop)
                failures = 0
            except Exception as error:  # noqa: BLE001 - the relay must outlive NATS outages
                failures += 1
                log.warning("relay could not publish (attempt %s): %s", failures, error)
                moved = False
                await self._pause(stop, min(0.2 * 2**failures, 5.0))
                with contextlib.suppress(Exception):
                    await self.sync_with_stream(js)
            if not moved:
                await self._pause(stop, self.idle_seconds)

    async def _pause(self, stop: asyncio.Event, seconds: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        for task in waiters:
            task.cancel()

    async def sync_with_stream(self, js: JetStreamContext) -> None:
        """Start from the stored position or the stream's last message, if later."""
        stored = await asyncio.to_thread(self.app.tracked_position, RELAY_TRACKING)
        self.position, self.last_msg_id = max(self.position, stored), ""
        info = await js.stream_info(stream_name(self.app.name))
        if not info.state.messages:
            return
        last = await js.get_msg(stream_name(self.app.name), info.state.last_seq)
        headers = last.headers or {}
        self.last_msg_id = headers.get(MSG_ID_HEADER, "")
        if not self.last_msg_id.startswith(f"{self.app.name}:"):
            # not ours (only the relay may publish here; NATS permissions say so):
            # never let a stranger's sequence number move our position
            log.error("the last message on %s is not %s's (%r); position kept",
                      stream_name(self.app.name), self.app.name, self.last_msg_id)  # fmt: skip
            return
        on_stream = int(headers.get("ce-sequence", "0"))
        if on_stream > self.position:
            await self._store_position(on_stream)

    async def publish_pages(self, js: JetStreamContext, stop: asyncio.Event) -> bool:
        """Publish page after page until the log is drained; True if any moved.

        Two pages are in flight: the next one is read, prepared and sent while
        the server is still acknowledging the one before (the chain keeps them
        in order; a refused message makes every later one refused too). The
        position still moves only past acknowledged events, page by page.
        """
        sent = await self._send_page(js, self.position)
        moved = sent is not None
        while sent is not None:
            following = None
            if len(sent.pending) == self.batch and not stop.is_set():
                following = await self._send_page(js, sent.pending[-1].position)
            try:
                await self._settle(sent)
            except BaseException:
                if following is not None:
                    following.cancel()
                raise
            sent = following
        return moved

    async def _send_page(self, js: JetStreamContext, after: int) -> SentPage | None:
        """Read the page after ``after``, prepare it and put it on the wire, in order."""
        page = await asyncio.to_thread(self.app.notifications, after, self.batch)
        if not page:
            return None
        pending = [self._prepare(n) for n in page]
        sent = SentPage(pending, [], self.last_msg_id)
        for item in pending:
            if item.message is None:
                sent.acks.append(None)
                continue
            try:
                sent.acks.append(await self._send(js, item.message, self.last_msg_id))
            except Exception as error:  # noqa: BLE001 - what was sent is still settled
                log.warning("send of %s:%s failed: %s", self.app.name, item.position, error)
                break
            self.last_msg_id = item.message.headers[MSG_ID_HEADER]
        return sent

    async def _settle(self, sent: SentPage) -> None:
        """Await the page's acks, store the acknowledged prefix, raise if short."""
        waiting = sent.waiting()
        if waiting:
            await asyncio.wait(waiting, timeout=self.ack_timeout)
        try:
            acked_to = self._acked_prefix(sent)
        finally:
            sent.cancel()  # frees nats-py's pending slot of any ack that never came
        if acked_to > self.position:
            await self._store_position(acked_to)
        if acked_to < sent.pending[-1].position:
            raise ConnectionError(f"publication stopped after position {acked_to}")

    async def _store_position(self, position: int) -> None:
        """Persist the position; another replica's relay may already be past it."""
        try:
            await asyncio.to_thread(
                self.app.process_recorder.insert_tracking, Tracking(RELAY_TRACKING, position)
            )
        except IntegrityError:
            stored = await asyncio.to_thread(self.app.tracked_position, RELAY_TRACKING)
            if stored < position:
                raise
        self.position = position

    def _prepare(self, notification: Notification) -> PendingPublish:
        published = getattr(self.translate, "published", None)
        if published is not None and _qualname(notification.topic) not in published:
            return PendingPublish(notification.id, None)  # private: not even decoded
        event, envelope = self.app.envelope_mapper.decode(notification, personal=False)
        occurred_at = getattr(event, "timestamp", None) or datetime.now(UTC)
        integration = self.translate(event)
        if integration is None:
            return PendingPublish(notification.id, None)
        message = encode(self.app.name, notification.id, integration, occurred_at, envelope)
        return PendingPublish(notification.id, message)

    def _acked_prefix(self, sent: SentPage) -> int:
        """The position up to which the page is acknowledged. If that is short of
        the page's end, the chain restarts after the last acknowledged message
        (pages sent after this one are refused by the stream and dropped)."""
        acked_to, acked_id = self.position, sent.chain_start
        for item, ack in zip(sent.pending, sent.acks, strict=False):
            if ack is not None:
                if not ack.done() or ack.cancelled() or ack.exception() is not None:
                    reason = ack.exception() if ack.done() and not ack.cancelled() else "no ack"
                    log.warning("publish of %s:%s failed: %s", self.app.name, item.position, reason)
                    break
                self.published += 1
                acked_id = item.headers_msg_id
            acked_to = item.position
        if acked_to < sent.pending[-1].position:
            self.last_msg_id = acked_id
        return acked_to

    async def _send(
        self, js: JetStreamContext, message: OutgoingMessage, after: str
    ) -> asyncio.Future[Any]:
        """Put one message on the wire (in order); the returned future is its PubAck."""
        span = self._tracer.start_span(
            f"publish {message.subject}",
            context=context_from(message.headers),
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "nats",
                "messaging.destination.name": message.subject,
                "messaging.message.id": message.headers[MSG_ID_HEADER],
            },
        )  # not made current: nothing runs inside it but the send
        try:
            headers = dict(message.headers)
            headers["traceparent"] = traceparent_of(span)
            if after:
                headers[EXPECTED_LAST_HEADER] = after
            return await js.publish_async(message.subject, message.data, headers=headers)
        except Exception as error:
            span.record_exception(error)
            span.set_status(trace.Status(trace.StatusCode.ERROR, str(error)))
            raise
        finally:
            span.end()


@lru_cache(maxsize=1024)
def _qualname(topic: str) -> str:
    """The event class name a translation is keyed by (once per topic)."""
    return str(resolve_topic(topic).__qualname__)
