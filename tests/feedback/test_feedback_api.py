"""The feedback gRPC API: a real grpc.aio server with the kernel's interceptor
(authentication, the role table, error mapping) over SQLite and PostgreSQL.

Every refusal is checked for its status code and for leaving the store as it
was. A mentor's or mentee's own participant is confirmed by a real in-process
enrolment server, asked with the caller's own token; the facts feedback works
on arrive through its subscriptions (``upstream``).

- Members give and read feedback as themselves only: the other member's
  ratings once revealed, never their note or practices; a mentor cannot read
  the mentee's view, note included.
- Programme managers see aggregates only: the report and the pairs at risk of
  their programmes (another programme looks missing), never a member's
  answers (PERMISSION_DENIED); auditors read reports, not pairs at risk.
- An admin's export of a participant withholds the member's own words; the
  participant's own export has them.
- Ratings are final once both answered (FAILED_PRECONDITION); a no-show
  session and an erased member record nothing (FAILED_PRECONDITION).
- Below 5 the smallest reportable group is an administrator's to set.
- Bad input is INVALID_ARGUMENT naming each field by its request path, never
  INTERNAL, and writes nothing.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import grpc
import pytest
from support import DevIssuer, enrol_member, invalid, refused

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.feedback import access
from revmentor.feedback.api import WITHHELD_TEXT
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.v1 import feedback_pb2 as pb
from revmentor.feedback.v1 import feedback_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import free_port

Code = grpc.StatusCode
Stub = pb_grpc.FeedbackServiceStub
CATALOGUE = ["generative-ai", "social-media", "data-literacy"]
MENTEE_NOTE = "I am afraid of looking slow in front of my team"
MENTOR_NOTE = "I talked too much; next time let him drive"
PRACTICE = "summarise meeting notes with an assistant"
#: Where SubmitFeedback's ratings sit in the request (violations name request paths).
RATINGS = "answers.ratings."


def answers(
    usefulness: int = 4,
    topics: tuple[str, ...] = ("generative-ai",),
    practices: tuple[str, ...] = (),
    note: str = "",
    confidence: int | None = None,
    pedagogy: int | None = None,
) -> pb.Answers:
    ratings = pb.Ratings(usefulness=usefulness, topics=list(topics))
    if confidence is not None:
        ratings.confidence = confidence
    if pedagogy is not None:
        ratings.pedagogy = pedagogy
    return pb.Answers(ratings=ratings, practices=list(practices), note=note)


def mentee_answers(usefulness: int = 4, **fields: Any) -> pb.Answers:
    fields.setdefault("confidence", 3)
    return answers(usefulness, **fields)


def mentor_answers(usefulness: int = 4, **fields: Any) -> pb.Answers:
    fields.setdefault("pedagogy", 4)
    return answers(usefulness, **fields)


def submit(session_id: str, participant_id: str, given: pb.Answers, **fields: Any) -> Any:
    return pb.SubmitFeedbackRequest(
        session_id=session_id, participant_id=participant_id, answers=given, **fields
    )


def view(session_id: str, participant_id: str) -> Any:
    return pb.GetSessionFeedbackRequest(session_id=session_id, participant_id=participant_id)


def mentee_survey(skill: int = 3, **fields: Any) -> pb.SurveyAnswers:
    return pb.SurveyAnswers(
        understanding=fields.pop("understanding", 3),
        recommend=fields.pop("recommend", 9),
        skills=fields.pop("skills", {topic: skill for topic in CATALOGUE}),
        **fields,
    )


def words_in(message: Any) -> set[str]:
    """Which of the members' own words a response carries."""
    data = message.SerializeToString()
    return {w for w in (MENTEE_NOTE, MENTOR_NOTE, PRACTICE) if w.encode() in data}


def test_every_rpc_has_an_access_rule() -> None:
    methods = pb.DESCRIPTOR.services_by_name["FeedbackService"].methods
    assert set(access.POLICY) == {method.name for method in methods}


