"""Scores of many feasible pairs at once, as the solver's integer units.

Results must be bit-identical to ``scoring.score_pair``. Array arithmetic is
IEEE like Python's, so each component is computed with the same operations
in the same order; the one step numpy does differently is ``round(x, 6)``
(Python rounds the exact binary value), so rounding is always done by Python
itself, on tables of the distinct values only.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from revmentor.matching.domain.candidates import MEETING_PREFERENCES, ProgrammeRules
from revmentor.matching.domain.columns import Cohort, FloatArray, IntArray
from revmentor.matching.domain.scoring import (
    age_gap_value,
    availability,
    contribution,
    rounded_total,
    same_site_value,
    score_units,
)


def _python_map(values: FloatArray, fn: Callable[[float], float | int]) -> FloatArray:
    """``fn`` applied by Python to each distinct value, broadcast back."""
    unique, inverse = np.unique(values, return_inverse=True)
    table = np.array([fn(v) for v in unique.tolist()], dtype=np.float64)
    return table[inverse.reshape(-1)]


def _coverage(cohort: Cohort, rows: IntArray, cols: IntArray) -> FloatArray:
    """``scoring.coverage``: the covered sum accumulates need by need."""
    covered = np.zeros(len(rows), dtype=np.float64)
    for k in range(cohort.need_topic.shape[1]):
        level = cohort.mentor_level[cols, cohort.need_topic[rows, k]]
        covered = covered + cohort.need_weight[rows, k] * level / 3.0
    total = cohort.need_total[rows]
    safe = np.where(total != 0.0, total, 1.0)
    return np.where(total != 0.0, covered / safe, 0.0)


def score_units_of(
    cohort: Cohort, rows: IntArray, cols: IntArray, minutes: IntArray, rules: ProgrammeRules
) -> IntArray:
    """``score_units(score_pair(...).total)`` for each (mentee, eligible column)."""
    w = dict(rules.weights.items())
    e, m = cohort.mentees, cohort.mentors
    parts: list[FloatArray] = []
    cover = _coverage(cohort, rows, cols)
    parts.append(_python_map(cover, lambda v: contribution(v, w["coverage"])))
    capped = np.minimum(minutes, rules.availability_saturation_minutes)
    avail = [
        contribution(availability(k, rules), w["availability"])
        for k in range(capped.max(initial=0) + 1)
    ]
    parts.append(np.array(avail, dtype=np.float64)[capped])
    gap = m.birth_year[cols] - e.birth_year[rows]
    low = int(gap.min(initial=0))
    ages = [
        contribution(age_gap_value(g, rules), w["age_gap"])
        for g in range(low, int(gap.max(initial=0)) + 1)
    ]
    parts.append(np.array(ages, dtype=np.float64)[gap - low])
    cross = np.array(
        [contribution(0.0, w["cross_department"]), contribution(1.0, w["cross_department"])]
    )
    parts.append(cross[(e.department[rows] != m.department[cols]).astype(np.int64)])
    site = np.array(
        [
            [
                [contribution(same_site_value(a, b, s), w["same_site"]) for s in (False, True)]
                for b in MEETING_PREFERENCES
            ]
            for a in MEETING_PREFERENCES
        ]
    )
    same = (e.site[rows] == m.site[cols]).astype(np.int64)
    parts.append(site[e.preference[rows], m.preference[cols], same])
    total = np.zeros(len(rows), dtype=np.float64)
    for part in parts:  # left to right, as ``sum`` over the components
        total = total + part
    units = _python_map(total, lambda v: score_units(rounded_total(v)))
    return units.astype(np.int64)
