"""The per-pair hard constraints as boolean masks over a block of mentees.

A block is ``rows`` mentees x every eligible mentor, so memory stays bounded
(a few small arrays of ``len(rows) * n_mentors``) however large the cohort.
Each mask is exactly its constraint in ``constraints`` (the property tests
compare them pair by pair); the same masks give both the surviving pairs and,
summed per row, the per-constraint counts the unmatched explanations report.
"""

from __future__ import annotations

import numpy as np

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.availability import bitmap_overlap
from revmentor.matching.domain.candidates import IN_PERSON, MEETING_PREFERENCES, VIRTUAL
from revmentor.matching.domain.columns import BoolArray, Cohort, IntArray

#: Checks the masks cover, in ``PAIR_CHECKS`` order; availability is separate
#: because it is only computed for pairs that pass all of these.
MASKED = tuple(code for code, _ in c.PAIR_CHECKS if code != c.AVAILABILITY)


def _meeting_mode_table() -> BoolArray:
    """Fails[mentee pref, mentor pref, same site]: in person is wanted by a side
    and either the other side is virtual only or the sites differ."""
    table = np.zeros((len(MEETING_PREFERENCES),) * 2 + (2,), dtype=np.bool_)
    for a, pa in enumerate(MEETING_PREFERENCES):
        for b, pb in enumerate(MEETING_PREFERENCES):
            for same in (0, 1):
                prefs = (pa, pb)
                table[a, b, same] = IN_PERSON in prefs and (VIRTUAL in prefs or not same)
    return table


_MEETING_FAILS = _meeting_mode_table()


def block_failures(cohort: Cohort, lo: int, hi: int, rules: c.ProgrammeRules) -> list[BoolArray]:
    """One (hi - lo, n_eligible) mask per code of ``MASKED``: True = excluded."""
    e, m = cohort.mentees, cohort.mentors
    rows = slice(lo, hi)
    gap = m.birth_year[None, :] - e.birth_year[rows, None]
    same_dept = e.department[rows, None] == m.department[None, :]
    shared = np.zeros(gap.shape, dtype=np.bool_)
    for w in range(e.languages.shape[1]):
        shared |= (e.languages[rows, w, None] & m.languages[None, :, w]) != 0
    same_site = (e.site[rows, None] == m.site[None, :]).astype(np.int64)
    masks = {
        c.AGE_GAP: gap < rules.min_age_gap_years,
        c.SAME_DEPARTMENT: same_dept & (not rules.same_department_allowed),
        c.LANGUAGE: ~shared,
        c.MEETING_MODE: _MEETING_FAILS[e.preference[rows, None], m.preference[None, :], same_site],
    }
    for code, (pair_rows, pair_cols) in cohort.blocked.items():
        mask = np.zeros(gap.shape, dtype=np.bool_)
        start, stop = np.searchsorted(pair_rows, (lo, hi))
        mask[pair_rows[start:stop] - lo, pair_cols[start:stop]] = True
        masks[code] = mask
    return [masks[code] for code in MASKED]


def overlap_minutes(cohort: Cohort, rows: IntArray, cols: IntArray, chunk: int = 8192) -> IntArray:
    """Weekly overlap of each (mentee, eligible column) pair, per distinct pair
    of availability profiles (people often share windows and zone)."""
    n_profiles = len(cohort.bitmaps)
    keys = cohort.mentees.profile[rows] * n_profiles + cohort.mentors.profile[cols]
    unique, inverse = np.unique(keys, return_inverse=True)
    minutes = np.empty(len(unique), dtype=np.int64)
    for start in range(0, len(unique), chunk):
        part = unique[start : start + chunk]
        a, b = cohort.bitmaps[part // n_profiles], cohort.bitmaps[part % n_profiles]
        minutes[start : start + chunk] = bitmap_overlap(a, b)
    return minutes[inverse.reshape(-1)]


def block_overlap(cohort: Cohort, lo: int, hi: int) -> IntArray | None:
    """Weekly overlap of mentees ``lo:hi`` with every eligible mentor, as one
    matrix product over elementary segments; None if the cohort has no segment
    matrices (then ``overlap_minutes`` works pair by pair on bitmaps)."""
    if cohort.segments is None:
        return None
    weighted, cover = cohort.segments
    left = weighted[cohort.mentees.profile[lo:hi]]
    right = cover[cohort.mentors.profile]
    return np.rint(left @ right.T).astype(np.int64)