# -- policy --------------------------------------------------------------------------------------
async def test_policy(
    stub: Stub, feedback_app: FeedbackApplication, upstream: Any, issuer: DevIssuer
) -> None:
    app = feedback_app
    programme_id, elsewhere = upstream.programme(CATALOGUE), upstream.programme(CATALOGUE[:1])
    policy = await stub.GetFeedbackPolicy(pb.GetFeedbackPolicyRequest(programme_id=programme_id))
    assert (policy.programme_id, policy.feedback_window_days, policy.min_group_size) == (
        programme_id,
        7,
        5,
    )
    assert list(policy.topics) == CATALOGUE and policy.version == 2
    manager = issuer.metadata("programme_manager", programmes=[programme_id])
    changed = await stub.SetFeedbackPolicy(
        pb.SetFeedbackPolicyRequest(
            programme_id=programme_id, min_group_size=8, expected_version=policy.version
        ),
        metadata=manager,
    )
    assert (changed.feedback_window_days, changed.min_group_size) == (7, 8), "unset: kept"
    assert changed.version == policy.version + 1
    # below 5 is an administrator's call: the manager reads the report it protects
    for size in (3, 4):
        [(_, why)] = await invalid(
            app,
            stub.SetFeedbackPolicy,
            pb.SetFeedbackPolicyRequest(programme_id=programme_id, min_group_size=size),
            ["min_group_size"],
            metadata=manager,
        )
        assert why == "below 5 only an administrator may set it"
    floor = await stub.SetFeedbackPolicy(
        pb.SetFeedbackPolicyRequest(programme_id=programme_id, min_group_size=5), metadata=manager
    )
    assert floor.min_group_size == 5
    lowered = await stub.SetFeedbackPolicy(
        pb.SetFeedbackPolicyRequest(programme_id=programme_id, min_group_size=3)
    )
    assert lowered.min_group_size == 3 and lowered.version == floor.version + 1, "an admin may"
    raised = await stub.SetFeedbackPolicy(
        pb.SetFeedbackPolicyRequest(programme_id=programme_id, min_group_size=8), metadata=manager
    )
    assert raised.min_group_size == 8, "raising it again is the manager's"
    await invalid(
        app,
        stub.SetFeedbackPolicy,
        pb.SetFeedbackPolicyRequest(
            programme_id=programme_id, feedback_window_days=0, min_group_size=51
        ),
        ["feedback_window_days", "min_group_size"],
    )
    await refused(
        app,
        Code.ABORTED,
        stub.SetFeedbackPolicy,
        pb.SetFeedbackPolicyRequest(
            programme_id=programme_id, min_group_size=3, expected_version=policy.version
        ),
    )
    await invalid(
        app,
        stub.SetFeedbackPolicy,
        pb.SetFeedbackPolicyRequest(programme_id=programme_id, expected_version=-1),
        ["expected_version"],
    )
    unknown = str(uuid4())
    missing = await refused(
        app,
        Code.NOT_FOUND,
        stub.GetFeedbackPolicy,
        pb.GetFeedbackPolicyRequest(programme_id=unknown),
    )
    assert missing.details() == f"programme {unknown} not found"
    for method, request in (
        (stub.GetFeedbackPolicy, pb.GetFeedbackPolicyRequest(programme_id=elsewhere)),
        (
            stub.SetFeedbackPolicy,
            pb.SetFeedbackPolicyRequest(programme_id=elsewhere, min_group_size=9),
        ),
    ):
        hidden = await refused(app, Code.NOT_FOUND, method, request, metadata=manager)
        assert hidden.details() == f"programme {elsewhere} not found"
    await invalid(
        app,
        stub.GetFeedbackPolicy,
        pb.GetFeedbackPolicyRequest(programme_id="p-1"),
        ["programme_id"],
    )
    for reader in (issuer.metadata("auditor"), issuer.metadata("service", service="cli")):
        read = await stub.GetFeedbackPolicy(
            pb.GetFeedbackPolicyRequest(programme_id=elsewhere), metadata=reader
        )
        assert list(read.topics) == CATALOGUE[:1]
        await refused(
            app,
            Code.PERMISSION_DENIED,
            stub.SetFeedbackPolicy,
            pb.SetFeedbackPolicyRequest(programme_id=elsewhere, min_group_size=9),
            metadata=reader,
        )
    await refused(
        app,
        Code.PERMISSION_DENIED,
        stub.GetFeedbackPolicy,
        pb.GetFeedbackPolicyRequest(programme_id=programme_id),
        metadata=issuer.metadata("mentor", employee_id="E-1"),
    )


# -- mentors and mentees: enrolment says which participant is theirs ---------------------------
@pytest.fixture
def people(enrolment_server: EnrolmentApplication) -> dict[str, str]:
    """E-1 mentors E-2 and E-3, all enrolled in a real enrolment server."""
    enrolled = enrolment_server.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    enrolment_server.open_enrolment(str(enrolled.id))
    found = {"programme": str(enrolled.id)}
    for employee, role in (("E-1", "mentor"), ("E-2", "mentee"), ("E-3", "mentee")):
        found[employee] = enrol_member(enrolment_server, str(enrolled.id), employee, role)
    return found


