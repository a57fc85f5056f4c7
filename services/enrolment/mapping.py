"""Conversions between the enrolment gRPC messages and the domain.

Kept apart from the servicer so the servicer reads as a list of commands.
Unset enums become '' so that validation names the missing field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from revmentor.enrolment.domain.participant import Participant
from revmentor.enrolment.domain.profile import (
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import Programme, ProgrammeRules, Topic
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.kernel.errors import FieldViolation, ValidationFailed

ROLE = {pb.ROLE_MENTOR: "mentor", pb.ROLE_MENTEE: "mentee"}
PREFERENCE = {
    pb.MEETING_PREFERENCE_IN_PERSON: "in_person",
    pb.MEETING_PREFERENCE_VIRTUAL: "virtual",
    pb.MEETING_PREFERENCE_EITHER: "either",
}
PROGRAMME_STATUS = {
    pb.PROGRAMME_STATUS_DRAFT: "draft",
    pb.PROGRAMME_STATUS_ENROLMENT_OPEN: "enrolment_open",
    pb.PROGRAMME_STATUS_ENROLMENT_CLOSED: "enrolment_closed",
    pb.PROGRAMME_STATUS_LAUNCHED: "launched",
    pb.PROGRAMME_STATUS_CLOSED: "closed",
}
PARTICIPANT_STATUS = {
    pb.PARTICIPANT_STATUS_ENROLLED: "enrolled",
    pb.PARTICIPANT_STATUS_WITHDRAWN: "withdrawn",
    pb.PARTICIPANT_STATUS_ERASED: "erased",
}
REASON = {
    pb.WITHDRAWAL_REASON_PERSONAL: "personal",
    pb.WITHDRAWAL_REASON_WORKLOAD: "workload",
    pb.WITHDRAWAL_REASON_LEFT_COMPANY: "left_company",
    pb.WITHDRAWAL_REASON_ROLE_CHANGE: "role_change",
    pb.WITHDRAWAL_REASON_OTHER: "other",
}


def _reverse(table: dict[Any, str]) -> dict[str, Any]:
    return {v: k for k, v in table.items()}


ROLE_PB, PREFERENCE_PB = _reverse(ROLE), _reverse(PREFERENCE)
PROGRAMME_STATUS_PB, PARTICIPANT_STATUS_PB = (
    _reverse(PROGRAMME_STATUS),
    _reverse(PARTICIPANT_STATUS),
)
REASON_PB = _reverse(REASON)


# -- requests -> domain ---------------------------------------------------------
def enum_filter(field: str, value: int, table: dict[Any, str]) -> str:
    """A filter's domain value: '' for unset (no filter), INVALID_ARGUMENT if unknown."""
    if value == 0:
        return ""
    if value not in table:
        raise ValidationFailed([FieldViolation(field, f"unknown value {value}")])
    return table[value]


def rules_from(message: pb.ProgrammeRules) -> ProgrammeRules:
    defaults = ProgrammeRules()
    values = {
        name: getattr(message, name) if message.HasField(name) else getattr(defaults, name)
        for name in defaults.to_dict()
    }
    return ProgrammeRules(**values)


def topics_from(messages: Any) -> list[Topic]:
    return [Topic(code=t.code, title=t.title) for t in messages]


def profile_from(p: pb.Profile) -> Profile:
    return Profile(
        display_name=p.display_name,
        email=p.email,
        birth_year=p.birth_year,
        department=p.department,
        manager_employee_id=p.manager_employee_id,
        site=p.site,
        time_zone=p.time_zone,
        languages=tuple(p.languages),
        skills_offered=tuple(p.skills_offered),
        learning_needs=tuple(LearningNeed(n.topic, n.priority) for n in p.learning_needs),
        availability=tuple(
            AvailabilityWindow(w.weekday, w.start_time, w.end_time) for w in p.availability
        ),
        meeting_preference=PREFERENCE.get(p.meeting_preference, ""),
        skill_levels=tuple(p.skill_levels.items()),
    )


def consent_from(c: pb.Consent) -> Consent:
    return Consent(given=c.given, notice_version=c.notice_version, given_at=c.given_at)


