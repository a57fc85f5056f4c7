"""Steps of a programme driven over the real gRPC APIs of running services,
shared by the end-to-end and reliability tests: create a programme, enrol
people, certify a mentor through training, wait for matching's pool, start
scheduling next to them and wait for its mentorships."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc
from support import DevIssuer, ServiceProcess, eventually

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc
from revmentor.training.v1 import training_pb2 as tpb
from revmentor.training.v1 import training_pb2_grpc as tpb_grpc

WAIT = 30.0
TOPIC = "generative-ai"


@dataclass(frozen=True)
class Person:
    employee_id: str
    mentor: bool
    name: str
    born: int
    department: str
    languages: tuple[str, ...] = ("fr", "en")
    manager: str = "E-BOSS"


def start_platform(tmp_path: Path, nats_url: str) -> tuple[DevIssuer, list[ServiceProcess]]:
    """Enrolment, training and matching processes; matching with its service token."""
    issuer = DevIssuer(tmp_path / "auth")
    var = tmp_path / "var"
    token_file = tmp_path / "matching.token"
    token_file.write_text(issuer.token("service", sub="service:matching", service="matching"))
    enrolment = ServiceProcess("enrolment", var, nats_url, issuer=issuer).start()
    upstream = {"REVMENTOR_ENROLMENT_ADDR": enrolment.address}
    training = ServiceProcess("training", var, nats_url, upstream, issuer=issuer).start()
    matching = ServiceProcess(
        "matching",
        var,
        nats_url,
        {**upstream, "REVMENTOR_MATCHING_TOKEN_FILE": str(token_file)},
        issuer=issuer,
    ).start()
    return issuer, [enrolment, training, matching]


def start_scheduling(
    tmp_path: Path,
    nats_url: str,
    issuer: DevIssuer,
    enrolment: ServiceProcess,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """A scheduling process next to ``start_platform``'s, with its own service token
    (slot suggestions ask enrolment for availability) and ``extra_env``."""
    token_file = tmp_path / "scheduling.token"
    token_file.write_text(issuer.token("service", sub="service:scheduling", service="scheduling"))
    env = {
        "REVMENTOR_ENROLMENT_ADDR": enrolment.address,
        "REVMENTOR_SCHEDULING_TOKEN_FILE": str(token_file),
        **(extra_env or {}),
    }
    return ServiceProcess("scheduling", tmp_path / "var", nats_url, env, issuer=issuer).start()


def enrol_request(programme_id: str, person: Person) -> epb.EnrolParticipantRequest:
    """Paris, Monday-Wednesday mornings, generative AI offered (mentor) or needed."""
    return epb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=person.employee_id,
        role=epb.ROLE_MENTOR if person.mentor else epb.ROLE_MENTEE,
        profile=epb.Profile(
            display_name=person.name,
            email=f"{person.employee_id.lower()}@example.com",
            birth_year=person.born,
            department=person.department,
            manager_employee_id=person.manager,
            site="Paris",
            time_zone="Europe/Paris",
            languages=list(person.languages),
            skills_offered=[TOPIC] if person.mentor else [],
            learning_needs=[] if person.mentor else [epb.LearningNeed(topic=TOPIC, priority=1)],
            availability=[
                epb.AvailabilityWindow(weekday=d, start_time="09:00", end_time="12:00")
                for d in (1, 2, 3)
            ],
            meeting_preference=epb.MEETING_PREFERENCE_EITHER,
        ),
        consent=epb.Consent(given=True, notice_version="2027-01"),
    )


async def create_programme(
    enrolment: ServiceProcess,
    name: str,
    start_date: str = "2027-01-11",
    end_date: str = "2027-06-30",
) -> str:
    """An open programme with one topic, minimum age gap 15, capacity 1."""
    async with enrolment.channel() as channel:
        stub = epb_grpc.EnrolmentServiceStub(channel)
        programme = await stub.CreateProgramme(
            epb.CreateProgrammeRequest(
                name=name,
                start_date=start_date,
                end_date=end_date,
                topics=[epb.Topic(code=TOPIC, title="Generative AI")],
                rules=epb.ProgrammeRules(min_age_gap_years=15, mentor_capacity=1),
            ),
            timeout=10,
        )
        await stub.OpenEnrolment(
            epb.ProgrammeCommand(programme_id=programme.programme_id), timeout=10
        )
    return str(programme.programme_id)


async def enrol(
    enrolment: ServiceProcess, programme_id: str, people: list[Person]
) -> dict[str, str]:
    """employee id -> participant id."""
    ids = {}
    async with enrolment.channel() as channel:
        stub = epb_grpc.EnrolmentServiceStub(channel)
        for person in people:
            enrolled = await stub.EnrolParticipant(enrol_request(programme_id, person), timeout=10)
            ids[person.employee_id] = enrolled.participant_id
    return ids


async def certify(training: ServiceProcess, participant_id: str) -> None:
    """Wait for the training record, then pass every required module (as an LMS)."""
    async with training.channel("service", service="lms") as channel:
        stub = tpb_grpc.TrainingServiceStub(channel)
        found: list[tpb.TrainingRecord] = []

        async def opened() -> bool:
            try:
                found.append(
                    await stub.GetTrainingRecord(
                        tpb.GetTrainingRecordRequest(participant_id=participant_id), timeout=5
                    )
                )
                return True
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return False

        await eventually(opened, timeout=WAIT, interval=0.2, what="training record")
        record = found[-1]
        for progress in record.modules:
            module = progress.module
            if not module.required:
                continue
            if module.kind == tpb.MODULE_KIND_WORKSHOP:
                record = await stub.RecordAttendance(
                    tpb.RecordAttendanceRequest(
                        participant_id=participant_id,
                        module_id=module.module_id,
                        session_date="2027-01-05",
                    ),
                    timeout=10,
                )
            else:
                record = await stub.CompleteModule(
                    tpb.CompleteModuleRequest(
                        participant_id=participant_id, module_id=module.module_id, score=95
                    ),
                    timeout=10,
                )
        assert record.status == tpb.RECORD_STATUS_CERTIFIED


async def wait_for_pool(
    stub: mpb_grpc.MatchingServiceStub, programme_id: str, mentees: int, certified: int
) -> mpb.CandidatePool:
    """Until matching's pool shows ``mentees`` active mentees and ``certified`` mentors."""
    seen: list[mpb.CandidatePool] = []

    async def ready() -> bool:
        try:
            pool = await stub.GetCandidatePool(
                mpb.GetCandidatePoolRequest(programme_id=programme_id), timeout=5
            )
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                raise
            return False
        seen.append(pool)
        return pool.mentees == mentees and pool.certified_mentors == certified

    await eventually(ready, timeout=WAIT, interval=0.2, what="matching's candidate pool")
    return seen[-1]


