"""The explanation kept on every match: each hard constraint, passed or not, in
derived facts only.

DESIGN section 4: matching records what it derived ("age gap 22 years >= 10"),
never the personal attributes themselves, so no sentence here names a birth
year, a department, a site or an employee id. Participants are named by their
opaque participant ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.candidates import (
    IN_PERSON,
    VIRTUAL,
    MenteeCandidate,
    MentorCandidate,
)

#: Constraints a programme manager may override on a manual match, with a
#: justification. Activity, certification and capacity are never overridable:
#: certification gates matching and a mentor's capacity is never exceeded.
OVERRIDABLE = frozenset(
    {
        c.AGE_GAP,
        c.SAME_DEPARTMENT,
        c.LANGUAGE,
        c.MEETING_MODE,
        c.DECLINED,
        c.REPORTING_LINE,
        c.AVAILABILITY,
    }
)


@dataclass(frozen=True)
class Check:
    """One constraint as it stood for a pair when it was proposed."""

    code: str
    passed: bool
    explanation: str
    overridden: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _passed(
    code: str, mentee: MenteeCandidate, mentor: MentorCandidate, ctx: c.PairContext, minutes: int
) -> str:
    rules = ctx.rules
    me, mo = mentee.participant_id, mentor.participant_id
    if code == c.MENTEE_INACTIVE:
        return f"mentee {me} is active"
    if code == c.MENTOR_INACTIVE:
        return f"mentor {mo} is active"
    if code == c.NOT_CERTIFIED:
        return f"mentor {mo} is certified"
    if code == c.AGE_GAP:
        gap = mentor.birth_year - mentee.birth_year
        return f"age gap {gap} years >= {rules.min_age_gap_years} (programme minimum)"
    if code == c.SAME_DEPARTMENT:
        if mentee.department == mentor.department:
            return "same department (allowed in this programme)"
        return "different departments"
    if code == c.LANGUAGE:
        shared = sorted(set(mentee.languages) & set(mentor.languages))
        return f"shared language: {', '.join(shared)}"
    if code == c.MEETING_MODE:
        return _meeting_mode(mentee, mentor)
    if code == c.DECLINED:
        return "not proposed and declined before"
    if code == c.REPORTING_LINE:
        return "neither is in the other's reporting line (as far as enrolment knows)"
    if code == c.AVAILABILITY:
        minimum = rules.min_weekly_overlap_minutes
        return f"weekly overlap {minutes} min >= {minimum} min minimum (computed in UTC)"
    raise ValueError(f"unknown constraint {code}")


def _meeting_mode(mentee: MenteeCandidate, mentor: MentorCandidate) -> str:
    prefs = {mentee.meeting_preference, mentor.meeting_preference}
    same_site = mentee.site == mentor.site
    if IN_PERSON in prefs:
        return "meet in person at the same site"
    if VIRTUAL in prefs or not same_site:
        return "meet virtually"
    return "meet virtually or in person (same site)"


def _failed(exclusion: c.Exclusion, mentee: MenteeCandidate, mentor: MentorCandidate) -> str:
    """The exclusion sentence, minus the manager chain (it names employee ids)."""
    if exclusion.code == c.REPORTING_LINE:
        me, mo = mentee.participant_id, mentor.participant_id
        if mentee.employee_id == mentor.employee_id:
            return f"mentor {mo} and mentee {me} are the same employee"
        if f"mentor {mo} is in" in exclusion.explanation:
            return f"mentor {mo} is in mentee {me}'s reporting line"
        return f"mentee {me} is in mentor {mo}'s reporting line"
    return exclusion.explanation


def pair_checks(
    mentee: MenteeCandidate,
    mentor: MentorCandidate,
    ctx: c.PairContext,
    overridden: frozenset[str] = frozenset(),
) -> tuple[Check, ...]:
    """Every per-pair and eligibility constraint for this pair, in a fixed order.

    Capacity is not here: it depends on the mentor's other matches (see
    :func:`capacity_check`).
    """
    minutes = c.overlap_minutes(mentee, mentor, ctx)
    outcomes: list[tuple[str, c.Outcome]] = [
        (c.MENTEE_INACTIVE, c.mentee_eligibility(mentee)),
        (c.MENTOR_INACTIVE, _only(c.mentor_eligibility(mentor), c.MENTOR_INACTIVE)),
        (c.NOT_CERTIFIED, c.OK if mentor.certified else _uncertified(mentor)),
    ]
    outcomes += [(code, check(mentee, mentor, ctx)) for code, check in c.PAIR_CHECKS]
    checks = []
    for code, outcome in outcomes:
        if isinstance(outcome, c.Exclusion):
            text = _failed(outcome, mentee, mentor)
            checks.append(Check(code, False, text, overridden=code in overridden))
        else:
            checks.append(Check(code, True, _passed(code, mentee, mentor, ctx, minutes)))
    return tuple(checks)


def _only(outcome: c.Outcome, code: str) -> c.Outcome:
    """Keep an eligibility exclusion only if it is the one asked about."""
    return outcome if isinstance(outcome, c.Exclusion) and outcome.code == code else c.OK


def _uncertified(mentor: MentorCandidate) -> c.Exclusion:
    return c.Exclusion(c.NOT_CERTIFIED, f"mentor {mentor.participant_id} is not certified")


def capacity_check(mentor_id: str, load: int, capacity: int) -> Check:
    """The mentor's places as they stood when the pair was proposed."""
    if load < capacity:
        left = capacity - load
        return Check(c.CAPACITY, True, f"mentor {mentor_id} has {left} of {capacity} places free")
    return Check(c.CAPACITY, False, f"mentor {mentor_id} already has {load} of {capacity} mentees")


def blocking(checks: Sequence[Check]) -> list[Check]:
    """Failed checks not overridden: any of these refuses the match."""
    return [check for check in checks if not check.passed and not check.overridden]
