"""Matching benchmark: quality against exact and greedy solvers, and scale.

Cohorts are generated (seeded, deterministic) with realistic shapes: Zipf-like
skill popularity over 30 topics (demand more skewed than supply), 5-30
departments of skewed sizes, six sites in five time zones with their
languages, a reporting tree spanning mentors and mentees (with some
cross-department "matrix" reporting), mentors born 1994-2004 and mentees born
1960-1980, weekly availability in local working hours, meeting preferences,
about 90 % of mentors certified, mentor capacity 2.

- Quality: one ``run_round`` per instance; the solver ``run_round`` uses (its
  default) is wrapped so the exact feasible scored pairs it receives are
  recorded, then ``exact_dense_assignment`` (``linear_sum_assignment`` on the
  dense capacity-expanded matrix) and ``greedy_first_come`` solve the same
  pairs. Ours must equal the exact optimum in matched count and total score.
  Greedy takes mentees in canonical (participant id) order, which the
  generator makes their arrival order.
  The feasible pairs are also recounted independently, pair by pair, with
  ``constraints.first_exclusion``: if the round pruned candidates before its
  solver, the exact optimum is taken over the full set and the loss shows.
- Scale: each size runs in a fresh child process (``python -m bench.matching
  --child``), timed with ``perf_counter`` around ``run_round`` alone (not the
  cohort generation). Memory is RSS, not tracemalloc (which slows Python code
  and misses scipy's C++ allocations): the child resets its peak RSS
  (``/proc/self/clear_refs``) just before ``run_round``, so its ``VmHWM``
  afterwards is the process's peak during the round (interpreter, libraries
  and the cohort included: the figure compared with the target); the delta is
  that peak minus the RSS just before the round. ``VmHWM`` is the same
  high-water mark as ``getrusage(RUSAGE_SELF).ru_maxrss`` minus one artefact:
  ``ru_maxrss`` also counts the parent's RSS at the fork before the child's
  exec, so a grown parent would inflate small children. The largest size runs
  only at ``--scale >= 1`` and when the previous size took under 60 s.

Run alone with ``python -m bench.matching [--scale S]``; ``bench.run`` includes it.
"""

from __future__ import annotations

import argparse
import gc
import inspect
import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.candidates import (
    EITHER,
    IN_PERSON,
    VIRTUAL,
    MenteeCandidate,
    MentorCandidate,
    Need,
    ProgrammeRules,
    SkillOffer,
    Window,
)
from revmentor.matching.domain.round import RoundResult, run_round
from revmentor.matching.domain.scoring import score_pair, score_units
from revmentor.matching.domain.solver import (
    PRUNE_ABOVE_PAIRS,
    candidate_mask,
    exact_dense_assignment,
    greedy_first_come,
    optimal_assignment,
)

IntArray = npt.NDArray[np.int64]
Pairs = list[tuple[int, int]]
Solver = Callable[[IntArray, IntArray, IntArray, IntArray], Pairs]

SEED = 20261126
CAPACITY = 2
#: Issue 5's target on this 2-core machine.
TARGET_SIZE = (10_000, 5_000)
TARGET_SECONDS = 20.0
TARGET_MB = 1536.0
#: The largest size runs only if the one before it took less than this.
LARGEST_GATE_SECONDS = 60.0
CHILD_TIMEOUT_SECONDS = 900.0

#: Sizes before ``--scale`` (mentees, mentors); at least MIN_* after it.
QUALITY_SIZES = ((500, 250), (1_000, 500), (2_000, 1_000), (2_000, 2_000))
SCALE_SIZES = ((1_000, 500), (2_000, 1_000), (5_000, 2_500))
MIN_MENTEES, MIN_MENTORS = 40, 20

TOPICS = (
    "generative-ai",
    "social-media",
    "cloud-basics",
    "cybersecurity",
    "data-visualisation",
    "spreadsheets-advanced",
    "python",
    "video-calls",
    "collaboration-tools",
    "mobile-apps",
    "prompt-writing",
    "personal-branding",
    "low-code",
    "sql",
    "project-tools",
    "e-commerce",
    "podcasting",
    "video-editing",
    "accessibility",
    "privacy",
    "machine-learning",
    "devops",
    "ux-research",
    "blockchain",
    "gaming-culture",
    "digital-wellbeing",
    "remote-management",
    "agile",
    "open-source",
    "quantum-basics",
)


