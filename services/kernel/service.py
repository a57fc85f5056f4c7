"""Run one service process: gRPC server, outbox relay, consumers, audit
checkpoints (every ``AUDIT_CHECKPOINT_SECONDS``, default 60, 0 = off), clean stop.

Every process also serves the auditors' event log (``AuditLogService``,
:mod:`revmentor.kernel.auditlog`) over its own store, beside the service's API.

Every service's ``main`` is a call to :func:`run_service` with its own parts,
so start-up and shutdown behave the same everywhere: SIGTERM reports
NOT_SERVING, lets in-flight calls finish, stops the relay after its current
page, and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from revmentor.kernel import auditlog
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.audit import checkpoint_job
from revmentor.kernel.grpc_server import GrpcServer, install_shutdown_signals
from revmentor.kernel.jobs import is_led
from revmentor.kernel.leadership import Leadership
from revmentor.kernel.relay import Relay, Translator
from revmentor.kernel.settings import ServiceSettings, env
from revmentor.kernel.storewatch import StoreWatch
from revmentor.kernel.telemetry import setup_logging, setup_tracing

log = logging.getLogger(__name__)


@dataclass
class ServiceParts:
    """What a service plugs into the common process."""

    app: ServiceApplication
    register: Callable[[Any, Any], None]
    servicer: Any
    service_names: Iterable[str]
    translate: Translator
    background: list[Callable[[asyncio.Event], Any]] = field(default_factory=list)


async def serve(
    parts: ServiceParts, settings: ServiceSettings, stop: asyncio.Event | None = None
) -> None:
    """Serve until ``stop`` is set (or SIGTERM/SIGINT arrives)."""
    stop = stop or asyncio.Event()
    install_shutdown_signals(stop)
    server = GrpcServer(settings.service, settings.grpc_host, settings.grpc_port)
    server.add(parts.register, parts.servicer, parts.service_names)
    audit_log = auditlog.AuditLogServicer(parts.app, settings.nats_url, settings.service)
    server.add(auditlog.register, audit_log, [auditlog.SERVICE_NAME])
    relay = Relay(
        parts.app,
        parts.translate,
        settings.nats_url,
        batch=settings.relay_batch,
        idle_seconds=settings.relay_idle_seconds,
    )
    watch = StoreWatch(settings.service, parts.app.env.get)
    server.interceptor.unavailable = watch.unavailable
    await asyncio.to_thread(parts.app.catch_up)
    await server.start()
    # Replicas share the consumers; the leader alone runs the relay, the
    # checkpoints and the timers (kernel/leadership.py).
    lead = Leadership(settings.service, parts.app.env.get)
    tasks = [asyncio.create_task(lead.run(stop), name="leadership")]
    tasks.append(asyncio.create_task(watch.run(stop, server.set_serving), name="store-watch"))
    tasks.append(asyncio.create_task(lead.lead(relay.run, stop), name="relay"))
    for job in parts.background:
        runner = lead.lead(job, stop) if is_led(job) else job(stop)
        tasks.append(asyncio.create_task(runner))
    audit_every = float(env("AUDIT_CHECKPOINT_SECONDS", "60", settings.service))  # 0: off
    if audit_every > 0:
        checkpoints = checkpoint_job(parts.app, settings.nats_url, audit_every)
        tasks.append(asyncio.create_task(lead.lead(checkpoints, stop), name="checkpoints"))
    await stop.wait()
    log.info("%s stopping", settings.service)
    await server.stop()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=10)
    parts.app.close()
    log.info("%s stopped", settings.service)


def main(service: str, build: Callable[[], ServiceParts]) -> None:
    setup_logging()
    setup_tracing(service)
    settings = ServiceSettings.from_env(service)
    asyncio.run(serve(build(), settings))
