"""Matching killed (-9) twice: while enrolment and training keep publishing,
and right after a round. It restarts from its own store and its consumers'
tracking: the pool converges, the round's events reach the stream exactly
once, and nothing is proposed twice.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from journeys import (
    WAIT,
    Person,
    certify,
    create_programme,
    enrol,
    start_platform,
    wait_for_pool,
)
from support import eventually, read_stream

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow

FIRST = [
    Person("E-M1", True, "Mentor One", 2001, "Data"),
    Person("E-E1", False, "Mentee One", 1966, "Sales"),
    Person("E-E2", False, "Mentee Two", 1967, "Legal"),
]
WHILE_DOWN = [
    Person("E-M2", True, "Mentor Two", 2000, "IT"),
    Person("E-E3", False, "Mentee Three", 1969, "Finance"),
]


def named(messages: list, name: str) -> list[dict]:
    return [json.loads(m.data) for m in messages if m.headers["ce-type"].endswith(f".{name}")]


async def test_matching_survives_kill_9(tmp_path: Path, nats_server: LocalNatsServer) -> None:
    _, (enrolment, training, matching) = start_platform(tmp_path, nats_server.url)
    try:
        pid = await create_programme(enrolment, "Crash cohort")
        ids = await enrol(enrolment, pid, FIRST)
        await certify(training, ids["E-M1"])
        matching.kill()
        # Meanwhile: a second mentor enrols and certifies, a mentee enrols, one withdraws.
        ids |= await enrol(enrolment, pid, WHILE_DOWN)
        await certify(training, ids["E-M2"])
        async with enrolment.channel() as channel:
            await epb_grpc.EnrolmentServiceStub(channel).WithdrawParticipant(
                epb.WithdrawParticipantRequest(
                    participant_id=ids["E-E2"], reason=epb.WITHDRAWAL_REASON_WORKLOAD
                ),
                timeout=10,
            )
        matching.start()
        async with matching.channel() as channel:
            stub = pb_grpc.MatchingServiceStub(channel)
            pool = await wait_for_pool(stub, pid, mentees=2, certified=2)
            assert pool.mentors == 2
            round_ = await stub.RunRound(pb.RunRoundRequest(programme_id=pid), timeout=30)
        assert round_.proposed == 2
        assert {p.mentee_id for p in round_.proposals} == {ids["E-E1"], ids["E-E3"]}
        matching.kill()  # the relay may or may not have published the round yet
        matching.start()

        async def round_published() -> bool:
            messages = await read_stream(nats_server.url, "REVMENTOR_MATCHING")
            return len(named(messages, "MatchProposed")) >= 2

        await eventually(round_published, timeout=WAIT, what="the round on the stream")
        async with matching.channel() as channel:
            stub = pb_grpc.MatchingServiceStub(channel)
            again = await stub.RunRound(pb.RunRoundRequest(programme_id=pid), timeout=30)
            assert again.proposed == 0 and again.round_number == 2  # nobody proposed twice

        async def second_round_published() -> bool:
            messages = await read_stream(nats_server.url, "REVMENTOR_MATCHING")
            return len(named(messages, "MatchingRoundCompleted")) >= 2

        await eventually(second_round_published, timeout=WAIT, what="round 2 on the stream")
        messages = await read_stream(nats_server.url, "REVMENTOR_MATCHING")
        ids_on_stream = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(ids_on_stream) == len(set(ids_on_stream)), "no event twice on the stream"
        assert len(named(messages, "MatchProposed")) == 2
        assert len(named(messages, "MatchingRoundCompleted")) == 2
        assert matching.stop() == 0, matching.log()[-2000:]
    finally:
        for process in (matching, training, enrolment):
            process.kill()
        print(matching.log()[-3000:])