@dataclass(frozen=True)
class Site:
    name: str
    time_zone: str
    weight: float
    #: (language, probability of speaking it)
    languages: tuple[tuple[str, float], ...]


SITES = (
    Site("Paris", "Europe/Paris", 0.28, (("fr", 1.0), ("en", 0.7), ("es", 0.1))),
    Site("Lyon", "Europe/Paris", 0.10, (("fr", 1.0), ("en", 0.5))),
    Site("London", "Europe/London", 0.20, (("en", 1.0), ("fr", 0.15), ("de", 0.05))),
    Site("New York", "America/New_York", 0.20, (("en", 1.0), ("es", 0.2))),
    Site("Bangalore", "Asia/Kolkata", 0.13, (("en", 0.95), ("hi", 0.6), ("kn", 0.3))),
    Site("Tokyo", "Asia/Tokyo", 0.09, (("ja", 1.0), ("en", 0.45))),
)


@dataclass
class Cohort:
    mentees: list[MenteeCandidate]
    mentors: list[MentorCandidate]
    rules: ProgrammeRules
    manager_chain: dict[str, str]
    departments: int
    shape: dict[str, Any] = field(default_factory=dict)


def zipf_weights(n: int, exponent: float) -> list[float]:
    return [1.0 / (rank**exponent) for rank in range(1, n + 1)]


def _languages(rng: random.Random, site: Site) -> tuple[str, ...]:
    spoken = tuple(lang for lang, p in site.languages if rng.random() < p)
    return spoken or (site.languages[0][0],)


def _availability(rng: random.Random, evenings: float) -> tuple[Window, ...]:
    """1-4 weekly slots in local time: mostly weekday working hours, some evenings
    and weekends (younger mentors more often in the evening)."""
    windows: set[Window] = set()
    for _ in range(rng.choice((1, 2, 2, 3, 3, 4))):
        weekend = rng.random() < 0.08
        day = rng.randint(6, 7) if weekend else rng.randint(1, 5)
        if rng.random() < evenings:
            start = rng.choice((18 * 60, 18 * 60 + 30, 19 * 60, 20 * 60))
        else:
            start = rng.choice(range(8 * 60, 17 * 60, 30))
        length = rng.choice((60, 90, 120, 120, 180, 240))
        end = min(start + length, 23 * 60)
        windows.add(Window(day, _hhmm(start), _hhmm(end)))
    return tuple(sorted(windows))


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _preference(rng: random.Random) -> str:
    preference: str = rng.choices((EITHER, VIRTUAL, IN_PERSON), weights=(0.6, 0.27, 0.13))[0]
    return preference


