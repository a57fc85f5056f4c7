"""The demo's last act: the pairs give feedback, answer their baseline surveys,
and the programme's outcomes report is printed.

Members answer for themselves (feedback is theirs alone: nobody submits it on
their behalf), so each acts with a token for their own employee id, minted
from the development key of ``revmentor up``. The demo has three pairs, so the
programme's smallest reportable group is lowered to three (the default, five,
would suppress every per-person figure). One pair found its first session
hard going: its low usefulness puts it on the list of pairs at risk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import grpc

from revmentor.cli.common import emit
from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.feedback import report as rendering
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.scheduling.v1 import scheduling_pb2 as spb

#: (employee id, role) -> bearer token of that member
Mint = Callable[[str, str], str]

DEMO_MIN_GROUP = 3
#: Per pair, in order: (mentee usefulness, confidence, mentor usefulness, pedagogy)
SESSION_RATINGS = ((5, 4, 4, 4), (4, 3, 5, 3), (2, 2, 2, 3))
PRACTICES = ("Draft my weekly update with a generative AI assistant, then edit it myself",)
MENTEE_NOTE = "Felt a bit lost with the prompts; I need to practise between sessions."
MENTOR_NOTE = "Went too fast on the basics. Next time: one real task, step by step."
#: Baseline self-ratings (mentees: every topic at this level, one topic lower)
BASELINE_SKILL = 2


def feedback(
    enrolment: Any,
    scheduling: Any,
    feedback_stub: Any,
    token: str,
    mint: Mint,
    programme_name: str,
    timeout: float = 30.0,
) -> str:
    """Feedback and baseline surveys from every demo pair, then the report (printed)."""
    admin = (("authorization", f"Bearer {token}"),)
    programmes = enrolment.ListProgrammes(
        epb.ListProgrammesRequest(page_size=100), timeout=timeout, metadata=admin
    )
    pid = next(p.programme_id for p in programmes.programmes if p.name == programme_name)
    deadline = time.monotonic() + timeout
    if not _lower_min_group(feedback_stub, pid, admin, deadline):
        emit("demo feedback: the feedback service did not learn of the programme in time")
        return "; feedback: not ready (no feedback given)"
    mentorships = scheduling.ListMentorships(
        spb.ListMentorshipsRequest(programme_id=pid, page_size=100), timeout=timeout, metadata=admin
    ).mentorships
    given = surveys = 0
    for ratings, mentorship in zip(SESSION_RATINGS, sorted(mentorships, key=_key), strict=False):
        members = _members(enrolment, mentorship, admin, mint, timeout)
        given += _give_feedback(feedback_stub, members, ratings, deadline)
        surveys += _answer_surveys(feedback_stub, members, deadline, ratings[0])
    report = feedback_stub.GetOutcomesReport(
        fpb.GetOutcomesReportRequest(programme_id=pid), timeout=timeout, metadata=admin
    )
    at_risk = feedback_stub.ListPairsAtRisk(
        fpb.ListPairsAtRiskRequest(programme_id=pid), timeout=timeout, metadata=admin
    )
    emit(rendering.to_text(rendering.report_from_message(report)))
    for pair in at_risk.pairs:
        emit(f"pair at risk: mentorship {pair.mentorship_id}: {'; '.join(pair.reasons)}")
    return (
        f"; feedback: {given} session answers, {surveys} baseline surveys, "
        f"{len(at_risk.pairs)} pair(s) at risk; `revmentor report {pid}` prints the report"
    )


def _key(mentorship: Any) -> str:
    return str(mentorship.mentorship_id)


def _lower_min_group(stub: Any, pid: str, admin: Any, deadline: float) -> bool:
    """Set the demo's smallest group once feedback has consumed the programme."""
    while True:
        try:
            stub.SetFeedbackPolicy(
                fpb.SetFeedbackPolicyRequest(programme_id=pid, min_group_size=DEMO_MIN_GROUP),
                timeout=5,
                metadata=admin,
            )
            return True
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:  # type: ignore[attr-defined]
                return False
        time.sleep(0.2)


def _members(
    enrolment: Any, mentorship: Any, admin: Any, mint: Mint, timeout: float
) -> list[tuple[str, str, Any]]:
    """(side, participant id, their metadata) for the mentee and the mentor."""
    out = []
    for side, pid in (("mentee", mentorship.mentee_id), ("mentor", mentorship.mentor_id)):
        person = enrolment.GetParticipant(
            epb.GetParticipantRequest(participant_id=pid), timeout=timeout, metadata=admin
        )
        own = (("authorization", f"Bearer {mint(person.employee_id, side)}"),)
        out.append((side, pid, own))
    return out


def _give_feedback(
    stub: Any, members: list[tuple[str, str, Any]], ratings: tuple[int, ...], deadline: float
) -> int:
    """Each member answers every open feedback request (their held sessions)."""
    given = 0
    mentee_usefulness, confidence, mentor_usefulness, pedagogy = ratings
    for side, pid, own in members:
        for request in _wait_for(stub.ListFeedbackRequests, pid, own, deadline, "requests"):
            if side == "mentee":
                answers = fpb.Answers(
                    ratings=fpb.Ratings(
                        usefulness=mentee_usefulness,
                        topics=["generative-ai"],
                        confidence=confidence,
                    ),
                    practices=list(PRACTICES),
                    note=MENTEE_NOTE if mentee_usefulness <= 2 else "",
                )
            else:
                answers = fpb.Answers(
                    ratings=fpb.Ratings(
                        usefulness=mentor_usefulness, topics=["generative-ai"], pedagogy=pedagogy
                    ),
                    note=MENTOR_NOTE if mentor_usefulness <= 2 else "",
                )
            stub.SubmitFeedback(
                fpb.SubmitFeedbackRequest(
                    session_id=request.session_id, participant_id=pid, answers=answers
                ),
                timeout=10,
                metadata=own,
            )
            given += 1
    return given


def _answer_surveys(
    stub: Any, members: list[tuple[str, str, Any]], deadline: float, mood: int
) -> int:
    answered = 0
    for side, pid, own in members:
        for survey in _wait_for(stub.ListSurveys, pid, own, deadline, "surveys"):
            if side == "mentee":
                skills = {topic: BASELINE_SKILL for topic in survey.topics}
                if survey.topics:
                    skills[survey.topics[0]] = BASELINE_SKILL - 1
                answers = fpb.SurveyAnswers(understanding=3, recommend=mood * 2, skills=skills)
            else:
                answers = fpb.SurveyAnswers(
                    understanding=3, recommend=8, coaching_confidence=3, pedagogy=3
                )
            stub.SubmitSurvey(
                fpb.SubmitSurveyRequest(survey_id=survey.survey_id, answers=answers),
                timeout=10,
                metadata=own,
            )
            answered += 1
    return answered


def _wait_for(list_rpc: Any, pid: str, own: Any, deadline: float, field: str) -> list[Any]:
    """A member's open requests (or surveys), once feedback has consumed them."""
    request_class = (
        fpb.ListFeedbackRequestsRequest if field == "requests" else fpb.ListSurveysRequest
    )
    while True:
        try:
            reply = list_rpc(
                request_class(participant_id=pid, open_only=True), timeout=5, metadata=own
            )
            found = list(getattr(reply, field))
            if found or time.monotonic() > deadline:
                return found
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:  # type: ignore[attr-defined]
                raise
        time.sleep(0.2)