async def test_members_give_and_read_feedback_as_themselves_only(
    stub: Stub,
    feedback_app: FeedbackApplication,
    upstream: Any,
    clock: Any,
    issuer: DevIssuer,
    people: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE, programme_id=people["programme"])
    mentor, mentee, other_mentee = people["E-1"], people["E-2"], people["E-3"]
    ours = upstream.pair(programme_id, mentee, mentor)
    theirs = upstream.pair(programme_id, other_mentee, mentor)
    sid = upstream.hold(ours)
    upstream.hold(theirs)
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    outsider = issuer.metadata("mentee", sub="u-3", employee_id="E-3")

    requests = await stub.ListFeedbackRequests(
        pb.ListFeedbackRequestsRequest(participant_id=mentee, open_only=True), metadata=as_mentee
    )
    assert [(r.session_id, r.answered, r.closed) for r in requests.requests] == [
        (sid, False, False)
    ]
    assert requests.requests[0].mentorship_id == ours.mentorship_id
    mine = await stub.ListFeedbackRequests(
        pb.ListFeedbackRequestsRequest(participant_id=mentor, page_size=1), metadata=as_mentor
    )
    assert mine.total_size == 2 and len(mine.requests) == 1 and mine.next_page_token

    given = await stub.SubmitFeedback(
        submit(sid, mentee, mentee_answers(3, practices=(PRACTICE,), note=MENTEE_NOTE)),
        metadata=as_mentee,
    )
    assert (given.own.note, list(given.own.practices)) == (MENTEE_NOTE, [PRACTICE])
    assert (given.own.ratings.usefulness, given.own.ratings.confidence) == (3, 3)
    assert not given.own.ratings.HasField("pedagogy")
    assert not given.HasField("other") and not given.revealed and not given.closed
    assert list(given.answered) == ["mentee"] and given.version == 2
    assert (given.session_id, given.mentorship_id, given.programme_id) == (
        sid,
        ours.mentorship_id,
        programme_id,
    )

    # blind: the mentor sees nothing of the mentee's answers yet
    blind = await stub.GetSessionFeedback(view(sid, mentor), metadata=as_mentor)
    assert not blind.HasField("other") and not blind.HasField("own") and not blind.revealed
    assert list(blind.answered) == ["mentee"]
    # and never the mentee's own view, note included; nor answers in their name
    missing = f"no feedback was requested for session {sid}"
    for method, request in (
        (stub.GetSessionFeedback, view(sid, mentee)),
        (stub.SubmitFeedback, submit(sid, mentee, mentee_answers(1))),
    ):
        hidden = await refused(app, Code.NOT_FOUND, method, request, metadata=as_mentor)
        assert hidden.details() == missing
    # the other mentee of the same mentor finds nothing of this pair
    for method, request in (
        (stub.GetSessionFeedback, view(sid, other_mentee)),
        (stub.GetSessionFeedback, view(sid, mentee)),
        (stub.SubmitFeedback, submit(sid, other_mentee, mentee_answers())),
        (
            stub.ListFeedbackRequests,
            pb.ListFeedbackRequestsRequest(participant_id=mentee),
        ),
        (stub.ListSurveys, pb.ListSurveysRequest(participant_id=mentee)),
        (
            stub.ExportParticipantData,
            pb.ExportParticipantDataRequest(participant_id=mentee),
        ),
    ):
        await refused(app, Code.NOT_FOUND, method, request, metadata=outsider)

    # both answered: each sees the other's ratings, never their words
    answered = await stub.SubmitFeedback(
        submit(sid, mentor, mentor_answers(5, pedagogy=2, note=MENTOR_NOTE)), metadata=as_mentor
    )
    assert answered.revealed and list(answered.answered) == ["mentee", "mentor"]
    assert (answered.other.usefulness, answered.other.confidence) == (3, 3)
    assert list(answered.other.topics) == ["generative-ai"] and answered.other.submitted_at
    assert words_in(answered) == {MENTOR_NOTE}
    seen = await stub.GetSessionFeedback(view(sid, mentee), metadata=as_mentee)
    assert (seen.other.usefulness, seen.other.pedagogy) == (5, 2)
    assert not seen.other.HasField("confidence")
    assert words_in(seen) == {MENTEE_NOTE, PRACTICE}
    # both answered and saw each other's ratings: those are final, the words are not
    final = await refused(
        app,
        Code.FAILED_PRECONDITION,
        stub.SubmitFeedback,
        submit(sid, mentee, mentee_answers(4, note=MENTEE_NOTE), expected_version=seen.version),
        metadata=as_mentee,
    )
    assert "the ratings are final" in (final.details() or "")
    # an edit before the due time; after it, FAILED_PRECONDITION
    edited = await stub.SubmitFeedback(
        submit(sid, mentee, mentee_answers(3, note=MENTEE_NOTE), expected_version=seen.version),
        metadata=as_mentee,
    )
    assert edited.own.ratings.usefulness == 3 and edited.version == seen.version + 1
    assert list(edited.own.practices) == [], "an edit replaces the answers"
    await refused(
        app,
        Code.ABORTED,
        stub.SubmitFeedback,
        submit(sid, mentee, mentee_answers(2), expected_version=seen.version),
        metadata=as_mentee,
    )
    clock.advance(days=7)
    late = await refused(
        app,
        Code.FAILED_PRECONDITION,
        stub.SubmitFeedback,
        submit(sid, mentee, mentee_answers(1)),
        metadata=as_mentee,
    )
    assert "closed at" in (late.details() or "")
    closed = await stub.GetSessionFeedback(view(sid, mentor), metadata=as_mentor)
    assert closed.closed and closed.other.usefulness == 3

    # surveys: their own, answered once
    surveys = await stub.ListSurveys(
        pb.ListSurveysRequest(participant_id=mentee, open_only=True), metadata=as_mentee
    )
    [baseline] = surveys.surveys
    assert baseline.kind == pb.SURVEY_KIND_BASELINE and list(baseline.topics) == CATALOGUE
    assert not baseline.HasField("answers") and baseline.match_id == ours.match_id
    mentor_surveys = await stub.ListSurveys(
        pb.ListSurveysRequest(participant_id=mentor), metadata=as_mentor
    )
    assert mentor_surveys.total_size == 2 and all(not s.topics for s in mentor_surveys.surveys)
    await refused(
        app,
        Code.NOT_FOUND,
        stub.GetSurvey,
        pb.GetSurveyRequest(survey_id=baseline.survey_id),
        metadata=as_mentor,
    )
    await refused(
        app,
        Code.NOT_FOUND,
        stub.SubmitSurvey,
        pb.SubmitSurveyRequest(survey_id=baseline.survey_id, answers=mentee_survey()),
        metadata=outsider,
    )
    done = await stub.SubmitSurvey(
        pb.SubmitSurveyRequest(survey_id=baseline.survey_id, answers=mentee_survey(skill=2)),
        metadata=as_mentee,
    )
    assert done.completed_at == clock.stamp() and dict(done.answers.skills) == {
        topic: 2 for topic in CATALOGUE
    }
    again = await refused(
        app,
        Code.FAILED_PRECONDITION,
        stub.SubmitSurvey,
        pb.SubmitSurveyRequest(survey_id=baseline.survey_id, answers=mentee_survey(skill=4)),
        metadata=as_mentee,
    )
    assert "answered once" in (again.details() or "")
    got = await stub.GetSurvey(
        pb.GetSurveyRequest(survey_id=baseline.survey_id), metadata=as_mentee
    )
    assert got.answers.recommend == 9 and got.answers.skills["social-media"] == 2

    # exports: the participant's own has their words; the mentor's has none of hers
    own = json.loads(
        (
            await stub.ExportParticipantData(
                pb.ExportParticipantDataRequest(participant_id=mentee), metadata=as_mentee
            )
        ).document_json
    )
    [item] = own["session_feedback"]
    assert item["own"]["note"] == MENTEE_NOTE and item["other"]["usefulness"] == 5
    theirs_export = (
        await stub.ExportParticipantData(
            pb.ExportParticipantDataRequest(participant_id=mentor), metadata=as_mentor
        )
    ).document_json
    assert MENTOR_NOTE in theirs_export and MENTEE_NOTE not in theirs_export
    # admins read no member's answers: only members call the member RPCs
    await refused(app, Code.PERMISSION_DENIED, stub.GetSessionFeedback, view(sid, mentee))

    # enrolment out of reach: nothing changes, the caller is told to retry
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{free_port()}")
    down = await refused(
        app,
        Code.UNAVAILABLE,
        stub.SubmitSurvey,
        pb.SubmitSurveyRequest(
            survey_id=upstream.survey_id(mentor, "baseline", ours.match_id),
            answers=pb.SurveyAnswers(
                understanding=3, recommend=8, coaching_confidence=3, pedagogy=3
            ),
        ),
        metadata=as_mentor,
    )
    assert "Nothing was changed" in (down.details() or "")


