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
    return age_gap_value(mentor.birth_year - mentee.birth_year, rules)


def age_gap_value(gap: int, rules: ProgrammeRules) -> float:
    """``age_gap_closeness`` of a gap in years: shared with the vectorised path
    (``fastscore``), which tabulates it per distinct gap."""
    target = rules.target_age_gap_years
    return max(0.0, 1.0 - abs(gap - target) / target)


def cross_department(mentee: MenteeCandidate, mentor: MentorCandidate) -> float:
    return 1.0 if mentee.department != mentor.department else 0.0


def same_site(mentee: MenteeCandidate, mentor: MentorCandidate) -> float:
    """Bonus for being able to meet in person where someone wants to: full when
    one side prefers in person, half when both merely accept it."""
    return same_site_value(
        mentee.meeting_preference, mentor.meeting_preference, mentee.site == mentor.site
    )


def same_site_value(mentee_pref: str, mentor_pref: str, same: bool) -> float:
    """``same_site`` from the two preferences and whether the sites match:
    shared with the vectorised path, which tabulates it."""
    prefs = (mentee_pref, mentor_pref)
    if not same or VIRTUAL in prefs:
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
        Component(name, round(values[name], DECIMALS), weight, contribution(values[name], weight))
        for name, weight in rules.weights.items()
    )
    total = rounded_total(sum(c.contribution for c in components))
    return Score(total, components)


def contribution(value: float, weight: float) -> float:
    """A component's weighted value, rounded as in the breakdown."""
    return round(value * weight, DECIMALS)


def rounded_total(contributions: float) -> float:
    """The score from the sum of its contributions (summed in weight order)."""
    return round(contributions, DECIMALS)


def score_units(score: float) -> int:
    """The score as exact integer micro-points, for the solver and sums."""
    return round(score * UNITS)
