"""Enrolment, training and matching as real processes on a real nats-server.

Enrol two mentors and two mentees -> certify one mentor through training ->
matching's pool catches up from both streams -> a programme manager runs a
round -> the mentee and the mentor accept with their own tokens ->
``MatchConfirmed`` on REVMENTOR_MATCHING. The uncertified mentor is never
proposed, the other mentee is explained, and nothing personal is published.
"""

from __future__ import annotations

import json
from pathlib import Path

import grpc
import pytest
from support import DevIssuer, ServiceProcess, authed_channel, eventually, read_stream

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc
from revmentor.training.v1 import training_pb2 as tpb
from revmentor.training.v1 import training_pb2_grpc as tpb_grpc

pytestmark = pytest.mark.slow

WAIT = 30.0
TOPIC = "generative-ai"

PEOPLE = {
    # employee id: (role, name, birth year, department, languages)
    "E-MENTOR-1": (epb.ROLE_MENTOR, "Chloé Tremblay", 2001, "Data", ["fr", "en"]),
    "E-MENTOR-2": (epb.ROLE_MENTOR, "Noah Dubois", 2000, "Sales Ops", ["fr", "en"]),
    "E-MENTEE-1": (epb.ROLE_MENTEE, "Jean-Pierre Lefèvre", 1966, "Sales", ["fr"]),
    "E-MENTEE-2": (epb.ROLE_MENTEE, "Margaret Hughes", 1968, "Operations", ["en"]),
}


def enrol_request(programme_id: str, employee_id: str) -> epb.EnrolParticipantRequest:
    role, name, born, department, languages = PEOPLE[employee_id]
    mentor = role == epb.ROLE_MENTOR
    return epb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=role,
        profile=epb.Profile(
            display_name=name,
            email=f"{employee_id.lower()}@example.com",
            birth_year=born,
            department=department,
            manager_employee_id="E-BOSS",
            site="Paris",
            time_zone="Europe/Paris",
            languages=languages,
            skills_offered=[TOPIC] if mentor else [],
            learning_needs=[] if mentor else [epb.LearningNeed(topic=TOPIC, priority=1)],
            availability=[
                epb.AvailabilityWindow(weekday=d, start_time="09:00", end_time="12:00")
                for d in (1, 2, 3)
            ],
            meeting_preference=epb.MEETING_PREFERENCE_EITHER,
        ),
        consent=epb.Consent(given=True, notice_version="2027-01"),
    )


async def enrol_cohort(enrolment: ServiceProcess) -> tuple[str, dict[str, str]]:
    async with enrolment.channel() as channel:
        stub = epb_grpc.EnrolmentServiceStub(channel)
        programme = await stub.CreateProgramme(
            epb.CreateProgrammeRequest(
                name="Matching E2E",
                start_date="2027-01-11",
                end_date="2027-06-30",
                topics=[epb.Topic(code=TOPIC, title="Generative AI")],
                rules=epb.ProgrammeRules(min_age_gap_years=15, mentor_capacity=1),
            ),
            timeout=10,
        )
        pid = programme.programme_id
        await stub.OpenEnrolment(epb.ProgrammeCommand(programme_id=pid), timeout=10)
        ids = {}
        for employee in PEOPLE:
            enrolled = await stub.EnrolParticipant(enrol_request(pid, employee), timeout=10)
            ids[employee] = enrolled.participant_id
    return pid, ids


async def certify(training: ServiceProcess, participant_id: str) -> None:
    async with training.channel("service", service="lms") as channel:
        stub = tpb_grpc.TrainingServiceStub(channel)
        record = None

        async def opened() -> bool:
            nonlocal record
            try:
                record = await stub.GetTrainingRecord(
                    tpb.GetTrainingRecordRequest(participant_id=participant_id), timeout=5
                )
                return True
            except grpc.aio.AioRpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return False

        await eventually(opened, timeout=WAIT, interval=0.2, what="training record")
        assert record is not None
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


def events(messages: list, name: str) -> list[dict]:
    return [json.loads(m.data) for m in messages if m.headers["ce-type"].endswith(f".{name}")]


