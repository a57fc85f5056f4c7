"""JetStream streams, declared idempotently with explicit configuration.

One stream per service (written only by that service's relay), one
dead-letter stream shared by all consumers, and the audit stream of signed
chain checkpoints (:mod:`revmentor.kernel.audit`). File storage, a duplicate
window long enough to cover a relay restart, unlimited retention so
integrators can replay a programme from its beginning.

The audit stream refuses purges and message deletions (``deny_purge``,
``deny_delete``; the server also refuses to lift either flag later) and has
no limits. Deleting the whole stream is a different API that those flags do
not cover: only the NATS ``admin`` user may call it (``natsauth``).
"""

from __future__ import annotations

import logging

from nats.js import JetStreamContext
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.settings import env

log = logging.getLogger(__name__)

SERVICES = ("enrolment", "training", "matching", "scheduling", "feedback")
DLQ_STREAM = "REVMENTOR_DLQ"
DLQ_SUBJECT_PREFIX = "revmentor.dlq"
AUDIT_STREAM = "REVMENTOR_AUDIT"
#: ``revmentor.audit.<service>``: one subject per service, its checkpoints in order.
AUDIT_SUBJECT_PREFIX = "revmentor.audit"


def service_stream_config(service: str) -> StreamConfig:
    return StreamConfig(
        name=stream_name(service),
        description=f"revmentor {service} integration events (CloudEvents, proto3 JSON)",
        subjects=[f"revmentor.{service}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.OLD,
        max_age=float(env("NATS_STREAM_MAX_AGE_SECONDS", "0")),
        duplicate_window=float(env("NATS_DUPLICATE_WINDOW_SECONDS", "600")),
        num_replicas=int(env("NATS_STREAM_REPLICAS", "1")),
    )


def dlq_stream_config() -> StreamConfig:
    return StreamConfig(
        name=DLQ_STREAM,
        description="revmentor dead letters: messages a consumer gave up on",
        subjects=[f"{DLQ_SUBJECT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        duplicate_window=float(env("NATS_DUPLICATE_WINDOW_SECONDS", "600")),
        num_replicas=int(env("NATS_STREAM_REPLICAS", "1")),
    )


def audit_stream_config() -> StreamConfig:
    """Signed checkpoints: kept for ever, never purged, no message ever deleted."""
    return StreamConfig(
        name=AUDIT_STREAM,
        description="revmentor audit: signed checkpoints of every service's event hash chain",
        subjects=[f"{AUDIT_SUBJECT_PREFIX}.>"],
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        discard=DiscardPolicy.NEW,
        max_age=0.0,
        duplicate_window=float(env("NATS_DUPLICATE_WINDOW_SECONDS", "600")),
        num_replicas=int(env("NATS_STREAM_REPLICAS", "1")),
        deny_delete=True,
        deny_purge=True,
    )


#: The settings ``ensure_stream`` manages; the server fills in the rest.
MANAGED_FIELDS = (
    "description",
    "subjects",
    "retention",
    "storage",
    "discard",
    "max_age",
    "duplicate_window",
    "num_replicas",
    "deny_delete",
    "deny_purge",
)


def differs(current: StreamConfig, wanted: StreamConfig) -> bool:
    """True when a setting ``wanted`` specifies is not what the server has."""
    return any(
        getattr(wanted, name) is not None and getattr(wanted, name) != getattr(current, name)
        for name in MANAGED_FIELDS
    )


async def ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream, or bring an existing one to ``config``.

    An update is sent only when something differs: with NATS permissions
    (deploy/nats/secure.conf) a service may look at streams it does not own
    but not update them, and the admin declares them all first.
    """
    try:
        info = await js.stream_info(config.name or "")
    except NotFoundError:
        await js.add_stream(config)
        log.info("created stream %s", config.name)
        return
    if differs(info.config, config):
        await js.update_stream(config)


async def declare_streams(js: JetStreamContext, services: tuple[str, ...] = SERVICES) -> None:
    for service in services:
        await ensure_stream(js, service_stream_config(service))
    await ensure_stream(js, dlq_stream_config())
    await ensure_stream(js, audit_stream_config())
