"""The feedback application fed the way production feeds it: the other
services' integration events through feedback's own subscriptions (the kernel
tracks each upstream position with what the handler returns), members' and
managers' commands, and the job that closes windows - over SQLite and
PostgreSQL, with a clock the tests move.

- One submission per member: again before the due time is an edit, after it
  a refusal; the window follows the programme's policy.
- Blind reveal: the other member's ratings once both answered or the window
  closed, never their practices or confidential note.
- Ratings are final once both answered (the words stay editable until the
  due time); before the other answered they may still change.
- At-risk rules, each flagged with its code and cleared when resolved: low
  usefulness over the last three revealed sessions (one member's answer alone
  is judged only once the window closed), a stall, a member silent on two
  closed sessions in a row; a completed mentorship asks for end surveys and is
  no longer at risk.
- The pair is the consistency boundary of its risk: two submissions racing on
  one pair meet on its version; the loser is retried (a bounded number of
  times) unless the client gave an expected version.
- A no-show voids the session's feedback: not asked, not answerable, never
  closed, counted nowhere (report, pair's risk).
- Every upstream event twice changes nothing; events across streams in any
  order (a held session before its programme, a certification before the
  enrolment, a match before its programme and the survey answered against the
  catalogue that came later, a pair first seen through a session or a stall
  because its opening was dead-lettered, an ending of an unknown pair refused).
- Erasure blanks the erased member's words only, on every replica at once;
  they record nothing more; replay equals live; the read model never decrypts.
- What is published: ids and ratings, never a note or a practice; a
  participant's export (their words, the funnel's record, their pairs).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from support import eventually

from revmentor.feedback.application import (
    SUBMIT_ATTEMPTS,
    FeedbackApplication,
    UnknownPair,
)
from revmentor.feedback.domain import risk
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.integration import translate
from revmentor.feedback.subscriptions import HANDLERS, closing_job
from revmentor.kernel.cloudevents import ReceivedEvent, encode
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import (
    ConcurrencyConflict,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from revmentor.kernel.timestamps import stamp

CATALOGUE = ["generative-ai", "social-media", "data-literacy"]
MENTEE_NOTE = "my manager makes me nervous about AI"
MENTOR_NOTE = "she seemed tired, go slower next time"
PRACTICE = "draft my weekly report with an assistant"
LOW_OVER = "average usefulness at or below 2 of 5 over the last {} session(s) with feedback"


def mentee(
    usefulness: int = 4,
    note: str = "",
    practices: tuple[str, ...] = (),
    topics: tuple[str, ...] = ("generative-ai",),
    confidence: int = 3,
) -> SessionAnswers:
    return SessionAnswers(
        usefulness=usefulness,
        topics=topics,
        practices=practices,
        confidence=confidence,
        note=note,
    )


def mentor(usefulness: int = 4, note: str = "", pedagogy: int = 4) -> SessionAnswers:
    return SessionAnswers(
        usefulness=usefulness, topics=("generative-ai",), pedagogy=pedagogy, note=note
    )


def mentee_survey(skill: int = 3, understanding: int = 3, recommend: int = 8) -> SurveyAnswers:
    return SurveyAnswers(understanding, recommend, {topic: skill for topic in CATALOGUE})


def mentor_survey(level: int = 3, understanding: int = 3, recommend: int = 8) -> SurveyAnswers:
    return SurveyAnswers(understanding, recommend, coaching_confidence=level, pedagogy=level)


def fields(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [v.field for v in error.value.violations]


def written(app: FeedbackApplication) -> int:
    return len(app.notifications(0, 100_000))


def live_digest(app: FeedbackApplication) -> str:
    digest: str = app.query(lambda model: model.digest())
    return digest


def assert_replay_equals_live(app: FeedbackApplication) -> None:
    assert app.rebuild_read_model().digest() == live_digest(app)


def risk_events(upstream: Any) -> list[tuple[str, list[str], list[str]]]:
    """("flag", codes, new codes) or ("clear", [], []) for every risk event, in order."""
    out = []
    for n in upstream.app.notifications(0, 100_000):
        event = upstream.app.envelope_mapper.decode(n)[0]
        name = type(event).__qualname__
        if name == "Pair.FlaggedAtRisk":
            out.append(("flag", list(event.codes), list(event.new_codes)))
        elif name == "Pair.RiskCleared":
            out.append(("clear", [], []))
    return out


def codes_at_risk(app: FeedbackApplication, programme_id: str) -> dict[str, list[str]]:
    return {p["mentorship_id"]: p["codes"] for p in app.pairs_at_risk(programme_id)}


def published(app: FeedbackApplication, skip: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """What the relay publishes, built as the relay builds it: events decoded
    without keys, translated, encoded as CloudEvents. (name, message) in order;
    also checks no payload or header carries any member's words."""
    out = []
    for n in app.notifications(0, 100_000):
        event, envelope = app.envelope_mapper.decode(n, personal=False)
        if type(event).__qualname__ in skip:
            continue
        integration = translate(event)
        if integration is None:
            continue
        message = encode("feedback", n.id, integration, event.timestamp, envelope)
        text = message.data.decode() + json.dumps(message.headers)
        for words in (MENTEE_NOTE, MENTOR_NOTE, PRACTICE, "[withheld]", "note", "practice"):
            assert words not in text, (integration.name, text)
        out.append((integration.name, json.loads(message.data)))
    return out


# -- submission and the window ------------------------------------------------------------------
def test_one_submission_per_member_an_edit_before_the_due_time_refused_after(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    pair = upstream.pair(upstream.programme(CATALOGUE))
    sid = upstream.hold(pair)
    record = app.session_feedback(sid)
    assert record.due_at == stamp(clock.now + timedelta(days=7)), "the default window: 7 days"

    first = app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=2))
    clock.advance(days=6, hours=23)
    edited = app.submit_feedback(
        sid, pair.mentee_id, mentee(usefulness=5), expected_version=first.version
    )
    assert edited.answers["mentee"]["usefulness"] == 5
    submitted = upstream.events("SessionFeedback.Submitted")
    assert [(e.side, e.usefulness, e.edit) for e in submitted] == [
        ("mentee", 2, False),
        ("mentee", 5, True),
    ]
    [request] = app.feedback_requests(pair.mentee_id, open_only=False)
    assert request["answered"] and not request["closed"]
    assert app.feedback_requests(pair.mentee_id, open_only=True) == []
    assert [r["session_id"] for r in app.feedback_requests(pair.mentor_id, True)] == [sid]

    before = written(app)
    with pytest.raises(ConcurrencyConflict):
        app.submit_feedback(sid, pair.mentee_id, mentee(), expected_version=first.version)
    with pytest.raises(ValidationFailed) as stranger:
        app.submit_feedback(sid, str(pair.programme_id), mentee())
    assert fields(stranger) == ["participant_id"]
    clock.advance(hours=1)  # the due time itself: closed
    for participant, answers in (
        (pair.mentee_id, mentee(usefulness=1)),
        (pair.mentor_id, mentor()),
    ):
        with pytest.raises(IllegalTransition, match=f"closed at {record.due_at}"):
            app.submit_feedback(sid, participant, answers)
    assert written(app) == before, "refusals write nothing"
    assert app.session_feedback(sid).answers["mentee"]["usefulness"] == 5
    [request] = app.feedback_requests(pair.mentor_id, open_only=False)
    assert request["closed"] and not request["answered"]
    assert app.feedback_requests(pair.mentor_id, open_only=True) == []
    with pytest.raises(ValidationFailed) as bad_id:
        app.session_feedback("not-a-uuid")
    assert fields(bad_id) == ["session_id"]
    with pytest.raises(NotFound):
        app.session_feedback(str(pair.programme_id))


