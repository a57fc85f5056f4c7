"""Which matching events are published, and as what.

Opaque ids and business facts only (DESIGN section 4): explanations, decline
and end reasons and override justifications never leave the store. Keyed by
programme id, like enrolment's and training's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.events.v1 import matching_pb2 as pb
from revmentor.kernel.cloudevents import IntegrationEvent, translator


def _round(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MatchingRoundCompleted(
        round_id=str(e.originator_id),
        programme_id=programme_id,
        round_number=e.round_number,
        inputs_digest=e.inputs_digest,
        algorithm_version=e.algorithm_version,
        mentees_considered=e.mentees_considered,
        proposed=len(e.proposals),
        unmatched=len(e.unmatched),
    )
    return IntegrationEvent("MatchingRoundCompleted", programme_id, message)


def _proposed(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MatchProposed(
        match_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        round_id=e.round_id,
        origin=e.origin,
        score=e.score,
        expires_at=e.expires_at,
        overridden=list(e.overridden),
    )
    return IntegrationEvent("MatchProposed", programme_id, message)


def _accepted(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.ProposalAccepted(
        match_id=str(e.originator_id),
        programme_id=programme_id,
        participant_id=e.participant_id,
        side=e.side,
    )
    return IntegrationEvent("ProposalAccepted", programme_id, message)


def _declined(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.ProposalDeclined(
        match_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        declined_by=getattr(e, "participant_id", ""),
        status=_STATUS[type(e).__name__],
    )
    return IntegrationEvent("ProposalDeclined", programme_id, message)


_STATUS = {"Declined": "declined", "Expired": "expired", "Cancelled": "cancelled"}


def _confirmed(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MatchConfirmed(
        match_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        confirmed_at=e.at,
    )
    return IntegrationEvent("MatchConfirmed", programme_id, message)


def _ended(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MatchEnded(
        match_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        outcome=e.cause,
        ended_at=e.at,
    )
    return IntegrationEvent("MatchEnded", programme_id, message)


#: Domain event class (qualified name) -> integration event. Others stay private.
TRANSLATIONS: dict[str, Callable[[Any], IntegrationEvent]] = {
    "MatchingRound.Recorded": _round,
    "Match.Proposed": _proposed,
    "Match.Accepted": _accepted,
    "Match.Declined": _declined,
    "Match.Expired": _declined,
    "Match.Cancelled": _declined,
    "Match.Confirmed": _confirmed,
    "Match.Ended": _ended,
}


#: The integration event for a domain event, or None if it stays private.
translate = translator(TRANSLATIONS)
