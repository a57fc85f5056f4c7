"""The training gRPC API: a real grpc.aio server over SQLite and PostgreSQL.

Every refusal is checked for its status code and for leaving the store as it
was. A mentor's or mentee's own record is confirmed by a real in-process
enrolment server, asked with the caller's own token.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID, uuid4

import grpc
from support import DevIssuer, invalid, refused

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import MENTOR, AvailabilityWindow, Consent, Profile
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.training.application import TrainingApplication
from revmentor.training.v1 import training_pb2 as pb
from revmentor.training.v1 import training_pb2_grpc as pb_grpc

Code = grpc.StatusCode
Stub = pb_grpc.TrainingServiceStub


async def certify(stub: Stub, participant_id: str, **kwargs: Any) -> pb.TrainingRecord:
    record = await stub.GetTrainingRecord(
        pb.GetTrainingRecordRequest(participant_id=participant_id), **kwargs
    )
    for progress in record.modules:
        module = progress.module
        if not module.required or progress.status in (
            pb.MODULE_STATUS_PASSED,
            pb.MODULE_STATUS_WAIVED,
        ):
            continue
        if module.kind == pb.MODULE_KIND_WORKSHOP:
            record = await stub.RecordAttendance(
                pb.RecordAttendanceRequest(
                    participant_id=participant_id,
                    module_id=module.module_id,
                    session_date="2027-01-04",
                ),
                **kwargs,
            )
        else:
            record = await stub.CompleteModule(
                pb.CompleteModuleRequest(
                    participant_id=participant_id, module_id=module.module_id, score=100
                ),
                **kwargs,
            )
    return record


async def test_progress_to_certification_and_queries(
    stub: Stub, training_app: TrainingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    seed.record(programme)
    first = await stub.CompleteModule(
        pb.CompleteModuleRequest(participant_id=mentor, module_id="active-listening", score=40)
    )
    progress = {p.module.module_id: p for p in first.modules}
    assert progress["active-listening"].status == pb.MODULE_STATUS_FAILED
    assert [a.attempt for a in progress["active-listening"].attempts] == [1]
    assert first.status == pb.RECORD_STATUS_IN_PROGRESS
    record = await certify(stub, mentor)
    assert record.status == pb.RECORD_STATUS_CERTIFIED and record.certified_at
    attempts = {p.module.module_id: len(p.attempts) for p in record.modules}
    assert attempts["active-listening"] == 2, "the failed attempt is kept"
    listed = await stub.ListCertifiedMentors(pb.ListCertifiedMentorsRequest(programme_id=programme))
    assert [m.participant_id for m in listed.mentors] == [mentor] and listed.total_size == 1
    readiness = await stub.GetProgrammeReadiness(
        pb.GetProgrammeReadinessRequest(programme_id=programme)
    )
    assert readiness.mentors == 2 and readiness.certified_mentors == 1
    assert readiness.deadline == "2027-01-11"
    curriculum = await stub.GetCurriculum(pb.GetCurriculumRequest(programme_id=programme))
    assert curriculum.is_default and curriculum.version == 0 and len(curriculum.modules) == 9


async def test_curriculum_deadline_waiver_revocation_recertification(
    stub: Stub, training_app: TrainingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    defined = await stub.DefineCurriculum(
        pb.DefineCurriculumRequest(
            programme_id=programme,
            modules=[
                pb.Module(
                    module_id="basics",
                    title="Basics",
                    kind=pb.MODULE_KIND_E_LEARNING,
                    required=True,
                    estimated_minutes=30,
                    pass_mark=50,
                    audience=pb.AUDIENCE_MENTOR,
                )
            ],
        )
    )
    assert defined.version == 1 and not defined.is_default
    deadline = await stub.SetTrainingDeadline(
        pb.SetTrainingDeadlineRequest(programme_id=programme, deadline="2027-02-01")
    )
    assert deadline.deadline == "2027-02-01" and deadline.curriculum_version == 1
    waived = await stub.WaiveModule(
        pb.WaiveModuleRequest(participant_id=mentor, module_id="feedback", reason="ran it in 2026")
    )
    assert {p.module.module_id: p.waiver_reason for p in waived.modules}["feedback"]
    record = await certify(stub, mentor)
    assert record.status == pb.RECORD_STATUS_CERTIFIED and record.curriculum_version == 0
    revoked = await stub.RevokeCertification(
        pb.RevokeCertificationRequest(participant_id=mentor, reason="left the pool")
    )
    assert revoked.status == pb.RECORD_STATUS_REVOKED
    again = await stub.RequestRecertification(
        pb.RequestRecertificationRequest(participant_id=mentor)
    )
    assert again.curriculum_version == 1 and again.status == pb.RECORD_STATUS_IN_PROGRESS
    done = await stub.CompleteModule(
        pb.CompleteModuleRequest(participant_id=mentor, module_id="basics", score=50, attempt=1)
    )
    assert done.status == pb.RECORD_STATUS_CERTIFIED


async def test_error_codes_and_nothing_written(
    stub: Stub, training_app: TrainingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    await invalid(
        training_app,
        stub.CompleteModule,
        pb.CompleteModuleRequest(participant_id=mentor, module_id="X", score=101, attempt=-1),
        ["module_id", "score", "attempt"],
    )
    await invalid(
        training_app,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id="nope"),
        ["participant_id"],
    )
    await invalid(
        training_app,
        stub.DefineCurriculum,
        pb.DefineCurriculumRequest(programme_id=programme, modules=[pb.Module(module_id="ok-id")]),
        [
            "modules[0].title",
            "modules[0].kind",
            "modules[0].audience",
            "modules[0].estimated_minutes",
            "modules",
        ],
    )
    await invalid(
        training_app,
        stub.SetTrainingDeadline,
        pb.SetTrainingDeadlineRequest(programme_id=programme, deadline="2027-13-01"),
        ["deadline"],
    )
    await invalid(
        training_app,
        stub.WaiveModule,
        pb.WaiveModuleRequest(participant_id=mentor, module_id="feedback", reason=""),
        ["reason"],
    )
    await refused(
        training_app,
        Code.NOT_FOUND,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id=str(uuid4())),
    )
    await refused(
        training_app,
        Code.NOT_FOUND,
        stub.GetCurriculum,
        pb.GetCurriculumRequest(programme_id=programme, version=4),
    )
    await refused(
        training_app,
        Code.FAILED_PRECONDITION,
        stub.RevokeCertification,
        pb.RevokeCertificationRequest(participant_id=mentor, reason="not certified"),
    )
    await stub.CompleteModule(
        pb.CompleteModuleRequest(participant_id=mentor, module_id="active-listening", score=10)
    )
    await refused(
        training_app,
        Code.ALREADY_EXISTS,
        stub.CompleteModule,
        pb.CompleteModuleRequest(
            participant_id=mentor, module_id="active-listening", score=90, attempt=1
        ),
    )
    await refused(
        training_app,
        Code.ABORTED,
        stub.StartModule,
        pb.StartModuleRequest(participant_id=mentor, module_id="feedback", expected_version=1),
    )


async def test_roles(
    stub: Stub, training_app: TrainingApplication, seed, issuer: DevIssuer
) -> None:
    programme, elsewhere = seed.programme(), seed.programme()
    mine, theirs = seed.record(programme), seed.record(elsewhere)
    manager = issuer.metadata("programme_manager", programmes=[programme])
    lms = issuer.metadata("service", service="lms")
    auditor = issuer.metadata("auditor")
    complete = pb.CompleteModuleRequest(participant_id=mine, module_id="active-listening", score=90)
    # a manager acts in their programme only; elsewhere it looks missing
    await stub.CompleteModule(complete, metadata=manager)
    await refused(
        training_app,
        Code.NOT_FOUND,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id=theirs),
        metadata=manager,
    )
    await refused(
        training_app,
        Code.NOT_FOUND,
        stub.GetProgrammeReadiness,
        pb.GetProgrammeReadinessRequest(programme_id=elsewhere),
        metadata=manager,
    )
    # an LMS records completions and attendance but cannot waive or revoke
    await stub.RecordAttendance(
        pb.RecordAttendanceRequest(
            participant_id=theirs, module_id="feedback", session_date="2027-01-04"
        ),
        metadata=lms,
    )
    await stub.GetTrainingRecord(pb.GetTrainingRecordRequest(participant_id=theirs), metadata=lms)
    await refused(
        training_app,
        Code.PERMISSION_DENIED,
        stub.WaiveModule,
        pb.WaiveModuleRequest(participant_id=mine, module_id="feedback", reason="because"),
        metadata=lms,
    )
    # an auditor reads everything and changes nothing
    await stub.ListCertifiedMentors(
        pb.ListCertifiedMentorsRequest(programme_id=elsewhere), metadata=auditor
    )
    await stub.GetTrainingRecord(pb.GetTrainingRecordRequest(participant_id=mine), metadata=auditor)
    await refused(
        training_app, Code.PERMISSION_DENIED, stub.CompleteModule, complete, metadata=auditor
    )
    # mentors may not record results or read programme-wide views
    mentor = issuer.metadata("mentor", employee_id="E-1")
    for method, request in (
        (stub.CompleteModule, complete),
        (stub.GetProgrammeReadiness, pb.GetProgrammeReadinessRequest(programme_id=programme)),
        (stub.ListCertifiedMentors, pb.ListCertifiedMentorsRequest(programme_id=programme)),
        (stub.DefineCurriculum, pb.DefineCurriculumRequest(programme_id=programme)),
    ):
        await refused(training_app, Code.PERMISSION_DENIED, method, request, metadata=mentor)
    await refused(
        training_app,
        Code.UNAUTHENTICATED,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id=mine),
        metadata=(("authorization", "Bearer nope"),),
    )


# -- a mentor reads their own record: enrolment says which one is theirs ----------------------


def enrol(app: EnrolmentApplication, programme_id: str, employee_id: str) -> str:
    profile = Profile(
        display_name="Ada",
        email="ada@example.com",
        birth_year=1999,
        department="Finance",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en",),
        skills_offered=("generative-ai",),
        availability=(AvailabilityWindow(2, "09:00", "10:30"),),
    )
    consent = Consent(True, "2027-01")
    return str(app.enrol(programme_id, employee_id, MENTOR, profile, consent).id)


async def test_mentors_see_only_their_own_record(
    stub: Stub,
    training_app: TrainingApplication,
    seed,
    issuer: DevIssuer,
    enrolment_server: EnrolmentApplication,
) -> None:
    programme = enrolment_server.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    enrolment_server.open_enrolment(str(programme.id))
    mine = enrol(enrolment_server, str(programme.id), "E-1")
    theirs = enrol(enrolment_server, str(programme.id), "E-2")
    training_programme = seed.programme()
    for participant in (mine, theirs):
        seed.record(training_programme, participant=UUID(participant))
    me = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    own = await stub.GetTrainingRecord(
        pb.GetTrainingRecordRequest(participant_id=mine), metadata=me
    )
    assert own.participant_id == mine
    started = await stub.StartModule(
        pb.StartModuleRequest(participant_id=mine, module_id="adult-learning"), metadata=me
    )
    assert started.status == pb.RECORD_STATUS_IN_PROGRESS
    missing = await refused(
        training_app,
        Code.NOT_FOUND,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id=theirs),
        metadata=me,
    )
    assert "training record" in (missing.details() or "")
    await refused(
        training_app,
        Code.NOT_FOUND,
        stub.StartModule,
        pb.StartModuleRequest(participant_id=theirs, module_id="adult-learning"),
        metadata=me,
    )
    # curricula are not personal: a mentor reads them
    await stub.GetCurriculum(pb.GetCurriculumRequest(programme_id=training_programme), metadata=me)


async def test_enrolment_down_is_unavailable(
    stub: Stub, training_app: TrainingApplication, seed, issuer: DevIssuer, monkeypatch
) -> None:
    from revmentor.kernel.natsserver import free_port

    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{free_port()}")
    mentor = seed.record(seed.programme())
    await refused(
        training_app,
        Code.UNAVAILABLE,
        stub.GetTrainingRecord,
        pb.GetTrainingRecordRequest(participant_id=mentor),
        metadata=issuer.metadata("mentor", employee_id="E-1"),
    )


async def test_export_holds_the_record_and_its_history(
    stub: Stub, training_app: TrainingApplication, seed: Any
) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    await stub.WaiveModule(
        pb.WaiveModuleRequest(
            participant_id=mentor, module_id="active-listening", reason="already a certified coach"
        )
    )
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=mentor)
    )
    document = json.loads(exported.document_json)
    assert exported.service == "training" and document["participant_id"] == mentor
    assert [e["type"] for e in document["history"]][:2] == [
        "TrainingRecord.Opened",
        "TrainingRecord.ModuleWaived",
    ]
    assert "already a certified coach" in exported.document_json  # decrypted for its owner
    await refused(
        training_app,
        grpc.StatusCode.NOT_FOUND,
        stub.ExportParticipantData,
        pb.ExportParticipantDataRequest(participant_id=str(uuid4())),
    )
