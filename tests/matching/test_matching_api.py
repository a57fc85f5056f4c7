"""The matching gRPC API: a real grpc.aio server over SQLite and PostgreSQL.

Every refusal is checked for its status code and for leaving the store as it
was. A mentor's or mentee's own match is confirmed by a real in-process
enrolment server, asked with the caller's own token (as in training's tests).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import uuid4

import grpc
import pytest
from support import DevIssuer, enrol_member, invalid, refused

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    AvailabilityWindow,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.natsserver import free_port
from revmentor.matching import access
from revmentor.matching.application import AttributesUnavailable, MatchingApplication
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

Code = grpc.StatusCode
Stub = pb_grpc.MatchingServiceStub
SAME_TEAM = "both in finance, but in teams that never work together"


def respond(match_id: str, participant_id: str, accept: bool = True, reason: str = "") -> Any:
    decision = pb.DECISION_ACCEPT if accept else pb.DECISION_DECLINE
    return pb.RespondToProposalRequest(
        match_id=match_id, participant_id=participant_id, decision=decision, reason=reason
    )


def test_every_rpc_has_an_access_rule() -> None:
    methods = pb.DESCRIPTOR.services_by_name["MatchingService"].methods
    assert set(access.POLICY) == {method.name for method in methods}


async def test_round_answers_and_queries(
    stub: Stub, matching_app: MatchingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme)
    mentee = seed.mentee(programme)
    stranded = seed.mentee(programme, languages=["de"])
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=programme))
    assert ran.round_number == 1 and ran.proposed == 1 and ran.ran_by == "admin-1"
    assert ran.mentees_considered == 2 and ran.mentors_considered == 1 and ran.inputs_digest
    [proposal] = ran.proposals
    assert (proposal.mentee_id, proposal.mentor_id) == (mentee, mentor) and proposal.score > 0
    [left] = ran.unmatched
    assert left.mentee_id == stranded and left.reasons and left.round_id == ran.round_id
    assert left.excluded_by["language"] == 1

    match = await stub.GetMatch(pb.GetMatchRequest(match_id=proposal.match_id))
    assert match.status == pb.MATCH_STATUS_PROPOSED and match.origin == pb.ORIGIN_ROUND
    assert match.round_id == ran.round_id and match.breakdown
    codes = {check.code: check for check in match.checks}
    assert {"age_gap", "language", "capacity"} <= set(codes)
    assert all(check.passed and check.explanation for check in match.checks)

    half = await stub.RespondToProposal(respond(proposal.match_id, mentee))
    assert half.status == pb.MATCH_STATUS_PROPOSED and half.mentee_answer == pb.ANSWER_ACCEPTED
    assert half.mentor_answer == pb.ANSWER_PENDING
    both = await stub.RespondToProposal(respond(proposal.match_id, mentor))
    assert both.status == pb.MATCH_STATUS_CONFIRMED and both.confirmed_at

    again = await stub.GetRound(pb.GetRoundRequest(round_id=ran.round_id))
    assert again == ran
    rounds = await stub.ListRounds(pb.ListRoundsRequest(programme_id=programme))
    assert rounds.total_size == 1 and not rounds.rounds[0].proposals
    assert rounds.rounds[0].ran_by == "admin-1" and rounds.rounds[0].proposed == 1
    listed = await stub.ListMatches(pb.ListMatchesRequest(programme_id=programme))
    assert [x.match_id for x in listed.matches] == [proposal.match_id]
    assert listed.matches[0].status == pb.MATCH_STATUS_CONFIRMED and not listed.matches[0].checks
    mine = await stub.ListMatches(
        pb.ListMatchesRequest(participant_id=mentee, status=pb.MATCH_STATUS_PROPOSED)
    )
    assert mine.total_size == 0
    unmatched = await stub.ListUnmatchedMentees(
        pb.ListUnmatchedMenteesRequest(programme_id=programme)
    )
    assert [u.mentee_id for u in unmatched.mentees] == [stranded]
    assert unmatched.mentees[0].round_id == ran.round_id
    pool = await stub.GetCandidatePool(pb.GetCandidatePoolRequest(programme_id=programme))
    assert (pool.mentors, pool.certified_mentors, pool.mentees) == (1, 1, 2)
    assert (pool.mentees_proposed, pool.mentees_matched, pool.mentees_unmatched) == (0, 1, 1)
    assert pool.free_mentor_places == 0

    await invalid(
        matching_app,
        stub.EndMatch,
        pb.EndMatchRequest(match_id=proposal.match_id),
        ["outcome"],
    )
    ended = await stub.EndMatch(
        pb.EndMatchRequest(
            match_id=proposal.match_id, outcome=pb.END_OUTCOME_DISSOLVED, reason="moved abroad"
        )
    )
    assert ended.status == pb.MATCH_STATUS_DISSOLVED and ended.end_reason == "moved abroad"
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=mentee)
    )
    document = json.loads(exported.document_json)
    assert exported.service == "matching"
    assert [m["match_id"] for m in document["matches"]] == [proposal.match_id]


async def test_policy(stub: Stub, matching_app: MatchingApplication, seed) -> None:
    programme = seed.programme(capacity=2, min_gap=15)
    policy = await stub.GetMatchingPolicy(pb.GetMatchingPolicyRequest(programme_id=programme))
    assert policy.target_age_gap_years == 20 and policy.weights.coverage == pytest.approx(0.4)
    assert (policy.min_age_gap_years, policy.mentor_capacity) == (15, 2)
    changed = await stub.SetMatchingPolicy(
        pb.SetMatchingPolicyRequest(
            programme_id=programme, change=pb.PolicyChange(target_age_gap_years=25)
        )
    )
    assert changed.target_age_gap_years == 25 and changed.weights == policy.weights
    weights = pb.Weights(coverage=1, availability=1, age_gap=0, cross_department=0, same_site=0)
    reweighted = await stub.SetMatchingPolicy(
        pb.SetMatchingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(weights=weights, response_window_hours=48),
            expected_version=changed.version,
        )
    )
    assert reweighted.weights == weights and reweighted.response_window_hours == 48
    assert reweighted.target_age_gap_years == 25
    await invalid(
        matching_app,
        stub.SetMatchingPolicy,
        pb.SetMatchingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(weights=pb.Weights(), min_weekly_overlap_minutes=-1),
        ),
        ["change.weights", "change.min_weekly_overlap_minutes"],
    )
    await refused(
        matching_app,
        Code.ABORTED,
        stub.SetMatchingPolicy,
        pb.SetMatchingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(target_age_gap_years=30),
            expected_version=changed.version,
        ),
    )


async def test_error_codes_and_nothing_written(
    stub: Stub, matching_app: MatchingApplication, seed
) -> None:
    programme = seed.programme()
    mentor, mentee = seed.mentor(programme), seed.mentee(programme)
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=programme))
    match_id = ran.proposals[0].match_id
    await invalid(
        matching_app, stub.RespondToProposal, respond(match_id, mentee, False), ["reason"]
    )
    await invalid(
        matching_app,
        stub.RespondToProposal,
        pb.RespondToProposalRequest(match_id="nope", participant_id=mentee),
        ["decision", "match_id"],
    )
    await invalid(
        matching_app,
        stub.RespondToProposal,
        respond(match_id, str(uuid4())),
        ["participant_id"],
    )
    await invalid(matching_app, stub.GetMatch, pb.GetMatchRequest(match_id="x"), ["match_id"])
    await invalid(matching_app, stub.GetRound, pb.GetRoundRequest(round_id=""), ["round_id"])
    await invalid(
        matching_app, stub.RunRound, pb.RunRoundRequest(programme_id="1"), ["programme_id"]
    )
    await invalid(
        matching_app,
        stub.ProposeMatch,
        pb.ProposeMatchRequest(programme_id=programme, mentee_id="a", mentor_id="b"),
        ["mentee_id", "mentor_id"],
    )
    await invalid(
        matching_app,
        stub.ListMatches,
        pb.ListMatchesRequest(programme_id=programme, page_size=501),
        ["page_size"],
    )
    await invalid(matching_app, stub.ListMatches, pb.ListMatchesRequest(), ["programme_id"])
    unknown = str(uuid4())
    missing = await refused(
        matching_app, Code.NOT_FOUND, stub.GetMatch, pb.GetMatchRequest(match_id=unknown)
    )
    assert missing.details() == f"match {unknown} not found"
    for method, request in (
        (stub.GetRound, pb.GetRoundRequest(round_id=unknown)),
        (stub.RunRound, pb.RunRoundRequest(programme_id=unknown)),
        (stub.RespondToProposal, respond(unknown, mentee)),
        (stub.ExportParticipantData, pb.ExportParticipantDataRequest(participant_id=unknown)),
    ):
        await refused(matching_app, Code.NOT_FOUND, method, request)
    await refused(
        matching_app,
        Code.FAILED_PRECONDITION,
        stub.EndMatch,
        pb.EndMatchRequest(match_id=match_id, outcome=pb.END_OUTCOME_COMPLETED),
    )
    stale = respond(match_id, mentor)
    stale.expected_version = 7
    await refused(matching_app, Code.ABORTED, stub.RespondToProposal, stale)
    declined = await stub.RespondToProposal(respond(match_id, mentor, False, "no shared time"))
    assert declined.status == pb.MATCH_STATUS_DECLINED
    assert declined.decline_reason == "no shared time"
    assert declined.mentor_answer == pb.ANSWER_DECLINED


async def test_manual_match_with_an_override(
    stub: Stub, matching_app: MatchingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme, department="finance")
    mentee = seed.mentee(programme, department="finance")
    request = pb.ProposeMatchRequest(programme_id=programme, mentee_id=mentee, mentor_id=mentor)
    failing = await refused(matching_app, Code.FAILED_PRECONDITION, stub.ProposeMatch, request)
    assert "override" in (failing.details() or "")
    capacity = pb.ProposeMatchRequest(
        programme_id=programme,
        mentee_id=mentee,
        mentor_id=mentor,
        override=pb.Override(constraints=["capacity"], justification=SAME_TEAM),
    )
    await invalid(matching_app, stub.ProposeMatch, capacity, ["override.constraints[0]"])
    request.override.CopyFrom(pb.Override(constraints=["same_department"]))
    await invalid(matching_app, stub.ProposeMatch, request, ["override.justification"])
    request.override.justification = SAME_TEAM
    match = await stub.ProposeMatch(request)
    assert match.origin == pb.ORIGIN_MANUAL and match.status == pb.MATCH_STATUS_PROPOSED
    assert match.override_justification == SAME_TEAM
    checks = {check.code: check for check in match.checks}
    assert checks["same_department"].overridden and not checks["same_department"].passed
    assert [c for c, check in checks.items() if check.overridden] == ["same_department"]
    assert checks["capacity"].passed
    got = await stub.GetMatch(pb.GetMatchRequest(match_id=match.match_id))
    assert got.checks == match.checks
    # the mentee is taken now: a second manual match fails its precondition
    await refused(matching_app, Code.FAILED_PRECONDITION, stub.ProposeMatch, request)


async def test_roles(
    stub: Stub, matching_app: MatchingApplication, seed, issuer: DevIssuer
) -> None:
    mine, elsewhere = seed.programme(), seed.programme()
    for programme in (mine, elsewhere):
        seed.mentor(programme)
    theirs_mentee = seed.mentee(elsewhere)
    seed.mentee(mine)
    other = await stub.RunRound(pb.RunRoundRequest(programme_id=elsewhere))
    theirs = other.proposals[0].match_id
    manager = issuer.metadata("programme_manager", programmes=[mine])
    auditor = issuer.metadata("auditor")
    service = issuer.metadata("service", service="scheduling")
    mentor = issuer.metadata("mentor", employee_id="E-1")

    # a manager runs their own programme; anything elsewhere looks missing
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=mine), metadata=manager)
    assert ran.proposed == 1 and ran.ran_by == "tester"
    unknown = str(uuid4())
    missing = await refused(
        matching_app,
        Code.NOT_FOUND,
        stub.GetMatch,
        pb.GetMatchRequest(match_id=unknown),
        metadata=manager,
    )
    hidden = await refused(
        matching_app,
        Code.NOT_FOUND,
        stub.GetMatch,
        pb.GetMatchRequest(match_id=theirs),
        metadata=manager,
    )
    assert hidden.details() == (missing.details() or "").replace(unknown, theirs)
    for method, request in (
        (stub.RunRound, pb.RunRoundRequest(programme_id=elsewhere)),
        (stub.GetRound, pb.GetRoundRequest(round_id=other.round_id)),
        (stub.RespondToProposal, respond(theirs, theirs_mentee)),
        (stub.EndMatch, pb.EndMatchRequest(match_id=theirs, outcome=pb.END_OUTCOME_COMPLETED)),
        (stub.ExportParticipantData, pb.ExportParticipantDataRequest(participant_id=theirs_mentee)),
    ):
        await refused(matching_app, Code.NOT_FOUND, method, request, metadata=manager)
    listed = await stub.ListMatches(
        pb.ListMatchesRequest(participant_id=theirs_mentee), metadata=manager
    )
    assert listed.total_size == 0 and not listed.matches

    # an auditor and a service read everything and change nothing
    for reader in (auditor, service):
        read = await stub.GetMatch(pb.GetMatchRequest(match_id=theirs), metadata=reader)
        assert read.checks
        await stub.GetRound(pb.GetRoundRequest(round_id=other.round_id), metadata=reader)
        await stub.ListMatches(pb.ListMatchesRequest(programme_id=elsewhere), metadata=reader)
        for method, request in (
            (stub.RunRound, pb.RunRoundRequest(programme_id=mine)),
            (stub.ProposeMatch, pb.ProposeMatchRequest(programme_id=mine)),
            (stub.RespondToProposal, respond(theirs, theirs_mentee)),
            (stub.EndMatch, pb.EndMatchRequest(match_id=theirs)),
        ):
            await refused(matching_app, Code.PERMISSION_DENIED, method, request, metadata=reader)

    # participants read no programme-wide views
    for method, request in (
        (stub.GetCandidatePool, pb.GetCandidatePoolRequest(programme_id=mine)),
        (stub.GetMatchingPolicy, pb.GetMatchingPolicyRequest(programme_id=mine)),
        (stub.ListMatches, pb.ListMatchesRequest(programme_id=mine)),
        (stub.RunRound, pb.RunRoundRequest(programme_id=mine)),
    ):
        await refused(matching_app, Code.PERMISSION_DENIED, method, request, metadata=mentor)
    await refused(
        matching_app,
        Code.UNAUTHENTICATED,
        stub.GetMatch,
        pb.GetMatchRequest(match_id=theirs),
        metadata=(("authorization", "Bearer nope"),),
    )


# -- mentors and mentees: enrolment says which participant is theirs -------------------------
#: Their weekly window: Tuesdays 09:00-10:30.
WINDOW = AvailabilityWindow(2, "09:00", "10:30")


def join(seed: Any, programme_id: str, participant_id: str, role: str, employee_id: str) -> None:
    """Put an enrolment participant in matching's pool, with the attributes a round reads."""
    pool = seed.app.programme(programme_id)
    pool.enrol(participant_id, role)
    if role == MENTOR:
        pool.set_certified(participant_id, True)
    seed.app.save(pool)
    seed.table.rows[participant_id] = {
        "participant_id": participant_id,
        "role": role,
        "employee_id": employee_id,
        "department": f"dept-{employee_id}",
        "site": "paris",
        "time_zone": "Europe/Paris",
        "birth_year": 1998 if role == MENTOR else 1970,
        "languages": ["en"],
        "skills_offered": ["generative-ai"] if role == MENTOR else [],
        "learning_needs": [] if role == MENTOR else [("generative-ai", 1)],
        "availability": [(2, "09:00", "12:00")],
    }


