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

import logging
from collections.abc import Callable, Sequence
from typing import Any

from revmentor.events.v1 import enrolment_pb2 as upstream
from revmentor.kernel.application import Saveable
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription
from revmentor.kernel.ids import parse_id
from revmentor.kernel.jobs import Job, handler_subscription, periodic_job
from revmentor.kernel.jobs import subscription_job as kernel_subscription_job
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


HANDLERS: dict[str, Callable[[TrainingApplication, ReceivedEvent], Sequence[Saveable]]] = {
    "ProgrammeCreated": programme_created,
    "ParticipantEnrolled": participant_enrolled,
    "ParticipantWithdrawn": participant_withdrawn,
    "ParticipantErased": participant_erased,
}


def enrolment_subscription(app: TrainingApplication, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, UPSTREAM, HANDLERS, **options)


# -- background jobs (run by the service process) ------------------------------------
def subscription_job(app: TrainingApplication, nats_url: str) -> Job:
    """Consume enrolment until ``stop``; reconnects if NATS is not there yet."""
    return kernel_subscription_job("training", nats_url, lambda: [enrolment_subscription(app)])


def deadline_job(app: TrainingApplication, every_seconds: float) -> Job:
    """Flag overdue mentors every ``every_seconds`` until ``stop`` (idempotent)."""
    return periodic_job("training", "mentor(s) flagged overdue", app.flag_overdue, every_seconds)
