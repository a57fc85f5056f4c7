"""What training does with enrolment's integration events.

    ProgrammeCreated      remember the programme (deadline defaults to its start date)
    ParticipantEnrolled   open the training record, curriculum version pinned
                          (mentor: certification modules; mentee: the orientation)
    ParticipantWithdrawn  close the record
    ParticipantErased     destroy this service's keys for the participant

Idempotent twice over: the kernel tracks the upstream position in the same
transaction as the events caused, and the aggregate ids are derived from the
upstream ids, so even a replayed event cannot open a second record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

from revmentor.events.v1 import enrolment_pb2 as upstream
from revmentor.kernel.application import Saveable
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription, run_subscriptions
from revmentor.kernel.ids import parse_id
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.curriculum import DEFAULT_VERSION, ProgrammeTraining, default_modules
from revmentor.training.domain.record import TrainingRecord

log = logging.getLogger(__name__)

UPSTREAM = "enrolment"


def programme_created(app: TrainingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(upstream.ProgrammeCreated)
    programme_id = parse_id("programme_id", message.programme_id)
    if app.find_programme(programme_id) is not None:
        return []
    return [ProgrammeTraining.register(programme_id, message.start_date)]


def participant_enrolled(app: TrainingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(upstream.ParticipantEnrolled)
    participant_id = parse_id("participant_id", message.participant_id)
    programme_id = parse_id("programme_id", message.programme_id)
    if app.find_record(participant_id) is not None:
        return []
    programme = app.find_programme(programme_id)
    if programme is None:
        version, modules = DEFAULT_VERSION, default_modules()
    else:
        version, modules = programme.current_version, programme.current_modules
    return [TrainingRecord.open(participant_id, programme_id, message.role, version, modules)]


def participant_withdrawn(app: TrainingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(upstream.ParticipantWithdrawn)
    record = app.find_record(parse_id("participant_id", message.participant_id))
    if record is None or not record.close():
        return []
    return [record]


def participant_erased(app: TrainingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(upstream.ParticipantErased)
    app.erase_participant(parse_id("participant_id", message.participant_id))
    return []


def enrolment_subscription(app: TrainingApplication, **options: object) -> UpstreamSubscription:
    handlers = {
        "ProgrammeCreated": programme_created,
        "ParticipantEnrolled": participant_enrolled,
        "ParticipantWithdrawn": participant_withdrawn,
        "ParticipantErased": participant_erased,
    }
    return UpstreamSubscription(
        app,
        UPSTREAM,
        {name: _bound(app, handler) for name, handler in handlers.items()},
        **options,  # type: ignore[arg-type]
    )


def _bound(
    app: TrainingApplication,
    handler: Callable[[TrainingApplication, ReceivedEvent], Sequence[Saveable]],
) -> Callable[[ReceivedEvent], Sequence[Saveable]]:
    def handle(event: ReceivedEvent) -> Sequence[Saveable]:
        return handler(app, event)

    return handle


# -- background jobs (run by the service process) ------------------------------------
def subscription_job(
    app: TrainingApplication, nats_url: str, retry_seconds: float = 1.0
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Consume enrolment until ``stop``; reconnects if NATS is not there yet."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                async with run_subscriptions(nats_url, [enrolment_subscription(app)]):
                    await stop.wait()
            except Exception as error:  # noqa: BLE001 - log, wait, try again
                log.warning("training: enrolment subscription failed (%s); retrying", error)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), retry_seconds)

    return run


def deadline_job(
    app: TrainingApplication, every_seconds: float
) -> Callable[[asyncio.Event], Awaitable[None]]:
    """Flag overdue mentors every ``every_seconds`` until ``stop`` (idempotent)."""

    async def run(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                flagged = await asyncio.to_thread(app.flag_overdue, datetime.now(UTC))
                if flagged:
                    log.info("training: %d mentor(s) flagged overdue", flagged)
            except Exception:
                log.exception("training: deadline check failed")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    return run