def generate_cohort(n_mentees: int, n_mentors: int, seed: int = SEED) -> Cohort:
    """A deterministic cohort of the given size (same seed, same cohort)."""
    rng = random.Random(f"{seed}:{n_mentees}:{n_mentors}")
    n_departments = rng.randint(5, 30)
    departments = [f"dept-{d:02d}" for d in range(n_departments)]
    dept_weights = zipf_weights(n_departments, 0.8)
    site_weights = [s.weight for s in SITES]
    demand = zipf_weights(len(TOPICS), 1.2)  # what mentees ask for: very skewed
    supply = zipf_weights(len(TOPICS), 0.8)  # what mentors offer: less so

    # Reporting tree: CEO <- division heads <- department heads (the oldest
    # mentee of the department when there is one) <- senior mentees <- mentors,
    # with ~12 % of mentors reporting to a senior of another department.
    chain: dict[str, str] = {"DIV0": "CEO", "DIV1": "CEO", "DIV2": "CEO"}
    heads: dict[str, str] = {}

    def person(n: int, role: str) -> tuple[str, str, Site, str]:
        site = rng.choices(SITES, weights=site_weights)[0]
        department = rng.choices(departments, weights=dept_weights)[0]
        return f"{role}-{n:06d}", f"E{role[:2].upper()}{n:06d}", site, department

    mentees: list[MenteeCandidate] = []
    seniors: dict[str, list[str]] = {d: [] for d in departments}
    for n in range(n_mentees):
        pid, eid, site, department = person(n, "mentee")
        if department not in heads:
            heads[department] = eid
            manager = f"DIV{len(heads) % 3}"
        else:
            manager = rng.choice([heads[department], *seniors[department][-20:]])
        seniors[department].append(eid)
        chain[eid] = manager
        topics = rng.choices(TOPICS, weights=demand, k=rng.choice((1, 2, 2, 3, 3, 4)))
        needs = {t: Need(t, rng.choice((1, 2, 2, 3))) for t in topics}
        mentees.append(
            MenteeCandidate(
                participant_id=pid,
                employee_id=eid,
                manager_employee_id=manager,
                department=department,
                site=site.name,
                time_zone=site.time_zone,
                birth_year=rng.randint(1960, 1980),
                languages=_languages(rng, site),
                availability=_availability(rng, evenings=0.1),
                meeting_preference=_preference(rng),
                learning_needs=tuple(sorted(needs.values())),
            )
        )
    all_seniors = [eid for group in seniors.values() for eid in group]
    mentors: list[MentorCandidate] = []
    certified = 0
    for n in range(n_mentors):
        pid, eid, site, department = person(n, "mentor")
        if rng.random() < 0.12 and all_seniors:
            manager = rng.choice(all_seniors)
        elif seniors[department]:
            manager = rng.choice(seniors[department])
        else:
            manager = heads.get(department, f"DIV{n % 3}")
        chain[eid] = manager
        topics = rng.choices(TOPICS, weights=supply, k=rng.choice((1, 2, 3, 3, 4, 5)))
        skills = {t: SkillOffer(t, rng.choice((1, 2, 2, 3, 3))) for t in topics}
        is_certified = rng.random() < 0.9
        certified += is_certified
        mentors.append(
            MentorCandidate(
                participant_id=pid,
                employee_id=eid,
                manager_employee_id=manager,
                department=department,
                site=site.name,
                time_zone=site.time_zone,
                birth_year=rng.randint(1994, 2004),
                languages=_languages(rng, site),
                availability=_availability(rng, evenings=0.3),
                meeting_preference=_preference(rng),
                skills_offered=tuple(sorted(skills.values())),
                certified=is_certified,
            )
        )
    shape = {
        "departments": n_departments,
        "sites": len(SITES),
        "time_zones": len({s.time_zone for s in SITES}),
        "topics": len(TOPICS),
        "certified_mentors": certified,
        "slots": certified * CAPACITY,
        "reporting_links": len(chain),
    }
    rules = ProgrammeRules(mentor_capacity=CAPACITY)
    return Cohort(mentees, mentors, rules, chain, n_departments, shape)


class RecordingSolver:
    """Wraps ``run_round``'s default solver: times it and, if asked, keeps the
    feasible scored pairs it was given (the exact input of the assignment)."""

    def __init__(self, record: bool, keep: bool = False) -> None:
        default = inspect.signature(run_round).parameters["solver"].default
        self.inner: Solver = default
        self.record = record
        #: keep references (no copy) to the inputs, for the pruning-loss check
        self.keep = keep
        self.inputs: tuple[IntArray, IntArray, IntArray, IntArray] | None = None
        self.seconds = 0.0

    def __call__(self, rows: IntArray, cols: IntArray, units: IntArray, cap: IntArray) -> Pairs:
        if self.record:
            self.inputs = (rows.copy(), cols.copy(), units.copy(), cap.copy())
        elif self.keep:
            self.inputs = (rows, cols, units, cap)
        started = time.perf_counter()
        pairs = self.inner(rows, cols, units, cap)
        self.seconds += time.perf_counter() - started
        return pairs


def _round(cohort: Cohort, solver: RecordingSolver) -> RoundResult:
    return run_round(
        cohort.mentees, cohort.mentors, cohort.rules, cohort.manager_chain, solver=solver
    )


def _totals(pairs: Pairs, rows: IntArray, cols: IntArray, units: IntArray) -> tuple[int, int]:
    """(matched count, total score units) of ``pairs`` over the given edges."""
    lookup = {(int(r), int(k)): int(u) for r, k, u in zip(rows, cols, units, strict=True)}
    return len(pairs), sum(lookup[p] for p in pairs)


