"""The outcomes of a programme, computed from facts, with small groups suppressed.

Pure functions over plain values so the report is a deterministic function of
the facts (and testable against figures computed independently). Any figure
computed over fewer than ``min_group`` people is suppressed - reported as
``None`` with the reason - so nobody can be singled out from an aggregate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import fmean
from typing import Any

DEFAULT_MIN_GROUP = 5
FUNNEL = ("enrolled", "certified", "matched", "met", "completed")


@dataclass(frozen=True)
class Figure:
    """A number and how many people it stands for; ``value`` None when suppressed."""

    value: float | None
    people: int
    suppressed: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "people": self.people}
        if self.suppressed:
            out["suppressed"] = True
        return out


def figure(values: Sequence[float], people: int, min_group: int, digits: int = 2) -> Figure:
    """The mean of ``values`` standing for ``people`` people, unless too few."""
    if people < min_group or not values:
        return Figure(None, people, suppressed=people > 0)
    return Figure(round(fmean(values), digits), people)


def nps(scores: Sequence[int], min_group: int) -> Figure:
    """Net promoter score: % of 9-10 minus % of 0-6, over ``scores`` (one per person)."""
    if len(scores) < min_group:
        return Figure(None, len(scores), suppressed=bool(scores))
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return Figure(round(100.0 * (promoters - detractors) / len(scores), 1), len(scores))


@dataclass(frozen=True)
class Change:
    """End minus baseline for the people who answered both."""

    mean: Figure
    distribution: dict[int, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean.as_dict(),
            "distribution": None
            if self.mean.suppressed
            else {str(k): v for k, v in sorted(self.distribution.items())},
        }


def change(baseline: Mapping[str, float], end: Mapping[str, float], min_group: int) -> Change:
    """Per person (keys) end - baseline; the distribution is suppressed with the mean."""
    both = sorted(set(baseline) & set(end))
    deltas = [end[p] - baseline[p] for p in both]
    mean = figure(deltas, len(both), min_group)
    counts = Counter(round(d) for d in deltas)
    return Change(mean, dict(counts) if not mean.suppressed else {})


def funnel(counts: Mapping[str, int], min_group: int) -> dict[str, dict[str, Any]]:
    """Stage -> count; a stage below ``min_group`` (but not zero) is suppressed."""
    out = {}
    for stage in FUNNEL:
        n = int(counts.get(stage, 0))
        hidden = 0 < n < min_group
        out[stage] = {"value": None if hidden else n, "people": n} | (
            {"suppressed": True} if hidden else {}
        )
    return out


def skill_changes(
    baseline: Mapping[str, Mapping[str, int]],
    end: Mapping[str, Mapping[str, int]],
    topics: Iterable[str],
    min_group: int,
) -> dict[str, Change]:
    """Per topic: mentees' (end - baseline) self-rated skill."""
    out = {}
    for topic in topics:
        before = {p: s[topic] for p, s in baseline.items() if topic in s}
        after = {p: s[topic] for p, s in end.items() if topic in s}
        out[topic] = change(before, after, min_group)
    return out
