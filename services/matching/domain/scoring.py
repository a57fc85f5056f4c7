"""The score of a feasible pair, with a per-component breakdown.

Each component is a number in [0, 1]; the score is their weighted sum with the
programme's weights. Values are rounded to 6 decimals so scores are exact,
comparable and reproducible across platforms; the solver works on the same
values as integer micro-points (``score_units``).
"""

from __future__ import annotations

from dataclasses import dataclass

from revmentor.matching.domain.candidates import (
    EITHER,
    IN_PERSON,
    VIRTUAL,
    MenteeCandidate,
    MentorCandidate,
    ProgrammeRules,
)

DECIMALS = 6
UNITS = 10**DECIMALS

#: Weight of a need by priority: a "must" counts three times a "nice to have".
PRIORITY_WEIGHT = {1: 3.0, 2: 2.0, 3: 1.0}


@dataclass(frozen=True)
class Component:
    name: str
    value: float  # in [0, 1]
    weight: float
    contribution: float  # value * weight, rounded


@dataclass(frozen=True)
class Score:
    total: float
    components: tuple[Component, ...]

    def as_dict(self) -> dict[str, float]:
        return {c.name: c.contribution for c in self.components}


def coverage(mentee: MenteeCandidate, mentor: MentorCandidate) -> float:
    """Share of the mentee's needs, weighted by priority, the mentor can coach,
    each scaled by the mentor's level (expert = full credit)."""
    levels: dict[str, int] = {}
    for skill in mentor.skills_offered:
        levels[skill.topic] = max(levels.get(skill.topic, 0), skill.level)
    total = covered = 0.0
    for need in mentee.learning_needs:
        weight = PRIORITY_WEIGHT[need.priority]
        total += weight
        covered += weight * levels.get(need.topic, 0) / 3.0
    return covered / total if total else 0.0


def availability(overlap_minutes: int, rules: ProgrammeRules) -> float:
    return min(overlap_minutes, rules.availability_saturation_minutes) / (
        rules.availability_saturation_minutes
    )


def age_gap_closeness(
    mentee: MenteeCandidate, mentor: MentorCandidate, rules: ProgrammeRules
) -> float:
    """1 at the target gap, falling linearly to 0 at twice (or zero times) it."""
    gap = mentor.birth_year - mentee.birth_year
    target = rules.target_age_gap_years
    return max(0.0, 1.0 - abs(gap - target) / target)


def cross_department(mentee: MenteeCandidate, mentor: MentorCandidate) -> float:
    return 1.0 if mentee.department != mentor.department else 0.0


def same_site(mentee: MenteeCandidate, mentor: MentorCandidate) -> float:
    """Bonus for being able to meet in person where someone wants to: full when
    one side prefers in person, half when both merely accept it."""
    prefs = (mentee.meeting_preference, mentor.meeting_preference)
    if mentee.site != mentor.site or VIRTUAL in prefs:
        return 0.0
    if IN_PERSON in prefs:
        return 1.0
    return 0.5 if prefs == (EITHER, EITHER) else 0.0


def score_pair(
    mentee: MenteeCandidate, mentor: MentorCandidate, overlap_minutes: int, rules: ProgrammeRules
) -> Score:
    values = {
        "coverage": coverage(mentee, mentor),
        "availability": availability(overlap_minutes, rules),
        "age_gap": age_gap_closeness(mentee, mentor, rules),
        "cross_department": cross_department(mentee, mentor),
        "same_site": same_site(mentee, mentor),
    }
    components = tuple(
        Component(
            name,
            round(values[name], DECIMALS),
            weight,
            round(values[name] * weight, DECIMALS),
        )
        for name, weight in rules.weights.items()
    )
    total = round(sum(c.contribution for c in components), DECIMALS)
    return Score(total, components)


def score_units(score: float) -> int:
    """The score as exact integer micro-points, for the solver and sums."""
    return round(score * UNITS)
