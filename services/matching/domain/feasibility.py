"""Feasible, scored pairs of a whole cohort, in blocks of mentees.

The vectorised counterpart of ``round.feasible_edges``: the same pairs in the
same (mentee, mentor) order with the same overlaps and score units, but hard
constraints are array masks (``prefilter``), availability is computed only for
pairs that pass them, and scores come from ``fastscore``. Memory is bounded by
the block size plus the feasible pairs themselves, never mentees x mentors.
The masks' row sums are kept so unmatched explanations need no pair loop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.availability import bitmap_overlap
from revmentor.matching.domain.candidates import MenteeCandidate, MentorCandidate
from revmentor.matching.domain.columns import Cohort, IntArray, encode
from revmentor.matching.domain.fastscore import score_units_of
from revmentor.matching.domain.prefilter import (
    MASKED,
    block_failures,
    block_overlap,
    overlap_minutes,
)
from revmentor.matching.domain.reasons import Unmatched, explain_from_counts

#: Pairs per block: a few masks of this many booleans plus int64 temporaries.
BLOCK_PAIRS = 1 << 21


@dataclass
class Feasible:
    """Feasible pairs as parallel arrays sorted by (mentee, mentor); ``cols``
    index the full canonical mentor list."""

    rows: IntArray
    cols: IntArray
    minutes: IntArray
    units: IntArray
    cohort: Cohort
    masked_counts: IntArray  # (n_mentees, len(MASKED)) excluded eligible mentors
    mentor_counts: Counter[str]
    _availability: dict[int, int] = field(default_factory=dict)

    def explain(
        self,
        index: int,
        mentee: MenteeCandidate,
        n_mentors: int,
        feasible_ids: Sequence[str],
        ctx: c.PairContext,
    ) -> Unmatched:
        """The same ``Unmatched`` as ``reasons.explain_unmatched``, from counts."""

        def pair_counts() -> Mapping[str, int]:
            counts = dict(zip(MASKED, self.masked_counts[index].tolist(), strict=True))
            counts[c.AVAILABILITY] = self._too_little_overlap(index, ctx)
            return {code: k for code, k in counts.items() if k}

        return explain_from_counts(
            mentee,
            n_mentors,
            feasible_ids,
            self.mentor_counts,
            len(self.cohort.eligible),
            pair_counts,
            ctx,
        )

    def _too_little_overlap(self, index: int, ctx: c.PairContext) -> int:
        """Eligible mentors sharing less than the minimum with this mentee,
        computed once per distinct availability profile."""
        profile = int(self.cohort.mentees.profile[index])
        if profile not in self._availability:
            mentor_profiles, counts = np.unique(self.cohort.mentors.profile, return_counts=True)
            minutes = bitmap_overlap(
                self.cohort.bitmaps[profile][None, :], self.cohort.bitmaps[mentor_profiles]
            )
            short = minutes < ctx.rules.min_weekly_overlap_minutes
            self._availability[profile] = int(counts[short].sum())
        return self._availability[profile]


def feasible_pairs(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> Feasible:
    """Every pair passing all per-pair hard constraints, with overlap and units."""
    cohort = encode(mentees, mentors, ctx)
    rules = ctx.rules
    n_cols = len(cohort.eligible)
    counts = np.zeros((len(mentees), len(MASKED)), dtype=np.int64)
    found: list[tuple[IntArray, IntArray, IntArray, IntArray]] = []
    step = max(1, BLOCK_PAIRS // max(n_cols, 1))
    for lo in range(0, len(mentees) if n_cols else 0, step):
        hi = min(lo + step, len(mentees))
        fails = block_failures(cohort, lo, hi, rules)
        for k, fail in enumerate(fails):
            counts[lo:hi, k] = fail.sum(axis=1)
        ok = ~np.logical_or.reduce(fails) & cohort.active[lo:hi, None]
        rows, cols = np.nonzero(ok)
        rows = rows.astype(np.int64) + lo
        cols = cols.astype(np.int64)
        dense = block_overlap(cohort, lo, hi)
        minutes = overlap_minutes(cohort, rows, cols) if dense is None else dense[rows - lo, cols]
        keep = minutes >= rules.min_weekly_overlap_minutes
        rows, cols, minutes = rows[keep], cols[keep], minutes[keep]
        found.append((rows, cols, minutes, score_units_of(cohort, rows, cols, minutes, rules)))
    parts = [np.concatenate(p) if p else np.zeros(0, np.int64) for p in zip(*found, strict=True)]
    if not found:
        parts = [np.zeros(0, dtype=np.int64) for _ in range(4)]
    mentor_counts: Counter[str] = Counter()
    for m in mentors:
        outcome = c.mentor_eligibility(m)
        if isinstance(outcome, c.Exclusion):
            mentor_counts[outcome.code] += 1
    rows, cols, minutes, units = parts
    return Feasible(rows, cohort.eligible[cols], minutes, units, cohort, counts, mentor_counts)