async def test_participants_see_and_answer_only_their_own(
    stub: Stub,
    matching_app: MatchingApplication,
    seed,
    issuer: DevIssuer,
    enrolment_server: EnrolmentApplication,
) -> None:
    enrolled = enrolment_server.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    enrolment_server.open_enrolment(str(enrolled.id))
    people = {
        employee: enrol_member(enrolment_server, str(enrolled.id), employee, role, WINDOW)
        for employee, role in (("E-1", MENTOR), ("E-2", MENTEE), ("E-3", MENTEE))
    }
    programme = seed.programme()
    join(seed, programme, people["E-1"], MENTOR, "E-1")
    join(seed, programme, people["E-2"], MENTEE, "E-2")
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=programme))
    match_id = ran.proposals[0].match_id
    mentor, mentee = people["E-1"], people["E-2"]
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    outsider = issuer.metadata("mentee", sub="u-3", employee_id="E-3")

    seen = await stub.GetMatch(pb.GetMatchRequest(match_id=match_id), metadata=as_mentee)
    assert seen.mentee_id == mentee and seen.mentor_id == mentor and seen.breakdown
    assert seen.checks and all(c.passed for c in seen.checks), "both sides see why"
    assert not seen.override_justification
    missing = await refused(
        matching_app,
        Code.NOT_FOUND,
        stub.GetMatch,
        pb.GetMatchRequest(match_id=match_id),
        metadata=outsider,
    )
    assert missing.details() == f"match {match_id} not found"
    await refused(
        matching_app,
        Code.NOT_FOUND,
        stub.RespondToProposal,
        respond(match_id, people["E-3"]),
        metadata=outsider,
    )
    # answering as the other side is refused; as oneself it counts
    await refused(
        matching_app,
        Code.PERMISSION_DENIED,
        stub.RespondToProposal,
        respond(match_id, mentor),
        metadata=as_mentee,
    )
    half = await stub.RespondToProposal(respond(match_id, mentee), metadata=as_mentee)
    assert half.mentee_answer == pb.ANSWER_ACCEPTED and half.checks
    both = await stub.RespondToProposal(respond(match_id, mentor), metadata=as_mentor)
    assert both.status == pb.MATCH_STATUS_CONFIRMED

    own = await stub.ListMatches(pb.ListMatchesRequest(participant_id=mentee), metadata=as_mentee)
    assert [m.match_id for m in own.matches] == [match_id]
    other = await stub.ListMatches(pb.ListMatchesRequest(participant_id=mentee), metadata=outsider)
    assert other.total_size == 0
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=mentor), metadata=as_mentor
    )
    document = json.loads(exported.document_json)
    states = [e["state"] for m in document["matches"] for e in m["history"]]
    assert any("checks" in state for state in states)
    assert not any("override_justification" in state for state in states)
    await refused(
        matching_app,
        Code.NOT_FOUND,
        stub.ExportParticipantData,
        pb.ExportParticipantDataRequest(participant_id=mentor),
        metadata=as_mentee,
    )