def _valid(pairs: Pairs, cap: IntArray) -> bool:
    rows = [r for r, _ in pairs]
    used = np.bincount(np.array([k for _, k in pairs], dtype=np.int64), minlength=len(cap))
    return len(rows) == len(set(rows)) and bool((used[: len(cap)] <= cap).all())


def independent_edges(cohort: Cohort) -> tuple[IntArray, IntArray, IntArray]:
    """Every feasible pair, checked one by one with ``first_exclusion`` and
    scored with ``score_pair`` (indices in canonical participant-id order)."""
    mentees = sorted(cohort.mentees, key=lambda m: m.participant_id)
    mentors = sorted(cohort.mentors, key=lambda m: m.participant_id)
    ctx = c.PairContext(cohort.rules, c.ManagerChain(cohort.manager_chain))
    rows: list[int] = []
    cols: list[int] = []
    units: list[int] = []
    for i, mentee in enumerate(mentees):
        for j, mentor in enumerate(mentors):
            if c.first_exclusion(mentee, mentor, ctx) is None:
                minutes = c.overlap_minutes(mentee, mentor, ctx)
                rows.append(i)
                cols.append(j)
                units.append(score_units(score_pair(mentee, mentor, minutes, cohort.rules).total))
    as_array = [np.array(x, dtype=np.int64) for x in (rows, cols, units)]
    return as_array[0], as_array[1], as_array[2]


