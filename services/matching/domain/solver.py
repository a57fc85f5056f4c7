"""Whole-cohort assignment: most mentees matched first, then highest total score.

The problem is a rectangular assignment on a capacity-expanded graph: each
mentor becomes ``capacity`` interchangeable slot columns, and each mentee gets
a private "stay unmatched" dummy column, so a full matching of the mentee rows
always exists. With integer scores ``u`` (micro-points, ``smax`` the largest):

- a real edge costs ``1 + smax - u`` (in ``[1, 1 + smax]``, never zero: scipy
  needs non-zero weights), a dummy edge costs ``D = K * smax + 2`` where ``K``
  bounds the matched count;
- one more matched mentee therefore always lowers the cost more than any score
  difference can raise it (lexicographic objective), and among assignments of
  equal cardinality the cost is minimal exactly when the total score is maximal.

Costs are integers below 2**52, so float64 sums are exact and ties are true
ties. ``scipy.sparse.csgraph.min_weight_full_bipartite_matching`` (LAPJVsp)
works on the feasible edges only: memory is proportional to feasible edges
times capacity, never to mentees x mentors. Determinism: the caller passes
indices in a canonical order (sorted ids) and the solver sorts edges, so equal
inputs give the same answer with a given scipy version; the round's algorithm
version names that version for audits.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import min_weight_full_bipartite_matching

IntArray = npt.NDArray[np.int64]
Pairs = list[tuple[int, int]]

_EXACT_LIMIT = 2**52


def _prepare(
    rows: IntArray, cols: IntArray, units: IntArray, capacity: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    rows, cols, units = (np.asarray(a, dtype=np.int64) for a in (rows, cols, units))
    if len(units) and units.min() < 0:
        raise ValueError("scores must be non-negative")
    keep = np.asarray(capacity, dtype=np.int64)[cols] > 0
    rows, cols, units = rows[keep], cols[keep], units[keep]
    order = np.lexsort((cols, rows))
    return rows[order], cols[order], units[order]


def _expand(
    rows: IntArray, cols: IntArray, units: IntArray, capacity: IntArray
) -> tuple[IntArray, IntArray, IntArray, IntArray, IntArray]:
    """Compact rows/columns to those with edges and give each mentor
    ``min(capacity, degree)`` slots (more could never be used)."""
    row_ids, row_idx = np.unique(rows, return_inverse=True)
    col_ids, col_idx = np.unique(cols, return_inverse=True)
    degree = np.bincount(col_idx, minlength=len(col_ids))
    slots = np.minimum(np.asarray(capacity, dtype=np.int64)[col_ids], degree)
    offset = np.concatenate(([0], np.cumsum(slots)[:-1])).astype(np.int64)
    repeat = slots[col_idx]
    edge = np.repeat(np.arange(len(rows)), repeat)
    starts = np.repeat(np.cumsum(repeat) - repeat, repeat)
    slot_col = offset[col_idx[edge]] + (np.arange(len(edge)) - starts)
    slot_owner = np.repeat(col_ids, slots)
    return row_ids, row_idx[edge], slot_col, units[edge], slot_owner


def optimal_assignment(
    rows: IntArray, cols: IntArray, units: IntArray, capacity: IntArray
) -> Pairs:
    """Maximum-cardinality, then maximum-score assignment of rows to columns.

    ``rows``/``cols`` index feasible edges (mentee, mentor), ``units`` their
    integer scores, ``capacity`` the remaining slots per mentor column.
    Returns sorted (row, col) pairs; each row at most once, each column at
    most ``capacity`` times.
    """
    rows, cols, units = _prepare(rows, cols, units, capacity)
    if len(rows) == 0:
        return []
    row_ids, r, c, u, slot_owner = _expand(rows, cols, units, capacity)
    n, n_slots = len(row_ids), len(slot_owner)
    smax = int(units.max())
    bound = min(n, n_slots)
    dummy = bound * smax + 2
    if (n + 1) * (dummy + smax + 1) >= _EXACT_LIMIT:
        raise ValueError("cohort too large for exact integer costs; split the round")
    cost = np.concatenate((1 + smax - u, np.full(n, dummy, dtype=np.int64))).astype(np.float64)
    all_rows = np.concatenate((r, np.arange(n)))
    all_cols = np.concatenate((c, n_slots + np.arange(n)))
    graph = csr_matrix((cost, (all_rows, all_cols)), shape=(n, n_slots + n))
    graph.sort_indices()
    row_ind, col_ind = min_weight_full_bipartite_matching(graph)
    real = col_ind < n_slots
    return sorted(
        zip(row_ids[row_ind[real]].tolist(), slot_owner[col_ind[real]].tolist(), strict=True)
    )


def exact_dense_assignment(
    rows: IntArray, cols: IntArray, units: IntArray, capacity: IntArray
) -> Pairs:
    """The same objective with ``linear_sum_assignment`` on the dense
    capacity-expanded matrix: a reference for tests and the benchmark only
    (memory is mentees x slots)."""
    rows, cols, units = _prepare(rows, cols, units, capacity)
    if len(rows) == 0:
        return []
    row_ids, r, c, u, slot_owner = _expand(rows, cols, units, capacity)
    n, n_slots = len(row_ids), len(slot_owner)
    smax = int(units.max())
    dummy = min(n, n_slots) * smax + 2
    matrix = np.full((n, n_slots + n), np.inf)
    matrix[r, c] = 1 + smax - u
    matrix[np.arange(n), n_slots + np.arange(n)] = dummy
    row_ind, col_ind = linear_sum_assignment(matrix)
    real = col_ind < n_slots
    return sorted(
        zip(row_ids[row_ind[real]].tolist(), slot_owner[col_ind[real]].tolist(), strict=True)
    )


def greedy_first_come(rows: IntArray, cols: IntArray, units: IntArray, capacity: IntArray) -> Pairs:
    """Baseline for the benchmark: mentees in row order (arrival order) each
    take their best-scoring mentor with a free slot, ties to the lower column."""
    rows, cols, units = _prepare(rows, cols, units, capacity)
    left = np.asarray(capacity, dtype=np.int64).copy()
    # Within each row: best score first, then lowest column.
    order = np.lexsort((cols, -units, rows))
    pairs: Pairs = []
    current, done = -1, False
    for i in order.tolist():
        row, col = int(rows[i]), int(cols[i])
        if row != current:
            current, done = row, False
        if not done and left[col] > 0:
            left[col] -= 1
            pairs.append((row, col))
            done = True
    return sorted(pairs)


# -- candidate pruning for large rounds ------------------------------------------------
#: Rounds with more feasible pairs than this are pruned before the solver.
PRUNE_ABOVE_PAIRS = 1_000_000
#: Pairs kept per mentee (its best mentors) ...
PRUNE_PER_MENTEE = 16
#: ... plus, per mentor, its best ``PRUNE_PER_MENTOR_SLOT x capacity`` mentees,
#: so that mentors nobody ranks first keep candidates (cardinality protection).
PRUNE_PER_MENTOR_SLOT = 16

BoolArray = npt.NDArray[np.bool_]


def _top_per_group(group: IntArray, other: IntArray, units: IntArray, keep: IntArray) -> BoolArray:
    """Mask of each group's ``keep[group]`` best edges (score, then lower index)."""
    order = np.lexsort((other, -units, group))
    sorted_group = group[order]
    starts = np.searchsorted(sorted_group, sorted_group, side="left")
    rank = np.arange(len(order)) - starts
    mask = np.zeros(len(order), dtype=bool)
    mask[order] = rank < keep[sorted_group]
    return mask


