"""The demo's last act: the pairs give feedback on every session they held, answer
their baseline and end surveys, and the programme's outcomes report is printed.

Members answer for themselves (feedback is theirs alone: nobody submits it on
their behalf), so each acts with a token for their own employee id, minted
from the development key of ``revmentor up``. The report is read at the
platform's default smallest group (five people): five pairs completed, so the
satisfaction figures and every change from baseline to end have enough people
behind them. One figure stays empty: the demo's sessions are dated before the
moment its members were enrolled (the demo enrols them as it seeds), and the
report leaves such sessions out of the days from enrolment to a first session
rather than count them as no wait at all. The pair that has just started found
its first session hard going: its low usefulness puts it on the list of pairs
at risk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc

from revmentor.cli.common import emit
from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.feedback import report as rendering
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.scheduling.v1 import scheduling_pb2 as spb

#: (employee id, role) -> bearer token of that member
Mint = Callable[[str, str], str]


@dataclass(frozen=True)
class Story:
    """How one demo mentorship went, as its members tell it.

    ``usefulness``: (mentee, mentor) for the first sessions, one point more from
    the fourth on (they found their rhythm); ``recommend``: (mentee, mentor) in
    the end survey; ``growth``: how many points the mentee's self-rated skill
    in the topics they asked for rose (and their intergenerational understanding).
    """

    usefulness: tuple[int, int]
    confidence: int  # the mentee's, after a session
    pedagogy: int  # the mentor's, after a session
    recommend: tuple[int, int]
    growth: int


#: The completed pairs, in order of the mentee's employee id.
COMPLETED = (
    Story((4, 4), 3, 4, (9, 9), 2),
    Story((5, 4), 4, 4, (10, 9), 2),
    Story((4, 5), 3, 3, (8, 10), 1),
    Story((3, 4), 3, 3, (6, 7), 1),
    Story((4, 3), 4, 5, (10, 9), 2),
)
#: A pair that has just started, and found it hard going.
STARTED = Story((2, 2), 2, 3, (0, 0), 0)
PRACTICES = ("Draft my weekly update with a generative AI assistant, then edit it myself",)
MENTEE_NOTE = "Felt a bit lost with the prompts; I need to practise between sessions."
MENTOR_NOTE = "Went too fast on the basics. Next time: one real task, step by step."
#: Mentees' baseline self-rating of a topic they asked for, by priority (else OTHER_SKILL).
NEED_SKILL = {1: 1, 2: 2, 3: 2}
OTHER_SKILL = 3
#: Every mentee tried this one, whatever they asked for.
SHARED_TOPIC = "generative-ai"


@dataclass(frozen=True)
class Member:
    side: str  # mentee | mentor
    participant_id: str
    employee_id: str
    metadata: Any  # their own bearer token
    needs: dict[str, int]  # mentees: topic -> priority


def feedback(
    enrolment: Any,
    scheduling: Any,
    feedback_stub: Any,
    token: str,
    mint: Mint,
    programme_name: str,
    timeout: float = 30.0,
) -> str:
    """Feedback and surveys from every demo pair, then the report (printed)."""
    admin = (("authorization", f"Bearer {token}"),)
    programmes = enrolment.ListProgrammes(
        epb.ListProgrammesRequest(page_size=100), timeout=timeout, metadata=admin
    )
    pid = next(p.programme_id for p in programmes.programmes if p.name == programme_name)
    deadline = time.monotonic() + timeout
    if not _programme_known(feedback_stub, pid, admin, deadline):
        emit("demo feedback: the feedback service did not learn of the programme in time")
        return "; feedback: not ready (no feedback given)"
    mentorships = scheduling.ListMentorships(
        spb.ListMentorshipsRequest(programme_id=pid, page_size=100), timeout=timeout, metadata=admin
    ).mentorships
    pairs = [(m, _members(enrolment, m, admin, mint, timeout)) for m in mentorships]
    completed = iter(COMPLETED)
    given = surveys = 0
    for mentorship, members in sorted(pairs, key=lambda pair: pair[1][0].employee_id):
        done = mentorship.status == spb.MENTORSHIP_STATUS_COMPLETED
        story = next(completed, COMPLETED[-1]) if done else STARTED
        given += _give_feedback(feedback_stub, members, story, mentorship.held_sessions, deadline)
        surveys += _answer_surveys(feedback_stub, members, story, 1 + done, deadline)
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
        f"; feedback: {given} session answers, {surveys} surveys (baseline and end), "
        f"{len(at_risk.pairs)} pair(s) at risk; `revmentor report {pid}` prints the report"
    )


def _programme_known(stub: Any, pid: str, admin: Any, deadline: float) -> bool:
    """Once feedback has consumed the programme (its policy is found)."""
    while True:
        try:
            stub.GetFeedbackPolicy(
                fpb.GetFeedbackPolicyRequest(programme_id=pid), timeout=5, metadata=admin
            )
            return True
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:  # type: ignore[attr-defined]
                return False
        time.sleep(0.2)


def _members(
    enrolment: Any, mentorship: Any, admin: Any, mint: Mint, timeout: float
) -> list[Member]:
    """The mentee and the mentor, each with their own token."""
    out = []
    for side, pid in (("mentee", mentorship.mentee_id), ("mentor", mentorship.mentor_id)):
        person = enrolment.GetParticipant(
            epb.GetParticipantRequest(participant_id=pid), timeout=timeout, metadata=admin
        )
        own = (("authorization", f"Bearer {mint(person.employee_id, side)}"),)
        needs = {n.topic: n.priority for n in person.profile.learning_needs}
        out.append(Member(side, pid, person.employee_id, own, needs))
    return out


def _give_feedback(
    stub: Any, members: list[Member], story: Story, held: int, deadline: float
) -> int:
    """Each member answers the feedback request of every session the pair held."""
    given = 0
    for member in members:
        requests = _wait_for(stub.ListFeedbackRequests, member, held, deadline, "requests")
        for number, request in enumerate(reversed(requests)):  # listed newest first
            stub.SubmitFeedback(
                fpb.SubmitFeedbackRequest(
                    session_id=request.session_id,
                    participant_id=member.participant_id,
                    answers=_session_answers(member.side, story, later=number >= 3),
                ),
                timeout=10,
                metadata=member.metadata,
            )
            given += 1
    return given


def _session_answers(side: str, story: Story, later: bool) -> fpb.Answers:
    mentee_usefulness, mentor_usefulness = (min(5, u + later) for u in story.usefulness)
    if side == "mentee":
        ratings = fpb.Ratings(
            usefulness=mentee_usefulness, topics=[SHARED_TOPIC], confidence=story.confidence
        )
        hard = mentee_usefulness <= 2
        return fpb.Answers(
            ratings=ratings, practices=list(PRACTICES), note=MENTEE_NOTE if hard else ""
        )
    ratings = fpb.Ratings(
        usefulness=mentor_usefulness, topics=[SHARED_TOPIC], pedagogy=story.pedagogy
    )
    return fpb.Answers(ratings=ratings, note=MENTOR_NOTE if mentor_usefulness <= 2 else "")


def _answer_surveys(
    stub: Any, members: list[Member], story: Story, expected: int, deadline: float
) -> int:
    """Each member answers their baseline survey and, once completed, their end survey."""
    answered = 0
    for member in members:
        surveys = _wait_for(stub.ListSurveys, member, expected, deadline, "surveys")
        for survey in reversed(surveys):  # listed newest first: the baseline comes first
            end = survey.kind == fpb.SURVEY_KIND_END
            answers = (
                _mentee_survey(member, list(survey.topics), story, end)
                if member.side == "mentee"
                else _mentor_survey(story, end)
            )
            stub.SubmitSurvey(
                fpb.SubmitSurveyRequest(survey_id=survey.survey_id, answers=answers),
                timeout=10,
                metadata=member.metadata,
            )
            answered += 1
    return answered


def _mentee_survey(member: Member, topics: list[str], story: Story, end: bool) -> Any:
    """Skills: low in what they asked for, rising by the story's growth by the end
    (and a point in the topic every pair tried)."""
    skills = {}
    for topic in topics:
        before = NEED_SKILL.get(member.needs.get(topic, 0), OTHER_SKILL)
        rise = story.growth if topic in member.needs else int(topic == SHARED_TOPIC)
        skills[topic] = min(5, before + rise) if end else before
    return fpb.SurveyAnswers(
        understanding=2 + story.growth if end else 2,
        recommend=story.recommend[0] if end else 8,
        skills=skills,
    )


def _mentor_survey(story: Story, end: bool) -> Any:
    """Coaching confidence and pedagogy rise with what the mentee got from it."""
    if not end:
        return fpb.SurveyAnswers(understanding=3, recommend=8, coaching_confidence=2, pedagogy=2)
    return fpb.SurveyAnswers(
        understanding=3 + (story.growth > 1),
        recommend=story.recommend[1],
        coaching_confidence=2 + story.growth,
        pedagogy=story.pedagogy,
    )


def _wait_for(list_rpc: Any, member: Member, count: int, deadline: float, field: str) -> list[Any]:
    """A member's open requests (or surveys), once feedback has consumed ``count`` of
    them (or whatever is there at ``deadline``)."""
    request_class = (
        fpb.ListFeedbackRequestsRequest if field == "requests" else fpb.ListSurveysRequest
    )
    request = request_class(participant_id=member.participant_id, open_only=True, page_size=100)
    while True:
        try:
            reply = list_rpc(request, timeout=5, metadata=member.metadata)
            found = list(getattr(reply, field))
            if len(found) >= count or time.monotonic() > deadline:
                return found
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:  # type: ignore[attr-defined]
                raise
        time.sleep(0.2)
