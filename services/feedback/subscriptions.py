"""What feedback does with the other services' integration events.

From enrolment:

    ProgrammeCreated     the topic catalogue (what sessions cover, what mentees
                         rate their skill in)
    ParticipantEnrolled  the funnel's "enrolled", and when (time to first session)
    ParticipantErased    blank their practices and notes (an event, so every
                         replica stops showing them at once), then destroy this
                         service's key for them; their ratings, tied to an id
                         nobody can resolve any more, stay in the aggregates

From training:

    MentorCertified      the funnel's "certified"

From matching:

    MatchConfirmed       a baseline survey for each member (the funnel's "matched")

From scheduling:

    MentorshipOpened     the pair (mentorship -> match, mentee, mentor)
    SessionHeld          feedback asked of both members, due after the
                         programme's window; a stall is over (a session held
                         again after a dispute asks nothing twice)
    SessionNoShow        a held session the manager settled as a no-show: its
                         feedback request is withdrawn and it counts nowhere
    MentorshipStalled    the pair is assessed: stalled is a reason to flag it
    MentorshipCompleted  an end survey for each member; no longer at risk
    MentorshipEnded      no longer at risk

The streams are independent, so anything may arrive before the programme's
facts: the programme is then registered on first sight with no catalogue yet,
and surveys answered later are checked against the catalogue as it is then.
Within scheduling's stream a mentorship's opening precedes its sessions; if
it was dead-lettered, a held session or a stall opens the pair on first sight
(the replayed opening then adds its match), and an ending is retried and
dead-lettered in turn (``UnknownPair``) until the opening is replayed.

Idempotent twice over: the kernel records the upstream position in the same
transaction as what a handler returns, and every handler returns nothing when
the event would change nothing (feedback already asked, survey already asked).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from revmentor.events.v1 import enrolment_pb2 as enrolment
from revmentor.events.v1 import matching_pb2 as matching
from revmentor.events.v1 import scheduling_pb2 as scheduling
from revmentor.events.v1 import training_pb2 as training
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.ratings import MENTEE, MENTOR
from revmentor.feedback.domain.survey import BASELINE
from revmentor.kernel.application import Saveable
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription
from revmentor.kernel.ids import parse_id
from revmentor.kernel.jobs import Job, handler_subscription, periodic_job
from revmentor.kernel.jobs import subscription_job as kernel_subscription_job

UPSTREAMS = ("enrolment", "training", "matching", "scheduling")
#: How often the background job closes feedback windows past their due time (seconds).
CLOSE_CHECK_SECONDS = 300.0

Handler = Callable[[FeedbackApplication, ReceivedEvent], Sequence[Saveable]]


def _id(name: str, value: str) -> str:
    return str(parse_id(name, value))


# -- enrolment --------------------------------------------------------------------------
def programme_created(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ProgrammeCreated)
    programme_id = parse_id("programme_id", message.programme_id)
    return app.record_catalogue(programme_id, list(message.topic_codes))


def participant_enrolled(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ParticipantEnrolled)
    programme_id = parse_id("programme_id", message.programme_id)
    participant_id = _id("participant_id", message.participant_id)
    return app.record_enrolment(programme_id, participant_id, message.role, event.time)


def participant_erased(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(enrolment.ParticipantErased)
    app.erase_participant(_id("participant_id", message.participant_id))
    return []


# -- training ---------------------------------------------------------------------------
def mentor_certified(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(training.MentorCertified)
    programme_id = parse_id("programme_id", message.programme_id)
    return app.record_certification(
        programme_id, _id("participant_id", message.participant_id), event.time
    )


# -- matching ---------------------------------------------------------------------------
def match_confirmed(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(matching.MatchConfirmed)
    members = {
        MENTEE: _id("mentee_id", message.mentee_id),
        MENTOR: _id("mentor_id", message.mentor_id),
    }
    programme_id = parse_id("programme_id", message.programme_id)
    return app.request_surveys(programme_id, _id("match_id", message.match_id), members, BASELINE)


# -- scheduling -------------------------------------------------------------------------
def mentorship_opened(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.MentorshipOpened)
    return app.open_pair(
        parse_id("programme_id", message.programme_id),
        _id("mentorship_id", message.mentorship_id),
        _id("match_id", message.match_id),
        _id("mentee_id", message.mentee_id),
        _id("mentor_id", message.mentor_id),
    )


def session_held(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.SessionHeld)
    return app.request_feedback(
        parse_id("programme_id", message.programme_id),
        _id("session_id", message.session_id),
        _id("mentorship_id", message.mentorship_id),
        _id("mentee_id", message.mentee_id),
        _id("mentor_id", message.mentor_id),
        message.start,
    )


def session_no_show(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.SessionNoShow)
    return app.void_session(_id("session_id", message.session_id))


def mentorship_stalled(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.MentorshipStalled)
    return app.flag_stall(
        parse_id("programme_id", message.programme_id),
        _id("mentorship_id", message.mentorship_id),
        _id("mentee_id", message.mentee_id),
        _id("mentor_id", message.mentor_id),
        message.since,
    )


def mentorship_completed(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.MentorshipCompleted)
    return app.close_pair(_id("mentorship_id", message.mentorship_id), "completed")


def mentorship_ended(app: FeedbackApplication, event: ReceivedEvent) -> Sequence[Saveable]:
    message = event.parse(scheduling.MentorshipEnded)
    return app.close_pair(_id("mentorship_id", message.mentorship_id), message.outcome or "ended")


HANDLERS: dict[str, dict[str, Handler]] = {
    "enrolment": {
        "ProgrammeCreated": programme_created,
        "ParticipantEnrolled": participant_enrolled,
        "ParticipantErased": participant_erased,
    },
    "training": {"MentorCertified": mentor_certified},
    "matching": {"MatchConfirmed": match_confirmed},
    "scheduling": {
        "MentorshipOpened": mentorship_opened,
        "SessionHeld": session_held,
        "SessionNoShow": session_no_show,
        "MentorshipStalled": mentorship_stalled,
        "MentorshipCompleted": mentorship_completed,
        "MentorshipEnded": mentorship_ended,
    },
}


def subscription(app: FeedbackApplication, upstream: str, **options: Any) -> UpstreamSubscription:
    return handler_subscription(app, upstream, HANDLERS[upstream], **options)


def subscriptions(app: FeedbackApplication, **options: Any) -> list[UpstreamSubscription]:
    return [subscription(app, upstream, **options) for upstream in UPSTREAMS]


# -- background jobs (run by the service process) ------------------------------------------
def subscription_job(app: FeedbackApplication, nats_url: str) -> Job:
    """Consume the four upstreams until ``stop``; reconnects if NATS is not there yet."""
    return kernel_subscription_job("feedback", nats_url, lambda: subscriptions(app))


def closing_job(app: FeedbackApplication, every_seconds: float = CLOSE_CHECK_SECONDS) -> Job:
    """Close feedback windows past their due time every ``every_seconds`` (once each)."""
    return periodic_job(
        "feedback", "feedback window(s) closed", app.close_due_windows, every_seconds
    )