def candidate_mask(
    rows: IntArray,
    cols: IntArray,
    units: IntArray,
    capacity: IntArray,
    per_mentee: int = PRUNE_PER_MENTEE,
    per_mentor_slot: int = PRUNE_PER_MENTOR_SLOT,
) -> BoolArray:
    """Edges among a mentee's best ``per_mentee`` or a mentor's best
    ``per_mentor_slot x capacity``: deterministic (ties to lower indices)."""
    rows, cols, units = (np.asarray(a, dtype=np.int64) for a in (rows, cols, units))
    if len(rows) == 0:
        return np.zeros(0, dtype=bool)
    n_rows = int(rows.max()) + 1
    mentee_keep = np.full(n_rows, per_mentee, dtype=np.int64)
    mentor_keep = np.asarray(capacity, dtype=np.int64) * per_mentor_slot
    by_mentee = _top_per_group(rows, cols, units, mentee_keep)
    by_mentor = _top_per_group(cols, rows, units, mentor_keep)
    return by_mentee | by_mentor


def pruned_assignment(
    rows: IntArray,
    cols: IntArray,
    units: IntArray,
    capacity: IntArray,
    above: int = PRUNE_ABOVE_PAIRS,
    per_mentee: int = PRUNE_PER_MENTEE,
    per_mentor_slot: int = PRUNE_PER_MENTOR_SLOT,
) -> Pairs:
    """``optimal_assignment``, on the pruned candidate pairs when there are more
    than ``above`` (exact below). Pruning trades a small, benchmarked loss
    (``make bench``: matched and score against the unpruned optimum) for the
    solver time of very large cohorts."""
    if len(rows) <= above:
        return optimal_assignment(rows, cols, units, capacity)
    keep = candidate_mask(rows, cols, units, capacity, per_mentee, per_mentor_slot)
    return optimal_assignment(rows[keep], cols[keep], units[keep], capacity)
