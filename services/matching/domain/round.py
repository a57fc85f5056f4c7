"""One matching round: feasibility, scores, optimal assignment, explanations.

``run_round`` is a pure function of its inputs. Candidates are put in a
canonical order (by participant id) before anything else, so the order the
application fetched them in cannot change the result, and the SHA-256 digest
of a canonical JSON of everything the round saw is recorded with the result:
re-running with the same digest and algorithm version must give the same pairs.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import TypeVar

import numpy as np
import scipy

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.availability import DEFAULT_WEEK_OF
from revmentor.matching.domain.candidates import MenteeCandidate, MentorCandidate, ProgrammeRules
from revmentor.matching.domain.feasibility import feasible_pairs
from revmentor.matching.domain.reasons import Unmatched, explain_unmatched
from revmentor.matching.domain.scoring import Component, Score, score_pair, score_units
from revmentor.matching.domain.solver import (
    PRUNE_ABOVE_PAIRS,
    PRUNE_PER_MENTEE,
    PRUNE_PER_MENTOR_SLOT,
    IntArray,
    Pairs,
    pruned_assignment,
)

#: Names the objective, the cost encoding and the solver library version: the
#: same digest under the same version reproduces the same pairs.
ALGORITHM_VERSION = (
    f"revmentor-matching/2 lexicographic-lapjvsp prune>{PRUNE_ABOVE_PAIRS}:"
    f"{PRUNE_PER_MENTEE}/{PRUNE_PER_MENTOR_SLOT} scipy-{scipy.__version__}"
)

_C = TypeVar("_C", MenteeCandidate, MentorCandidate)

Solver = Callable[[IntArray, IntArray, IntArray, IntArray], Pairs]
Explain = Callable[[int, Sequence[str]], Unmatched]


@dataclass(frozen=True)
class Proposal:
    mentee_id: str
    mentor_id: str
    score: float
    breakdown: tuple[Component, ...]
    overlap_minutes: int
    checks_passed: tuple[str, ...] = c.PROPOSAL_CHECKS


@dataclass(frozen=True)
class RoundResult:
    proposals: tuple[Proposal, ...]
    unmatched: tuple[Unmatched, ...]
    inputs_digest: str
    algorithm_version: str = ALGORITHM_VERSION

    @property
    def matched_count(self) -> int:
        return len(self.proposals)

    @property
    def total_score_units(self) -> int:
        """Total score as exact integer micro-points (sum of rounded scores)."""
        return sum(score_units(p.score) for p in self.proposals)


@dataclass(frozen=True)
class Edge:
    mentee: int
    mentor: int
    overlap_minutes: int
    score: Score


def inputs_digest(
    mentees: Iterable[MenteeCandidate],
    mentors: Iterable[MentorCandidate],
    rules: ProgrammeRules,
    manager_chain: Mapping[str, str],
    declined_pairs: Iterable[tuple[str, str]],
    week_of: date = DEFAULT_WEEK_OF,
) -> str:
    """SHA-256 of a canonical JSON of everything that decides the result."""
    document = {
        "mentees": [asdict(m) for m in sorted(mentees, key=lambda m: m.participant_id)],
        "mentors": [asdict(m) for m in sorted(mentors, key=lambda m: m.participant_id)],
        "rules": asdict(rules),
        "manager_chain": sorted(manager_chain.items()),
        "declined_pairs": sorted(list(p) for p in declined_pairs),
        "week_of": week_of.isoformat(),
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _canonical(items: Iterable[_C], role: str) -> list[_C]:
    ordered = sorted(items, key=lambda x: x.participant_id)
    for a, b in itertools.pairwise(ordered):
        if a.participant_id == b.participant_id:
            raise ValueError(f"{role} {a.participant_id} appears twice")
    return ordered


def feasible_edges(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> list[Edge]:
    """Every pair passing all per-pair hard constraints, scored.

    Mentor and mentee eligibility are checked once each; availability, the
    expensive check, runs last and its overlap is reused for the score.
    """
    eligible = [j for j, m in enumerate(mentors) if not c.mentor_eligibility(m)]
    cheap = [check for code, check in c.PAIR_CHECKS if code != c.AVAILABILITY]
    minimum = ctx.rules.min_weekly_overlap_minutes
    edges: list[Edge] = []
    for i, mentee in enumerate(mentees):
        if c.mentee_eligibility(mentee):
            continue
        for j in eligible:
            mentor = mentors[j]
            if any(check(mentee, mentor, ctx) for check in cheap):
                continue
            minutes = c.overlap_minutes(mentee, mentor, ctx)
            if minutes < minimum:
                continue
            edges.append(Edge(i, j, minutes, score_pair(mentee, mentor, minutes, ctx.rules)))
    return edges


def _reference_pairs(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> tuple[IntArray, IntArray, IntArray, IntArray, Explain]:
    """The straightforward per-pair path, kept as the executable specification
    the vectorised path is tested against."""
    edges = feasible_edges(mentees, mentors, ctx)

    def explain(i: int, feasible_ids: Sequence[str]) -> Unmatched:
        return explain_unmatched(mentees[i], mentors, feasible_ids, ctx)

    def column(values: list[int]) -> IntArray:
        return np.array(values, dtype=np.int64)

    return (
        column([e.mentee for e in edges]),
        column([e.mentor for e in edges]),
        column([e.overlap_minutes for e in edges]),
        column([score_units(e.score.total) for e in edges]),
        explain,
    )


def _fast_pairs(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> tuple[IntArray, IntArray, IntArray, IntArray, Explain]:
    found = feasible_pairs(mentees, mentors, ctx)

    def explain(i: int, feasible_ids: Sequence[str]) -> Unmatched:
        return found.explain(i, mentees[i], len(mentors), feasible_ids, ctx)

    return found.rows, found.cols, found.minutes, found.units, explain


def run_round(
    mentees: Iterable[MenteeCandidate],
    mentors: Iterable[MentorCandidate],
    rules: ProgrammeRules,
    manager_chain: Mapping[str, str],
    declined_pairs: frozenset[tuple[str, str]] = frozenset(),
    week_of: date = DEFAULT_WEEK_OF,
    solver: Solver = pruned_assignment,
    reference: bool = False,
) -> RoundResult:
    """Propose pairs for the whole cohort; explain every unmatched mentee.

    ``declined_pairs`` holds (mentee id, mentor id) pairs declined or expired
    in earlier rounds: they are hard-excluded, so never re-proposed.
    ``reference=True`` checks and scores every pair in Python (slow; for tests):
    the result is identical to the default vectorised path.
    """
    mentee_list = _canonical(mentees, "mentee")
    mentor_list = _canonical(mentors, "mentor")
    ctx = c.PairContext(rules, c.ManagerChain(manager_chain), frozenset(declined_pairs), week_of)
    build = _reference_pairs if reference else _fast_pairs
    rows, cols, minutes, units, explain = build(mentee_list, mentor_list, ctx)
    capacity = np.array(
        [max(0, rules.mentor_capacity - m.current_mentees) for m in mentor_list], dtype=np.int64
    )
    pairs = solver(rows, cols, units, capacity)
    # Edges are sorted by (mentee, mentor): one mentee's edges are one slice.
    starts = np.searchsorted(rows, np.arange(len(mentee_list) + 1)).tolist()
    proposals = []
    for i, j in pairs:
        at = starts[i] + int(np.searchsorted(cols[starts[i] : starts[i + 1]], j))
        mentee, mentor, overlap = mentee_list[i], mentor_list[j], int(minutes[at])
        score = score_pair(mentee, mentor, overlap, rules)
        proposals.append(
            Proposal(
                mentee.participant_id, mentor.participant_id, score.total, score.components, overlap
            )
        )
    matched = {i for i, _ in pairs}
    unmatched = tuple(
        explain(
            i, [mentor_list[j].participant_id for j in cols[starts[i] : starts[i + 1]].tolist()]
        )
        for i in range(len(mentee_list))
        if i not in matched
    )
    digest = inputs_digest(mentee_list, mentor_list, rules, manager_chain, ctx.declined, week_of)
    return RoundResult(tuple(proposals), unmatched, digest)
