"""The outcomes report of a generated programme, against figures computed here.

A programme of 12 mentees and 8 mentors is generated from a seeded random
source and fed to the application as production feeds it (enrolment,
training, matching and scheduling events through its subscriptions; members'
feedback and surveys through its commands): enrolments on known days, seven
mentors certified (one before their enrolment arrives), eleven matches (some
mentors take two mentees, one mentee is never matched), sessions with
ratings (some edited - ratings before the other member answered, only words
after - some never given, one session settled as a no-show that counts
nowhere), baseline and end surveys (mentors
with two mentees answer twice: the first baseline and the last end survey
count), eight mentorships completed, one dissolved. A second programme's
facts must not leak into the first's.

Every figure is then computed independently - plain Python over the generated
inputs, exact fractions, no code of the service - and compared with
``app.outcomes_report``, at the default minimum group of 5 and at others set
through the programme's policy: at 30 every figure is suppressed (no value, no
people count, no distribution), and the number of sessions held is hidden as
soon as the mentors who met (fewer than the mentees) are too few, even with
more than enough mentees and members in all.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest

from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.kernel.errors import IllegalTransition
from revmentor.kernel.timestamps import stamp

SEED = 20270201
TOPICS = ["generative-ai", "social-media", "data-literacy"]
MENTEES, MENTORS = 12, 8
#: mentee i is matched with mentor MATCHES[i] (mentee 11 is never matched)
MATCHES = [0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3]
MET = range(10)  # pairs 0-9 hold sessions; pair 10 never meets
COMPLETED = range(8)  # pairs 0-7 complete; 8 is dissolved; 9 and 10 go on
DISSOLVED = 8


@dataclass
class Story:
    """The generated inputs, as plain values."""

    programme_id: str
    role: dict[str, str] = field(default_factory=dict)
    enrolled_at: dict[str, datetime] = field(default_factory=dict)
    certified: set[str] = field(default_factory=set)
    pairs: list[Any] = field(default_factory=list)
    #: session -> (mentee, mentor, held at)
    sessions: dict[str, tuple[str, str, datetime]] = field(default_factory=dict)
    #: (session, rater) -> the usefulness they gave last
    usefulness: dict[tuple[str, str], int] = field(default_factory=dict)
    #: participant -> the answers of each survey of that kind, in the order given
    baselines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    ends: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    completed: list[Any] = field(default_factory=list)
    #: edits that changed the ratings before the other member answered, and
    #: ones refused after (the ratings were final)
    edits: Counter[str] = field(default_factory=Counter)


def rating(rng: random.Random) -> int:
    return rng.choices([1, 2, 3, 4, 5], weights=[1, 2, 3, 4, 4])[0]


def survey_answers(rng: random.Random, side: str) -> dict[str, Any]:
    answers: dict[str, Any] = {"understanding": rng.randint(1, 5), "recommend": rng.randint(0, 10)}
    if side == "mentee":
        answers["skills"] = {topic: rng.randint(1, 5) for topic in TOPICS}
    else:
        answers["coaching_confidence"] = rng.randint(1, 5)
        answers["pedagogy"] = rng.randint(1, 5)
    return answers


def answer_survey(
    app: FeedbackApplication,
    upstream: Any,
    clock: Any,
    story: Story,
    pair: Any,
    kind: str,
    side: str,
    rng: random.Random,
) -> None:
    participant = pair.mentee_id if side == "mentee" else pair.mentor_id
    answers = survey_answers(rng, side)
    surveys = story.baselines if kind == "baseline" else story.ends
    if kind == "end" and participant in surveys:
        # a second end survey (a mentor of two pairs): the other side of the NPS
        answers["recommend"] = 10 if surveys[participant][-1]["recommend"] <= 6 else 0
    clock.advance(minutes=7)
    app.submit_survey(
        upstream.survey_id(participant, kind, pair.match_id), SurveyAnswers(**answers)
    )
    surveys.setdefault(participant, []).append(answers)


def ratings(answers: SessionAnswers) -> tuple[Any, ...]:
    return (answers.usefulness, answers.topics, answers.confidence, answers.pedagogy)


def session_answers(side: str, usefulness: int, rng: random.Random) -> SessionAnswers:
    topics = tuple(rng.sample(TOPICS, rng.randint(0, 2)))
    if side == "mentee":
        return SessionAnswers(
            usefulness, topics, ("try it on my own reports",), rng.randint(1, 5), note="private"
        )
    return SessionAnswers(usefulness, topics, pedagogy=rng.randint(1, 5), note="private")


def generate(app: FeedbackApplication, upstream: Any, clock: Any, rng: random.Random) -> Story:
    story = Story(upstream.programme(TOPICS))
    pid = story.programme_id
    mentees = [f"00000000-0000-4000-8000-{n:012d}" for n in range(MENTEES)]
    mentors = [f"00000000-0000-4000-9000-{n:012d}" for n in range(MENTORS)]
    january = clock.now - timedelta(days=31)

    # enrolment (and training, once ahead of enrolment)
    certify = mentors[:7]
    upstream.certify(pid, certify[0])
    for person, role in [*((m, "mentee") for m in mentees), *((m, "mentor") for m in mentors)]:
        at = january + timedelta(days=rng.randint(0, 27), hours=rng.randint(0, 9))
        upstream.enrol(pid, role, person, at=stamp(at))
        story.role[person], story.enrolled_at[person] = role, at
    for mentor in certify[1:]:
        upstream.certify(pid, mentor)
    story.certified = set(certify)

    # matching, then scheduling: one pair per match; baseline surveys
    for mentee, mentor in zip(mentees, (mentors[i] for i in MATCHES), strict=False):
        story.pairs.append(upstream.pair(pid, mentee, mentor))
    for pair in story.pairs:
        for side in ("mentee", "mentor"):
            if rng.random() < 0.9:
                answer_survey(app, upstream, clock, story, pair, "baseline", side, rng)

    # sessions, feedback (some never given, some edited before the due time:
    # once both answered, an edit may change the words but not the ratings)
    for index in MET:
        pair = story.pairs[index]
        for _ in range(rng.randint(1, 4)):
            clock.advance(days=1, hours=rng.randint(0, 5))
            sid = upstream.hold(pair)
            story.sessions[sid] = (pair.mentee_id, pair.mentor_id, clock.now)
            answered = 0
            for side, rater in (("mentee", pair.mentee_id), ("mentor", pair.mentor_id)):
                if rng.random() < 0.2:
                    continue
                given: SessionAnswers | None = None
                for _ in range(2 if rng.random() < 0.25 else 1):
                    answers = session_answers(side, rating(rng), rng)
                    changed = given is not None and ratings(answers) != ratings(given)
                    if changed and answered == 2:
                        with pytest.raises(IllegalTransition, match="ratings are final"):
                            app.submit_feedback(sid, rater, answers)
                        story.edits["refused"] += 1
                        answers = replace(given, note="private, said better")  # type: ignore[type-var]
                    elif changed:
                        story.edits["ratings"] += 1
                    app.submit_feedback(sid, rater, answers)
                    answered += given is None
                    given = answers
                    story.usefulness[(sid, rater)] = answers.usefulness
    # a session the manager settled as a no-show: it did not take place
    voided = next(reversed(story.sessions))
    mentee, mentor, _ = story.sessions.pop(voided)
    assert story.usefulness.pop((voided, mentee), None) is not None, "a rated session"
    story.usefulness.pop((voided, mentor), None)
    pair = next(p for p in story.pairs if p.mentee_id == mentee and p.mentor_id == mentor)
    assert upstream.send(upstream.no_show(pair, voided))
    clock.advance(days=10)
    app.close_due_windows(clock.now)

    # endings; end surveys of the completed mentorships
    for index in COMPLETED:
        pair = story.pairs[index]
        upstream.send(upstream.completed(pair))
        story.completed.append(pair)
    upstream.send(upstream.ended(story.pairs[DISSOLVED], "dissolved"))
    per_mentor = Counter(p.mentor_id for p in story.completed)
    twice = {mentor for mentor, n in per_mentor.items() if n == 2}
    assert twice, "a mentor of two completed pairs"
    for pair in rng.sample(story.completed, len(story.completed)):
        for side in ("mentee", "mentor"):
            if rng.random() < 0.9 or (side == "mentor" and pair.mentor_id in twice):
                answer_survey(app, upstream, clock, story, pair, "end", side, rng)
    return story


def noise(app: FeedbackApplication, upstream: Any, clock: Any, rng: random.Random) -> str:
    """Another programme, with people, a session, ratings and surveys of its own."""
    other = upstream.programme(TOPICS)
    mentee = upstream.enrol(other, "mentee")
    mentor = upstream.enrol(other, "mentor")
    upstream.certify(other, mentor)
    pair = upstream.pair(other, mentee, mentor)
    sid = upstream.hold(pair)
    app.submit_feedback(sid, mentee, session_answers("mentee", 1, rng))
    app.submit_feedback(sid, mentor, session_answers("mentor", 1, rng))
    for participant, side in ((mentee, "mentee"), (mentor, "mentor")):
        answers = survey_answers(rng, side)
        app.submit_survey(upstream.survey_id(participant, "baseline"), SurveyAnswers(**answers))
    upstream.send(upstream.completed(pair))
    return other


# -- the figures, computed independently ---------------------------------------------------------
def mean(values: Sequence[Fraction | int]) -> Fraction:
    return Fraction(sum(values)) / len(values)


def check_figure(
    actual: dict[str, Any],
    values: Sequence[Fraction | int],
    people: int,
    min_group: int,
    digits: int,
    what: str,
) -> None:
    """Shown: the mean of ``values`` to ``digits`` places; too few people:
    nothing (no value, no count); nobody: no value and no suppression."""
    if people == 0:
        assert actual == {"value": None, "people": 0, "suppressed": False}, what
    elif people < min_group:
        assert actual == {"value": None, "people": 0, "suppressed": True}, what
    else:
        assert (actual["people"], actual["suppressed"]) == (people, False), what
        exact = mean(values)
        assert abs(Fraction(actual["value"]) - exact) <= Fraction(1, 2 * 10**digits) + Fraction(
            1, 10**9
        ), (what, actual["value"], float(exact))
        assert actual["value"] == round(actual["value"], digits), what


def check_change(
    actual: dict[str, Any],
    before: dict[str, float],
    after: dict[str, float],
    min_group: int,
    what: str,
) -> None:
    both = set(before) & set(after)
    deltas = [Fraction(after[p]) - Fraction(before[p]) for p in both]
    check_figure(actual["mean"], deltas, len(both), min_group, 2, what)
    if 0 < len(both) < min_group:
        assert actual["distribution"] is None, what
    else:
        expected = Counter(int(d) for d in deltas)
        assert actual["distribution"] == {str(k): v for k, v in sorted(expected.items())}, what


def first(surveys: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {p: answers[0] for p, answers in surveys.items()}


def last(surveys: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    return {p: answers[-1] for p, answers in surveys.items()}


def check_report(report: dict[str, Any], story: Story, min_group: int) -> None:
    assert report["min_group_size"] == min_group

    # the funnel: people of each role who reached each stage
    mentees = {p for p, role in story.role.items() if role == "mentee"}
    mentors = {p for p, role in story.role.items() if role == "mentor"}
    met_pairs = {(mentee, mentor) for mentee, mentor, _ in story.sessions.values()}
    reached = {
        ("mentee", "enrolled"): len(mentees),
        ("mentee", "matched"): len({p.mentee_id for p in story.pairs}),
        ("mentee", "met"): len({mentee for mentee, _ in met_pairs}),
        ("mentee", "completed"): len({p.mentee_id for p in story.completed}),
        ("mentor", "enrolled"): len(mentors),
        ("mentor", "certified"): len(story.certified),
        ("mentor", "matched"): len({p.mentor_id for p in story.pairs}),
        ("mentor", "met"): len({mentor for _, mentor in met_pairs}),
        ("mentor", "completed"): len({p.mentor_id for p in story.completed}),
    }
    assert [(s["role"], s["stage"]) for s in report["funnel"]] == list(reached)
    for stage in report["funnel"]:
        n = reached[(stage["role"], stage["stage"])]
        hidden = 0 < n < min_group
        expected = {"value": None if hidden else n, "people": 0 if hidden else n}
        assert {k: stage[k] for k in ("value", "people")} == expected, stage
        assert stage["suppressed"] is hidden, stage

    # sessions held: a count of what the "met" stages stand for, hidden with either
    met = [reached[("mentee", "met")], reached[("mentor", "met")]]
    if any(0 < n < min_group for n in met) or sum(met) < min_group:
        assert report["sessions_held"] == {"value": None, "people": 0, "suppressed": True}
    else:
        shown = {"value": len(story.sessions), "people": sum(met), "suppressed": False}
        assert report["sessions_held"] == shown
    raters = {rater for _, rater in story.usefulness}
    check_figure(
        report["average_usefulness"],
        list(story.usefulness.values()),
        len(raters),
        min_group,
        2,
        "average usefulness",
    )

    # NPS over each respondent's last end survey
    recommend = [answers["recommend"] for answers in last(story.ends).values()]
    if recommend:
        promoters = sum(1 for r in recommend if r >= 9)
        detractors = sum(1 for r in recommend if r <= 6)
        score = Fraction(100 * (promoters - detractors), len(recommend))
        check_figure(report["nps"], [score], len(recommend), min_group, 1, "nps")

    baseline, end = first(story.baselines), last(story.ends)

    def answers_of(surveys: dict[str, dict[str, Any]], key: str) -> dict[str, float]:
        return {p: a[key] for p, a in surveys.items() if key in a}

    assert set(report["mentee_skill_change"]) == set(TOPICS)
    for topic in TOPICS:
        before = {p: a["skills"][topic] for p, a in baseline.items() if "skills" in a}
        after = {p: a["skills"][topic] for p, a in end.items() if "skills" in a}
        check_change(report["mentee_skill_change"][topic], before, after, min_group, topic)
    for key, name in (
        ("pedagogy", "mentor_pedagogy_change"),
        ("coaching_confidence", "mentor_confidence_change"),
        ("understanding", "understanding_change"),
    ):
        check_change(report[name], answers_of(baseline, key), answers_of(end, key), min_group, name)

    # days from each participant's enrolment to their first held session
    firsts: dict[str, datetime] = {}
    for mentee, mentor, held in story.sessions.values():
        for person in (mentee, mentor):
            firsts[person] = min(firsts.get(person, held), held)
    days = [
        Fraction(int((held - story.enrolled_at[p]).total_seconds()), 86400)
        for p, held in firsts.items()
    ]
    check_figure(report["days_enrolment_to_first_session"], days, len(days), min_group, 1, "days")


MENTEES_MET = ("mentee", "met")


def met_by(story: Story, role: str) -> int:
    """How many people of ``role`` held at least one (not voided) session."""
    return len({pair[0 if role == "mentee" else 1] for pair in story.sessions.values()})


def group_sizes(story: Story) -> dict[str, int]:
    """How many people each figure stands for (to know what the test exercises)."""
    baseline, end = first(story.baselines), last(story.ends)
    both = set(baseline) & set(end)
    return {
        "raters": len({rater for _, rater in story.usefulness}),
        "nps": len(end),
        "skills": len({p for p in both if story.role[p] == "mentee"}),
        "mentors": len({p for p in both if story.role[p] == "mentor"}),
        "understanding": len(both),
        "days": len({p for m, n, _ in story.sessions.values() for p in (m, n)}),
    }


def test_the_report_of_a_generated_programme_matches_figures_computed_independently(
    feedback_app: FeedbackApplication, upstream: Any, clock: Any
) -> None:
    app = feedback_app
    rng = random.Random(SEED)
    story = generate(app, upstream, clock, rng)
    noise(app, upstream, clock, rng)
    pid = story.programme_id
    sizes = group_sizes(story)
    # the seed gives groups on both sides of the thresholds tried below
    assert min(sizes.values()) >= 5, sizes
    assert sizes["mentors"] < sizes["skills"] < sizes["raters"], sizes
    assert story.edits["ratings"] > 0 and story.edits["refused"] > 0, story.edits

    report = app.outcomes_report(pid)
    assert (report["programme_id"], report["generated_at"]) == (pid, clock.stamp())
    check_report(report, story, 5)
    assert not report["average_usefulness"]["suppressed"] and not report["nps"]["suppressed"]

    # a larger minimum group hides what stands for fewer people, then everything;
    # one more than the mentors who met hides the sessions held, not the mentees' stage
    met = {role: met_by(story, role) for role in ("mentee", "mentor")}
    assert met["mentor"] < met["mentee"] and met["mentor"] + 1 < sum(met.values()), met
    version = app.programme(pid).version
    for min_group in (3, sizes["mentors"] + 1, met["mentor"] + 1, sizes["skills"] + 1, 30):
        programme = app.set_policy(
            pid,
            {"min_group_size": min_group, "feedback_window_days": None},
            version,
            administrator=True,
        )
        version = programme.version
        check_report(app.outcomes_report(pid), story, min_group)
        if min_group == met["mentor"] + 1:
            partly = app.outcomes_report(pid)
            assert partly["sessions_held"]["suppressed"], "it would tell how many mentors met"
            [mentees_met] = [s for s in partly["funnel"] if (s["role"], s["stage"]) == MENTEES_MET]
            assert mentees_met["value"] == met["mentee"], "while the mentees' stage shows"

    hidden = app.outcomes_report(pid)
    assert story.sessions, "sessions were held: their number is hidden, not absent"
    figures = [
        hidden["sessions_held"],
        hidden["average_usefulness"],
        hidden["nps"],
        hidden["days_enrolment_to_first_session"],
        *(stage for stage in hidden["funnel"]),
    ]
    changes = [
        *hidden["mentee_skill_change"].values(),
        hidden["mentor_pedagogy_change"],
        hidden["mentor_confidence_change"],
        hidden["understanding_change"],
    ]
    for item in [*figures, *(c["mean"] for c in changes)]:
        assert (item["value"], item["people"], item["suppressed"]) == (None, 0, True), item
    assert all(c["distribution"] is None for c in changes)

    assert app.rebuild_read_model().digest() == app.query(lambda model: model.digest())