def quality(n_mentees: int, n_mentors: int, seed: int = SEED) -> dict[str, Any]:
    cohort = generate_cohort(n_mentees, n_mentors, seed)
    solver = RecordingSolver(record=True)
    started = time.perf_counter()
    result = _round(cohort, solver)
    round_seconds = time.perf_counter() - started
    assert solver.inputs is not None, "run_round did not call its solver"
    rows, cols, units, cap = solver.inputs
    ours = (result.matched_count, result.total_score_units)

    started = time.perf_counter()
    exact_pairs = exact_dense_assignment(rows, cols, units, cap)
    exact_seconds = time.perf_counter() - started
    started = time.perf_counter()
    greedy_pairs = greedy_first_come(rows, cols, units, cap)
    greedy_seconds = time.perf_counter() - started
    exact = _totals(exact_pairs, rows, cols, units)
    greedy = _totals(greedy_pairs, rows, cols, units)

    # Independent recount: would the exact optimum over *all* feasible pairs be
    # better than over what the round's solver received (candidate pruning)?
    started = time.perf_counter()
    all_rows, all_cols, all_units = independent_edges(cohort)
    recount_seconds = time.perf_counter() - started
    given = set(zip(rows.tolist(), cols.tolist(), units.tolist(), strict=True))
    everything = set(zip(all_rows.tolist(), all_cols.tolist(), all_units.tolist(), strict=True))
    pruned = len(everything - given)
    full = exact
    if everything != given:
        full = _totals(
            exact_dense_assignment(all_rows, all_cols, all_units, cap),
            all_rows,
            all_cols,
            all_units,
        )
    return {
        "mentees": n_mentees,
        "mentors": n_mentors,
        "capacity": CAPACITY,
        "shape": cohort.shape,
        "feasible_pairs": len(rows),
        "feasible_pairs_recounted": len(all_rows),
        "pruned_pairs": pruned,
        "same_pairs_as_recount": given == everything,
        "ours": {"matched": ours[0], "score": ours[1] / 1e6, "seconds": round(round_seconds, 3)},
        "solver_seconds": round(solver.seconds, 3),
        "exact": {"matched": exact[0], "score": exact[1] / 1e6, "seconds": round(exact_seconds, 3)},
        "exact_over_all_feasible": {"matched": full[0], "score": full[1] / 1e6},
        "greedy": {
            "matched": greedy[0],
            "score": greedy[1] / 1e6,
            "seconds": round(greedy_seconds, 4),
        },
        "recount_seconds": round(recount_seconds, 3),
        "equal_to_exact": ours == exact,
        "equal_to_exact_over_all_feasible": ours == full,
        "valid_assignments": _valid(exact_pairs, cap) and _valid(greedy_pairs, cap),
        "ratio_vs_exact": {
            "matched": _ratio(ours[0], exact[0]),
            "score": _ratio(ours[1], exact[1]),
        },
        "ratio_vs_greedy": {
            "matched": _ratio(ours[0], greedy[0]),
            "score": _ratio(ours[1], greedy[1]),
        },
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


# -- scale: one size per child process --------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _peak_mb() -> float:
    """The process's peak RSS: ``VmHWM`` of this address space. (``ru_maxrss``
    is not used: after fork+exec it also counts the parent's RSS at the fork,
    so a large parent would inflate a small child's figure.)"""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_peak() -> bool:
    """Reset the process's peak RSS (``VmHWM``, Linux >= 4.0), so it measures
    what follows only; False if the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def child(n_mentees: int, n_mentors: int, seed: int) -> dict[str, Any]:
    started = time.perf_counter()
    cohort = generate_cohort(n_mentees, n_mentors, seed)
    generate_seconds = time.perf_counter() - started
    solver = RecordingSolver(record=False, keep=True)
    gc.collect()
    before_peak = _peak_mb()
    reset = _reset_peak()
    before_rss = _rss_mb()
    started = time.perf_counter()
    result = _round(cohort, solver)
    seconds = time.perf_counter() - started
    peak = _peak_mb()
    return {
        "mentees": n_mentees,
        "mentors": n_mentors,
        "status": "measured",
        "seconds": round(seconds, 3),
        "solver_seconds": round(solver.seconds, 3),
        "generate_seconds": round(generate_seconds, 3),
        "peak_rss_mb": round(peak, 1),
        "rss_before_round_mb": round(before_rss, 1),
        "peak_before_round_mb": round(before_peak, 1),
        "peak_reset_before_round": reset,
        "round_peak_delta_mb": round(peak - before_rss, 1),
        "matched": result.matched_count,
        "unmatched": len(result.unmatched),
        "score": result.total_score_units / 1e6,
        "certified_mentors": cohort.shape["certified_mentors"],
        **pruning_loss(solver, result),
    }


def pruning_loss(solver: RecordingSolver, result: RoundResult) -> dict[str, Any]:
    """What candidate pruning cost, measured after the timed round: the same
    feasible pairs solved unpruned (the exact optimum) against the round's pairs."""
    assert solver.inputs is not None
    rows, cols, units, cap = solver.inputs
    out: dict[str, Any] = {"feasible_pairs": len(rows), "pruned": len(rows) > PRUNE_ABOVE_PAIRS}
    if not out["pruned"]:
        return out
    kept = int(candidate_mask(rows, cols, units, cap).sum())
    started = time.perf_counter()
    exact = optimal_assignment(rows, cols, units, cap)
    exact_seconds = time.perf_counter() - started
    matched, score = _totals(exact, rows, cols, units)
    out.update(
        kept_pairs=kept,
        unpruned_seconds=round(exact_seconds, 3),
        unpruned_matched=matched,
        unpruned_score=score / 1e6,
        matched_loss=matched - result.matched_count,
        score_ratio=round(result.total_score_units / score, 6) if score else None,
    )
    return out


def measure_in_child(n_mentees: int, n_mentors: int, seed: int = SEED) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.matching", "--child", f"{n_mentees}x{n_mentors}"]
    command += ["--seed", str(seed)]
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT_SECONDS, check=False
        )
    except subprocess.TimeoutExpired:
        return {
            "mentees": n_mentees,
            "mentors": n_mentors,
            "status": f"timed out after {CHILD_TIMEOUT_SECONDS:.0f} s",
            "seconds": None,
        }
    if done.returncode != 0:
        return {
            "mentees": n_mentees,
            "mentors": n_mentors,
            "status": f"failed (exit {done.returncode}): {done.stderr.strip()[-500:]}",
            "seconds": None,
            "wall_seconds": round(time.perf_counter() - started, 1),
        }
    row: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return row


def _size(n_mentees: int, n_mentors: int, scale: float) -> tuple[int, int]:
    return max(round(n_mentees * scale), MIN_MENTEES), max(round(n_mentors * scale), MIN_MENTORS)


