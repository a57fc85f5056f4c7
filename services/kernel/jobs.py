"""The background jobs of a service process, shared by every service.

- :func:`handler_subscription`: an upstream subscription from a table of
  ``event name -> handler(app, event) -> saveables``;
- :func:`subscription_job`: run a service's subscriptions until stop,
  reconnecting when NATS is not there (yet);
- :func:`periodic_job`: run a check (deadlines, expiries, reminders, stalls)
  every N seconds in a worker thread; a failure is logged and retried next time.

Each job is a coroutine function of the process's stop event
(:class:`revmentor.kernel.service.ServiceParts.background`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from revmentor.kernel.application import Saveable, ServiceApplication
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription, run_subscriptions

log = logging.getLogger(__name__)

A = TypeVar("A", bound=ServiceApplication)
Job = Callable[[asyncio.Event], Awaitable[None]]


def handler_subscription(
    app: A,
    upstream: str,
    handlers: Mapping[str, Callable[[A, ReceivedEvent], Sequence[Saveable]]],
    **options: Any,
) -> UpstreamSubscription:
    """Consume ``upstream``'s events named in ``handlers`` into ``app``."""

    def bound(
        handler: Callable[[A, ReceivedEvent], Sequence[Saveable]],
    ) -> Callable[[ReceivedEvent], Sequence[Saveable]]:
        def handle(event: ReceivedEvent) -> Sequence[Saveable]:
            return handler(app, event)

        return handle

    return UpstreamSubscription(
        app, upstream, {name: bound(handler) for name, handler in handlers.items()}, **options
    )


def subscription_job(
    service: str,
    nats_url: str,
    subscriptions: Callable[[], list[UpstreamSubscription]],
    retry_seconds: float = 1.0,
) -> Job:
    """Consume until ``stop``; reconnects if NATS is not there yet or goes away."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with run_subscriptions(nats_url, subscriptions()):
                    await stop.wait()
            except Exception as error:  # noqa: BLE001 - log, wait, try again
                log.warning("%s: upstream subscriptions failed (%s); retrying", service, error)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_seconds)

    return run


def periodic_job(
    service: str, what: str, check: Callable[[datetime], int], every_seconds: float
) -> Job:
    """``check(now)`` every ``every_seconds`` until ``stop``; it returns how many
    things it did (logged when any). Checks are idempotent, so a failure is
    simply logged and the next pass picks up what is left."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(check, datetime.now(UTC))
                if done:
                    log.info("%s: %d %s", service, done, what)
            except Exception:
                log.exception("%s: %s check failed", service, what)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    run.led = True  # type: ignore[attr-defined]  # a timer: the leader alone runs it
    return run


def is_led(job: Job) -> bool:
    """Whether ``job`` is a timer, run by the service's leader only (kernel/leadership.py)."""
    return bool(getattr(job, "led", False))
