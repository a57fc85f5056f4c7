"""What scheduling does with enrolment's and matching's integration events.

From enrolment:

    ProgrammeCreated   the programme's dates and planned number of sessions
                       (``rules.planned_sessions``; 6 when absent); mentorships
                       opened before it arrived adopt that number
    ParticipantErased  end their mentorships (future sessions cancelled, diaries
                       freed), then destroy this service's keys for them and for
                       every mentorship they were in (agendas, places and reasons
                       read "[erased]")

From matching:

    MatchConfirmed     open the pair's mentorship (one per match)
    MatchEnded         end it with the match's outcome: future sessions
                       cancelled, both diaries freed (a mentorship never opened -
                       its confirmation dead-lettered - is opened and ended at
                       once, so the confirmation replayed later opens nothing)

The two streams are independent, so a confirmed match may arrive before the
``ProgrammeCreated`` of its programme: the programme is then registered with
default facts (``app.programme_of``) and the later ``ProgrammeCreated`` still
records the real ones. An erasure may likewise arrive before the confirmation
of a match the erased person was in: the mentorship is then opened and ended
at once, and its key destroyed, so nothing personal is ever written about them.

Idempotent twice over: the kernel records the upstream position in the same
transaction as what a handler returns, and every handler returns nothing when
the event would change nothing (a mentorship already open, already ended, facts
already recorded).

Erasure writes before returning. Ending a mentorship cancels its future
sessions, and a cancellation seals its (empty) reason with the mentorship's
key; a destroyed key is a tombstone that refuses to seal anything again. So the
handler saves the endings first, then destroys the keys, and returns nothing;
the kernel then records the position. A crash anywhere in between is
redelivered, finds nothing left to end, destroys again (idempotent) and is
tracked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from revmentor.events.v1 import enrolment_pb2 as enrolment
from revmentor.events.v1 import matching_pb2 as matching
from revmentor.kernel.application import Saveable
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription
from revmentor.kernel.ids import parse_id
from revmentor.kernel.jobs import Job, handler_subscription, periodic_job
from revmentor.kernel.jobs import subscription_job as kernel_subscription_job
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.domain.mentorship import Mentorship
from revmentor.scheduling.domain.programme import DEFAULT_PLANNED_SESSIONS

log = logging.getLogger(__name__)

ENROLMENT = "enrolment"
MATCHING = "matching"
#: The outcome of a mentorship ended because a member was erased (matching's word too).
ERASED_OUTCOME = "participant_erased"
#: How often the background jobs look for due reminders and stalled pairs (seconds).
REMINDER_CHECK_SECONDS = 60.0
STALL_CHECK_SECONDS = 3600.0

Handler = Callable[[SchedulingApplication, ReceivedEvent], Sequence[Saveable]]


# -- enrolment ------------------------------------------------------------------------------
def programme_facts(message: Any) -> tuple[str, str, int]:
    """(start_date, end_date, planned_sessions) from ProgrammeCreated."""
    planned = message.rules.planned_sessions if message.HasField("rules") else 0
    return message.start_date, message.end_date, planned or DEFAULT_PLANNED_SESSIONS


def programme_created(app: SchedulingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ProgrammeCreated)
    programme_id = parse_id("programme_id", message.programme_id)
    registered = app.find_programme(programme_id) is not None
    programme = app.programme_of(programme_id)
    facts = programme_facts(message)
    if facts != (programme.start_date, programme.end_date, programme.planned_sessions):
        programme.record_facts(*facts)
    elif registered:
        return []
    # Mentorships a confirmed match opened before these facts arrived took the
    # default number of sessions: they adopt the programme's now.
    replanned = app.replan_mentorships(programme) if registered else []
    return [programme, *replanned]


def participant_erased(app: SchedulingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    """Endings saved first, then the keys destroyed (see the module docstring)."""
    message = event.parse(enrolment.ParticipantErased)
    participant_id = str(parse_id("participant_id", message.participant_id))
    parse_id("programme_id", message.programme_id)
    for record in app.mentorships_of(participant_id):
        # one save per mentorship: two of them may free the same person's diary
        ended = app.end_mentorship(record.match_id, ERASED_OUTCOME)
        if ended:
            app.save(*ended)
    app.erase_participant(participant_id)
    return []


# -- matching -------------------------------------------------------------------------------
def _pair(message: Any) -> tuple[str, Any, str, str]:
    return (
        str(parse_id("match_id", message.match_id)),
        parse_id("programme_id", message.programme_id),
        str(parse_id("mentee_id", message.mentee_id)),
        str(parse_id("mentor_id", message.mentor_id)),
    )


def match_confirmed(app: SchedulingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    match_id, programme_id, mentee_id, mentor_id = _pair(event.parse(matching.MatchConfirmed))
    opened = app.open_mentorship(match_id, programme_id, mentee_id, mentor_id)
    erased = [pid for pid in (mentee_id, mentor_id) if app.keys.is_destroyed(pid)]
    if not erased:
        return opened
    # A member was erased before the confirmation reached us: the pair will never
    # meet here; record it as ended and shred it like the erasure would have
    # (again on a redelivery: destroying is idempotent).
    for item in opened:
        if isinstance(item, Mentorship):
            item.end(ERASED_OUTCOME, app.clock())
    if opened:
        app.save(*opened)
    for participant_id in erased:
        app.erase_participant(participant_id)
    return []


def match_ended(app: SchedulingApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(matching.MatchEnded)
    match_id = str(parse_id("match_id", message.match_id))
    programme_id = parse_id("programme_id", message.programme_id)
    pair = (programme_id, message.mentee_id, message.mentor_id)
    return app.end_mentorship(match_id, message.outcome or "ended", pair)


ENROLMENT_HANDLERS: dict[str, Handler] = {
    "ProgrammeCreated": programme_created,
    "ParticipantErased": participant_erased,
}

MATCHING_HANDLERS: dict[str, Handler] = {
    "MatchConfirmed": match_confirmed,
    "MatchEnded": match_ended,
}


def enrolment_subscription(app: SchedulingApplication, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, ENROLMENT, ENROLMENT_HANDLERS, **options)


def matching_subscription(app: SchedulingApplication, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, MATCHING, MATCHING_HANDLERS, **options)


def subscriptions(app: SchedulingApplication, **options: Any) -> list[UpstreamSubscription]:
    return [enrolment_subscription(app, **options), matching_subscription(app, **options)]


# -- background jobs (run by the service process) ------------------------------------
def subscription_job(app: SchedulingApplication, nats_url: str) -> Job:
    """Consume enrolment and matching until ``stop``; reconnects if NATS is not there yet."""
    return kernel_subscription_job("scheduling", nats_url, lambda: subscriptions(app))


def reminder_job(app: SchedulingApplication, every_seconds: float = REMINDER_CHECK_SECONDS) -> Job:
    """Record due session reminders every ``every_seconds`` (exactly once each)."""
    return periodic_job("scheduling", "reminder(s) due", app.send_due_reminders, every_seconds)


def stall_job(app: SchedulingApplication, every_seconds: float = STALL_CHECK_SECONDS) -> Job:
    """Flag stalled mentorships every ``every_seconds`` (once per stall)."""
    return periodic_job("scheduling", "mentorship(s) stalled", app.flag_stalls, every_seconds)
