"""Which feedback events are published, and as what.

Ratings and ids only (DESIGN section 4): practices to adopt and confidential
notes never leave the store (the relay decodes without keys, so it could not
publish them if it tried), and survey answers stay here too - the outcomes
report publishes them only as aggregates.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.events.v1 import feedback_pb2 as pb
from revmentor.kernel.cloudevents import IntegrationEvent, translator


def _requested(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.FeedbackRequested(
        session_id=e.session_id,
        mentorship_id=e.mentorship_id,
        programme_id=programme_id,
        due_at=e.due_at,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
    )
    return IntegrationEvent("FeedbackRequested", programme_id, message)


def _submitted(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.FeedbackSubmitted(
        session_id=e.session_id,
        mentorship_id=e.mentorship_id,
        programme_id=programme_id,
        participant_id=e.participant_id,
        side=e.side,
        usefulness=e.usefulness,
        topics=e.topics,
        edit=e.edit,
        confidence=e.confidence,
        pedagogy=e.pedagogy,
    )
    return IntegrationEvent("FeedbackSubmitted", programme_id, message)


def _withdrawn(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.FeedbackWithdrawn(
        session_id=e.session_id,
        mentorship_id=e.mentorship_id,
        programme_id=programme_id,
        reason="no_show",
    )
    return IntegrationEvent("FeedbackWithdrawn", programme_id, message)


def _survey_requested(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SurveyRequested(
        survey_id=str(e.originator_id),
        programme_id=programme_id,
        match_id=e.match_id,
        participant_id=e.participant_id,
        kind=e.kind,
    )
    return IntegrationEvent("SurveyRequested", programme_id, message)


def _survey_completed(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SurveyCompleted(
        survey_id=str(e.originator_id),
        programme_id=programme_id,
        match_id=e.match_id,
        participant_id=e.participant_id,
        kind=e.kind,
    )
    return IntegrationEvent("SurveyCompleted", programme_id, message)


def _flagged(e: Any) -> IntegrationEvent | None:
    if not e.new_codes:  # only reasons went away: the manager was told already
        return None
    programme_id = str(e.programme_id)
    message = pb.PairFlaggedAtRisk(
        mentorship_id=e.mentorship_id,
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        reasons=e.codes,
    )
    return IntegrationEvent("PairFlaggedAtRisk", programme_id, message)


def _cleared(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.PairRiskCleared(mentorship_id=e.mentorship_id, programme_id=programme_id)
    return IntegrationEvent("PairRiskCleared", programme_id, message)


#: Domain event class (qualified name) -> integration event. Others stay private.
TRANSLATIONS: dict[str, Callable[[Any], IntegrationEvent | None]] = {
    "SessionFeedback.Requested": _requested,
    "SessionFeedback.Submitted": _submitted,
    "SessionFeedback.Voided": _withdrawn,
    "Survey.Requested": _survey_requested,
    "Survey.Completed": _survey_completed,
    "Pair.FlaggedAtRisk": _flagged,
    "Pair.RiskCleared": _cleared,
}

#: The integration event for a domain event, or None if it stays private.
translate = translator(TRANSLATIONS)