def test_the_window_follows_the_programme_policy(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    policy = app.programme(programme_id)
    assert policy.policy == {"feedback_window_days": 7, "min_group_size": 5}
    changed = app.set_policy(
        programme_id,
        {"feedback_window_days": 2, "min_group_size": None},
        expected_version=policy.version,
    )
    assert changed.policy == {"feedback_window_days": 2, "min_group_size": 5}
    before = written(app)
    with pytest.raises(ValidationFailed) as bad:
        app.set_policy(programme_id, {"feedback_window_days": 31, "min_group_size": 2})
    assert fields(bad) == ["feedback_window_days", "min_group_size"]
    with pytest.raises(ConcurrencyConflict):
        app.set_policy(programme_id, {"min_group_size": 6}, expected_version=policy.version)
    with pytest.raises(NotFound):
        app.set_policy(str(pair.match_id), {"min_group_size": 6})
    assert written(app) == before

    sid = upstream.hold(pair)
    assert app.session_feedback(sid).due_at == stamp(clock.now + timedelta(days=2))
    clock.advance(days=2)
    with pytest.raises(IllegalTransition):
        app.submit_feedback(sid, pair.mentor_id, mentor())


def test_ratings_stay_blind_until_both_answered_and_text_stays_with_its_author(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    pair = upstream.pair(upstream.programme(CATALOGUE))
    sid = upstream.hold(pair)
    now = clock.stamp()
    app.submit_feedback(
        sid, pair.mentee_id, mentee(usefulness=3, note=MENTEE_NOTE, practices=(PRACTICE,))
    )
    record = app.session_feedback(sid)
    seen_by_mentor = record.view_for(pair.mentor_id, now)
    assert seen_by_mentor == {"own": None, "other": None, "revealed": False}
    own = record.view_for(pair.mentee_id, now)
    assert own["own"]["note"] == MENTEE_NOTE and own["own"]["practices"] == [PRACTICE]
    assert own["other"] is None and not own["revealed"]

    app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=5, note=MENTOR_NOTE, pedagogy=2))
    record = app.session_feedback(sid)
    seen_by_mentor = record.view_for(pair.mentor_id, now)
    assert seen_by_mentor["revealed"]
    assert seen_by_mentor["other"] == {
        "usefulness": 3,
        "topics": ["generative-ai"],
        "confidence": 3,
        "submitted_at": now,
    }
    assert seen_by_mentor["own"]["note"] == MENTOR_NOTE
    seen_by_mentee = record.view_for(pair.mentee_id, now)
    assert seen_by_mentee["other"] == {
        "usefulness": 5,
        "topics": ["generative-ai"],
        "pedagogy": 2,
        "submitted_at": now,
    }
    for view, words in ((seen_by_mentor, MENTEE_NOTE), (seen_by_mentee, MENTOR_NOTE)):
        assert words not in json.dumps(view["other"]) and PRACTICE not in json.dumps(view["other"])

    # the read model, and so every list and report, keeps ratings only
    snapshot = json.dumps(app.query(lambda model: model.snapshot()))
    assert "usefulness" in snapshot
    assert all(words not in snapshot for words in (MENTEE_NOTE, MENTOR_NOTE, PRACTICE))
    # at rest the words are sealed; the ratings beside them are not
    stored = [n.state for n in app.notifications(0, 1000) if n.topic.endswith("Submitted")]
    assert stored and all(b"generative-ai" in state for state in stored)
    assert all(
        words.encode() not in n.state
        for n in app.notifications(0, 1000)
        for words in (MENTEE_NOTE, MENTOR_NOTE, PRACTICE)
    )
    assert_replay_equals_live(app)


def test_the_window_closing_reveals_and_records_who_did_not_answer(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    pair = upstream.pair(upstream.programme(CATALOGUE))
    sid = upstream.hold(pair)
    clock.advance(days=1)
    later = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=4, pedagogy=3))
    assert app.session_feedback(sid).view_for(pair.mentee_id, clock.stamp())["other"] is None

    clock.advance(days=6)  # the first window's due time, the second's a day later
    assert app.session_feedback(sid).view_for(pair.mentee_id, clock.stamp())["other"] == {
        "usefulness": 4,
        "topics": ["generative-ai"],
        "pedagogy": 3,
        "submitted_at": "2027-02-02T09:00:00Z",
    }, "the due time passed: revealed even before the job records the closing"
    assert app.close_due_windows(clock.now) == 1
    assert app.close_due_windows(clock.now) == 0, "once"
    [closed] = upstream.events("SessionFeedback.Closed")
    assert (closed.missing, closed.at) == (["mentee"], clock.stamp())
    record = app.session_feedback(sid)
    assert record.closed and record.missing == ["mentee"]
    assert not app.session_feedback(later).closed
    clock.advance(days=1)
    assert app.close_due_windows(clock.now) == 1
    missing = [e.missing for e in upstream.events("SessionFeedback.Closed")]
    assert missing == [["mentee"], ["mentee", "mentor"]]
    closers = {
        app.envelope_mapper.decode(n)[1]["actor"]
        for n in app.notifications(0, 1000)
        if n.topic.endswith("Closed")
    }
    assert closers == {"service:feedback-windows"}
    assert_replay_equals_live(app)


# -- at risk ----------------------------------------------------------------------------------
def test_low_usefulness_over_the_last_three_rated_sessions_flags_the_pair_recovery_clears_it(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    ratings = [(5, 5), (1, 1), (1, 1), (1, 2), (5, 5)]
    states = []
    for mentee_usefulness, mentor_usefulness in ratings:
        clock.advance(days=1)
        sid = upstream.hold(pair)
        app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=mentee_usefulness))
        app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=mentor_usefulness))
        states.append([(v["codes"], v["reasons"]) for v in app.pairs_at_risk(programme_id)])
    # over every session the fourth would average 17/8 > 2: only the last three count
    assert states == [
        [],
        [],
        [],
        [
            (
                [risk.LOW_USEFULNESS],
                ["average usefulness at or below 2 of 5 over the last 3 session(s) with feedback"],
            )
        ],
        [],
    ]
    # flagged once the mentor's 2 revealed the fourth session (the mentee's 1
    # alone was not judged), cleared once the fifth is revealed: the sentence
    # names no figure, so ratings coming in restate nothing
    assert risk_events(upstream) == [
        ("flag", [risk.LOW_USEFULNESS], [risk.LOW_USEFULNESS]),
        ("clear", [], []),
    ]
    names = [name for name, _ in published(app, skip=("SessionFeedback.Submitted",))]
    assert (names.count("PairFlaggedAtRisk"), names.count("PairRiskCleared")) == (1, 1)

    # exactly 2 is at risk; an edit before the other member answered counts
    other = upstream.pair(programme_id)
    sid = upstream.hold(other)
    app.submit_feedback(sid, other.mentee_id, mentee(usefulness=1))
    assert codes_at_risk(app, programme_id) == {}, "the mentor has not answered: not judged"
    app.submit_feedback(sid, other.mentee_id, mentee(usefulness=3))
    app.submit_feedback(sid, other.mentor_id, mentor(usefulness=1))
    assert codes_at_risk(app, programme_id) == {other.mentorship_id: [risk.LOW_USEFULNESS]}, (
        "(3 + 1) / 2"
    )
    assert_replay_equals_live(app)


