"""Which enrolment events are published, and as what.

Integration events carry opaque ids and business facts only - never names,
emails, employee ids, birth years or free text (DESIGN section 4).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.events.v1 import enrolment_pb2 as pb
from revmentor.kernel.cloudevents import IntegrationEvent, translator


def _needs(profile: dict[str, Any]) -> list[pb.TopicPriority]:
    return [
        pb.TopicPriority(topic=n["topic"], priority=n["priority"])
        for n in profile.get("learning_needs", [])
    ]


def _programme_created(e: Any) -> IntegrationEvent:
    pid = str(e.originator_id)
    message = pb.ProgrammeCreated(
        programme_id=pid,
        topic_codes=[t["code"] for t in e.topics],
        rules=pb.ProgrammeRulesFacts(**e.rules),
        start_date=e.start_date,
        end_date=e.end_date,
    )
    return IntegrationEvent("ProgrammeCreated", pid, message)


def _programme_status(name: str, message_class: Any) -> Any:
    def translate(e: Any) -> IntegrationEvent:
        pid = str(e.originator_id)
        return IntegrationEvent(name, pid, message_class(programme_id=pid))

    return translate


def _enrolled(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.ParticipantEnrolled(
        participant_id=str(e.originator_id),
        programme_id=programme_id,
        role=e.role,
        skills_offered=e.profile.get("skills_offered", []),
        learning_needs=_needs(e.profile),
        meeting_preference=e.profile.get("meeting_preference", ""),
    )
    return IntegrationEvent("ParticipantEnrolled", programme_id, message)


def _profile_updated(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.ParticipantProfileUpdated(
        participant_id=str(e.originator_id),
        programme_id=programme_id,
        changed_fields=e.changed_fields,
        skills_offered=e.profile.get("skills_offered", []),
        learning_needs=_needs(e.profile),
        meeting_preference=e.profile.get("meeting_preference", ""),
    )
    return IntegrationEvent("ParticipantProfileUpdated", programme_id, message)


def _withdrawn(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.ParticipantWithdrawn(
        participant_id=str(e.originator_id), programme_id=programme_id, reason=e.reason
    )
    return IntegrationEvent("ParticipantWithdrawn", programme_id, message)


def _erased(e: Any) -> IntegrationEvent:
    """Tells every consumer to destroy its own keys for this participant."""
    programme_id = str(e.programme_id)
    message = pb.ParticipantErased(participant_id=str(e.originator_id), programme_id=programme_id)
    return IntegrationEvent("ParticipantErased", programme_id, message)


#: Domain event class (qualified name) -> integration event. Others stay private.
TRANSLATIONS: dict[str, Callable[[Any], IntegrationEvent]] = {
    "Programme.Created": _programme_created,
    "Programme.EnrolmentOpened": _programme_status(
        "ProgrammeEnrolmentOpened", pb.ProgrammeEnrolmentOpened
    ),
    "Programme.EnrolmentClosed": _programme_status(
        "ProgrammeEnrolmentClosed", pb.ProgrammeEnrolmentClosed
    ),
    "Programme.Launched": _programme_status("ProgrammeLaunched", pb.ProgrammeLaunched),
    "Programme.Closed": _programme_status("ProgrammeClosed", pb.ProgrammeClosed),
    "Participant.Enrolled": _enrolled,
    "Participant.ProfileUpdated": _profile_updated,
    "Participant.Withdrawn": _withdrawn,
    "Participant.Erased": _erased,
}


#: The integration event for a domain event, or None if it stays private.
translate = translator(TRANSLATIONS)