# -- domain -> responses --------------------------------------------------------
def programme_message(p: Programme, mentor_count: int, mentee_count: int) -> pb.Programme:
    return programme_view_message(
        {
            "programme_id": str(p.id),
            "name": p.name,
            "description": p.description,
            "start_date": p.start_date,
            "end_date": p.end_date,
            "topics": p.topics,
            "rules": p.rules,
            "status": p.status,
            "version": p.version,
            "mentor_count": mentor_count,
            "mentee_count": mentee_count,
        }
    )


def programme_view_message(view: dict[str, Any]) -> pb.Programme:
    return pb.Programme(
        programme_id=view["programme_id"],
        name=view["name"],
        description=view["description"],
        start_date=view["start_date"],
        end_date=view["end_date"],
        topics=[pb.Topic(code=t["code"], title=t["title"]) for t in view["topics"]],
        rules=pb.ProgrammeRules(**view["rules"]),
        status=PROGRAMME_STATUS_PB[view["status"]],
        version=view["version"],
        mentor_count=view["mentor_count"],
        mentee_count=view["mentee_count"],
    )


def profile_message(profile: dict[str, Any]) -> pb.Profile:
    p = Profile.from_dict(profile)
    return pb.Profile(
        display_name=p.display_name,
        email=p.email,
        birth_year=p.birth_year,
        department=p.department,
        manager_employee_id=p.manager_employee_id,
        site=p.site,
        time_zone=p.time_zone,
        languages=p.languages,
        skills_offered=p.skills_offered,
        learning_needs=[
            pb.LearningNeed(topic=n.topic, priority=n.priority) for n in p.learning_needs
        ],
        availability=[
            pb.AvailabilityWindow(weekday=w.weekday, start_time=w.start_time, end_time=w.end_time)
            for w in p.availability
        ],
        meeting_preference=PREFERENCE_PB.get(p.meeting_preference, 0),
        skill_levels=p.levels(),
    )


def participant_message(p: Participant) -> pb.Participant:
    return participant_view_message(
        {
            "participant_id": str(p.id),
            "programme_id": str(p.programme_id),
            "employee_id": p.employee_id,
            "role": p.role,
            "profile": p.profile_data,
            "consent": p.consent_data,
            "status": p.status,
            "withdrawal_reason": p.withdrawal_reason,
            "version": p.version,
            "enrolled_at": p.created_on.isoformat(),
        }
    )


def participant_view_message(view: dict[str, Any]) -> pb.Participant:
    return pb.Participant(
        participant_id=view["participant_id"],
        programme_id=view["programme_id"],
        employee_id=view["employee_id"],
        role=ROLE_PB[view["role"]],
        profile=profile_message(view["profile"]),
        consent=pb.Consent(**view["consent"]),
        status=PARTICIPANT_STATUS_PB[view["status"]],
        withdrawal_reason=REASON_PB.get(view["withdrawal_reason"], 0),
        version=view["version"],
        enrolled_at=view["enrolled_at"],
    )


def matching_attributes(p: Participant) -> pb.MatchingAttributes:
    profile = profile_message(p.profile_data)
    return pb.MatchingAttributes(
        participant_id=str(p.id),
        programme_id=str(p.programme_id),
        role=ROLE_PB[p.role],
        status=PARTICIPANT_STATUS_PB[p.status],
        employee_id=p.employee_id,
        manager_employee_id=profile.manager_employee_id,
        department=profile.department,
        site=profile.site,
        time_zone=profile.time_zone,
        birth_year=profile.birth_year,
        languages=profile.languages,
        skills_offered=profile.skills_offered,
        learning_needs=profile.learning_needs,
        availability=profile.availability,
        meeting_preference=profile.meeting_preference,
        skill_levels=profile.skill_levels,
    )


def erasure_receipt(p: Participant) -> pb.ErasureReceipt:
    """What EraseParticipant answers: the participant's id, when, and its new version."""
    return pb.ErasureReceipt(
        participant_id=str(p.id), erased_at=p.modified_on.isoformat(), version=p.version
    )


def export_message(document: dict[str, Any]) -> pb.ParticipantDataExport:
    """What ExportParticipantData answers: the export document as UTF-8 JSON."""
    return pb.ParticipantDataExport(
        participant_id=document["participant_id"],
        service=document["service"],
        exported_at=document.get("exported_at") or datetime.now(UTC).isoformat(),
        document_json=json.dumps(document, sort_keys=True, ensure_ascii=False),
    )
