"""What matching does with enrolment's and training's integration events.

From enrolment:

    ProgrammeCreated      register the programme's pool, record its rules
    ParticipantEnrolled   the participant joins the pool as mentor or mentee
    ParticipantWithdrawn  cancel their proposals, dissolve their matches, leave the pool
    ParticipantErased     the same, then destroy this service's keys for them and
                          for every match they were in (explanations read "[erased]")

From training:

    MentorCertified            the mentor may be proposed
    CertificationRevoked,
    RecertificationRequested   no longer certified: their open *proposals* are
                               cancelled (a confirmed mentorship is left to the
                               programme manager)

The two streams are independent, so a certification may arrive before the
enrolment (or the programme) it belongs to: the pool is registered on first
sight (``app.pool_of``) and remembers members it does not know yet.

Idempotent twice over: the kernel records the upstream position in the same
transaction as the pool and match events a handler returns, and every handler
returns nothing when the event would change nothing (a repeated enrolment,
certification, withdrawal).

Erasure is the one handler that writes before returning. The events that close
the participant's matches must be stored *before* the keys are destroyed: a
dissolution (``Match.Ended``) seals its reason with the match's key, and a
destroyed key is a tombstone that refuses to seal anything again. So the
handler saves the closures, destroys the keys, and returns nothing; the kernel
then records the position. A crash anywhere in between is redelivered and
finds nothing left to close, destroys again (idempotent) and is tracked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from revmentor.events.v1 import enrolment_pb2 as enrolment
from revmentor.events.v1 import training_pb2 as training
from revmentor.kernel.application import Saveable
from revmentor.kernel.cloudevents import MalformedEvent, ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription
from revmentor.kernel.ids import parse_id
from revmentor.kernel.jobs import Job, handler_subscription, periodic_job
from revmentor.kernel.jobs import subscription_job as kernel_subscription_job
from revmentor.matching.application import MatchingApplication
from revmentor.matching.domain.match import ERASED_CAUSE, REVOKED_CAUSE, WITHDRAWN_CAUSE
from revmentor.matching.domain.programme import MENTEE, MENTOR, default_rules

log = logging.getLogger(__name__)

ENROLMENT = "enrolment"
TRAINING = "training"

Handler = Callable[[MatchingApplication, ReceivedEvent], Sequence[Saveable]]


# -- enrolment ------------------------------------------------------------------------------
def programme_rules(message: Any) -> dict[str, Any]:
    """The rules matching applies, from ProgrammeCreated (enrolment's defaults if absent)."""
    rules = default_rules()
    if message.HasField("rules"):
        facts = message.rules
        rules["min_age_gap_years"] = facts.min_age_gap_years
        rules["mentor_capacity"] = facts.mentor_capacity or rules["mentor_capacity"]
        rules["same_department_allowed"] = facts.same_department_allowed
    return rules


def programme_created(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ProgrammeCreated)
    programme_id = parse_id("programme_id", message.programme_id)
    registered = app.find_programme(programme_id) is not None
    programme = app.pool_of(programme_id)
    rules = programme_rules(message)
    if rules != programme.rules:
        programme.record_rules(rules)
    elif registered:
        return []
    return [programme]


def participant_enrolled(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ParticipantEnrolled)
    participant_id = str(parse_id("participant_id", message.participant_id))
    if message.role not in (MENTOR, MENTEE):
        raise MalformedEvent(f"{event.id}: role {message.role!r} is neither mentor nor mentee")
    programme = app.pool_of(parse_id("programme_id", message.programme_id))
    return [programme] if programme.enrol(participant_id, message.role) else []


def _leaving(
    app: MatchingApplication, event: ReceivedEvent, message_class: Any, cause: str
) -> tuple[str, list[Saveable]]:
    """Close the participant's open matches and take them out of the pool (unsaved)."""
    message = event.parse(message_class)
    participant_id = str(parse_id("participant_id", message.participant_id))
    programme = app.pool_of(parse_id("programme_id", message.programme_id))
    closed = app.close_open_matches(programme, participant_id, cause)
    left = programme.leave(participant_id, cause)
    return participant_id, [programme, *closed] if closed or left else []


def participant_withdrawn(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    return _leaving(app, event, enrolment.ParticipantWithdrawn, WITHDRAWN_CAUSE)[1]


def participant_erased(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    """Closures saved first, then the keys destroyed (see the module docstring)."""
    participant_id, changed = _leaving(app, event, enrolment.ParticipantErased, ERASED_CAUSE)
    if changed:
        app.save(*changed)
    app.erase_participant(participant_id)
    return []


# -- training -------------------------------------------------------------------------------
def mentor_certified(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(training.MentorCertified)
    participant_id = str(parse_id("participant_id", message.participant_id))
    programme = app.pool_of(parse_id("programme_id", message.programme_id))
    return [programme] if programme.set_certified(participant_id, True) else []


def _uncertified(
    app: MatchingApplication, event: ReceivedEvent, message_class: Any
) -> Sequence[Saveable]:
    """Not certified any more: no new proposals, and the open ones are cancelled."""
    message = event.parse(message_class)
    participant_id = str(parse_id("participant_id", message.participant_id))
    programme = app.find_programme(parse_id("programme_id", message.programme_id))
    if programme is None:
        return []  # never certified here: nothing to take back
    changed = programme.set_certified(participant_id, False)
    closed = app.close_open_matches(programme, participant_id, REVOKED_CAUSE)
    return [programme, *closed] if changed or closed else []


def certification_revoked(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    return _uncertified(app, event, training.CertificationRevoked)


def recertification_requested(app: MatchingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    return _uncertified(app, event, training.RecertificationRequested)


ENROLMENT_HANDLERS: dict[str, Handler] = {
    "ProgrammeCreated": programme_created,
    "ParticipantEnrolled": participant_enrolled,
    "ParticipantWithdrawn": participant_withdrawn,
    "ParticipantErased": participant_erased,
}

TRAINING_HANDLERS: dict[str, Handler] = {
    "MentorCertified": mentor_certified,
    "CertificationRevoked": certification_revoked,
    "RecertificationRequested": recertification_requested,
}


def enrolment_subscription(app: MatchingApplication, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, ENROLMENT, ENROLMENT_HANDLERS, **options)


def training_subscription(app: MatchingApplication, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, TRAINING, TRAINING_HANDLERS, **options)


def subscriptions(app: MatchingApplication, **options: Any) -> list[UpstreamSubscription]:
    return [enrolment_subscription(app, **options), training_subscription(app, **options)]


# -- background jobs (run by the service process) ------------------------------------
def subscription_job(app: MatchingApplication, nats_url: str) -> Job:
    """Consume enrolment and training until ``stop``; reconnects if NATS is not there yet."""
    return kernel_subscription_job("matching", nats_url, lambda: subscriptions(app))


def expiry_job(app: MatchingApplication, every_seconds: float) -> Job:
    """Expire unanswered proposals every ``every_seconds`` until ``stop`` (exactly once each)."""
    return periodic_job("matching", "proposal(s) expired", app.expire_due, every_seconds)
