"""Feedback's rules one by one: who may submit and until when, one submission
per member (edits before the due time, ratings final once both answered), the
blind reveal, confidential notes, no-shows, erased words, surveys answered
once, small-group suppression in the outcomes (and who may lower it), the
at-risk rules and the pair that applies them. Figures are checked against
values computed here by hand."""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest

from revmentor.feedback.domain import outcomes, risk
from revmentor.feedback.domain.pair import Pair, pair_key
from revmentor.feedback.domain.programme import changed_policy
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.session import SessionFeedback
from revmentor.feedback.domain.survey import BASELINE, Survey
from revmentor.kernel.envelope import ERASED
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


def names(aggregate: Any) -> list[str]:
    return [type(e).__qualname__ for e in aggregate.collect_events()]


def test_submitted_and_closed_carry_the_session_id() -> None:
    feedback = requested()
    feedback.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    feedback.close(AFTER)
    _, submitted, closed = feedback.collect_events()
    assert submitted.session_id == closed.session_id == feedback.session_id  # type: ignore[attr-defined]


FINAL = "the ratings are final; only practices and the note can still be edited"


def test_ratings_are_final_once_both_answered_words_stay_editable() -> None:
    feedback = requested()
    feedback.submit("mentee", mentee_answers(usefulness=2), CATALOGUE, BEFORE)
    # the other has not answered: the mentee may still change their ratings
    feedback.submit("mentee", mentee_answers(usefulness=3), CATALOGUE, BEFORE)
    feedback.submit("mentor", mentor_answers(usefulness=5), CATALOGUE, BEFORE)
    feedback.collect_events()
    mine = mentee_answers(usefulness=3)
    for changed in (
        replace(mine, usefulness=4),
        replace(mine, topics=("social-media",)),
        replace(mine, topics=("generative-ai", "social-media")),
        replace(mine, confidence=5),
    ):
        with pytest.raises(IllegalTransition, match=FINAL):
            feedback.submit("mentee", changed, CATALOGUE, BEFORE)
    with pytest.raises(IllegalTransition, match=FINAL):
        feedback.submit("mentor", replace(mentor_answers(5), pedagogy=2), CATALOGUE, BEFORE)
    with pytest.raises(IllegalTransition, match=FINAL):
        feedback.submit("mentor", mentor_answers(usefulness=1), CATALOGUE, BEFORE)
    assert feedback.collect_events() == [], "refusals record nothing"
    # the same ratings with new words: an edit
    words = replace(mine, practices=("ask my team",), note="better now")
    feedback.submit("mentee", words, CATALOGUE, BEFORE)
    slower = replace(mentor_answers(5), note="slower next time")
    feedback.submit("mentor", slower, CATALOGUE, BEFORE)
    assert names(feedback) == ["SessionFeedback.Submitted", "SessionFeedback.Submitted"]
    assert feedback.answers["mentee"]["note"] == "better now"
    assert feedback.answers["mentee"]["practices"] == ["ask my team"]
    assert feedback.answers["mentee"]["usefulness"] == 3
    assert feedback.answers["mentor"]["note"] == "slower next time"


def test_a_no_show_voids_the_request() -> None:
    feedback = requested()
    feedback.submit("mentee", mentee_answers(), CATALOGUE, BEFORE)
    assert feedback.void(BEFORE) and not feedback.void(BEFORE), "once"
    [*_, voided] = feedback.collect_events()
    assert type(voided).__qualname__ == "SessionFeedback.Voided"
    assert (voided.session_id, voided.at) == (feedback.session_id, BEFORE)  # type: ignore[attr-defined]
    assert not feedback.window_open(BEFORE)
    for member, answers in (("mentor", mentor_answers()), ("mentee", mentee_answers())):
        with pytest.raises(IllegalTransition, match="no-show"):
            feedback.submit(member, answers, CATALOGUE, BEFORE)
    assert not feedback.close(AFTER), "a voided window is never closed"
    assert feedback.collect_events() == [] and not feedback.closed
    # voided before the other answered: the mentee's rating stays blind to the mentor
    for now in (BEFORE, AFTER):  # a voided window never closes, so never reveals
        assert feedback.view_for("mentor", now)["other"] is None
        assert not feedback.revealed(now)


