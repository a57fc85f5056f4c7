"""The vectorised round against the per-pair reference, on random cohorts.

``run_round`` checks and scores pairs as numpy arrays; ``reference=True``
checks every pair in Python with the constraint and score functions. They
must agree exactly: same feasible pairs, overlaps and score units, hence the
same proposals, scores, unmatched explanations and digest.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from revmentor.matching.domain import availability
from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.candidates import (
    MenteeCandidate,
    MentorCandidate,
    Need,
    ProgrammeRules,
    SkillOffer,
    Weights,
    Window,
)
from revmentor.matching.domain.feasibility import feasible_pairs
from revmentor.matching.domain.round import feasible_edges, run_round
from revmentor.matching.domain.scoring import score_units

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu")
TIMES = ("00:00", "06:15", "09:00", "09:07", "11:30", "17:45", "23:00", "24:00")
TOPICS = ("ai", "cloud", "social", "data")

odd = st.builds(Window, st.integers(1, 7), st.sampled_from(TIMES), st.sampled_from(TIMES))
wide = st.sampled_from((Window(1, "00:00", "24:00"), Window(1, "06:00", "22:00")))
common: dict[str, Any] = {
    "department": st.sampled_from(("a", "b", "c", "d")),
    "site": st.sampled_from(("s1", "s2")),
    "time_zone": st.sampled_from(ZONES),
    "languages": st.lists(st.sampled_from(("en", "en", "fr", "de")), max_size=2).map(tuple)
    | st.just(("en",)),
    "availability": st.lists(st.one_of(wide, odd), max_size=3).map(tuple),
    "meeting_preference": st.sampled_from(("in_person", "virtual") + ("either",) * 4),
    "status": st.sampled_from(("active",) * 5 + ("withdrawn",)),
    "manager_employee_id": st.sampled_from(("", "boss1", "boss2", "emp-m0", "emp-e0", "emp-e1")),
}


@st.composite
def cohorts(draw: st.DrawFn) -> dict[str, Any]:
    mentees = [
        draw(
            st.builds(
                MenteeCandidate,
                participant_id=st.just(f"e{i}"),
                employee_id=st.sampled_from((f"emp-e{i}", f"emp-e{i}", "emp-m0")),
                birth_year=st.integers(1955, 1995),
                learning_needs=st.lists(
                    st.builds(Need, st.sampled_from(TOPICS), st.integers(1, 3)), max_size=4
                ).map(tuple),
                **common,
            )
        )
        for i in range(draw(st.integers(1, 10)))
    ]
    mentors = [
        draw(
            st.builds(
                MentorCandidate,
                participant_id=st.just(f"m{j}"),
                employee_id=st.just(f"emp-m{j}"),
                birth_year=st.integers(1975, 2005),
                skills_offered=st.lists(
                    st.builds(SkillOffer, st.sampled_from(TOPICS), st.integers(1, 3)), max_size=4
                ).map(tuple),
                certified=st.sampled_from((True, True, True, False)),
                current_mentees=st.integers(0, 2),
                **common,
            )
        )
        for j in range(draw(st.integers(0, 8)))
    ]
    weight = st.sampled_from((0, 0.1, 0.15, 0.2, 1 / 3, 0.4, 1))
    rules = ProgrammeRules(
        min_age_gap_years=draw(st.sampled_from((0, 5, 10))),
        target_age_gap_years=draw(st.integers(1, 30)),
        mentor_capacity=draw(st.integers(1, 3)),
        same_department_allowed=draw(st.booleans()),
        min_weekly_overlap_minutes=draw(st.sampled_from((0, 1, 60, 120))),
        availability_saturation_minutes=draw(st.sampled_from((7, 60, 240))),
        weights=draw(st.builds(Weights, weight, weight, weight, weight, weight)),
    )
    people = [p.employee_id for p in (*mentees, *mentors)] + ["boss1", "boss2"]
    chain = draw(st.dictionaries(st.sampled_from(people), st.sampled_from(people), max_size=5))
    all_pairs = [(e.participant_id, m.participant_id) for e in mentees for m in mentors]
    all_pairs.append(("e0", "m-unknown"))
    declined = frozenset(draw(st.lists(st.sampled_from(all_pairs), max_size=4)))
    week_of = draw(st.sampled_from((date(2024, 1, 15), date(2024, 3, 12), date(2024, 10, 30))))
    return {
        "mentees": mentees,
        "mentors": mentors,
        "rules": rules,
        "manager_chain": chain,
        "declined_pairs": declined,
        "week_of": week_of,
    }


SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(cohorts())
def test_fast_round_is_identical_to_the_reference(cohort: dict[str, Any]) -> None:
    fast = run_round(**cohort)
    reference = run_round(**cohort, reference=True)
    assert fast == reference


@SETTINGS
@given(cohorts())
def test_fast_feasible_pairs_match_every_per_pair_check(cohort: dict[str, Any]) -> None:
    mentees = sorted(cohort["mentees"], key=lambda m: m.participant_id)
    mentors = sorted(cohort["mentors"], key=lambda m: m.participant_id)
    ctx = c.PairContext(
        cohort["rules"],
        c.ManagerChain(cohort["manager_chain"]),
        cohort["declined_pairs"],
        cohort["week_of"],
    )
    edges = feasible_edges(mentees, mentors, ctx)
    found = feasible_pairs(mentees, mentors, ctx)
    assert list(zip(found.rows.tolist(), found.cols.tolist(), strict=True)) == [
        (e.mentee, e.mentor) for e in edges
    ]
    assert found.minutes.tolist() == [e.overlap_minutes for e in edges]
    assert found.units.tolist() == [score_units(e.score.total) for e in edges]


@settings(max_examples=40, deadline=None)
@given(cohorts())
def test_bitmap_overlap_fallback_gives_the_same_round(cohort: dict[str, Any]) -> None:
    """Cohorts with too many elementary segments use per-pair bitmaps instead of
    segment matrices: the same pairs, overlaps and scores."""
    segments = run_round(**cohort)
    limit = availability.MAX_SEGMENTS
    availability.MAX_SEGMENTS = 0
    try:
        bitmaps = run_round(**cohort)
    finally:
        availability.MAX_SEGMENTS = limit
    assert bitmaps == segments
