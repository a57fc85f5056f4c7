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
from revmentor.matching.domain.reasons import Unmatched, explain_unmatched
from revmentor.matching.domain.scoring import Component, Score, score_pair, score_units
from revmentor.matching.domain.solver import IntArray, Pairs, optimal_assignment

#: Names the objective, the cost encoding and the solver library version: the
#: same digest under the same version reproduces the same pairs.
ALGORITHM_VERSION = f"revmentor-matching/1 lexicographic-lapjvsp scipy-{scipy.__version__}"

_C = TypeVar("_C", MenteeCandidate, MentorCandidate)

Solver = Callable[[IntArray, IntArray, IntArray, IntArray], Pairs]


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


def run_round(
    mentees: Iterable[MenteeCandidate],
    mentors: Iterable[MentorCandidate],
    rules: ProgrammeRules,
    manager_chain: Mapping[str, str],
    declined_pairs: frozenset[tuple[str, str]] = frozenset(),
    week_of: date = DEFAULT_WEEK_OF,
    solver: Solver = optimal_assignment,
) -> RoundResult:
    """Propose pairs for the whole cohort; explain every unmatched mentee.

    ``declined_pairs`` holds (mentee id, mentor id) pairs declined or expired
    in earlier rounds: they are hard-excluded, so never re-proposed.
    """
    mentee_list = _canonical(mentees, "mentee")
    mentor_list = _canonical(mentors, "mentor")
    ctx = c.PairContext(rules, c.ManagerChain(manager_chain), frozenset(declined_pairs), week_of)
    edges = feasible_edges(mentee_list, mentor_list, ctx)
    capacity = np.array(
        [max(0, rules.mentor_capacity - m.current_mentees) for m in mentor_list], dtype=np.int64
    )
    pairs = solver(
        np.array([e.mentee for e in edges], dtype=np.int64),
        np.array([e.mentor for e in edges], dtype=np.int64),
        np.array([score_units(e.score.total) for e in edges], dtype=np.int64),
        capacity,
    )
    by_pair = {(e.mentee, e.mentor): e for e in edges}
    proposals = []
    for i, j in pairs:
        edge = by_pair[(i, j)]
        proposals.append(
            Proposal(
                mentee_list[i].participant_id,
                mentor_list[j].participant_id,
                edge.score.total,
                edge.score.components,
                edge.overlap_minutes,
            )
        )
    matched = {i for i, _ in pairs}
    feasible: dict[int, list[str]] = {}
    for e in edges:
        feasible.setdefault(e.mentee, []).append(mentor_list[e.mentor].participant_id)
    unmatched = tuple(
        explain_unmatched(mentee, mentor_list, feasible.get(i, []), ctx)
        for i, mentee in enumerate(mentee_list)
        if i not in matched
    )
    digest = inputs_digest(mentee_list, mentor_list, rules, manager_chain, ctx.declined, week_of)
    return RoundResult(tuple(proposals), unmatched, digest)
