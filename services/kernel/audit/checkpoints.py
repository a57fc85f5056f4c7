"""Publishing signed checkpoints on the audit stream, and reading them back.

Split out of the audit package because this is the only part that talks to
NATS: the chain, the keys and verification work on the service's own store.

:func:`checkpoint_job` periodically chains new rows and, when the chain moved
past the last checkpoint on the audit stream, publishes a signed checkpoint
(:mod:`revmentor.kernel.audit.signing`) on ``revmentor.audit.<service>`` of
``REVMENTOR_AUDIT``, a stream that refuses purges and message deletions. Each
publish carries ``Nats-Msg-Id = audit:<service>:<position>`` (replicas racing
publish it once) and ``Nats-Expected-Last-Subject-Sequence`` (positions on a
service's subject only ever grow, even past the duplicate window), and waits
for the PubAck. :func:`read_checkpoints` reads them back for a verifier.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.audit.chain import Chainer
from revmentor.kernel.audit.signing import (
    Checkpoint,
    SigningKey,
    load_signing_key,
    sign_checkpoint,
)
from revmentor.kernel.cloudevents import MSG_ID_HEADER
from revmentor.kernel.natsauth import nats_connect_options
from revmentor.kernel.settings import nats_servers
from revmentor.kernel.streams import AUDIT_STREAM, AUDIT_SUBJECT_PREFIX, audit_stream_config
from revmentor.kernel.streams import ensure_stream as _ensure_stream

log = logging.getLogger(__package__)  # the package's logger, as before the split

EXPECTED_LAST_SUBJECT_SEQ_HEADER = "Nats-Expected-Last-Subject-Sequence"
#: JetStream's "wrong last sequence" error: another replica published first.
WRONG_LAST_SEQUENCE = 10071

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


def audit_subject(service: str) -> str:
    return f"{AUDIT_SUBJECT_PREFIX}.{service}"


def checkpoint_msg_id(service: str, position: int) -> str:
    return f"audit:{service}:{position}"


class CheckpointPublisher:
    """Chains new rows and publishes a checkpoint when the chain moved.

    Keeps one NATS connection. Safe with replicas: a position is published
    once (message id), and positions on the subject only grow (expected last
    subject sequence).
    """

    def __init__(
        self,
        app: ServiceApplication,
        nats_url: str,
        *,
        key: SigningKey | None = None,
        chainer: Chainer | None = None,
        timeout: float = 5.0,
    ):
        self.app = app
        self.nats_url = nats_url
        self.timeout = timeout
        self._key = key
        self._chainer = chainer
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def chainer(self) -> Chainer:
        if self._chainer is None:
            self._chainer = Chainer(self.app)
        return self._chainer

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = load_signing_key(self.app.env.get, self.app.name)
        return self._key

    async def publish_once(self) -> Checkpoint | None:
        """Chain, then publish a checkpoint at the head if the stream is behind it."""
        await asyncio.to_thread(self.chainer.chain)
        head = await asyncio.to_thread(self.chainer.head)
        if head is None:
            return None
        key = self.key
        js = await self._jetstream()
        for _ in range(5):
            last_seq, last_position = await self.last_checkpoint(js)
            if head.position <= last_position:
                return None
            checkpoint = sign_checkpoint(key, self.app.name, head.position, head.hash)
            headers = {
                MSG_ID_HEADER: checkpoint_msg_id(self.app.name, head.position),
                EXPECTED_LAST_SUBJECT_SEQ_HEADER: str(last_seq),
                "content-type": "application/json",
            }
            try:
                ack = await js.publish(
                    audit_subject(self.app.name),
                    checkpoint.to_json(),
                    headers=headers,
                    timeout=self.timeout,
                )
            except APIError as error:
                if error.err_code == WRONG_LAST_SEQUENCE:
                    continue  # another replica published meanwhile: look again
                raise
            return None if ack.duplicate else checkpoint
        return None

    async def last_checkpoint(self, js: JetStreamContext) -> tuple[int, int]:
        """(stream sequence, position) of this service's last checkpoint; (0, 0) if none."""
        try:
            message = await js.get_last_msg(AUDIT_STREAM, audit_subject(self.app.name))
        except NotFoundError:
            return 0, 0
        try:
            position = Checkpoint.from_json(message.data or b"").position
        except ValueError:
            position = 0  # not a checkpoint: the next one still goes after it
        return int(message.seq or 0), position

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed or self._js is None:
            self._nc = await nats.connect(
                nats_servers(self.nats_url),
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                name=f"{self.app.name}-audit",
                **nats_connect_options(self.app.name),
            )
            self._js = self._nc.jetstream(timeout=self.timeout)
            try:
                await _ensure_stream(self._js, audit_stream_config())
            except Exception as error:  # noqa: BLE001 - the admin declares it with NATS auth
                log.info("could not declare %s (%s); expecting it to exist", AUDIT_STREAM, error)
        return self._js

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
        self._nc, self._js = None, None


def checkpoint_job(app: ServiceApplication, nats_url: str, every_seconds: float = 60.0) -> Job:
    """Every ``every_seconds`` (first pass at once): chain new rows, publish a
    checkpoint if the chain moved. Failures (NATS down, no key) are logged and
    retried next time; the service keeps serving."""

    async def run(stop: asyncio.Event) -> None:
        publisher = CheckpointPublisher(app, nats_url)
        try:
            while not stop.is_set():
                try:
                    checkpoint = await publisher.publish_once()
                    if checkpoint is not None:
                        log.info("%s: audit checkpoint at %d", app.name, checkpoint.position)
                except Exception as error:  # noqa: BLE001 - retried at the next pass
                    log.warning("%s: audit checkpoint failed: %s", app.name, error)
                    await publisher.close()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_seconds)
        finally:
            await publisher.close()

    return run


async def read_checkpoints(
    nats_url: str,
    service: str,
    *,
    connect_options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> list[Checkpoint]:
    """Every checkpoint of ``service`` on the audit stream, from the start.

    Reads with direct message gets (``$JS.API.STREAM.MSG.GET``), so a read-only
    user such as the integrator can run it. A message that is not a checkpoint
    is logged and skipped (only the service may publish on its subject).
    """
    options = dict(nats_connect_options() if connect_options is None else connect_options)
    # One attempt: nats-py otherwise retries an initial connection ~60 times,
    # so a reader would hang for minutes on a NATS that is down.
    options.setdefault("max_reconnect_attempts", 1)
    options.setdefault("reconnect_time_wait", 0.2)
    nc = await nats.connect(
        nats_servers(nats_url), connect_timeout=2, allow_reconnect=False, **options
    )
    try:
        js = nc.jetstream(timeout=timeout)
        found: list[Checkpoint] = []
        seq = 1
        while True:
            try:
                message = await js.get_msg(
                    AUDIT_STREAM, seq, subject=audit_subject(service), next=True
                )
            except NotFoundError:
                return found
            try:
                found.append(Checkpoint.from_json(message.data or b""))
            except ValueError as error:
                log.warning("%s #%s is not a checkpoint: %s", AUDIT_STREAM, message.seq, error)
            seq = int(message.seq or seq) + 1
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