def _label(size: Sequence[int]) -> str:
    return f"{size[0]}x{size[1]}"


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def scale_series(scale: float, seed: int = SEED) -> list[dict[str, Any]]:
    sizes = [_size(m, n, scale) for m, n in SCALE_SIZES]
    out: list[dict[str, Any]] = []
    previous: float | None = None
    for size in sizes:
        _progress(f"matching scale {_label(size)} (child process) ...")
        row = measure_in_child(*size, seed)
        out.append(row)
        previous = row.get("seconds")
        _progress(f"    {_scale_line(row)}")
    largest = {"mentees": TARGET_SIZE[0], "mentors": TARGET_SIZE[1]}
    if scale < 1:
        out.append({**largest, "status": f"skipped (needs --scale >= 1, got {scale})"})
    elif previous is None or previous >= LARGEST_GATE_SECONDS:
        took = "did not finish" if previous is None else f"took {previous:.1f} s"
        out.append(
            {**largest, "status": f"skipped (previous size {took}, gate {LARGEST_GATE_SECONDS} s)"}
        )
    else:
        _progress(f"matching scale {_label(TARGET_SIZE)} (child process) ...")
        row = measure_in_child(*TARGET_SIZE, seed)
        out.append(row)
        _progress(f"    {_scale_line(row)}")
    for row in out:
        if (row["mentees"], row["mentors"]) == TARGET_SIZE and row.get("seconds") is not None:
            row["meets_target"] = bool(
                row["seconds"] < TARGET_SECONDS and row["peak_rss_mb"] < TARGET_MB
            )
    return out


def _scale_line(row: dict[str, Any]) -> str:
    if row.get("seconds") is None:
        return f"{_label((row['mentees'], row['mentors']))}: {row['status']}"
    return (
        f"{_label((row['mentees'], row['mentors']))}: {row['seconds']:.2f} s"
        f" (solver {row['solver_seconds']:.2f} s), peak RSS {row['peak_rss_mb']:.0f} MB"
        f" (+{row['round_peak_delta_mb']:.0f} MB during the round),"
        f" matched {row['matched']}{_loss_note(row)}"
    )


def _loss_note(row: dict[str, Any]) -> str:
    if not row.get("pruned"):
        return ""
    return (
        f"; pruned {row['feasible_pairs']:,} -> {row['kept_pairs']:,} pairs: "
        f"{row['matched_loss']} fewer matched, score x{row['score_ratio']} of the unpruned "
        f"optimum (which took {row['unpruned_seconds']:.1f} s to solve)"
    )


