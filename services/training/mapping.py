"""Conversions between the training gRPC messages and the domain."""

from __future__ import annotations

from typing import Any

from revmentor.training.domain.curriculum import (
    DEFAULT_VERSION,
    E_LEARNING,
    MENTEE,
    MENTOR,
    READING,
    WORKSHOP,
    Module,
    ProgrammeTraining,
)
from revmentor.training.domain.record import (
    CERTIFIED,
    CLOSED,
    COMPLETED,
    IN_PROGRESS,
    NOT_STARTED,
    REVOKED,
    TrainingRecord,
)
from revmentor.training.v1 import training_pb2 as pb

KIND = {
    pb.MODULE_KIND_E_LEARNING: E_LEARNING,
    pb.MODULE_KIND_WORKSHOP: WORKSHOP,
    pb.MODULE_KIND_READING: READING,
}
AUDIENCE = {pb.AUDIENCE_MENTOR: MENTOR, pb.AUDIENCE_MENTEE: MENTEE}
RECORD_STATUS = {
    NOT_STARTED: pb.RECORD_STATUS_NOT_STARTED,
    IN_PROGRESS: pb.RECORD_STATUS_IN_PROGRESS,
    CERTIFIED: pb.RECORD_STATUS_CERTIFIED,
    COMPLETED: pb.RECORD_STATUS_COMPLETED,
    REVOKED: pb.RECORD_STATUS_REVOKED,
    CLOSED: pb.RECORD_STATUS_CLOSED,
}
MODULE_STATUS = {
    "not_started": pb.MODULE_STATUS_NOT_STARTED,
    "started": pb.MODULE_STATUS_STARTED,
    "failed": pb.MODULE_STATUS_FAILED,
    "passed": pb.MODULE_STATUS_PASSED,
    "waived": pb.MODULE_STATUS_WAIVED,
}
KIND_PB = {v: k for k, v in KIND.items()}
AUDIENCE_PB = {v: k for k, v in AUDIENCE.items()}


# -- requests -> domain ------------------------------------------------------------------
def module_from(message: pb.Module) -> Module:
    """Unset enums become '' so validation names the field."""
    return Module(
        id=message.module_id,
        title=message.title,
        kind=KIND.get(message.kind, ""),
        required=message.required,
        estimated_minutes=message.estimated_minutes,
        pass_mark=message.pass_mark,
        audience=AUDIENCE.get(message.audience, ""),
    )


# -- domain -> responses -----------------------------------------------------------------
def module_message(m: dict[str, Any]) -> pb.Module:
    return pb.Module(
        module_id=m["id"],
        title=m["title"],
        kind=KIND_PB[m["kind"]],
        required=m["required"],
        estimated_minutes=m["estimated_minutes"],
        pass_mark=m["pass_mark"],
        audience=AUDIENCE_PB[m["audience"]],
    )


def curriculum_message(
    programme_id: str, version: int, modules: list[dict[str, Any]]
) -> pb.Curriculum:
    return pb.Curriculum(
        programme_id=programme_id,
        version=version,
        is_default=version == DEFAULT_VERSION,
        modules=[module_message(m) for m in modules],
    )


def programme_message(programme: ProgrammeTraining) -> pb.ProgrammeTraining:
    return pb.ProgrammeTraining(
        programme_id=str(programme.programme_id),
        deadline=programme.deadline,
        curriculum_version=programme.current_version,
    )


def record_message(record: TrainingRecord) -> pb.TrainingRecord:
    modules = []
    for m in record.modules:
        mid = m["id"]
        modules.append(
            pb.ModuleProgress(
                module=module_message(m),
                status=MODULE_STATUS[record.module_status(mid)],
                attempts=[pb.Attempt(**a) for a in record.attempts.get(mid, [])],
                attended=mid in record.attended and record.module_status(mid) == "passed",
                waiver_reason=record.waiver_reasons.get(mid, ""),
            )
        )
    return pb.TrainingRecord(
        record_id=str(record.id),
        participant_id=str(record.participant_id),
        programme_id=str(record.programme_id),
        role=AUDIENCE_PB[record.role],
        status=RECORD_STATUS[record.status],
        curriculum_version=record.curriculum_version,
        modules=modules,
        certified_at=record.certified_at,
        revocation_reason=record.revocation_reason,
        overdue=record.overdue,
        version=record.version,
    )


def readiness_message(view: dict[str, Any]) -> pb.ProgrammeReadiness:
    return pb.ProgrammeReadiness(
        programme_id=view["programme_id"],
        deadline=view["deadline"],
        counts=[
            pb.StatusCount(role=AUDIENCE_PB[role], status=RECORD_STATUS[status], count=count)
            for (role, status), count in view["counts"].items()
        ],
        mentors=view["mentors"],
        certified_mentors=view["certified_mentors"],
        overdue_mentor_ids=view["overdue"],
    )


def certified_message(view: dict[str, Any]) -> pb.CertifiedMentor:
    return pb.CertifiedMentor(
        participant_id=view["participant_id"],
        curriculum_version=view["curriculum_version"],
        certified_at=view["certified_at"],
    )
