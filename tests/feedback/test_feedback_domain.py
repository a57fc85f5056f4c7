"""Feedback's rules one by one: who may submit and until when, one submission
per member (edits before the due time), the blind reveal, confidential notes,
surveys answered once, small-group suppression in the outcomes, and the
at-risk rules. Figures are checked against values computed here by hand."""

from __future__ import annotations

from uuid import uuid4

import pytest

from revmentor.feedback.domain import outcomes, risk
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.session import SessionFeedback
from revmentor.feedback.domain.survey import BASELINE, Survey
from revmentor.kernel.errors import IllegalTransition, ValidationFailed

CATALOGUE = ["generative-ai", "social-media", "data-literacy"]
HELD, DUE = "2027-03-01T10:00:00Z", "2027-03-08T10:00:00Z"
BEFORE, AFTER = "2027-03-02T09:00:00Z", "2027-03-08T10:00:00Z"


def requested() -> SessionFeedback:
    return SessionFeedback(
        session_id=str(uuid4()),
        mentorship_id=str(uuid4()),
        programme_id=uuid4(),
        mentee_id="mentee",
        mentor_id="mentor",
        held_at=HELD,
        due_at=DUE,
    )


def mentee_answers(usefulness: int = 4, note: str = "my boss scares me") -> SessionAnswers:
    return SessionAnswers(
        usefulness=usefulness,
        topics=("generative-ai",),
        practices=("draft e-mails with an assistant",),
        confidence=3,
        note=note,
    )


def mentor_answers(usefulness: int = 5) -> SessionAnswers:
    return SessionAnswers(usefulness=usefulness, topics=("generative-ai",), pedagogy=4, note="x")