def test_one_members_low_rating_is_judged_only_once_revealed(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    """A manager must not learn one member's rating before the other answered:
    it counts once both answered or the window closed."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    silent, answering = upstream.pair(programme_id), upstream.pair(programme_id)
    quiet = upstream.hold(silent)
    sid = upstream.hold(answering)
    app.submit_feedback(quiet, silent.mentee_id, mentee(usefulness=1))
    app.submit_feedback(sid, answering.mentee_id, mentee(usefulness=1))
    assert codes_at_risk(app, programme_id) == {} and risk_events(upstream) == []
    pair = app.find_pair(silent.mentorship_id)
    assert pair is not None and pair.sessions[quiet]["ratings"] == {"mentee": 1}, (
        "the pair knows it; it does not judge it yet"
    )

    app.submit_feedback(sid, answering.mentor_id, mentor(usefulness=3))
    [view] = app.pairs_at_risk(programme_id)
    assert (view["mentorship_id"], view["codes"], view["reasons"]) == (
        answering.mentorship_id,
        [risk.LOW_USEFULNESS],
        [LOW_OVER.format(1)],
    ), "(1 + 3) / 2, revealed by the mentor's answer; no figure in the reason"

    # the silent pair's mentor never answers: the window closing reveals the 1
    clock.advance(days=7)
    assert app.close_due_windows(clock.now) == 2
    assert codes_at_risk(app, programme_id) == {
        answering.mentorship_id: [risk.LOW_USEFULNESS],
        silent.mentorship_id: [risk.LOW_USEFULNESS],
    }
    flaggers = [
        app.envelope_mapper.decode(n)[1]["actor"]
        for n in app.notifications(0, 1000)
        if n.topic.endswith("FlaggedAtRisk")
    ]
    assert flaggers[-1] == "service:feedback-windows", "flagged by the closing job"
    assert [e.mentorship_id for e in upstream.events("Pair.FlaggedAtRisk")] == [
        answering.mentorship_id,
        silent.mentorship_id,
    ]
    assert_replay_equals_live(app)


def test_ratings_are_final_once_both_answered(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=2, note=MENTEE_NOTE))
    app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=3, note=MENTEE_NOTE))
    app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=1))
    assert codes_at_risk(app, programme_id) == {pair.mentorship_id: [risk.LOW_USEFULNESS]}
    before = written(app)
    for participant, answers in (
        (pair.mentee_id, mentee(usefulness=5)),
        (pair.mentee_id, mentee(usefulness=3, topics=("social-media",))),
        (pair.mentee_id, mentee(usefulness=3, confidence=5)),
        (pair.mentor_id, mentor(usefulness=5)),
        (pair.mentor_id, mentor(usefulness=1, pedagogy=1)),
    ):
        with pytest.raises(IllegalTransition, match="the ratings are final"):
            app.submit_feedback(sid, participant, answers)
    assert written(app) == before, "refusals write nothing"
    assert codes_at_risk(app, programme_id) == {pair.mentorship_id: [risk.LOW_USEFULNESS]}

    # their own words stay editable until the due time
    edited = app.submit_feedback(
        sid, pair.mentee_id, mentee(usefulness=3, note="better now", practices=(PRACTICE,))
    )
    assert edited.answers["mentee"]["note"] == "better now"
    assert edited.answers["mentee"]["usefulness"] == 3
    assert [(e.side, e.usefulness) for e in upstream.events("Pair.SessionRated")] == [
        ("mentee", 2),
        ("mentee", 3),
        ("mentor", 1),
    ], "the words-only edit rates nothing again"
    assert_replay_equals_live(app)


def test_a_stall_flags_the_pair_and_meeting_again_clears_it(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=1))
    app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=2))
    assert codes_at_risk(app, programme_id) == {pair.mentorship_id: [risk.LOW_USEFULNESS]}
    clock.advance(days=42)
    assert upstream.send(upstream.stalled(pair))
    [view] = app.pairs_at_risk(programme_id)
    assert view["codes"] == [risk.LOW_USEFULNESS, risk.STALLED]
    assert view["reasons"][1] == "no session held for the programme's stall period"
    assert view["flagged_at"] == clock.stamp(), "a new reason: flagged again, now"
    # a second stall report of the same stall changes nothing
    before = written(app)
    assert upstream.send(upstream.stalled(pair))
    assert written(app) == before

    # they meet again: the stall is over (low usefulness stays, not published
    # again); they rate the new session well: cleared
    clock.advance(days=1)
    later = upstream.hold(pair)
    assert codes_at_risk(app, programme_id) == {pair.mentorship_id: [risk.LOW_USEFULNESS]}
    app.submit_feedback(later, pair.mentee_id, mentee(usefulness=5))
    app.submit_feedback(later, pair.mentor_id, mentor(usefulness=5))
    assert codes_at_risk(app, programme_id) == {}
    assert risk_events(upstream) == [
        ("flag", [risk.LOW_USEFULNESS], [risk.LOW_USEFULNESS]),
        ("flag", [risk.LOW_USEFULNESS, risk.STALLED], [risk.STALLED]),
        ("flag", [risk.LOW_USEFULNESS], []),
        ("clear", [], []),
    ]
    names = [name for name, _ in published(app, skip=("SessionFeedback.Submitted",))]
    assert names.count("PairFlaggedAtRisk") == 2, "reasons going away alone publish nothing"
    assert names.count("PairRiskCleared") == 1
    assert_replay_equals_live(app)


def test_a_member_silent_on_two_closed_sessions_in_a_row_flags_the_pair(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)

    def session(mentee_answers: bool) -> list[str]:
        sid = upstream.hold(pair)
        app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=5))
        if mentee_answers:
            app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=5))
        clock.advance(days=7)
        assert app.close_due_windows(clock.now) == 1
        return codes_at_risk(app, programme_id).get(pair.mentorship_id, [])

    # silent, answered, silent: never twice in a row
    assert [session(False), session(True), session(False)] == [[], [], []]
    assert session(False) == [risk.FEEDBACK_MISSING]
    [view] = app.pairs_at_risk(programme_id)
    assert view["reasons"] == ["the mentee gave no feedback on the last two sessions in a row"]
    assert session(True) == [], "the last two closed: one answered"
    assert risk_events(upstream) == [
        ("flag", [risk.FEEDBACK_MISSING], [risk.FEEDBACK_MISSING]),
        ("clear", [], []),
    ]
    closers = {
        app.envelope_mapper.decode(n)[1]["actor"]
        for n in app.notifications(0, 1000)
        if n.topic.endswith(("FlaggedAtRisk", "RiskCleared"))
    }
    assert closers == {"service:feedback-windows"}, "flagged by the closing job"
    assert_replay_equals_live(app)


def test_a_completed_mentorship_asks_for_end_surveys_and_is_no_longer_at_risk(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    done, dropped = upstream.pair(programme_id), upstream.pair(programme_id)
    for pair in (done, dropped):
        assert upstream.send(upstream.stalled(pair))
    assert set(codes_at_risk(app, programme_id)) == {done.mentorship_id, dropped.mentorship_id}

    assert upstream.send(upstream.completed(done))
    assert set(codes_at_risk(app, programme_id)) == {dropped.mentorship_id}
    pair = app.find_pair(done.mentorship_id)
    assert pair is not None and pair.status == "completed" and not pair.at_risk
    ends = [e for e in upstream.events("Survey.Requested") if e.kind == "end"]
    assert sorted((e.participant_id, e.side, e.match_id) for e in ends) == sorted(
        [(done.mentee_id, "mentee", done.match_id), (done.mentor_id, "mentor", done.match_id)]
    )
    assert [e.topics for e in ends if e.side == "mentee"] == [CATALOGUE]
    # a stall reported after the end, a second completion, an ending: nothing
    before = written(app)
    for event in (upstream.stalled(done), upstream.completed(done), upstream.ended(done)):
        assert list(HANDLERS["scheduling"][event.name](app, event)) == []
    assert written(app) == before

    assert upstream.send(upstream.ended(dropped, "dissolved"))
    assert codes_at_risk(app, programme_id) == {}
    assert app.find_pair(dropped.mentorship_id).status == "ended"  # type: ignore[union-attr]
    assert [e.kind for e in upstream.events("Survey.Requested")].count("end") == 2, (
        "no end survey for a mentorship that did not complete"
    )
    assert [kind for kind, _, _ in risk_events(upstream)] == ["flag", "flag", "clear", "clear"]
    names = [name for name, _ in published(app)]
    assert names.count("SurveyRequested") == 6 and names.count("PairRiskCleared") == 2
    assert_replay_equals_live(app)


# -- the pair: the consistency boundary of its risk -------------------------------------------
def racing(app: FeedbackApplication, meanwhile: Any) -> list[int]:
    """Make ``app`` lose races on pairs: each time one of its submissions has
    loaded the pair, ``meanwhile(attempt)`` writes first (another replica);
    returns the pair versions each attempt loaded."""
    loaded: list[int] = []
    load = app.pair_of

    def pair_of(*args: Any) -> Any:
        pair = load(*args)
        loaded.append(pair.version)
        meanwhile(len(loaded))
        return pair

    app.pair_of = pair_of  # type: ignore[method-assign]
    return loaded


def test_two_submissions_racing_on_one_pair_both_count(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any, store: dict[str, str]
) -> None:
    """Two replicas take the mentor's answers on two sessions of one pair at
    once: they meet on the pair's version, the loser retries on the winner's
    pair, and the pair is assessed on both answers (never on a stale view)."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    first = upstream.hold(pair)
    clock.advance(days=1)
    second = upstream.hold(pair)
    for sid in (first, second):
        app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=1))
    assert codes_at_risk(app, programme_id) == {}, "only the mentee answered"
    replica = FeedbackApplication(env=store, clock=clock)
    try:

        def other_replica(attempt: int) -> None:
            if attempt == 1:
                app.submit_feedback(second, pair.mentor_id, mentor(usefulness=2))

        loaded = racing(replica, other_replica)
        done = replica.submit_feedback(first, pair.mentor_id, mentor(usefulness=2))
    finally:
        replica.close()
    assert len(loaded) == 2 and loaded[1] > loaded[0], "lost on the pair's version, retried"
    assert done.answers["mentor"]["usefulness"] == 2
    for sid in (first, second):
        assert app.session_feedback(sid).answers["mentor"]["usefulness"] == 2
    stored = app.find_pair(pair.mentorship_id)
    assert stored is not None
    assert {sid: s["ratings"] for sid, s in stored.sessions.items()} == {
        first: {"mentee": 1, "mentor": 2},
        second: {"mentee": 1, "mentor": 2},
    }
    # flagged by the winner on its session, restated by the retry on both
    flags = upstream.events("Pair.FlaggedAtRisk")
    assert [(f.codes, f.reasons, f.new_codes) for f in flags] == [
        ([risk.LOW_USEFULNESS], [LOW_OVER.format(1)], [risk.LOW_USEFULNESS]),
        ([risk.LOW_USEFULNESS], [LOW_OVER.format(2)], []),
    ]
    [view] = app.pairs_at_risk(programme_id)
    assert view["reasons"] == [LOW_OVER.format(2)]
    mentor_answers = [e for e in upstream.events("SessionFeedback.Submitted") if e.side == "mentor"]
    assert sorted(e.session_id for e in mentor_answers) == sorted([first, second]), (
        "each answer once: the lost attempt wrote nothing"
    )
    assert_replay_equals_live(app)