async def test_an_erased_member_finds_nothing_and_the_other_keeps_their_words(
    stub: Stub,
    feedback_app: FeedbackApplication,
    upstream: Any,
    issuer: DevIssuer,
    people: dict[str, str],
    enrolment_server: EnrolmentApplication,
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE, programme_id=people["programme"])
    mentor, mentee = people["E-1"], people["E-2"]
    pair = upstream.pair(programme_id, mentee, mentor)
    sid = upstream.hold(pair)
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    await stub.SubmitFeedback(
        submit(sid, mentee, mentee_answers(2, practices=(PRACTICE,), note=MENTEE_NOTE)),
        metadata=as_mentee,
    )
    await stub.SubmitFeedback(
        submit(sid, mentor, mentor_answers(4, note=MENTOR_NOTE)), metadata=as_mentor
    )

    enrolment_server.erase_participant(mentee, "asked to be forgotten")
    assert upstream.send(upstream.erased(mentee, programme_id))
    for method, request in (
        (stub.GetSessionFeedback, view(sid, mentee)),
        (stub.SubmitFeedback, submit(sid, mentee, mentee_answers(5))),
        (stub.ListFeedbackRequests, pb.ListFeedbackRequestsRequest(participant_id=mentee)),
        (stub.ExportParticipantData, pb.ExportParticipantDataRequest(participant_id=mentee)),
    ):
        await refused(app, Code.NOT_FOUND, method, request, metadata=as_mentee)
    seen = await stub.GetSessionFeedback(view(sid, mentor), metadata=as_mentor)
    assert seen.own.note == MENTOR_NOTE and seen.other.usefulness == 2
    assert words_in(seen) == {MENTOR_NOTE}
    # an admin answering for them: the words are gone anyway, and withheld
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=mentee)
    )
    [item] = json.loads(exported.document_json)["session_feedback"]
    assert (item["own"]["usefulness"], item["own"]["note"]) == (2, WITHHELD_TEXT)
    assert app.session_feedback(sid).answers["mentee"]["note"] == "[erased]"
    # the pair's risk still follows the ratings
    at_risk = await stub.ListPairsAtRisk(pb.ListPairsAtRiskRequest(programme_id=programme_id))
    assert at_risk.total_size == 0, "(2 + 4) / 2 is above 2"