def fields(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [v.field for v in error.value.violations]


# -- submission -------------------------------------------------------------------------------
def test_only_a_member_submits_and_every_bad_field_is_named() -> None:
    feedback = requested()
    with pytest.raises(ValidationFailed) as stranger:
        feedback.submit("someone", mentee_answers(), CATALOGUE, BEFORE)
    assert fields(stranger) == ["participant_id"]
    bad = SessionAnswers(usefulness=6, topics=("knitting", "knitting"), pedagogy=3, note="\x00")
    with pytest.raises(ValidationFailed) as wrong:
        feedback.submit("mentee", bad, CATALOGUE, BEFORE)
    assert fields(wrong) == [
        "usefulness",
        "topics[0]",
        "topics[1]",
        "topics",
        "confidence",
        "pedagogy",
        "note",
    ]
    with pytest.raises(ValidationFailed) as mentor_side:
        feedback.submit("mentor", mentee_answers(), CATALOGUE, BEFORE)
    assert fields(mentor_side) == ["pedagogy", "confidence", "practices"]


def test_one_submission_per_member_editable_until_the_due_time() -> None:
    feedback = requested()
    feedback.submit("mentee", mentee_answers(usefulness=2), CATALOGUE, BEFORE)
    feedback.submit("mentee", mentee_answers(usefulness=4), CATALOGUE, "2027-03-07T10:00:00Z")
    assert feedback.answers["mentee"]["usefulness"] == 4
    assert [type(e).__name__ for e in feedback.collect_events()].count("Submitted") == 2
    with pytest.raises(IllegalTransition, match="closed at 2027-03-08T10:00:00Z"):
        feedback.submit("mentee", mentee_answers(usefulness=1), CATALOGUE, AFTER)
    assert feedback.answers["mentee"]["usefulness"] == 4


def test_ratings_stay_blind_until_both_answered_and_notes_stay_with_their_author() -> None:
    feedback = requested()
    feedback.submit("mentee", mentee_answers(), CATALOGUE, BEFORE)
    assert feedback.view_for("mentor", BEFORE)["other"] is None
    assert feedback.view_for("mentee", BEFORE)["own"]["note"] == "my boss scares me"
    feedback.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    seen_by_mentor = feedback.view_for("mentor", BEFORE)
    assert seen_by_mentor["revealed"]
    assert seen_by_mentor["other"]["usefulness"] == 4
    assert "note" not in seen_by_mentor["other"] and "practices" not in seen_by_mentor["other"]
    assert "note" not in feedback.ratings()["mentee"]


def test_the_window_closing_reveals_and_records_who_did_not_answer() -> None:
    feedback = requested()
    feedback.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    assert feedback.view_for("mentee", BEFORE)["other"] is None
    assert not feedback.close(BEFORE)
    assert feedback.close(AFTER) and not feedback.close("2027-03-09T00:00:00Z")
    assert feedback.missing == ["mentee"]
    assert feedback.view_for("mentee", AFTER)["other"]["pedagogy"] == 4


# -- surveys -------------------------------------------------------------------------------------
def survey(side: str) -> Survey:
    return Survey(
        programme_id=uuid4(),
        match_id="match",
        participant_id=side,
        side=side,
        kind=BASELINE,
        topics=CATALOGUE,
        requested_at=HELD,
    )


def test_surveys_are_validated_per_side_and_answered_once() -> None:
    mentee = survey("mentee")
    with pytest.raises(ValidationFailed) as partial:
        mentee.complete(SurveyAnswers(6, 11, {"generative-ai": 0, "knitting": 3}), BEFORE)
    assert fields(partial) == [
        "understanding",
        "recommend",
        "skills",
        "skills[generative-ai]",
        "skills[knitting]",
    ]
    mentee.complete(SurveyAnswers(3, 9, {t: 2 for t in CATALOGUE}), BEFORE)
    with pytest.raises(IllegalTransition, match="answered once"):
        mentee.complete(SurveyAnswers(4, 9, {t: 3 for t in CATALOGUE}), AFTER)
    mentor = survey("mentor")
    with pytest.raises(ValidationFailed) as wrong:
        mentor.complete(SurveyAnswers(3, 9, {"generative-ai": 2}), BEFORE)
    assert fields(wrong) == ["coaching_confidence", "pedagogy", "skills"]
    mentor.complete(SurveyAnswers(4, 10, coaching_confidence=3, pedagogy=2), BEFORE)
    assert mentor.answers == {
        "understanding": 4,
        "recommend": 10,
        "coaching_confidence": 3,
        "pedagogy": 2,
    }


# -- outcomes -------------------------------------------------------------------------------------
def test_nps_means_and_changes_with_known_answers() -> None:
    scores = [10, 9, 9, 8, 7, 6, 3]  # 3 promoters, 2 detractors of 7
    assert outcomes.nps(scores, 5).value == round(100 * (3 - 2) / 7, 1)
    baseline = {"a": 1, "b": 2, "c": 2, "d": 3, "e": 1, "f": 4}
    end = {"a": 3, "b": 3, "c": 4, "d": 3, "e": 2}  # f never answered the end survey
    changed = outcomes.change(baseline, end, 5)
    assert changed.mean.value == round((2 + 1 + 2 + 0 + 1) / 5, 2) and changed.mean.people == 5
    assert changed.distribution == {2: 2, 1: 2, 0: 1}
    assert outcomes.figure([4, 5, 3, 4, 4], 5, 5).value == 4.0


def test_small_groups_are_suppressed_everywhere() -> None:
    assert outcomes.nps([10, 10, 9, 9], 5) == outcomes.Figure(None, 0, suppressed=True)
    small = outcomes.change({"a": 1, "b": 2}, {"a": 3, "b": 5}, 5)
    assert small.mean.value is None and small.as_dict()["distribution"] is None
    funnel = outcomes.funnel(
        {"enrolled": 40, "certified": 12, "matched": 4, "met": 0, "completed": 0}, 5
    )
    assert funnel["matched"] == {"value": None, "people": 0, "suppressed": True}
    assert funnel["met"] == {"value": 0, "people": 0, "suppressed": False}
    assert funnel["enrolled"]["value"] == 40
    per_topic = outcomes.skill_changes(
        {p: {"generative-ai": 1, "social-media": 2} for p in "abcdef"},
        {p: {"generative-ai": 3} for p in "abcdef"} | {"a": {"social-media": 4}},
        ["generative-ai", "social-media"],
        5,
    )
    assert (
        per_topic["generative-ai"].mean.value == 2.0 and per_topic["generative-ai"].mean.people == 5
    )
    assert per_topic["social-media"].mean.suppressed


# -- pairs at risk -------------------------------------------------------------------------------
def test_low_usefulness_over_recent_sessions() -> None:
    record = risk.SessionRecord
    fine_then_poor = [record((5, 5)), record((2, 2)), record((2, 1)), record((3, 2))]
    [(code, sentence)] = risk.reasons(fine_then_poor, stalled=False)
    assert code == risk.LOW_USEFULNESS and "2.0 over the last 3" in sentence
    recovering = [*fine_then_poor, record((4, 4))]
    assert risk.reasons(recovering, stalled=False) == []


def test_stalled_and_feedback_missing_twice_in_a_row() -> None:
    record = risk.SessionRecord
    sessions = [
        record((4,), ("mentee",), closed=True),
        record((5,), ("mentee",), closed=True),
        record((4, 4)),  # window still open
    ]
    codes = [code for code, _ in risk.reasons(sessions, stalled=True)]
    assert codes == [risk.STALLED, risk.FEEDBACK_MISSING]
    once = [record((4,), ("mentor",), closed=True), record((4, 5), (), closed=True)]
    assert risk.reasons(once, stalled=False) == []