async def wait_for_mentorships(
    stub: spb_grpc.SchedulingServiceStub, programme_id: str, count: int, timeout: float = WAIT
) -> list[spb.Mentorship]:
    """Until scheduling lists ``count`` mentorships in the programme (it consumes
    matching's MatchConfirmed); returns them."""
    seen: list[list[spb.Mentorship]] = []

    async def ready() -> bool:
        try:
            found = await stub.ListMentorships(
                spb.ListMentorshipsRequest(programme_id=programme_id, page_size=100), timeout=5
            )
        except grpc.aio.AioRpcError as error:
            if error.code() not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
                raise
            return False
        seen.append(list(found.mentorships))
        return len(found.mentorships) >= count

    await eventually(ready, timeout=timeout, interval=0.2, what="scheduling's mentorships")
    return seen[-1]


def start_feedback(
    tmp_path: Path,
    nats_url: str,
    issuer: DevIssuer,
    enrolment: ServiceProcess,
    extra_env: dict[str, str] | None = None,
) -> ServiceProcess:
    """A feedback process next to ``start_platform``'s. It needs no service token:
    whether a participant is the caller is asked of enrolment with the caller's own."""
    env = {"REVMENTOR_ENROLMENT_ADDR": enrolment.address, **(extra_env or {})}
    return ServiceProcess("feedback", tmp_path / "var", nats_url, env, issuer=issuer).start()