def test_the_same_topics_in_another_order_are_not_a_rating_change() -> None:
    feedback = requested()
    both = ("generative-ai", "social-media")
    feedback.submit("mentee", replace(mentee_answers(), topics=both), CATALOGUE, BEFORE)
    feedback.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    reordered = replace(mentee_answers(), topics=both[::-1], note="same ratings, new words")
    feedback.submit("mentee", reordered, CATALOGUE, BEFORE)
    assert feedback.answers["mentee"]["note"] == "same ratings, new words"


def test_erasing_a_members_words_blanks_theirs_only_once() -> None:
    feedback = requested()
    feedback.submit("mentee", mentee_answers(usefulness=2), CATALOGUE, BEFORE)
    feedback.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    feedback.collect_events()
    assert feedback.erase_words("mentee") and not feedback.erase_words("mentee")
    [erased] = feedback.collect_events()
    assert type(erased).__qualname__ == "SessionFeedback.WordsErased"
    assert (erased.participant_id, erased.side) == ("mentee", "mentee")  # type: ignore[attr-defined]
    mine, theirs = feedback.answers["mentee"], feedback.answers["mentor"]
    assert (mine["practices"], mine["note"], mine["usefulness"]) == (ERASED, ERASED, 2)
    assert theirs["note"] == "x"
    unanswered = requested()
    assert unanswered.erase_words("mentor"), "recorded even with nothing to blank"
    assert not unanswered.erase_words("mentor")
    with pytest.raises(IllegalTransition, match="erased"):
        unanswered.submit("mentor", mentor_answers(), CATALOGUE, BEFORE)
    quoting = requested()  # a note that happens to read like the marker
    quoting.submit("mentee", replace(mentee_answers(), note=ERASED), CATALOGUE, BEFORE)
    assert quoting.erase_words("mentee")
    with pytest.raises(ValidationFailed):
        unanswered.erase_words("someone")


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
LOW_OVER = "average usefulness at or below 2 of 5 over the last {} session(s) with feedback"


def test_low_usefulness_over_recent_sessions() -> None:
    record = risk.SessionRecord
    fine_then_poor = [record((5, 5)), record((2, 2)), record((2, 1)), record((3, 2))]
    # the last three: (2 + 2 + 2 + 1 + 3 + 2) / 6 = 2; no figure in the sentence
    assert risk.reasons(fine_then_poor, stalled=False) == [
        (risk.LOW_USEFULNESS, LOW_OVER.format(3))
    ]
    recovering = [*fine_then_poor, record((4, 4))]
    assert risk.reasons(recovering, stalled=False) == []


def test_low_usefulness_counts_revealed_sessions_only() -> None:
    """One member's rating while the window is open is not judged (a manager
    would learn it before the other member answered)."""
    record = risk.SessionRecord
    assert not record((1,)).revealed
    assert record((1, 5)).revealed and record((1,), ("mentor",), closed=True).revealed
    assert risk.reasons([record((1,))], stalled=False) == [], "one answer, window open"
    # a revealed good session and an open poor one: only the good one is judged
    assert risk.reasons([record((4, 4)), record((1,))], stalled=False) == []
    # once the window closes, the lone answer counts
    closed = record((1,), ("mentor",), closed=True)
    assert risk.reasons([closed], stalled=False) == [(risk.LOW_USEFULNESS, LOW_OVER.format(1))]
    assert risk.reasons([record((4, 4)), closed], stalled=False) == [], "(4 + 4 + 1) / 3 = 3"
    # the last three revealed sessions, skipping an open one in between
    poor = [record((2, 2)), record((2, 2)), record((5,)), record((1, 2))]
    assert risk.reasons(poor, stalled=False) == [(risk.LOW_USEFULNESS, LOW_OVER.format(3))]


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


# -- the pair: the consistency boundary of its risk ------------------------------------------------
def opened() -> Pair:
    return Pair(
        programme_id=uuid4(),
        mentorship_id=str(uuid4()),
        match_id="",
        mentee_id="mentee",
        mentor_id="mentor",
        opened_at=HELD,
    )