async def test_enrol_certify_round_accept_confirm(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    issuer = DevIssuer(tmp_path / "auth")
    var = tmp_path / "var"
    token_file = tmp_path / "matching.token"
    token_file.write_text(issuer.token("service", sub="service:matching", service="matching"))
    enrolment = ServiceProcess("enrolment", var, nats_server.url, issuer=issuer).start()
    upstream = {"REVMENTOR_ENROLMENT_ADDR": enrolment.address}
    training = ServiceProcess("training", var, nats_server.url, upstream, issuer=issuer).start()
    matching = ServiceProcess(
        "matching",
        var,
        nats_server.url,
        {**upstream, "REVMENTOR_MATCHING_TOKEN_FILE": str(token_file)},
        issuer=issuer,
    ).start()
    try:
        pid, ids = await enrol_cohort(enrolment)
        certified, uncertified = ids["E-MENTOR-1"], ids["E-MENTOR-2"]
        await certify(training, certified)
        manager = issuer.token("programme_manager", sub="pm-1", programmes=[pid])
        async with authed_channel(matching.address, manager) as channel:
            stub = pb_grpc.MatchingServiceStub(channel)

            async def pool_ready() -> bool:
                try:
                    pool = await stub.GetCandidatePool(
                        pb.GetCandidatePoolRequest(programme_id=pid), timeout=5
                    )
                except grpc.aio.AioRpcError as error:
                    if error.code() != grpc.StatusCode.NOT_FOUND:
                        raise
                    return False
                return pool.mentees == 2 and pool.mentors == 2 and pool.certified_mentors == 1

            await eventually(pool_ready, timeout=WAIT, interval=0.2, what="candidate pool")
            round_ = await stub.RunRound(pb.RunRoundRequest(programme_id=pid), timeout=30)

        assert round_.proposed == 1 and len(round_.inputs_digest) == 64
        [proposal] = round_.proposals
        assert proposal.mentor_id == certified != uncertified
        [unmatched] = round_.unmatched
        assert unmatched.reasons, "an unmatched mentee is always explained"

        mentee_employee = next(e for e, p in ids.items() if p == proposal.mentee_id)
        mentee_token = issuer.token("mentee", sub="u-mentee", employee_id=mentee_employee)
        mentor_token = issuer.token("mentor", sub="u-mentor", employee_id="E-MENTOR-1")
        answers = [(proposal.mentee_id, mentee_token), (proposal.mentor_id, mentor_token)]
        for participant_id, token in answers:
            async with authed_channel(matching.address, token) as channel:
                answered = await pb_grpc.MatchingServiceStub(channel).RespondToProposal(
                    pb.RespondToProposalRequest(
                        match_id=proposal.match_id,
                        participant_id=participant_id,
                        decision=pb.DECISION_ACCEPT,
                    ),
                    timeout=10,
                )
        assert answered.status == pb.MATCH_STATUS_CONFIRMED
        assert any(c.code == "age_gap" and c.passed for c in answered.checks)

        async def confirmed_published() -> bool:
            messages = await read_stream(nats_server.url, "REVMENTOR_MATCHING")
            return bool(events(messages, "MatchConfirmed"))

        await eventually(confirmed_published, timeout=WAIT, what="MatchConfirmed on the stream")
        messages = await read_stream(nats_server.url, "REVMENTOR_MATCHING")
        [confirmed] = events(messages, "MatchConfirmed")
        assert confirmed["matchId"] == proposal.match_id
        assert (confirmed["menteeId"], confirmed["mentorId"]) == (
            proposal.mentee_id,
            certified,
        )
        assert [e["mentorId"] for e in events(messages, "MatchProposed")] == [certified]
        assert len(events(messages, "ProposalAccepted")) == 2
        [completed] = events(messages, "MatchingRoundCompleted")
        assert completed["inputsDigest"] == round_.inputs_digest
        published = b"".join(m.data for m in messages).decode()
        for employee, (_, name, born, department, _) in PEOPLE.items():
            for personal in (employee, name, str(born), department, "E-BOSS", "age gap"):
                assert personal not in published
        assert matching.stop() == 0, matching.log()[-2000:]
    finally:
        for process in (matching, training, enrolment):
            process.kill()
        print(matching.log()[-3000:])
