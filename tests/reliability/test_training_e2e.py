"""Enrolment and training as real processes on a real nats-server.

Enrol a mentor -> the training record exists -> complete its modules over
gRPC -> ``MentorCertified`` on REVMENTOR_TRAINING. The same with training
killed (-9) half-way and restarted (and a second mentor enrolled while it is
down): no duplicate record, exactly one certification per mentor.
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from support import DevIssuer, ServiceProcess, eventually, read_stream

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.training.v1 import training_pb2 as pb
from revmentor.training.v1 import training_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow

WAIT = 30.0


def mentor_request(programme_id: str, employee_id: str) -> epb.EnrolParticipantRequest:
    return epb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=epb.ROLE_MENTOR,
        profile=epb.Profile(
            display_name="Chloé Tremblay",
            email="chloe@example.com",
            birth_year=2001,
            department="Data",
            site="Montréal",
            time_zone="America/Toronto",
            languages=["fr-CA", "en"],
            skills_offered=["generative-ai"],
            availability=[epb.AvailabilityWindow(weekday=2, start_time="09:00", end_time="11:00")],
            meeting_preference=epb.MEETING_PREFERENCE_VIRTUAL,
        ),
        consent=epb.Consent(given=True, notice_version="2027-01"),
    )


async def enrol_mentors(enrolment: ServiceProcess, employees: list[str]) -> tuple[str, list[str]]:
    async with enrolment.channel() as channel:
        stub = epb_grpc.EnrolmentServiceStub(channel)
        programme = await stub.CreateProgramme(
            epb.CreateProgrammeRequest(
                name="E2E cohort",
                start_date="2027-01-11",
                end_date="2027-06-30",
                topics=[epb.Topic(code="generative-ai", title="Generative AI")],
            ),
            timeout=10,
        )
        await stub.OpenEnrolment(
            epb.ProgrammeCommand(programme_id=programme.programme_id), timeout=10
        )
        ids = []
        for employee in employees:
            enrolled = await stub.EnrolParticipant(
                mentor_request(programme.programme_id, employee), timeout=10
            )
            ids.append(enrolled.participant_id)
    return programme.programme_id, ids


async def wait_for_record(training: ServiceProcess, participant_id: str) -> pb.TrainingRecord:
    found: list[pb.TrainingRecord] = []
    async with training.channel() as channel:
        stub = pb_grpc.TrainingServiceStub(channel)

        async def exists() -> bool:
            try:
                found.append(
                    await stub.GetTrainingRecord(
                        pb.GetTrainingRecordRequest(participant_id=participant_id), timeout=5
                    )
                )
                return True
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return False

        await eventually(exists, timeout=WAIT, interval=0.2, what=f"record of {participant_id}")
    return found[-1]


async def complete(
    training: ServiceProcess, participant_id: str, modules: list[pb.Module]
) -> pb.TrainingRecord:
    """Complete ``modules``; a result recorded before a crash (reply lost) is fine."""
    record = pb.TrainingRecord()
    async with training.channel("service", service="lms") as channel:
        stub = pb_grpc.TrainingServiceStub(channel)
        for module in modules:
            try:
                if module.kind == pb.MODULE_KIND_WORKSHOP:
                    record = await stub.RecordAttendance(
                        pb.RecordAttendanceRequest(
                            participant_id=participant_id,
                            module_id=module.module_id,
                            session_date="2027-01-05",
                        ),
                        timeout=10,
                    )
                else:
                    record = await stub.CompleteModule(
                        pb.CompleteModuleRequest(
                            participant_id=participant_id,
                            module_id=module.module_id,
                            score=95,
                            attempt=1,
                        ),
                        timeout=10,
                    )
            except grpc.aio.AioRpcError as error:
                if error.code() not in (
                    grpc.StatusCode.ALREADY_EXISTS,
                    grpc.StatusCode.FAILED_PRECONDITION,
                ):
                    raise
    return record


def events_named(messages: list, name: str) -> list[dict]:
    return [json.loads(m.data) for m in messages if m.headers["ce-type"].endswith(f".{name}")]


@pytest.mark.parametrize("crash", [False, True], ids=["steady", "kill-9"])
async def test_enrol_train_certify_on_real_nats(
    tmp_path: Path, nats_server: LocalNatsServer, crash: bool
) -> None:
    issuer = DevIssuer(tmp_path / "auth")
    var = tmp_path / "var"
    enrolment = ServiceProcess("enrolment", var, nats_server.url, issuer=issuer).start()
    training = ServiceProcess(
        "training",
        var,
        nats_server.url,
        {"REVMENTOR_ENROLMENT_ADDR": enrolment.address, "TRAINING_DEADLINE_CHECK_SECONDS": "0.5"},
        issuer=issuer,
    ).start()
    try:
        programme_id, (first,) = await enrol_mentors(enrolment, ["E-1"])
        record = await wait_for_record(training, first)
        assert record.status == pb.RECORD_STATUS_NOT_STARTED and record.curriculum_version == 0
        required = [p.module for p in record.modules if p.module.required]
        half = len(required) // 2
        await complete(training, first, required[:half])
        participants = [first]
        if crash:
            training.kill()
            async with enrolment.channel() as channel:  # enrolled while training is down
                stub = epb_grpc.EnrolmentServiceStub(channel)
                second = await stub.EnrolParticipant(
                    mentor_request(programme_id, "E-2"), timeout=10
                )
            participants.append(second.participant_id)
            training.start()
            await wait_for_record(training, second.participant_id)
            await complete(training, second.participant_id, required)
        final = await complete(training, first, required)
        assert final.status == pb.RECORD_STATUS_CERTIFIED

        async def all_certified() -> bool:
            messages = await read_stream(nats_server.url, "REVMENTOR_TRAINING")
            return len(events_named(messages, "MentorCertified")) >= len(participants)

        await eventually(all_certified, timeout=WAIT, what="MentorCertified on the stream")
        messages = await read_stream(nats_server.url, "REVMENTOR_TRAINING")
        certified = events_named(messages, "MentorCertified")
        opened = events_named(messages, "TrainingRecordOpened")
        assert sorted(e["participantId"] for e in certified) == sorted(participants)
        assert sorted(e["participantId"] for e in opened) == sorted(participants)
        assert all(e["programmeId"] == programme_id for e in certified)
        ids = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(ids) == len(set(ids)), "no event twice on the stream"
        async with training.channel() as channel:
            stub = pb_grpc.TrainingServiceStub(channel)
            listed = await stub.ListCertifiedMentors(
                pb.ListCertifiedMentorsRequest(programme_id=programme_id), timeout=10
            )
            readiness = await stub.GetProgrammeReadiness(
                pb.GetProgrammeReadinessRequest(programme_id=programme_id), timeout=10
            )
        assert sorted(m.participant_id for m in listed.mentors) == sorted(participants)
        assert readiness.mentors == len(participants), "no duplicate record"
        assert training.stop() == 0, training.log()[-2000:]
    finally:
        training.kill()
        enrolment.kill()
        print(training.log()[-3000:])