def test_a_pair_keeps_what_its_risk_needs_of_each_session() -> None:
    pair = opened()
    assert pair.id == pair_key(pair.mentorship_id)
    assert pair.add_session("s2", "2027-03-08T10:00:00Z")
    assert pair.add_session("s1", HELD), "logged late, held earlier"
    assert not pair.add_session("s1", HELD), "once per session"
    assert pair.rate("s2", "mentee", 1) and not pair.rate("s2", "mentee", 1)
    assert not pair.rate("unknown", "mentee", 1)
    assert pair.rate("s1", "mentor", 3) and pair.rate("s1", "mentee", 2)
    assert pair.close_session("s1", []) and not pair.close_session("s1", [])
    assert not pair.close_session("unknown", ["mentee"])
    assert names(pair) == [
        "Pair.Opened",
        "Pair.SessionAdded",
        "Pair.SessionAdded",
        "Pair.SessionRated",
        "Pair.SessionRated",
        "Pair.SessionRated",
        "Pair.SessionClosed",
    ]
    # in the order held, each member's rating whatever order they came in
    assert pair.records() == [
        risk.SessionRecord((3, 2), (), closed=True),
        risk.SessionRecord((1,), (), closed=False),
    ]
    assert not pair.assess(AFTER), "s2's lone 1 is not revealed: (3 + 2) / 2 is above 2"
    assert pair.rate("s2", "mentor", 1)
    assert pair.assess(AFTER), "(3 + 2 + 1 + 1) / 4 is at or below 2"
    assert pair.risks == {risk.LOW_USEFULNESS: LOW_OVER.format(2)}
    assert pair.flagged_at == AFTER and not pair.assess(AFTER)
    # a member changes their rating (before the other answered): restated, not cleared
    assert pair.rate("s2", "mentor", 5)
    assert pair.assess(BEFORE) and pair.risks == {}, "(3 + 2 + 1 + 5) / 4 is above 2"
    [*_, cleared] = pair.collect_events()
    assert type(cleared).__qualname__ == "Pair.RiskCleared"


def test_a_voided_session_no_longer_counts_for_the_pair() -> None:
    pair = opened()
    for session, closed_at in (("s1", HELD), ("s2", "2027-03-09T10:00:00Z")):
        pair.add_session(session, closed_at)
        pair.close_session(session, ["mentee"])
    assert pair.assess(AFTER) and list(pair.risks) == [risk.FEEDBACK_MISSING]
    assert pair.void_session("s2") and not pair.void_session("s2")
    assert pair.session_ids == ["s1"]
    assert pair.assess(AFTER) and pair.risks == {}
    assert names(pair)[-2:] == ["Pair.SessionVoided", "Pair.RiskCleared"]


def test_a_pair_first_seen_through_a_session_is_linked_to_its_match_once() -> None:
    pair = opened()
    pair.collect_events()
    assert pair.link("match-1") and not pair.link("match-2")
    [linked] = pair.collect_events()
    assert type(linked).__qualname__ == "Pair.Linked"
    assert linked.match_id == pair.match_id == "match-1"  # type: ignore[attr-defined]
    already = Pair(
        programme_id=uuid4(),
        mentorship_id="m",
        match_id="match-3",
        mentee_id="mentee",
        mentor_id="mentor",
        opened_at=HELD,
    )
    assert not already.link("match-4") and already.match_id == "match-3"


def test_an_ended_pair_is_no_longer_at_risk() -> None:
    pair = opened()
    assert pair.stall(HELD) and pair.assess(HELD) and list(pair.risks) == [risk.STALLED]
    pair.add_session("s1", BEFORE)
    assert not pair.stalled and pair.assess(BEFORE) and not pair.at_risk, "they met again"
    assert pair.stall(BEFORE) and pair.assess(BEFORE)
    assert pair.end("dissolved", AFTER) and not pair.stall(AFTER)
    assert pair.assess(AFTER) and not pair.at_risk and not pair.assess(AFTER)


# -- the policy --------------------------------------------------------------------------------
def test_below_five_only_an_administrator_sets_the_smallest_group() -> None:
    current = {"feedback_window_days": 7, "min_group_size": 5}
    for size in (3, 4):
        with pytest.raises(ValidationFailed) as manager:
            changed_policy(current, {"min_group_size": size}, administrator=False)
        [violation] = manager.value.violations
        assert (violation.field, violation.description) == (
            "min_group_size",
            "below 5 only an administrator may set it",
        )
        admin = changed_policy(current, {"min_group_size": size}, administrator=True)
        assert admin["min_group_size"] == size
        with pytest.raises(ValidationFailed):  # not an administrator unless said so
            changed_policy(current, {"min_group_size": size})
    assert changed_policy(current, {"min_group_size": 5}, administrator=False) == current
    with pytest.raises(ValidationFailed) as both:
        changed_policy(
            current, {"feedback_window_days": 0, "min_group_size": 2}, administrator=False
        )
    assert [(v.field, v.description) for v in both.value.violations] == [
        ("feedback_window_days", "must be 1-30"),
        ("min_group_size", "must be 3-50"),
    ], "out of bounds says so, whoever asks"
