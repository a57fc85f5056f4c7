"""The demo's story (``revmentor.cli.demo`` and ``demo_feedback``) without a platform:
its history fits the programme and scheduling's rules, and it gives the outcomes
report enough people for every figure at the default minimum group.

The whole seeding, through real services, is ``tests/e2e/test_up.py``.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise

import pytest

from revmentor.cli import demo, demo_feedback
from revmentor.feedback.domain.outcomes import DEFAULT_MIN_GROUP
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.scheduling.domain.programme import Policy

TODAY = date(2027, 3, 15)
MENTEE = demo_feedback.Member(
    "mentee", "p-1", "E1201", (), {"generative-ai": 1, "data-literacy": 2}
)


def weeks(history: list[tuple[timedelta, str]]) -> list[tuple[date, date]]:
    """The first and last day each session may fall on (a week from its day)."""
    return [(TODAY - ago, TODAY - ago + timedelta(days=6)) for ago, _ in history]


def test_a_completed_pair_history_fits_the_programme_and_the_gap_between_sessions() -> None:
    planned = demo.RULES.planned_sessions
    history = demo._history(planned)
    assert len(history) == planned, "the last session held completes the mentorship"
    start, _ = demo.programme_dates(TODAY)
    spans = weeks(history)
    assert spans[0][0] >= start and spans[-1][1] < TODAY, "within the programme, in the past"
    gap = timedelta(days=Policy().min_gap_days + 1)  # a session lasts an hour: a day to spare
    assert all(b[0] - a[1] >= gap for a, b in pairwise(spans))
    agendas = [agenda for _, agenda in history]
    assert agendas[0] == demo.AGENDA_FIRST and agendas[-1] == demo.AGENDA_LAST


def test_the_demo_has_enough_completed_pairs_for_the_default_minimum_group() -> None:
    assert len(demo_feedback.COMPLETED) == demo.COMPLETED_PAIRS >= DEFAULT_MIN_GROUP
    assert demo.CONFIRMED_MATCHES > demo.COMPLETED_PAIRS, "and a pair that has just started"


@pytest.mark.parametrize("story", demo_feedback.COMPLETED)
def test_every_completed_story_ends_better_than_it_began(story: demo_feedback.Story) -> None:
    topics = ["data-literacy", "generative-ai", "social-media"]
    before = demo_feedback._mentee_survey(MENTEE, topics, story, end=False)
    after = demo_feedback._mentee_survey(MENTEE, topics, story, end=True)
    assert set(before.skills) == set(after.skills) == set(topics)
    assert all(after.skills[t] >= before.skills[t] for t in topics)
    assert after.skills["data-literacy"] - before.skills["data-literacy"] == story.growth
    assert after.understanding > before.understanding
    mentor_before = demo_feedback._mentor_survey(story, end=False)
    mentor_after = demo_feedback._mentor_survey(story, end=True)
    assert mentor_after.pedagogy > mentor_before.pedagogy
    assert mentor_after.coaching_confidence > mentor_before.coaching_confidence


def test_the_pair_at_risk_rates_its_session_low_and_says_why_to_itself() -> None:
    answers = demo_feedback._session_answers("mentee", demo_feedback.STARTED, later=False)
    assert answers.ratings.usefulness <= 2 and answers.note == demo_feedback.MENTEE_NOTE
    kept = demo_feedback._session_answers("mentor", demo_feedback.COMPLETED[0], later=True)
    assert isinstance(kept, fpb.Answers) and not kept.note
