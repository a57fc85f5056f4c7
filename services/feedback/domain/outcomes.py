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
#: The stages each role goes through (mentees are not certified).
ROLE_FUNNEL = {
    "mentee": ("enrolled", "matched", "met", "completed"),
    "mentor": FUNNEL,
}


@dataclass(frozen=True)
class Figure:
    """A number and how many people it stands for. Suppressed: neither is shown
    (for a count, how many people *is* the figure), only that there were some."""

    value: float | None
    people: int
    suppressed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"value": self.value, "people": self.people, "suppressed": self.suppressed}


def figure(values: Sequence[float], people: int, min_group: int, digits: int = 2) -> Figure:
    """The mean of ``values`` standing for ``people`` people, unless too few."""
    if people < min_group or not values:
        return Figure(None, 0, suppressed=people > 0)
    return Figure(round(fmean(values), digits), people)


def nps(scores: Sequence[int], min_group: int) -> Figure:
    """Net promoter score: % of 9-10 minus % of 0-6, over ``scores`` (one per person)."""
    if len(scores) < min_group:
        return Figure(None, 0, suppressed=bool(scores))
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return Figure(round(100.0 * (promoters - detractors) / len(scores), 1), len(scores))


def sessions(held: int, met: Mapping[str, int], min_group: int) -> Figure:
    """The number of sessions held, standing for the members who held them (``met``:
    role -> people of that role who held one).

    Suppressed whenever either role's "met" stage would be: the count tells what
    that stage hides (one session held means one mentee and one mentor met), so
    it may only be shown when both are. No session at all is a zero, as for a
    funnel stage nobody reached.
    """
    counts = [int(n) for n in met.values()]
    people = sum(counts)
    if held and (people < min_group or any(0 < n < min_group for n in counts)):
        return Figure(None, 0, suppressed=True)
    return Figure(held, people)


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


def funnel(
    counts: Mapping[str, int], min_group: int, stages: Sequence[str] = FUNNEL
) -> dict[str, dict[str, Any]]:
    """Stage -> count; a stage below ``min_group`` (but not zero) is suppressed."""
    out = {}
    for stage in stages:
        n = int(counts.get(stage, 0))
        hidden = 0 < n < min_group
        out[stage] = {
            "value": None if hidden else n,
            "people": 0 if hidden else n,
            "suppressed": hidden,
        }
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


@dataclass(frozen=True)
class Facts:
    """Everything the report is computed from, per person (opaque ids).

    ``funnel``: role -> stage -> people; ``usefulness``: rater -> their session
    ratings; ``recommend``: respondent -> would-recommend in their end survey;
    ``baseline``/``end``: respondent -> survey answers (``SurveyAnswers.as_dict``);
    ``days_to_first_session``: participant -> days from enrolment to their
    first held session.
    """

    topics: Sequence[str] = ()
    funnel: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    sessions_held: int = 0
    usefulness: Mapping[str, Sequence[int]] = field(default_factory=dict)
    recommend: Mapping[str, int] = field(default_factory=dict)
    baseline: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    end: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    days_to_first_session: Mapping[str, float] = field(default_factory=dict)


def _answers(surveys: Mapping[str, Mapping[str, Any]], key: str) -> dict[str, float]:
    return {p: float(a[key]) for p, a in surveys.items() if a.get(key) is not None}


def _skills(surveys: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, int]]:
    return {p: a["skills"] for p, a in surveys.items() if a.get("skills")}


def report(facts: Facts, min_group: int) -> dict[str, Any]:
    """The outcomes report: the figures of :class:`Facts`, small groups suppressed."""
    ratings = [u for values in facts.usefulness.values() for u in values]
    b, e = facts.baseline, facts.end
    return {
        "min_group_size": min_group,
        "funnel": [
            {"role": role, "stage": stage, **figures}
            for role, stages in ROLE_FUNNEL.items()
            for stage, figures in funnel(facts.funnel.get(role, {}), min_group, stages).items()
        ],
        "sessions_held": sessions(
            facts.sessions_held,
            {role: facts.funnel.get(role, {}).get("met", 0) for role in ROLE_FUNNEL},
            min_group,
        ).as_dict(),
        "average_usefulness": figure(ratings, len(facts.usefulness), min_group).as_dict(),
        "nps": nps(list(facts.recommend.values()), min_group).as_dict(),
        "mentee_skill_change": {
            topic: c.as_dict()
            for topic, c in skill_changes(_skills(b), _skills(e), facts.topics, min_group).items()
        },
        "mentor_pedagogy_change": change(
            _answers(b, "pedagogy"), _answers(e, "pedagogy"), min_group
        ).as_dict(),
        "mentor_confidence_change": change(
            _answers(b, "coaching_confidence"), _answers(e, "coaching_confidence"), min_group
        ).as_dict(),
        "understanding_change": change(
            _answers(b, "understanding"), _answers(e, "understanding"), min_group
        ).as_dict(),
        "days_enrolment_to_first_session": figure(
            list(facts.days_to_first_session.values()),
            len(facts.days_to_first_session),
            min_group,
            digits=1,
        ).as_dict(),
    }