# -- enrolment out of reach -----------------------------------------------------------------
def enrolment_down(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
    raise AttributesUnavailable("enrolment did not answer GetMatchingAttributes (UNAVAILABLE)")


async def test_enrolment_down_is_unavailable(
    stub: Stub,
    matching_app: MatchingApplication,
    seed,
    issuer: DevIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    programme = seed.programme()
    mentor = seed.mentor(programme)
    seed.mentee(programme)
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=programme))
    waiting = seed.mentee(programme)
    monkeypatch.setattr(matching_app, "attributes", enrolment_down)
    down = await refused(
        matching_app, Code.UNAVAILABLE, stub.RunRound, pb.RunRoundRequest(programme_id=programme)
    )
    assert "retry" in (down.details() or "")
    await refused(
        matching_app,
        Code.UNAVAILABLE,
        stub.ProposeMatch,
        pb.ProposeMatchRequest(programme_id=programme, mentee_id=waiting, mentor_id=mentor),
    )
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{free_port()}")
    await refused(
        matching_app,
        Code.UNAVAILABLE,
        stub.GetMatch,
        pb.GetMatchRequest(match_id=ran.proposals[0].match_id),
        metadata=issuer.metadata("mentor", employee_id="E-1"),
    )


async def test_two_managers_running_a_round_at_once_one_is_aborted(
    stub: Stub, matching_app: MatchingApplication, seed, table
) -> None:
    """Both calls load the pool before either saves (a barrier in the attribute
    fetch): one round is recorded, the other call is ABORTED and writes nothing."""
    import asyncio
    import threading

    programme = seed.programme()
    for _ in range(3):
        seed.mentor(programme)
        seed.mentee(programme)
    barrier = threading.Barrier(2)

    def fetch(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        barrier.wait(timeout=10)
        return table(ids)

    matching_app.attributes = fetch
    request = pb.RunRoundRequest(programme_id=programme)
    outcomes = await asyncio.gather(
        stub.RunRound(request), stub.RunRound(request), return_exceptions=True
    )
    codes = sorted(o.code().name if isinstance(o, grpc.aio.AioRpcError) else "OK" for o in outcomes)
    assert codes == ["ABORTED", "OK"]
    listed = await stub.ListMatches(pb.ListMatchesRequest(programme_id=programme))
    assert listed.total_size == 3
    assert len({m.mentee_id for m in listed.matches}) == 3


async def test_every_bad_field_is_named_before_anything_is_loaded(
    stub: Stub, matching_app: MatchingApplication
) -> None:
    await invalid(
        matching_app,
        stub.RespondToProposal,
        pb.RespondToProposalRequest(match_id="nope", decision=pb.DECISION_DECLINE, reason=""),
        ["match_id", "reason"],
    )
    await invalid(
        matching_app,
        stub.EndMatch,
        pb.EndMatchRequest(match_id="nope", outcome=pb.END_OUTCOME_UNSPECIFIED),
        ["match_id", "outcome"],
    )
    await invalid(
        matching_app,
        stub.EndMatch,
        pb.EndMatchRequest(match_id=str(uuid4()), outcome=pb.END_OUTCOME_DISSOLVED),
        ["reason"],
    )
    await invalid(
        matching_app,
        stub.ProposeMatch,
        pb.ProposeMatchRequest(
            programme_id="p",
            mentee_id="e",
            mentor_id="m",
            override=pb.Override(constraints=["capacity"], justification=""),
        ),
        [
            "programme_id",
            "mentee_id",
            "mentor_id",
            "override.constraints[0]",
            "override.justification",
        ],
    )
