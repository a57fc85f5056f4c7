"""Which training events are published, and as what.

Opaque ids and business facts only (DESIGN section 4): waiver and revocation
reasons never leave the store. Keyed by programme id, like enrolment's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.events.v1 import training_pb2 as pb
from revmentor.kernel.cloudevents import IntegrationEvent, translator
from revmentor.training.domain.curriculum import MENTOR


def _opened(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.TrainingRecordOpened(
        record_id=str(e.originator_id),
        participant_id=str(e.participant_id),
        programme_id=programme_id,
        role=e.role,
        curriculum_version=e.curriculum_version,
        required_modules=[m["id"] for m in e.modules if m["required"]],
    )
    return IntegrationEvent("TrainingRecordOpened", programme_id, message)


def _curriculum_defined(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.CurriculumVersionPublished(
        programme_id=programme_id,
        version=e.curriculum_version,
        required_modules=[m["id"] for m in e.modules if m["required"]],
    )
    return IntegrationEvent("CurriculumVersionPublished", programme_id, message)


def _completed(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.ModuleCompleted(
        participant_id=participant_id,
        programme_id=programme_id,
        module=e.module_id,
        attempt=e.attempt,
        passed=e.passed,
        how="completion",
    )
    return IntegrationEvent("ModuleCompleted", programme_id, message)


def _attended(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.ModuleCompleted(
        participant_id=participant_id,
        programme_id=programme_id,
        module=e.module_id,
        attempt=1,
        passed=True,
        how="attendance",
    )
    return IntegrationEvent("ModuleCompleted", programme_id, message)


def _waived(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.ModuleCompleted(
        participant_id=participant_id,
        programme_id=programme_id,
        module=e.module_id,
        passed=False,
        how="waiver",
    )
    return IntegrationEvent("ModuleCompleted", programme_id, message)


def _certified(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    if e.role == MENTOR:
        return IntegrationEvent(
            "MentorCertified",
            programme_id,
            pb.MentorCertified(
                participant_id=participant_id,
                programme_id=programme_id,
                curriculum_version=e.curriculum_version,
            ),
        )
    return IntegrationEvent(
        "OrientationCompleted",
        programme_id,
        pb.OrientationCompleted(
            participant_id=participant_id,
            programme_id=programme_id,
            curriculum_version=e.curriculum_version,
        ),
    )


def _revoked(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.CertificationRevoked(participant_id=participant_id, programme_id=programme_id)
    return IntegrationEvent("CertificationRevoked", programme_id, message)


def _recertification(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.RecertificationRequested(
        participant_id=participant_id,
        programme_id=programme_id,
        from_version=e.from_version,
        to_version=e.to_version,
    )
    return IntegrationEvent("RecertificationRequested", programme_id, message)


def _closed(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.TrainingRecordClosed(participant_id=participant_id, programme_id=programme_id)
    return IntegrationEvent("TrainingRecordClosed", programme_id, message)


def _overdue(e: Any) -> IntegrationEvent:
    participant_id, programme_id = str(e.participant_id), str(e.programme_id)
    message = pb.MentorTrainingOverdue(
        participant_id=participant_id, programme_id=programme_id, deadline=e.deadline
    )
    return IntegrationEvent("MentorTrainingOverdue", programme_id, message)


#: Domain event class (qualified name) -> integration event. Others stay private.
TRANSLATIONS: dict[str, Callable[[Any], IntegrationEvent]] = {
    "ProgrammeTraining.CurriculumDefined": _curriculum_defined,
    "TrainingRecord.Opened": _opened,
    "TrainingRecord.ModuleCompleted": _completed,
    "TrainingRecord.AttendanceRecorded": _attended,
    "TrainingRecord.ModuleWaived": _waived,
    "TrainingRecord.Certified": _certified,
    "TrainingRecord.CertificationRevoked": _revoked,
    "TrainingRecord.RecertificationRequested": _recertification,
    "TrainingRecord.Closed": _closed,
    "TrainingRecord.MarkedOverdue": _overdue,
}


#: The integration event for a domain event, or None if it stays private.
translate = translator(TRANSLATIONS)