def test_a_race_lost_with_an_expected_version_is_a_conflict_and_retries_are_bounded(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any, store: dict[str, str]
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    first = upstream.hold(pair)
    second = upstream.hold(pair)
    app.submit_feedback(first, pair.mentee_id, mentee(usefulness=4))
    version = app.session_feedback(first).version
    replica = FeedbackApplication(env=store, clock=clock)
    try:
        # meanwhile the mentee keeps changing their mind on the other session
        usefulness = itertools.count(1)
        loaded = racing(
            replica,
            lambda _: app.submit_feedback(second, pair.mentee_id, mentee(next(usefulness) % 5 + 1)),
        )
        # the client said which version it saw, and it is still current: a race
        # lost on the pair alone is retried, SUBMIT_ATTEMPTS times at most
        with pytest.raises(ConcurrencyConflict):
            replica.submit_feedback(first, pair.mentor_id, mentor(), expected_version=version)
        assert len(loaded) == SUBMIT_ATTEMPTS
        assert "mentor" not in app.session_feedback(first).answers
        # without one it is retried, SUBMIT_ATTEMPTS times at most
        loaded.clear()
        with pytest.raises(ConcurrencyConflict):
            replica.submit_feedback(first, pair.mentor_id, mentor())
        assert len(loaded) == SUBMIT_ATTEMPTS == 3
        assert "mentor" not in app.session_feedback(first).answers
    finally:
        replica.close()
    edits = [e.usefulness for e in upstream.events("SessionFeedback.Submitted")]
    assert edits == [4, 2, 3, 4, 5, 1, 2], "the mentee's edits of the other session all landed"
    assert app.session_feedback(first).version == version, "nothing of the mentor's"
    # a version the session has moved past: told at once, nothing written
    app.submit_feedback(first, pair.mentee_id, mentee(usefulness=5))
    with pytest.raises(ConcurrencyConflict):
        app.submit_feedback(first, pair.mentor_id, mentor(), expected_version=version)
    assert "mentor" not in app.session_feedback(first).answers


# -- no-shows ---------------------------------------------------------------------------------
def days(held: str, enrolled: str) -> float:
    return (datetime.fromisoformat(held) - datetime.fromisoformat(enrolled)).total_seconds() / 86400


def test_days_to_the_first_session_leave_out_a_first_session_before_enrolment(
    feedback_app: FeedbackApplication, upstream: Any
) -> None:
    """A session dated before the person enrolled is a data error: that person is
    left out of the figure, neither counted as 0 days nor measured from a later
    session."""
    programme_id = upstream.programme(CATALOGUE)
    mentee_id = upstream.enrol(programme_id, "mentee", at="2027-01-20T09:00:00Z")
    mentor_id = upstream.enrol(programme_id, "mentor", at="2027-02-10T09:00:00Z")
    same_day = upstream.enrol(programme_id, "mentee", at="2027-02-01T08:00:00Z")
    upstream.hold(upstream.pair(programme_id, mentee_id, mentor_id), start="2027-02-01T08:00:00Z")
    later = upstream.pair(programme_id, same_day)  # a mentor whose enrolment is unknown
    upstream.hold(later, start="2027-02-01T08:00:00Z")
    upstream.hold(later, start="2027-02-15T08:00:00Z")

    facts = feedback_app.query(lambda model: model.facts(programme_id))
    assert facts.sessions_held == 3
    assert facts.days_to_first_session == {
        mentee_id: days("2027-02-01T08:00:00+00:00", "2027-01-20T09:00:00+00:00"),
        same_day: 0.0,  # met the moment they enrolled: a real zero
    }, "one mentor enrolled after their first session, the other at an unknown time"


def test_a_no_show_withdraws_the_request_and_counts_nowhere(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    """A held session the manager settled as a no-show did not take place:
    nobody is asked about it, it is never closed, and neither the report nor
    the pair's risk counts it."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    enrolled = {"mentee": "2027-01-20T09:00:00Z", "mentor": "2027-01-21T09:00:00Z"}
    mentee_id = upstream.enrol(programme_id, "mentee", at=enrolled["mentee"])
    mentor_id = upstream.enrol(programme_id, "mentor", at=enrolled["mentor"])
    pair = upstream.pair(programme_id, mentee_id, mentor_id)
    lone = upstream.pair(programme_id)  # its only session will be a no-show
    noshow = upstream.hold(pair, start="2027-02-01T08:00:00Z")
    lone_session = upstream.hold(lone, start="2027-02-01T08:00:00Z")
    clock.advance(days=2)
    held = upstream.hold(pair, start="2027-02-03T08:00:00Z")
    app.submit_feedback(noshow, mentee_id, mentee(usefulness=1))
    app.submit_feedback(noshow, mentor_id, mentor(usefulness=1))
    app.submit_feedback(held, mentee_id, mentee(usefulness=4))
    assert codes_at_risk(app, programme_id) == {pair.mentorship_id: [risk.LOW_USEFULNESS]}
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.sessions_held == 3 and facts.usefulness == {mentee_id: [1, 4], mentor_id: [1]}
    assert facts.funnel["mentee"]["met"] == facts.funnel["mentor"]["met"] == 2

    for sid, member in ((noshow, pair), (lone_session, lone)):
        assert upstream.send(upstream.no_show(member, sid))
    [voided, _] = upstream.events("SessionFeedback.Voided")
    assert (voided.session_id, voided.mentorship_id, voided.at) == (
        noshow,
        pair.mentorship_id,
        clock.stamp(),
    )
    stored = app.find_pair(pair.mentorship_id)
    assert stored is not None and stored.session_ids == [held]
    assert codes_at_risk(app, programme_id) == {}, "the other session is not revealed yet"
    assert risk_events(upstream) == [
        ("flag", [risk.LOW_USEFULNESS], [risk.LOW_USEFULNESS]),
        ("clear", [], []),
    ]
    names = [name for name, _ in published(app, skip=("SessionFeedback.Submitted",))]
    assert names.count("PairRiskCleared") == 1

    # not asked about, not answerable
    for member, sessions in ((mentee_id, [held]), (mentor_id, [held])):
        listed = app.feedback_requests(member, open_only=False)
        assert [r["session_id"] for r in listed] == sessions
    assert app.feedback_requests(lone.mentee_id, open_only=False) == []
    before = written(app)
    for member, answers in ((mentee_id, mentee(usefulness=5)), (mentor_id, mentor())):
        with pytest.raises(IllegalTransition, match="no-show"):
            app.submit_feedback(noshow, member, answers)
    with pytest.raises(IllegalTransition, match="no-show"):
        app.submit_feedback(lone_session, lone.mentor_id, mentor())
    assert written(app) == before

    # counted nowhere: sessions held, met, usefulness, days to the first session
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.sessions_held == 1 and facts.usefulness == {mentee_id: [4]}
    assert facts.funnel["mentee"]["met"] == facts.funnel["mentor"]["met"] == 1
    assert facts.days_to_first_session == {
        mentee_id: days("2027-02-03T08:00:00+00:00", "2027-01-20T09:00:00+00:00"),
        mentor_id: days("2027-02-03T08:00:00+00:00", "2027-01-21T09:00:00+00:00"),
    }
    # one pair met: its one session is hidden with the "met" stages it would reveal
    hidden = {"value": None, "people": 0, "suppressed": True}
    assert app.outcomes_report(programme_id)["sessions_held"] == hidden

    # never closed by the job; the other window is
    clock.advance(days=7)
    assert app.close_due_windows(clock.now) == 1
    assert [e.session_id for e in upstream.events("SessionFeedback.Closed")] == [held]
    assert app.close_due_windows(clock.now) == 0
    assert codes_at_risk(app, programme_id) == {}, "the mentee's 4 alone, revealed: fine"

    # a second settlement, or one of a session never held here: nothing
    before = written(app)
    for sid, member in ((noshow, pair), (str(uuid4()), pair)):
        event = upstream.no_show(member, sid)
        assert list(HANDLERS["scheduling"]["SessionNoShow"](app, event)) == []
    assert written(app) == before
    assert_replay_equals_live(app)


# -- surveys ------------------------------------------------------------------------------------
def test_surveys_are_answered_once_against_the_programme_catalogue(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    pair = upstream.pair(upstream.programme(CATALOGUE))
    mentee_survey_id = upstream.survey_id(pair.mentee_id, "baseline")
    mentor_survey_id = upstream.survey_id(pair.mentor_id, "baseline")
    before = written(app)
    with pytest.raises(ValidationFailed) as partial:
        app.submit_survey(mentee_survey_id, SurveyAnswers(3, 8, {"generative-ai": 3}))
    assert fields(partial) == ["skills"]
    assert "social-media, data-literacy" in partial.value.violations[0].description
    with pytest.raises(ValidationFailed) as wrong_side:
        app.submit_survey(mentor_survey_id, mentee_survey())
    assert fields(wrong_side) == ["coaching_confidence", "pedagogy", "skills"]
    with pytest.raises(ValidationFailed) as bad_id:
        app.submit_survey("survey-1", mentor_survey())
    assert fields(bad_id) == ["survey_id"]
    assert written(app) == before

    clock.advance(hours=1)
    answered = app.submit_survey(mentee_survey_id, mentee_survey(skill=2, recommend=10))
    assert answered.completed_at == clock.stamp()
    assert answered.answers["skills"] == {topic: 2 for topic in CATALOGUE}
    with pytest.raises(IllegalTransition, match="answered once"):
        app.submit_survey(mentee_survey_id, mentee_survey(skill=4))
    app.submit_survey(mentor_survey_id, mentor_survey(level=4))
    assert [s["survey_id"] for s in app.surveys(pair.mentee_id, open_only=True)] == []
    [listed] = app.surveys(pair.mentor_id, open_only=False)
    assert listed["completed_at"] and listed["answers"]["pedagogy"] == 4
    names = [name for name, _ in published(app)]
    assert names == ["SurveyRequested", "SurveyRequested", "SurveyCompleted", "SurveyCompleted"]
    assert_replay_equals_live(app)


# -- idempotency and order across streams --------------------------------------------------------
def test_every_upstream_event_twice_changes_nothing_the_second_time(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    """Each event applied, then its handler called again with it (a redelivery
    past the kernel's tracking), then the kernel's own redelivery: nothing."""
    app = feedback_app
    seen: set[str] = set()

    def twice(event: ReceivedEvent) -> None:
        assert upstream.send(event), event.name
        before = written(app)
        handler = HANDLERS[event.service][event.name]
        assert list(handler(app, event)) == [], f"{event.name} applied twice"
        assert not upstream.send(event), "the kernel knows the position"
        assert written(app) == before
        seen.add(event.name)

    programme_id = str(uuid4())
    twice(upstream.programme_created(programme_id, CATALOGUE))
    people = {}
    for role in ("mentee", "mentor"):
        event = upstream.enrolled(programme_id, role)
        twice(event)
        people[role] = str(event.data["participantId"])
    twice(upstream.certified(programme_id, people["mentor"]))
    match = upstream.confirmed(programme_id, people["mentee"], people["mentor"])
    twice(match)
    pair = upstream.pair_of(match)
    twice(upstream.opened(pair))
    held = upstream.session_held(pair)
    twice(held)
    sid = str(held.data["sessionId"])
    app.submit_feedback(sid, pair.mentee_id, mentee(1, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentor_id, mentor(2, MENTOR_NOTE))
    clock.advance(days=1)
    twice(upstream.stalled(pair))
    clock.advance(days=1)
    again = upstream.session_held(pair)
    twice(again)
    twice(upstream.no_show(pair, str(again.data["sessionId"])))
    twice(upstream.completed(pair))
    other_match = upstream.confirmed(programme_id, str(uuid4()), people["mentor"])
    twice(other_match)
    other = upstream.pair_of(other_match)
    twice(upstream.opened(other))
    twice(upstream.ended(other))
    twice(upstream.erased(people["mentee"], programme_id))
    assert seen == {name for handlers in HANDLERS.values() for name in handlers}

    counts: dict[str, int] = {}
    for n in app.notifications(0, 100_000):
        name = type(app.envelope_mapper.decode(n)[0]).__qualname__
        counts[name] = counts.get(name, 0) + 1
    assert counts == {
        "FeedbackProgramme.Registered": 1,
        "FeedbackProgramme.CatalogueRecorded": 1,
        "Participation.Registered": 2,
        "Participation.Enrolled": 2,
        "Participation.Certified": 1,
        "Survey.Requested": 6,  # two baselines per match, two end surveys
        "Pair.Opened": 2,
        "SessionFeedback.Requested": 2,
        "Pair.SessionAdded": 2,
        "SessionFeedback.Submitted": 2,
        "Pair.SessionRated": 2,
        "SessionFeedback.Voided": 1,
        "Pair.SessionVoided": 1,
        "SessionFeedback.WordsErased": 2,  # both the mentee's sessions, answered or not
        "Pair.FlaggedAtRisk": 3,  # low (both answered), stalled too, stall over
        "Pair.Stalled": 1,
        "Pair.RiskCleared": 1,  # on completion
        "Pair.Completed": 1,
        "Pair.Ended": 1,
    }
    # the kernel's redelivery of the whole story: every position known
    before = written(app)
    assert not any(upstream.send(event) for event in list(upstream.sent))
    assert written(app) == before
    assert_replay_equals_live(app)


def test_a_session_held_before_its_programme_is_known(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = str(uuid4())
    match = upstream.confirmed(programme_id, str(uuid4()), str(uuid4()))
    pair = upstream.pair_of(match)
    assert upstream.send(upstream.opened(pair))
    sid = upstream.hold(pair)  # scheduling's stream is ahead of enrolment's
    registered = app.find_programme(UUID(programme_id))
    assert registered is not None, "registered on first sight"
    assert (registered.topics, registered.policy) == (
        [],
        {"feedback_window_days": 7, "min_group_size": 5},
    )
    assert app.session_feedback(sid).due_at == stamp(clock.now + timedelta(days=7))
    before = written(app)
    with pytest.raises(ValidationFailed) as unknown:
        app.submit_feedback(sid, pair.mentee_id, mentee())
    assert fields(unknown) == ["topics[0]"], "no catalogue yet: no topic can be named"
    assert written(app) == before

    assert upstream.send(upstream.programme_created(programme_id, CATALOGUE))
    assert app.programme(programme_id).topics == CATALOGUE
    assert len(upstream.events("FeedbackProgramme.Registered")) == 1
    app.submit_feedback(sid, pair.mentee_id, mentee(topics=("social-media", "data-literacy")))
    with pytest.raises(ValidationFailed) as knitting:
        app.submit_feedback(
            sid, pair.mentor_id, SessionAnswers(usefulness=4, topics=("knitting",), pedagogy=4)
        )
    assert fields(knitting) == ["topics[0]"]
    assert upstream.send(match)  # matching's stream, later still
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.funnel["mentee"]["matched"] == facts.funnel["mentee"]["met"] == 1
    assert facts.sessions_held == 1 and facts.topics == CATALOGUE
    assert_replay_equals_live(app)


def test_a_pair_whose_opening_was_dead_lettered_is_opened_on_first_sight(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    """Scheduling's MentorshipOpened was dead-lettered: a held session or a
    stall opens the pair, the replayed opening links its match; an ending of a
    mentorship never seen is refused (UnknownPair: retried, then dead-lettered,
    replayed after its opening)."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    match = upstream.confirmed(programme_id, str(uuid4()), str(uuid4()))
    assert upstream.send(match)
    pair = upstream.pair_of(match)  # its opening never arrives (dead-lettered)
    sid = upstream.hold(pair)
    found = app.find_pair(pair.mentorship_id)
    assert found is not None and found.session_ids == [sid]
    assert (str(found.programme_id), found.mentee_id, found.mentor_id, found.match_id) == (
        programme_id,
        pair.mentee_id,
        pair.mentor_id,
        "",
    )
    app.submit_feedback(sid, pair.mentee_id, mentee(usefulness=1))
    app.submit_feedback(sid, pair.mentor_id, mentor(usefulness=2))
    [view] = app.pairs_at_risk(programme_id)
    assert (view["mentorship_id"], view["match_id"], view["codes"]) == (
        pair.mentorship_id,
        "",
        [risk.LOW_USEFULNESS],
    )

    # the opening, replayed: the match is added, once
    assert upstream.send(upstream.opened(pair))
    [linked] = upstream.events("Pair.Linked")
    assert linked.match_id == pair.match_id
    assert app.find_pair(pair.mentorship_id).match_id == pair.match_id  # type: ignore[union-attr]
    assert app.pairs_at_risk(programme_id)[0]["match_id"] == pair.match_id
    before = written(app)
    assert list(HANDLERS["scheduling"]["MentorshipOpened"](app, upstream.opened(pair))) == []
    assert written(app) == before and len(upstream.events("Pair.Opened")) == 1

    # a stall of a mentorship never opened here opens it too, stalled
    stalled = upstream.pair_of(upstream.confirmed(programme_id, str(uuid4()), str(uuid4())))
    assert upstream.send(upstream.stalled(stalled))
    assert codes_at_risk(app, programme_id) == {
        pair.mentorship_id: [risk.LOW_USEFULNESS],
        stalled.mentorship_id: [risk.STALLED],
    }
    # completed before its opening was replayed: the end surveys belong to the
    # match, so the completion waits (UnknownPair) until the opening is replayed
    before, position = written(app), app.tracked_position("scheduling")
    with pytest.raises(UnknownPair, match="match of mentorship"):
        upstream.send(upstream.completed(stalled))
    assert written(app) == before and app.tracked_position("scheduling") == position
    assert upstream.send(upstream.opened(stalled))
    assert upstream.send(upstream.completed(stalled))
    ends = [e for e in upstream.events("Survey.Requested") if e.kind == "end"]
    assert sorted((e.participant_id, e.match_id) for e in ends) == sorted(
        [(stalled.mentee_id, stalled.match_id), (stalled.mentor_id, stalled.match_id)]
    )

    # an ending of a mentorship never seen at all: refused, nothing written,
    # its position not tracked (so it comes back)
    unseen = upstream.pair_of(upstream.confirmed(programme_id, str(uuid4()), str(uuid4())))
    before, position = written(app), app.tracked_position("scheduling")
    for ending in (upstream.completed(unseen), upstream.ended(unseen)):
        with pytest.raises(UnknownPair, match=unseen.mentorship_id):
            upstream.send(ending)
    assert written(app) == before and app.tracked_position("scheduling") == position
    # replayed after its opening: applied
    assert upstream.send(upstream.opened(unseen))
    assert upstream.send(upstream.ended(unseen))
    assert app.find_pair(unseen.mentorship_id).status == "ended"  # type: ignore[union-attr]
    assert_replay_equals_live(app)


def test_a_certification_before_the_enrolment(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    mentor_id = str(uuid4())
    assert upstream.send(upstream.certified(programme_id, mentor_id))  # training is ahead
    enrolled_at = "2027-01-20T08:00:00Z"
    enrolment = upstream.enrolled(programme_id, "mentor", mentor_id, at=enrolled_at)
    assert upstream.send(enrolment)
    mentee_id = upstream.enrol(programme_id, "mentee", at="2027-01-25T08:00:00Z")
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.funnel["mentor"]["enrolled"] == facts.funnel["mentor"]["certified"] == 1
    assert facts.funnel["mentee"]["enrolled"] == 1 and facts.funnel["mentee"]["certified"] == 0
    record = app.participation(UUID(programme_id), mentor_id)
    assert (record.role, record.enrolled_at, record.certified) == ("mentor", enrolled_at, True)
    before = written(app)
    for event in (enrolment, upstream.certified(programme_id, mentor_id)):
        assert list(HANDLERS[event.service][event.name](app, event)) == []
    assert written(app) == before

    # days from enrolment to the first held session, per person
    pair = upstream.pair(programme_id, mentee_id, mentor_id)
    upstream.hold(pair, start="2027-02-04T08:00:00Z")
    upstream.hold(pair, start="2027-02-01T08:00:00Z")  # logged late, held earlier
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.days_to_first_session == {mentor_id: 12.0, mentee_id: 7.0}
    assert_replay_equals_live(app)


def test_a_match_before_its_programme_then_the_survey_against_the_late_catalogue(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = str(uuid4())
    match = upstream.confirmed(programme_id, str(uuid4()), str(uuid4()))
    assert upstream.send(match)  # matching is ahead of enrolment
    mentee_id, mentor_id = str(match.data["menteeId"]), str(match.data["mentorId"])
    survey_id = upstream.survey_id(mentee_id, "baseline")
    assert app.survey(survey_id).topics == [], "asked before the catalogue was known"

    assert upstream.send(upstream.programme_created(programme_id, CATALOGUE))
    before = written(app)
    with pytest.raises(ValidationFailed) as partial:
        app.submit_survey(survey_id, SurveyAnswers(3, 9, {"generative-ai": 2}))
    assert fields(partial) == ["skills"]
    with pytest.raises(ValidationFailed) as unknown:
        app.submit_survey(survey_id, SurveyAnswers(3, 9, {**mentee_survey().skills, "x": 2}))
    assert fields(unknown) == ["skills[x]"]
    assert written(app) == before
    app.submit_survey(survey_id, mentee_survey(skill=2))
    app.submit_survey(upstream.survey_id(mentor_id, "baseline"), mentor_survey(level=3))
    facts = app.query(lambda model: model.facts(programme_id))
    assert facts.baseline[mentee_id]["skills"] == {topic: 2 for topic in CATALOGUE}
    assert facts.funnel["mentor"]["matched"] == 1
    # the same confirmation again: no second survey
    assert list(HANDLERS["matching"]["MatchConfirmed"](app, match)) == []
    assert_replay_equals_live(app)


# -- erasure ------------------------------------------------------------------------------------
def test_erasure_shreds_the_erased_members_words_only(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(3, MENTEE_NOTE, (PRACTICE, "ask for help")))
    app.submit_feedback(sid, pair.mentor_id, mentor(4, MENTOR_NOTE))
    before = live_digest(app)

    erased = upstream.erased(pair.mentee_id, programme_id)
    assert upstream.send(erased)
    assert app.keys.is_destroyed(pair.mentee_id) and not app.keys.is_destroyed(pair.mentor_id)
    record = app.session_feedback(sid)
    theirs, kept = record.answers["mentee"], record.answers["mentor"]
    assert (theirs["note"], theirs["practices"]) == (ERASED, ERASED)
    assert (theirs["usefulness"], theirs["confidence"], theirs["topics"]) == (
        3,
        3,
        ["generative-ai"],
    ), "ratings, tied to an id nobody can resolve, stay"
    assert kept["note"] == MENTOR_NOTE and kept["usefulness"] == 4
    seen = record.view_for(pair.mentor_id, clock.stamp())
    assert seen["own"]["note"] == MENTOR_NOTE and seen["other"]["usefulness"] == 3
    export = app.export_participant(pair.mentee_id)
    assert export["session_feedback"][0]["own"]["note"] == ERASED
    assert MENTEE_NOTE not in json.dumps(export) and PRACTICE not in json.dumps(export)
    assert app.export_participant(pair.mentor_id)["session_feedback"][0]["own"]["note"] == (
        MENTOR_NOTE
    )
    assert live_digest(app) == before, "the read model never held their words"
    written_before = written(app)
    assert list(HANDLERS["enrolment"]["ParticipantErased"](app, erased)) == []
    assert written(app) == written_before
    assert app.rebuild_read_model().digest() == before


def test_another_replica_serves_no_erased_words(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any, store: dict[str, str]
) -> None:
    """The replica decrypted the member's words a moment ago (its key cache
    still holds their key): the WordsErased events blank them there too."""
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    other = upstream.pair(programme_id, mentee_id=pair.mentee_id)
    answered, unanswered = upstream.hold(other), upstream.hold(other)
    app.submit_feedback(sid, pair.mentee_id, mentee(3, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(answered, pair.mentee_id, mentee(4, MENTEE_NOTE))
    app.submit_feedback(unanswered, other.mentor_id, mentor(4, MENTOR_NOTE))
    replica = FeedbackApplication(env=store, clock=clock)
    try:
        for session in (sid, answered):
            assert replica.session_feedback(session).answers["mentee"]["note"] == MENTEE_NOTE
        assert upstream.send(upstream.erased(pair.mentee_id, programme_id))
        erased = upstream.events("SessionFeedback.WordsErased")
        assert sorted((e.originator_id, e.participant_id, e.side) for e in erased) == sorted(
            (app.session_feedback(s).id, pair.mentee_id, "mentee")
            for s in (sid, answered, unanswered)
        ), "one per session of theirs, answered or not (nothing more is taken from them)"
        assert app.session_feedback(sid).answers["mentee"]["note"] == ERASED
        for session in (sid, answered):
            seen = replica.session_feedback(session).answers["mentee"]
            assert (seen["note"], seen["practices"]) == (ERASED, ERASED)
            assert seen["usefulness"] in (3, 4)
        kept = replica.session_feedback(unanswered).answers
        assert kept["mentor"]["note"] == MENTOR_NOTE and "mentee" not in kept
        assert MENTEE_NOTE not in json.dumps(replica.export_participant(pair.mentee_id))
    finally:
        replica.close()
    assert_replay_equals_live(app)


def test_an_erased_member_can_record_nothing_more(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    answered, fresh = upstream.hold(pair), upstream.hold(pair)
    app.submit_feedback(answered, pair.mentee_id, mentee(3, MENTEE_NOTE))
    assert upstream.send(upstream.erased(pair.mentee_id, programme_id))
    before = written(app)
    refused = f"participant {pair.mentee_id} was erased: nothing is recorded"
    for sid in (answered, fresh):
        with pytest.raises(IllegalTransition, match=refused):
            app.submit_feedback(sid, pair.mentee_id, mentee(4, "new words"))
    with pytest.raises(IllegalTransition, match=refused):
        app.submit_survey(upstream.survey_id(pair.mentee_id, "baseline"), mentee_survey())
    assert written(app) == before
    # the other member goes on as before
    app.submit_feedback(fresh, pair.mentor_id, mentor(4, MENTOR_NOTE))
    app.submit_survey(upstream.survey_id(pair.mentor_id, "baseline"), mentor_survey())
    assert app.session_feedback(fresh).answers["mentor"]["note"] == MENTOR_NOTE


def test_the_read_model_is_built_without_decrypting_anything(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any, store: dict[str, str]
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(2, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentor_id, mentor(1, MENTOR_NOTE))
    assert FeedbackApplication.read_model_reads_personal is False

    class NoKeys:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the read model touched a key ({name})")

    replica = FeedbackApplication(env=store, clock=clock)
    try:
        replica.envelope_mapper.keys = NoKeys()  # type: ignore[assignment]
        assert replica.query(lambda model: model.digest()) == live_digest(app), "catch-up"
        assert replica.rebuild_read_model().digest() == live_digest(app)
        assert replica.pairs_at_risk(programme_id)[0]["codes"] == [risk.LOW_USEFULNESS]
        with pytest.raises(AssertionError, match="touched a key"):
            replica.session_feedback(sid)  # the aggregate, by contrast, needs them
    finally:
        replica.close()


# -- what is published ----------------------------------------------------------------------------
def test_published_events_carry_ids_and_ratings_never_text(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    pair = upstream.pair(programme_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(1, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentor_id, mentor(2, MENTOR_NOTE))
    app.submit_survey(upstream.survey_id(pair.mentee_id, "baseline"), mentee_survey())
    clock.advance(days=1)
    later = upstream.hold(pair)
    app.submit_feedback(later, pair.mentee_id, mentee(5, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(later, pair.mentor_id, mentor(5, MENTOR_NOTE))

    events = published(app, skip=("SessionFeedback.Submitted",))
    assert [name for name, _ in events] == [
        "SurveyRequested",
        "SurveyRequested",
        "FeedbackRequested",
        "PairFlaggedAtRisk",
        "SurveyCompleted",
        "FeedbackRequested",
        "PairRiskCleared",
    ]
    ids = {"programmeId": programme_id, "mentorshipId": pair.mentorship_id}
    requested = events[2][1]
    assert requested == {
        **ids,
        "sessionId": sid,
        "menteeId": pair.mentee_id,
        "mentorId": pair.mentor_id,
        "dueAt": stamp(clock.now - timedelta(days=1) + timedelta(days=7)),
    }
    assert events[3][1] == {
        **ids,
        "menteeId": pair.mentee_id,
        "mentorId": pair.mentor_id,
        "reasons": [risk.LOW_USEFULNESS],
    }
    assert events[6][1] == ids
    survey_id = upstream.survey_id(pair.mentee_id, "baseline")
    assert events[4][1] == {
        "surveyId": survey_id,
        "programmeId": programme_id,
        "matchId": pair.match_id,
        "participantId": pair.mentee_id,
        "kind": "baseline",
    }, "survey answers stay here: published as aggregates only"
    assert {e[1]["participantId"] for e in events[:2]} == {pair.mentee_id, pair.mentor_id}

    # a held session settled as a no-show: integrators are told to drop its ratings
    assert upstream.send(upstream.no_show(pair, later))
    after = published(app, skip=("SessionFeedback.Submitted",))[len(events) :]
    assert after == [
        ("FeedbackWithdrawn", {**ids, "sessionId": later, "reason": "no_show"}),
        # the good session no longer counts: the poor first one flags the pair again
        (
            "PairFlaggedAtRisk",
            {
                **ids,
                "menteeId": pair.mentee_id,
                "mentorId": pair.mentor_id,
                "reasons": [risk.LOW_USEFULNESS],
            },
        ),
    ]


def submitted_payloads(app: FeedbackApplication) -> list[dict[str, Any]]:
    return [
        data
        for name, data in published(app)  # translates every event, submissions included
        if name == "FeedbackSubmitted"
    ]


def test_feedback_submitted_is_published_with_ratings_only(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    pair = upstream.pair(upstream.programme(CATALOGUE))
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(4, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentee_id, mentee(5, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentor_id, mentor(3, MENTOR_NOTE, pedagogy=2))
    common = {
        "sessionId": sid,
        "mentorshipId": pair.mentorship_id,
        "programmeId": pair.programme_id,
        "topics": ["generative-ai"],
    }
    assert submitted_payloads(app) == [
        {
            **common,
            "participantId": pair.mentee_id,
            "side": "mentee",
            "usefulness": 4,
            "confidence": 3,
        },
        {
            **common,
            "participantId": pair.mentee_id,
            "side": "mentee",
            "usefulness": 5,
            "confidence": 3,
            "edit": True,
        },
        {
            **common,
            "participantId": pair.mentor_id,
            "side": "mentor",
            "usefulness": 3,
            "pedagogy": 2,
        },
    ]


# -- a participant's export ------------------------------------------------------------------------
def test_a_participants_export_has_their_own_words_and_the_others_ratings(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    programme_id = upstream.programme(CATALOGUE)
    enrolled_at = "2027-01-20T09:00:00Z"
    mentee_id = upstream.enrol(programme_id, "mentee", at=enrolled_at)
    pair = upstream.pair(programme_id, mentee_id)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentee_id, mentee(1, MENTEE_NOTE, (PRACTICE,)))
    app.submit_feedback(sid, pair.mentor_id, mentor(2, MENTOR_NOTE))
    app.submit_survey(upstream.survey_id(pair.mentee_id, "baseline"), mentee_survey(skill=2))

    export = app.export_participant(pair.mentee_id)
    assert (export["service"], export["participant_id"]) == ("feedback", pair.mentee_id)
    [item] = export["session_feedback"]
    assert item["session_id"] == sid and item["revealed"]
    assert item["own"]["note"] == MENTEE_NOTE and item["own"]["practices"] == [PRACTICE]
    assert item["other"] == {
        "usefulness": 2,
        "topics": ["generative-ai"],
        "pedagogy": 4,
        "submitted_at": clock.stamp(),
    }
    assert MENTOR_NOTE not in json.dumps(export)
    [survey] = export["surveys"]
    assert [e["type"] for e in survey["history"]] == ["Survey.Requested", "Survey.Completed"]
    assert survey["history"][1]["state"]["answers"]["skills"] == {t: 2 for t in CATALOGUE}
    # the funnel's record of them, and their pairs with what was said about them
    assert export["programmes"] == [
        {
            "programme_id": programme_id,
            "role": "mentee",
            "enrolled_at": enrolled_at,
            "certified": False,
        }
    ]
    assert export["pairs"] == [
        {
            "mentorship_id": pair.mentorship_id,
            "programme_id": programme_id,
            "match_id": pair.match_id,
            "mentee_id": pair.mentee_id,
            "mentor_id": pair.mentor_id,
            "status": "active",
            "codes": [risk.LOW_USEFULNESS],
            "reasons": [LOW_OVER.format(1)],
            "flagged_at": clock.stamp(),
        }
    ]
    mentor_export = app.export_participant(pair.mentor_id)
    assert mentor_export["pairs"] == export["pairs"] and mentor_export["programmes"] == []

    # enrolled, nothing else yet: their funnel record, not "nothing held"
    newcomer = upstream.enrol(programme_id, "mentor", at="2027-01-22T09:00:00Z")
    upstream.certify(programme_id, newcomer)
    assert app.export_participant(newcomer) == {
        "service": "feedback",
        "participant_id": newcomer,
        "session_feedback": [],
        "surveys": [],
        "programmes": [
            {
                "programme_id": programme_id,
                "role": "mentor",
                "enrolled_at": "2027-01-22T09:00:00Z",
                "certified": True,
            }
        ],
        "pairs": [],
    }
    with pytest.raises(NotFound):
        app.export_participant(str(uuid4()))
    with pytest.raises(ValidationFailed) as bad:
        app.export_participant("E-1")
    assert fields(bad) == ["participant_id"]


# -- the closing job ------------------------------------------------------------------------------
async def test_the_closing_job_closes_each_window_once_until_stopped(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    """The service's job with the real clock: a window due three days ago is
    closed once, however many passes follow, and the job stops when asked."""
    app = feedback_app
    clock.now = datetime.now(UTC) - timedelta(days=10)
    pair = upstream.pair(upstream.programme(CATALOGUE))
    sid = upstream.hold(pair)
    app.submit_feedback(sid, pair.mentor_id, mentor())
    passes, seen = [0], [0]
    close = app.close_due_windows

    def counted(now: datetime) -> int:
        done = close(now)
        passes[0] += 1
        return done

    app.close_due_windows = counted  # type: ignore[method-assign]  # the job binds it when made
    stop = asyncio.Event()
    job = asyncio.create_task(closing_job(app, 0.02)(stop))

    async def closed_then_five_more_passes() -> bool:
        if not await asyncio.to_thread(lambda: app.session_feedback(sid).closed):
            seen[0] = passes[0]
            return False
        return passes[0] >= seen[0] + 5

    await eventually(closed_then_five_more_passes, what="closed, then five more passes")
    stop.set()
    await asyncio.wait_for(job, 10)
    assert [e.missing for e in upstream.events("SessionFeedback.Closed")] == [["mentee"]]