async def test_no_show_sessions_and_erased_members_record_nothing(
    stub: Stub,
    feedback_app: FeedbackApplication,
    upstream: Any,
    issuer: DevIssuer,
    people: dict[str, str],
) -> None:
    """FAILED_PRECONDITION (never INTERNAL): a session settled as a no-show; a
    member feedback has erased while enrolment still answers for them (an
    ownership answer cached in another replica, say)."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE, programme_id=people["programme"])
    mentor, mentee = people["E-1"], people["E-2"]
    pair = upstream.pair(programme_id, mentee, mentor)
    noshow, held = upstream.hold(pair), upstream.hold(pair)
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    assert upstream.send(upstream.no_show(pair, noshow))
    listed = await stub.ListFeedbackRequests(
        pb.ListFeedbackRequestsRequest(participant_id=mentor), metadata=as_mentor
    )
    assert [r.session_id for r in listed.requests] == [held]
    voided = await refused(
        app,
        Code.FAILED_PRECONDITION,
        stub.SubmitFeedback,
        submit(noshow, mentor, mentor_answers()),
        metadata=as_mentor,
    )
    assert "no-show" in (voided.details() or "")
    view = await stub.GetSessionFeedback(
        pb.GetSessionFeedbackRequest(session_id=noshow, participant_id=mentor), metadata=as_mentor
    )
    assert view.voided and view.closed and not view.revealed
    held_view = await stub.GetSessionFeedback(
        pb.GetSessionFeedbackRequest(session_id=held, participant_id=mentor), metadata=as_mentor
    )
    assert not held_view.voided

    assert upstream.send(upstream.erased(mentee, programme_id))
    for method, request in (
        (stub.SubmitFeedback, submit(held, mentee, mentee_answers(2, note=MENTEE_NOTE))),
        (
            stub.SubmitSurvey,
            pb.SubmitSurveyRequest(
                survey_id=upstream.survey_id(mentee, "baseline"), answers=mentee_survey()
            ),
        ),
    ):
        erased = await refused(app, Code.FAILED_PRECONDITION, method, request, metadata=as_mentee)
        assert f"participant {mentee} was erased" in (erased.details() or "")
    answered = await stub.SubmitFeedback(
        submit(held, mentor, mentor_answers(4, note=MENTOR_NOTE)), metadata=as_mentor
    )
    assert list(answered.answered) == ["mentor"]


# -- managers, auditors, services: aggregates only ------------------------------------------------
async def test_managers_see_aggregates_only_and_auditors_no_pairs(
    stub: Stub, feedback_app: FeedbackApplication, upstream: Any, issuer: DevIssuer
) -> None:
    app = feedback_app
    mine, elsewhere = upstream.programme(CATALOGUE), upstream.programme(CATALOGUE)
    pairs = [upstream.pair(mine) for _ in range(3)]
    sessions = [upstream.hold(pair) for pair in pairs]
    for pair, sid in zip(pairs[:2], sessions, strict=False):
        app.submit_feedback(sid, pair.mentee_id, SessionAnswers(1, confidence=2, note=MENTEE_NOTE))
        app.submit_feedback(sid, pair.mentor_id, SessionAnswers(2, pedagogy=3, note=MENTOR_NOTE))
    # the third pair's mentee alone: not judged while the mentor has not answered
    app.submit_feedback(sessions[2], pairs[2].mentee_id, SessionAnswers(1, confidence=1))
    there = upstream.pair(elsewhere)
    upstream.send(upstream.stalled(there))
    survey_id = upstream.survey_id(pairs[0].mentee_id, "baseline")
    manager = issuer.metadata("programme_manager", programmes=[mine])
    auditor = issuer.metadata("auditor")
    service = issuer.metadata("service", service="reporting")

    # never a member's answers, even in their own programme
    for metadata in (manager, auditor, service):
        for method, request in (
            (stub.GetSessionFeedback, view(sessions[0], pairs[0].mentee_id)),
            (stub.SubmitFeedback, submit(sessions[0], pairs[0].mentee_id, mentee_answers())),
            (stub.GetSurvey, pb.GetSurveyRequest(survey_id=survey_id)),
            (
                stub.SubmitSurvey,
                pb.SubmitSurveyRequest(survey_id=survey_id, answers=mentee_survey()),
            ),
            (
                stub.ListFeedbackRequests,
                pb.ListFeedbackRequestsRequest(participant_id=pairs[0].mentee_id),
            ),
            (stub.ListSurveys, pb.ListSurveysRequest(participant_id=pairs[0].mentee_id)),
            (
                stub.ExportParticipantData,
                pb.ExportParticipantDataRequest(participant_id=pairs[0].mentee_id),
            ),
        ):
            await refused(app, Code.PERMISSION_DENIED, method, request, metadata=metadata)

    # the report and the pairs at risk of their programme
    report = await stub.GetOutcomesReport(
        pb.GetOutcomesReportRequest(programme_id=mine), metadata=manager
    )
    assert report.programme_id == mine
    # three pairs met: fewer than five, so how many sessions is hidden (the old field: 0)
    assert report.sessions.suppressed and not report.sessions.HasField("value")
    assert report.sessions_held == 0
    at_risk = await stub.ListPairsAtRisk(
        pb.ListPairsAtRiskRequest(programme_id=mine, page_size=1), metadata=manager
    )
    assert at_risk.total_size == 2 and len(at_risk.pairs) == 1 and at_risk.next_page_token
    rest = await stub.ListPairsAtRisk(
        pb.ListPairsAtRiskRequest(programme_id=mine, page_token=at_risk.next_page_token),
        metadata=manager,
    )
    listed = [*at_risk.pairs, *rest.pairs]
    assert {p.mentorship_id for p in listed} == {p.mentorship_id for p in pairs[:2]}
    assert not rest.next_page_token
    assert all(list(p.codes) == ["low_usefulness"] and p.reasons and p.flagged_at for p in listed)
    assert all(not words_in(p) for p in listed) and not words_in(report)
    first = {p.mentorship_id: p for p in listed}[pairs[0].mentorship_id]
    assert (first.mentee_id, first.mentor_id) == (pairs[0].mentee_id, pairs[0].mentor_id)

    # another programme looks missing to them, exactly as an unknown one
    unknown = str(uuid4())
    for method, request_of in (
        (stub.GetOutcomesReport, lambda p: pb.GetOutcomesReportRequest(programme_id=p)),
        (stub.ListPairsAtRisk, lambda p: pb.ListPairsAtRiskRequest(programme_id=p)),
    ):
        absent = await refused(app, Code.NOT_FOUND, method, request_of(unknown), metadata=manager)
        hidden = await refused(app, Code.NOT_FOUND, method, request_of(elsewhere), metadata=manager)
        assert hidden.details() == (absent.details() or "").replace(unknown, elsewhere)

    # auditors and services read every report, but not the pairs at risk
    for reader in (auditor, service):
        read = await stub.GetOutcomesReport(
            pb.GetOutcomesReportRequest(programme_id=elsewhere), metadata=reader
        )
        assert read.programme_id == elsewhere
        await refused(
            app,
            Code.PERMISSION_DENIED,
            stub.ListPairsAtRisk,
            pb.ListPairsAtRiskRequest(programme_id=elsewhere),
            metadata=reader,
        )
    everywhere = await stub.ListPairsAtRisk(pb.ListPairsAtRiskRequest(programme_id=elsewhere))
    assert [list(p.codes) for p in everywhere.pairs] == [["stalled"]], "admins: every programme"
    for participant in ("mentor", "mentee"):
        await refused(
            app,
            Code.PERMISSION_DENIED,
            stub.GetOutcomesReport,
            pb.GetOutcomesReportRequest(programme_id=mine),
            metadata=issuer.metadata(participant, employee_id="E-9"),
        )
    await refused(
        app,
        Code.UNAUTHENTICATED,
        stub.GetOutcomesReport,
        pb.GetOutcomesReportRequest(programme_id=mine),
        metadata=(("authorization", "Bearer nope"),),
    )


async def test_an_admins_export_withholds_the_members_words(
    stub: Stub, feedback_app: FeedbackApplication, upstream: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    mentee_id = upstream.enrol(programme_id, "mentee", at="2027-01-20T09:00:00Z")
    pair = upstream.pair(programme_id, mentee_id)
    sid = upstream.hold(pair)
    app.submit_feedback(
        sid, pair.mentee_id, SessionAnswers(3, ("social-media",), (PRACTICE,), 4, note=MENTEE_NOTE)
    )
    app.submit_feedback(sid, pair.mentor_id, SessionAnswers(5, pedagogy=4, note=MENTOR_NOTE))
    app.submit_survey(
        upstream.survey_id(pair.mentee_id, "baseline"),
        SurveyAnswers(3, 7, {topic: 1 for topic in CATALOGUE}),
    )
    assert upstream.send(upstream.stalled(pair))
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=pair.mentee_id)
    )
    assert (exported.participant_id, exported.service) == (pair.mentee_id, "feedback")
    assert exported.exported_at
    document = json.loads(exported.document_json)
    [item] = document["session_feedback"]
    assert item["own"]["note"] == WITHHELD_TEXT and item["own"]["practices"] == WITHHELD_TEXT
    assert (item["own"]["usefulness"], item["own"]["topics"], item["own"]["confidence"]) == (
        3,
        ["social-media"],
        4,
    ), "the ratings are theirs to receive"
    assert item["other"]["usefulness"] == 5 and "note" not in item["other"]
    for words in (MENTEE_NOTE, MENTOR_NOTE, PRACTICE):
        assert words not in exported.document_json
    [survey] = document["surveys"]
    assert survey["history"][-1]["state"]["answers"]["recommend"] == 7
    # their funnel record and their pairs, with what was recorded about them
    assert document["programmes"] == [
        {
            "programme_id": programme_id,
            "role": "mentee",
            "enrolled_at": "2027-01-20T09:00:00Z",
            "certified": False,
        }
    ]
    [exported_pair] = document["pairs"]
    assert (exported_pair["mentorship_id"], exported_pair["match_id"]) == (
        pair.mentorship_id,
        pair.match_id,
    )
    assert (exported_pair["codes"], exported_pair["reasons"]) == (
        ["stalled"],
        ["no session held for the programme's stall period"],
    )
    # the application's own export (what the participant receives) keeps them
    own = app.export_participant(pair.mentee_id)
    assert own["session_feedback"][0]["own"]["note"] == MENTEE_NOTE
    assert own["session_feedback"][0]["own"]["practices"] == [PRACTICE]
    await refused(
        app,
        Code.NOT_FOUND,
        stub.ExportParticipantData,
        pb.ExportParticipantDataRequest(participant_id=str(uuid4())),
    )
    # enrolled and nothing more: an export, not NOT_FOUND
    newcomer = upstream.enrol(programme_id, "mentor", at="2027-01-21T09:00:00Z")
    theirs = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=newcomer)
    )
    newcomer_document = json.loads(theirs.document_json)
    assert [p["role"] for p in newcomer_document["programmes"]] == ["mentor"]
    assert newcomer_document["session_feedback"] == newcomer_document["pairs"] == []


# -- the report over the wire ---------------------------------------------------------------------
def figure_dict(message: Any) -> dict[str, Any]:
    return {
        "value": message.value if message.HasField("value") else None,
        "people": message.people,
        "suppressed": message.suppressed,
    }


def change_dict(message: Any) -> dict[str, Any]:
    mean = figure_dict(message.mean)
    distribution = {str(k): v for k, v in sorted(message.distribution.items())}
    return {"mean": mean, "distribution": None if mean["suppressed"] else distribution}


async def test_the_report_over_grpc_is_the_applications_report(
    stub: Stub, feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    app.set_policy(
        programme_id, {"min_group_size": 3, "feedback_window_days": None}, administrator=True
    )
    pairs = []
    for n in range(4):
        mentee = upstream.enrol(programme_id, "mentee", at="2027-01-10T09:00:00Z")
        mentor = upstream.enrol(programme_id, "mentor", at="2027-01-12T09:00:00Z")
        if n >= 2:
            upstream.certify(programme_id, mentor)
        pairs.append(upstream.pair(programme_id, mentee, mentor))
    for n, pair in enumerate(pairs):
        sid = upstream.hold(pair)
        app.submit_feedback(sid, pair.mentee_id, SessionAnswers(2 + n % 3, confidence=3))
        for kind in ("baseline", "end"):
            if kind == "end":
                upstream.send(upstream.completed(pair))
            clock.advance(minutes=1)
            app.submit_survey(
                upstream.survey_id(pair.mentee_id, kind),
                SurveyAnswers(
                    2 + n % 2, 10 - n, {t: 1 + n % 3 + (kind == "end") for t in CATALOGUE}
                ),
            )
            if n < 2:  # two mentors answer: fewer than 3
                app.submit_survey(
                    upstream.survey_id(pair.mentor_id, kind),
                    SurveyAnswers(3, 9, coaching_confidence=2, pedagogy=2 + (kind == "end")),
                )
    expected = app.outcomes_report(programme_id)
    got = await stub.GetOutcomesReport(pb.GetOutcomesReportRequest(programme_id=programme_id))
    assert (got.programme_id, got.generated_at, got.min_group_size, got.sessions_held) == (
        programme_id,
        expected["generated_at"],
        3,
        4,
    )
    shown = {"value": 4, "people": 8, "suppressed": False}  # four pairs: 4 + 4 people
    assert figure_dict(got.sessions) == expected["sessions_held"] == shown
    assert [
        {"role": s.role, "stage": s.stage, **figure_dict(s.count)} for s in got.funnel
    ] == expected["funnel"]
    suppressed = {(s.role, s.stage) for s in got.funnel if s.count.suppressed}
    assert suppressed == {("mentor", "certified")}, "two of the mentors: fewer than 3"
    for name in ("average_usefulness", "nps", "days_enrolment_to_first_session"):
        assert figure_dict(getattr(got, name)) == expected[name], name
    assert got.nps.HasField("value") and got.days_enrolment_to_first_session.HasField("value")
    for name in ("mentor_pedagogy_change", "mentor_confidence_change", "understanding_change"):
        assert change_dict(getattr(got, name)) == expected[name], name
    assert (
        got.mentor_pedagogy_change.mean.suppressed and not got.mentor_pedagogy_change.distribution
    )
    assert {t: change_dict(c) for t, c in got.mentee_skill_change.items()} == expected[
        "mentee_skill_change"
    ]
    assert got.mentee_skill_change["social-media"].mean.value == 1.0


# -- bad input -------------------------------------------------------------------------------------
async def test_bad_input_names_each_field_and_writes_nothing(
    stub: Stub,
    feedback_app: FeedbackApplication,
    upstream: Any,
    clock: Any,
    issuer: DevIssuer,
    people: dict[str, str],
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE, programme_id=people["programme"])
    mentor, mentee = people["E-1"], people["E-2"]
    pair = upstream.pair(programme_id, mentee, mentor)
    sid = upstream.hold(pair)
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    survey_id = upstream.survey_id(mentee, "baseline")

    for request, fields in (
        (submit(sid, mentee, mentee_answers(0)), [f"{RATINGS}usefulness"]),
        (submit(sid, mentee, mentee_answers(6)), [f"{RATINGS}usefulness"]),
        (submit(sid, mentee, mentee_answers(topics=("knitting",))), [f"{RATINGS}topics[0]"]),
        (
            submit(sid, mentee, mentee_answers(topics=("social-media", "social-media"))),
            [f"{RATINGS}topics"],
        ),
        (submit(sid, mentee, mentee_answers(pedagogy=4)), [f"{RATINGS}pedagogy"]),
        (submit(sid, mentee, answers(4)), [f"{RATINGS}confidence"]),
        (submit(sid, mentee, mentee_answers(confidence=0)), [f"{RATINGS}confidence"]),
        (submit(sid, mentee, mentee_answers(practices=(" ",))), ["answers.practices[0]"]),
        (submit(sid, mentee, mentee_answers(practices=("x",) * 11)), ["answers.practices"]),
        (submit(sid, mentee, mentee_answers(note="x" * 2001)), ["answers.note"]),
        (submit(sid, mentee, mentee_answers(note="bell\x07")), ["answers.note"]),
        (
            submit(sid, mentee, pb.Answers()),
            [f"{RATINGS}usefulness", f"{RATINGS}confidence"],
        ),
        (submit(sid, mentee, mentee_answers(), expected_version=-1), ["expected_version"]),
        (submit("not-a-session", mentee, mentee_answers()), ["session_id"]),
        (submit(sid, "E-2", mentee_answers()), ["participant_id"]),
    ):
        await invalid(app, stub.SubmitFeedback, request, fields, metadata=as_mentee)
    for request, fields in (
        (submit(sid, mentor, mentor_answers(confidence=3)), [f"{RATINGS}confidence"]),
        (submit(sid, mentor, mentor_answers(practices=(PRACTICE,))), ["answers.practices"]),
        (
            submit(sid, mentor, answers(3, topics=("x", "y"))),
            [f"{RATINGS}topics[0]", f"{RATINGS}topics[1]", f"{RATINGS}pedagogy"],
        ),
    ):
        await invalid(app, stub.SubmitFeedback, request, fields, metadata=as_mentor)
    await invalid(
        app, stub.GetSessionFeedback, view("1", mentee), ["session_id"], metadata=as_mentee
    )

    def survey(given: pb.SurveyAnswers, survey: str = survey_id) -> Any:
        return pb.SubmitSurveyRequest(survey_id=survey, answers=given)

    for request, fields in (
        (
            survey(mentee_survey(skills={"generative-ai": 3, "social-media": 3})),
            ["answers.skills"],
        ),
        (
            survey(mentee_survey(skills={**{t: 3 for t in CATALOGUE}, "knitting": 2})),
            ["answers.skills[knitting]"],
        ),
        (survey(mentee_survey(skill=9)), [f"answers.skills[{t}]" for t in sorted(CATALOGUE)]),
        (
            survey(mentee_survey(recommend=11, understanding=0)),
            ["answers.understanding", "answers.recommend"],
        ),
        (survey(mentee_survey(pedagogy=3)), ["answers.pedagogy"]),
        (survey(mentee_survey(), "survey-1"), ["survey_id"]),
    ):
        await invalid(app, stub.SubmitSurvey, request, fields, metadata=as_mentee)
    await invalid(
        app,
        stub.SubmitSurvey,
        survey(
            pb.SurveyAnswers(understanding=3, recommend=8, skills={"generative-ai": 3}),
            upstream.survey_id(mentor, "baseline"),
        ),
        ["answers.coaching_confidence", "answers.pedagogy", "answers.skills"],
        metadata=as_mentor,
    )
    await invalid(
        app, stub.GetSurvey, pb.GetSurveyRequest(survey_id=""), ["survey_id"], metadata=as_mentee
    )

    for method, request, fields, metadata in (
        (
            stub.ListFeedbackRequests,
            pb.ListFeedbackRequestsRequest(participant_id=mentee, page_size=501),
            ["page_size"],
            as_mentee,
        ),
        (
            stub.ListFeedbackRequests,
            pb.ListFeedbackRequestsRequest(participant_id=mentee, page_token="garbage"),
            ["page_token"],
            as_mentee,
        ),
        (
            stub.ListFeedbackRequests,
            pb.ListFeedbackRequestsRequest(participant_id="E-2"),
            ["participant_id"],
            as_mentee,
        ),
        (
            stub.ListSurveys,
            pb.ListSurveysRequest(participant_id=mentee, page_size=-1),
            ["page_size"],
            as_mentee,
        ),
        (
            stub.ListPairsAtRisk,
            pb.ListPairsAtRiskRequest(programme_id=programme_id, page_size=501),
            ["page_size"],
            None,
        ),
        (
            stub.GetOutcomesReport,
            pb.GetOutcomesReportRequest(programme_id="programme-1"),
            ["programme_id"],
            None,
        ),
        (
            stub.ListPairsAtRisk,
            pb.ListPairsAtRiskRequest(),
            ["programme_id"],
            None,
        ),
        (
            stub.ExportParticipantData,
            pb.ExportParticipantDataRequest(participant_id="E-2"),
            ["participant_id"],
            None,
        ),
        (
            stub.SetFeedbackPolicy,
            pb.SetFeedbackPolicyRequest(programme_id=programme_id, feedback_window_days=31),
            ["feedback_window_days"],
            None,
        ),
    ):
        kwargs = {"metadata": metadata} if metadata else {}
        await invalid(app, method, request, fields, **kwargs)

    # nothing was written by any of it: the mentee's request is still open and unanswered
    open_requests = await stub.ListFeedbackRequests(
        pb.ListFeedbackRequestsRequest(participant_id=mentee, open_only=True), metadata=as_mentee
    )
    assert [r.session_id for r in open_requests.requests] == [sid]
    assert app.session_feedback(sid).answers == {}
    clock.advance(days=1)
    ok = await stub.SubmitFeedback(submit(sid, mentee, mentee_answers(5)), metadata=as_mentee)
    assert ok.version == 2 and ok.own.ratings.usefulness == 5
