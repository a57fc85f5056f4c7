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
from support import accept_proposal, authed_channel, eventually, mentions, read_stream

from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

pytestmark = pytest.mark.slow

PEOPLE = [
    Person("E-MENTOR-1", True, "Chloé Tremblay", 2001, "Data"),
    Person("E-MENTOR-2", True, "Noah Dubois", 2000, "Sales Ops"),
    Person("E-MENTEE-1", False, "Jean-Pierre Lefèvre", 1966, "Sales", ("fr",)),
    Person("E-MENTEE-2", False, "Margaret Hughes", 1968, "Operations", ("en",)),
]


def events(messages: list, name: str) -> list[dict]:
    return [json.loads(m.data) for m in messages if m.headers["ce-type"].endswith(f".{name}")]


async def test_enrol_certify_round_accept_confirm(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    issuer, (enrolment, training, matching) = start_platform(tmp_path, nats_server.url)
    try:
        pid = await create_programme(enrolment, "Matching E2E")
        ids = await enrol(enrolment, pid, PEOPLE)
        certified, uncertified = ids["E-MENTOR-1"], ids["E-MENTOR-2"]
        await certify(training, certified)
        manager = issuer.token("programme_manager", sub="pm-1", programmes=[pid])
        async with authed_channel(matching.address, manager) as channel:
            stub = pb_grpc.MatchingServiceStub(channel)
            pool = await wait_for_pool(stub, pid, mentees=2, certified=1)
            assert pool.mentors == 2
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
            answered = await accept_proposal(
                matching.address, token, proposal.match_id, participant_id
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
        assert (confirmed["menteeId"], confirmed["mentorId"]) == (proposal.mentee_id, certified)
        assert [e["mentorId"] for e in events(messages, "MatchProposed")] == [certified]
        assert len(events(messages, "ProposalAccepted")) == 2
        [completed] = events(messages, "MatchingRoundCompleted")
        assert completed["inputsDigest"] == round_.inputs_digest
        published = b"".join(m.data for m in messages).decode()
        for person in PEOPLE:
            for personal in (person.employee_id, person.name, str(person.born), person.department):
                assert not mentions(published, personal), personal
        assert "E-BOSS" not in published and "age gap" not in published
        assert matching.stop() == 0, matching.log()[-2000:]
    finally:
        for process in (matching, training, enrolment):
            process.kill()
        print(matching.log()[-3000:])
