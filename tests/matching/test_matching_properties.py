"""Properties of a round on small random cohorts, checked against brute force.

Cohorts are tiny (<= 5 mentees x 4 mentors, capacity <= 2) so every
assignment can be enumerated; attribute values come from small pools so many
pairs are feasible, many are not, and score ties happen.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.candidates import (
    MenteeCandidate,
    MentorCandidate,
    Need,
    ProgrammeRules,
    SkillOffer,
    Window,
)
from revmentor.matching.domain.round import run_round
from revmentor.matching.domain.scoring import score_pair, score_units
from revmentor.matching.domain.solver import (
    exact_dense_assignment,
    greedy_first_come,
    optimal_assignment,
)

ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")
WINDOWS = (
    Window(1, "06:00", "22:00"),
    Window(1, "06:00", "22:00"),
    Window(1, "09:00", "11:00"),
    Window(1, "14:00", "17:00"),
    Window(3, "22:00", "02:00"),
    Window(7, "20:00", "23:00"),
)
TOPICS = ("ai", "cloud", "social")
LANGS = ("en", "fr")
SETTINGS = settings(max_examples=80, deadline=None)

common: dict[str, Any] = {
    "department": st.sampled_from(("a", "b", "c")),
    "site": st.sampled_from(("s1", "s2")),
    "time_zone": st.sampled_from(ZONES[:2] * 3 + ZONES[2:]),
    "languages": st.lists(st.sampled_from(LANGS), min_size=1, max_size=2, unique=True).map(tuple),
    "availability": st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=2).map(tuple),
    "meeting_preference": st.sampled_from(("in_person", "virtual") + ("either",) * 4),
    "status": st.sampled_from(("active",) * 5 + ("withdrawn",)),
    "manager_employee_id": st.sampled_from(("", "boss1", "boss2", "emp-m0", "emp-e0")),
}


@st.composite
def cohorts(draw: st.DrawFn) -> dict[str, Any]:
    n_mentees = draw(st.integers(1, 5))
    n_mentors = draw(st.integers(1, 4))
    mentees = [
        draw(
            st.builds(
                MenteeCandidate,
                participant_id=st.just(f"e{i}"),
                employee_id=st.just(f"emp-e{i}"),
                birth_year=st.sampled_from((1960, 1970, 1978, 1985)),
                learning_needs=st.lists(
                    st.builds(Need, st.sampled_from(TOPICS), st.integers(1, 3)),
                    max_size=3,
                    unique_by=lambda n: n.topic,
                ).map(tuple),
                **common,
            )
        )
        for i in range(n_mentees)
    ]
    mentors = [
        draw(
            st.builds(
                MentorCandidate,
                participant_id=st.just(f"m{j}"),
                employee_id=st.just(f"emp-m{j}"),
                birth_year=st.sampled_from((1988, 1995, 2000)),
                skills_offered=st.lists(
                    st.builds(SkillOffer, st.sampled_from(TOPICS), st.integers(1, 3)),
                    max_size=3,
                    unique_by=lambda s: s.topic,
                ).map(tuple),
                certified=st.sampled_from((True, True, True, False)),
                current_mentees=st.sampled_from((0, 0, 0, 1)),
                **common,
            )
        )
        for j in range(n_mentors)
    ]
    rules = ProgrammeRules(
        mentor_capacity=draw(st.integers(1, 2)),
        same_department_allowed=draw(st.booleans()),
        min_weekly_overlap_minutes=draw(st.sampled_from((0, 0, 60, 120))),
    )
    chain = draw(
        st.dictionaries(
            st.sampled_from(("boss1", "boss2", "emp-e1", "emp-m1")),
            st.sampled_from(("boss1", "boss2", "emp-m0", "emp-e0", "emp-m2")),
            max_size=3,
        )
    )
    all_pairs = [(e.participant_id, m.participant_id) for e in mentees for m in mentors]
    declined = frozenset(draw(st.lists(st.sampled_from(all_pairs), max_size=3)))
    return {
        "mentees": mentees,
        "mentors": mentors,
        "rules": rules,
        "chain": chain,
        "declined": declined,
    }


def brute_force(cohort: dict[str, Any]) -> tuple[int, int]:
    """(max matched count, max total score units among those), by enumeration."""
    rules: ProgrammeRules = cohort["rules"]
    ctx = c.PairContext(rules, c.ManagerChain(cohort["chain"]), cohort["declined"])
    options: list[list[tuple[str, int]]] = []
    for e in cohort["mentees"]:
        row = []
        for m in cohort["mentors"]:
            if not c.all_exclusions(e, m, ctx):
                minutes = c.overlap_minutes(e, m, ctx)
                row.append((m.participant_id, score_units(score_pair(e, m, minutes, rules).total)))
        options.append(row)
    left = {m.participant_id: rules.mentor_capacity - m.current_mentees for m in cohort["mentors"]}
    best = (0, 0)

    def walk(i: int, count: int, total: int) -> None:
        nonlocal best
        if i == len(options):
            best = max(best, (count, total))
            return
        walk(i + 1, count, total)
        for mentor_id, units in options[i]:
            if left[mentor_id] > 0:
                left[mentor_id] -= 1
                walk(i + 1, count + 1, total + units)
                left[mentor_id] += 1

    walk(0, 0, 0)
    return best


def run(cohort: dict[str, Any], mentees: Any = None, mentors: Any = None) -> Any:
    return run_round(
        mentees if mentees is not None else cohort["mentees"],
        mentors if mentors is not None else cohort["mentors"],
        cohort["rules"],
        cohort["chain"],
        cohort["declined"],
    )


@SETTINGS
@given(cohorts())
def test_pairs_are_feasible_within_capacity_and_optimal(cohort: dict[str, Any]) -> None:
    result = run(cohort)
    rules: ProgrammeRules = cohort["rules"]
    ctx = c.PairContext(rules, c.ManagerChain(cohort["chain"]), cohort["declined"])
    mentees = {e.participant_id: e for e in cohort["mentees"]}
    mentors = {m.participant_id: m for m in cohort["mentors"]}
    for p in result.proposals:
        assert c.all_exclusions(mentees[p.mentee_id], mentors[p.mentor_id], ctx) == []
        assert (p.mentee_id, p.mentor_id) not in cohort["declined"]
    load = Counter(p.mentor_id for p in result.proposals)
    for mentor_id, count in load.items():
        assert count + mentors[mentor_id].current_mentees <= rules.mentor_capacity
    assert len({p.mentee_id for p in result.proposals}) == len(result.proposals)
    assert (result.matched_count, result.total_score_units) == brute_force(cohort)
    unmatched = {u.mentee_id for u in result.unmatched}
    assert unmatched == set(mentees) - {p.mentee_id for p in result.proposals}
    assert all(u.reasons for u in result.unmatched)


@SETTINGS
@given(cohorts(), st.randoms(use_true_random=False))
def test_shuffled_inputs_give_the_same_round(cohort: dict[str, Any], rnd: Any) -> None:
    first = run(cohort)
    mentees, mentors = list(cohort["mentees"]), list(cohort["mentors"])
    rnd.shuffle(mentees)
    rnd.shuffle(mentors)
    second = run(cohort, mentees, mentors)
    assert second.proposals == first.proposals
    assert second.unmatched == first.unmatched
    assert second.inputs_digest == first.inputs_digest


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 15),
    st.integers(1, 3),
    st.integers(0, 2**31 - 1),
)
def test_sparse_solver_matches_dense_exact_solver(
    n_rows: int, n_cols: int, cap: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((n_rows, n_cols)) < 0.3
    rows, cols = np.nonzero(mask)
    units = rng.integers(0, 5, size=len(rows)) * 250_000  # coarse: plenty of ties
    capacity = rng.integers(0, cap + 1, size=n_cols)
    value = dict(zip(zip(rows.tolist(), cols.tolist(), strict=True), units.tolist(), strict=True))

    def summary(pairs: list[tuple[int, int]]) -> tuple[int, int]:
        load = Counter(col for _, col in pairs)
        assert all(load[col] <= capacity[col] for col in load)
        assert len({row for row, _ in pairs}) == len(pairs)
        return len(pairs), sum(value[p] for p in pairs)

    best = summary(optimal_assignment(rows, cols, units, capacity))
    assert best == summary(exact_dense_assignment(rows, cols, units, capacity))
    greedy = summary(greedy_first_come(rows, cols, units, capacity))
    assert greedy[0] <= best[0]
