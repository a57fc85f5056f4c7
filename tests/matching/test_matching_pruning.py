"""Candidate pruning for very large rounds: what it keeps, and that below its
threshold the round stays exact (the quality benchmark measures the loss above)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from revmentor.matching.domain.solver import (
    candidate_mask,
    optimal_assignment,
    pruned_assignment,
)


def edges(n_rows: int, n_cols: int, seed: int) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    grid = rng.random((n_rows, n_cols)) < 0.6
    rows, cols = np.nonzero(grid)
    units = rng.integers(0, 1_000_000, len(rows))
    return rows.astype(np.int64), cols.astype(np.int64), units.astype(np.int64)


def test_mask_keeps_each_mentees_best_and_each_mentors_best() -> None:
    rows, cols, units = edges(40, 20, seed=1)
    capacity = np.full(20, 2, dtype=np.int64)
    keep = candidate_mask(rows, cols, units, capacity, per_mentee=3, per_mentor_slot=1)
    for i in range(40):
        mine = np.flatnonzero(rows == i)
        best = mine[np.lexsort((cols[mine], -units[mine]))][:3]
        assert keep[best].all()
    for j in range(20):
        theirs = np.flatnonzero(cols == j)
        best = theirs[np.lexsort((rows[theirs], -units[theirs]))][:2]
        assert keep[best].all()
    assert keep.sum() < len(rows)


def test_below_the_threshold_it_is_the_exact_solver() -> None:
    rows, cols, units = edges(30, 12, seed=2)
    capacity = np.full(12, 2, dtype=np.int64)
    assert pruned_assignment(rows, cols, units, capacity) == optimal_assignment(
        rows, cols, units, capacity
    )


@settings(max_examples=30, deadline=None)
@given(st.integers(5, 40), st.integers(2, 15), st.integers(1, 3), st.integers(0, 10_000))
def test_pruned_assignments_stay_valid(n_rows: int, n_cols: int, cap: int, seed: int) -> None:
    rows, cols, units = edges(n_rows, n_cols, seed)
    capacity = np.full(n_cols, cap, dtype=np.int64)
    pairs = pruned_assignment(rows, cols, units, capacity, above=0, per_mentee=2, per_mentor_slot=1)
    feasible = set(zip(rows.tolist(), cols.tolist(), strict=True))
    assert all(pair in feasible for pair in pairs)
    assert len({r for r, _ in pairs}) == len(pairs)
    used = np.bincount(np.array([c for _, c in pairs], dtype=np.int64), minlength=n_cols)
    assert (used <= capacity).all()
    exact = optimal_assignment(rows, cols, units, capacity)
    assert len(pairs) <= len(exact)