# -- the benchmark -----------------------------------------------------------------
def run(scale: float, seed: int = SEED) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``matching`` section."""
    started = time.perf_counter()
    qualities = []
    for m, n in sorted({_size(m, n, scale) for m, n in QUALITY_SIZES}):
        _progress(f"matching quality {m}x{n}: ours vs exact vs greedy ...")
        q = quality(m, n, seed)
        qualities.append(q)
        _progress(
            f"    equal to exact: {'yes' if q['equal_to_exact'] else 'NO'};"
            f" vs greedy: matched x{q['ratio_vs_greedy']['matched']},"
            f" score x{q['ratio_vs_greedy']['score']}"
        )
    series = scale_series(scale, seed)
    section = {
        "seed": seed,
        "capacity": CAPACITY,
        "memory_method": (
            "RSS of a fresh child process per size: peak = VmHWM (/proc/self/status) after"
            " run_round, reset (/proc/self/clear_refs) just before it, so it is the whole"
            " process's peak RSS during the round; +MB = that peak minus the RSS just before"
            " the round (not ru_maxrss: after fork+exec it includes the parent's RSS)"
        ),
        "target": {
            "mentees": TARGET_SIZE[0],
            "mentors": TARGET_SIZE[1],
            "seconds": TARGET_SECONDS,
            "peak_mb": TARGET_MB,
        },
        "quality": qualities,
        "scale": series,
        "seconds": round(time.perf_counter() - started, 1),
    }
    return table_rows(qualities, series), section


def table_rows(
    qualities: list[dict[str, Any]], series: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for q in qualities:
        size = _label((q["mentees"], q["mentors"]))
        for other in ("exact", "greedy"):
            for what, unit in (("score", "score points"), ("matched", "mentees matched")):
                rows.append(
                    {
                        "benchmark": f"matching {size}: ours vs {other} ({what})",
                        "unit": unit,
                        "ours": q["ours"][what],
                        "raw": q[other][what],
                        "ratio": q[f"ratio_vs_{other}"][what],
                    }
                )
    for row in series:
        if (row["mentees"], row["mentors"]) != TARGET_SIZE:
            continue
        size = _label(TARGET_SIZE)
        measured = row.get("seconds") is not None
        rows.append(
            {
                "benchmark": f"matching {size}: s vs {TARGET_SECONDS:.0f} s target",
                "unit": "seconds",
                "ours": row.get("seconds"),
                "raw": TARGET_SECONDS,
                "ratio": round(row["seconds"] / TARGET_SECONDS, 3) if measured else None,
                "note": None if measured else row["status"],
            }
        )
        rows.append(
            {
                "benchmark": f"matching {size}: MB vs {TARGET_MB:.0f} MB target",
                "unit": "MB peak RSS",
                "ours": row.get("peak_rss_mb"),
                "raw": TARGET_MB,
                "ratio": round(row["peak_rss_mb"] / TARGET_MB, 3) if measured else None,
                "note": None if measured else row["status"],
            }
        )
    return rows


def print_section(section: dict[str, Any]) -> None:
    print(f"\nmatching quality (capacity {section['capacity']}, seed {section['seed']})")
    print(
        f"{'size':<12}{'pairs':>9}{'ours matched':>14}{'ours score':>12}"
        f"{'exact matched/score':>21}{'equal':>7}{'greedy matched/score':>22}{'vs greedy':>16}"
    )
    for q in section["quality"]:
        exact, greedy = q["exact"], q["greedy"]
        vs = q["ratio_vs_greedy"]
        print(
            f"{_label((q['mentees'], q['mentors'])):<12}{q['feasible_pairs']:>9,}"
            f"{q['ours']['matched']:>14,}{q['ours']['score']:>12,.2f}"
            f"{exact['matched']:>11,}/{exact['score']:<9,.2f}"
            f"{'yes' if q['equal_to_exact'] else 'NO':>7}"
            f"{greedy['matched']:>12,}/{greedy['score']:<9,.2f}"
            f"{vs['matched']:>8.3f}/{vs['score']:.3f}"
        )
        if q["pruned_pairs"]:
            full = q["exact_over_all_feasible"]
            print(
                f"{'':<12}pruned {q['pruned_pairs']:,} feasible pairs; exact over all:"
                f" {full['matched']}/{full['score']:.2f}"
                f" (equal: {'yes' if q['equal_to_exact_over_all_feasible'] else 'NO'})"
            )
    target = section["target"]
    print(
        f"\nmatching scale (run_round; target {_label((target['mentees'], target['mentors']))}"
        f" < {target['seconds']:.0f} s and < {target['peak_mb']:.0f} MB peak)"
    )
    print(
        f"{'size':<12}{'seconds':>9}{'solver s':>10}{'peak MB':>9}{'round +MB':>11}{'matched':>9}"
    )
    for row in section["scale"]:
        size = _label((row["mentees"], row["mentors"]))
        if row.get("seconds") is None:
            print(f"{size:<12}  {row['status']}")
            continue
        verdict = ""
        if "meets_target" in row:
            verdict = "  meets target" if row["meets_target"] else "  MISSES target"
        print(
            f"{size:<12}{row['seconds']:>9.2f}{row['solver_seconds']:>10.2f}"
            f"{row['peak_rss_mb']:>9.0f}{row['round_peak_delta_mb']:>11.0f}"
            f"{row['matched']:>9,}{verdict}"
        )
        if row.get("pruned"):
            print(f"{'':<12}{_loss_note(row).lstrip('; ')}")
    print(f"(memory: {section['memory_method']})")


def _parse_size(text: str) -> tuple[int, int]:
    mentees, _, mentors = text.partition("x")
    return int(mentees), int(mentors)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--child", metavar="MxN", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*_parse_size(args.child), args.seed)))
        return
    print(f"revmentor matching benchmark (scale {args.scale})", file=sys.stderr)
    _, section = run(args.scale, args.seed)
    print_section(section)


if __name__ == "__main__":
    main()
