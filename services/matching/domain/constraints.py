"""Hard constraints: each a pure function returning ``OK`` or an ``Exclusion``.

Every exclusion carries a stable ``code`` (for aggregation and queries) and a
human sentence that names participants by participant id only, so it can be
shown and stored without leaking names. Capacity is the one hard constraint not
checked per pair: it is a property of the whole assignment (``solver``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Final

from revmentor.matching.domain.availability import (
    DEFAULT_WEEK_OF,
    intervals_overlap,
    utc_intervals,
)
from revmentor.matching.domain.candidates import (
    IN_PERSON,
    VIRTUAL,
    MenteeCandidate,
    MentorCandidate,
    ProgrammeRules,
)

NOT_CERTIFIED = "mentor_not_certified"
MENTOR_INACTIVE = "mentor_inactive"
MENTEE_INACTIVE = "mentee_inactive"
AGE_GAP = "age_gap"
LANGUAGE = "language"
SAME_DEPARTMENT = "same_department"
MEETING_MODE = "meeting_mode"
REPORTING_LINE = "reporting_line"
DECLINED = "declined"
AVAILABILITY = "availability"
CAPACITY = "capacity"


@dataclass(frozen=True)
class Exclusion:
    """Why a pair may not be proposed."""

    code: str
    explanation: str


class _Ok:
    """The single "constraint satisfied" value (falsy, so ``if check(...)``
    reads as "if excluded")."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "OK"


OK: Final = _Ok()
Outcome = Exclusion | _Ok


class ManagerChain:
    """The programme's known reporting tree, walked upwards cycle-safely.

    ``links`` maps employee id -> manager employee id as far as enrolment knows
    it; a candidate's own ``manager_employee_id`` takes precedence for that
    candidate. Ancestor paths are cached because every mentee is compared with
    every mentor.
    """

    def __init__(self, links: Mapping[str, str]) -> None:
        self._links = dict(links)
        self._paths: dict[tuple[str, str], tuple[str, ...]] = {}

    def path_up(self, employee_id: str, manager_id: str) -> tuple[str, ...]:
        """Managers above ``employee_id``, nearest first, stopping at a cycle."""
        key = (employee_id, manager_id)
        cached = self._paths.get(key)
        if cached is None:
            seen = {employee_id}
            path: list[str] = []
            current = manager_id
            while current and current not in seen:
                seen.add(current)
                path.append(current)
                current = self._links.get(current, "")
            cached = self._paths[key] = tuple(path)
        return cached


@dataclass(frozen=True)
class PairContext:
    """What the checks need beyond the two candidates."""

    rules: ProgrammeRules
    chain: ManagerChain = field(default_factory=lambda: ManagerChain({}))
    declined: frozenset[tuple[str, str]] = frozenset()
    week_of: date = DEFAULT_WEEK_OF


def mentor_eligibility(mentor: MentorCandidate) -> Outcome:
    """Mentor-level checks, done once per mentor rather than per pair."""
    if not mentor.active:
        return Exclusion(MENTOR_INACTIVE, f"mentor {mentor.participant_id} is {mentor.status}")
    if not mentor.certified:
        return Exclusion(NOT_CERTIFIED, f"mentor {mentor.participant_id} is not certified")
    return OK


def mentee_eligibility(mentee: MenteeCandidate) -> Outcome:
    if not mentee.active:
        return Exclusion(MENTEE_INACTIVE, f"mentee {mentee.participant_id} is {mentee.status}")
    return OK


def check_age_gap(mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext) -> Outcome:
    gap = mentor.birth_year - mentee.birth_year
    minimum = ctx.rules.min_age_gap_years
    if gap < minimum:
        return Exclusion(AGE_GAP, f"age gap {gap} years < programme minimum {minimum}")
    return OK


def check_language(mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext) -> Outcome:
    if set(mentee.languages).isdisjoint(mentor.languages):
        return Exclusion(
            LANGUAGE,
            f"no shared language between mentee {mentee.participant_id}"
            f" and mentor {mentor.participant_id}",
        )
    return OK


def check_department(mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext) -> Outcome:
    if not ctx.rules.same_department_allowed and mentee.department == mentor.department:
        return Exclusion(
            SAME_DEPARTMENT,
            f"mentor {mentor.participant_id} and mentee {mentee.participant_id} are in the"
            " same department (not allowed in this programme)",
        )
    return OK


def check_meeting_mode(
    mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext
) -> Outcome:
    """At least one meeting mode both accept; in person only at the same site."""
    prefs = (mentee.meeting_preference, mentor.meeting_preference)
    same_site = mentee.site == mentor.site
    if prefs == (IN_PERSON, IN_PERSON) and not same_site:
        return Exclusion(MEETING_MODE, "in-person on both sides but different sites")
    if IN_PERSON in prefs and VIRTUAL in prefs:
        who = mentee if prefs[0] == IN_PERSON else mentor
        role = "mentee" if who is mentee else "mentor"
        return Exclusion(
            MEETING_MODE,
            f"{role} {who.participant_id} meets only in person, the other only virtually",
        )
    if IN_PERSON in prefs and not same_site:
        who = mentee if prefs[0] == IN_PERSON else mentor
        role = "mentee" if who is mentee else "mentor"
        return Exclusion(
            MEETING_MODE, f"{role} {who.participant_id} meets only in person but sites differ"
        )
    return OK


def check_reporting_line(
    mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext
) -> Outcome:
    """Neither may be above the other in the manager chain (either direction)."""
    me, mo = mentee.participant_id, mentor.participant_id
    if mentee.employee_id == mentor.employee_id:
        return Exclusion(REPORTING_LINE, f"mentor {mo} and mentee {me} are the same employee")
    up = ctx.chain.path_up(mentee.employee_id, mentee.manager_employee_id)
    if mentor.employee_id in up:
        between = up[: up.index(mentor.employee_id)]
        chain = " -> ".join((me, *between, mo))
        return Exclusion(
            REPORTING_LINE,
            f"mentor {mo} is in mentee {me}'s reporting line (manager chain {chain})",
        )
    up = ctx.chain.path_up(mentor.employee_id, mentor.manager_employee_id)
    if mentee.employee_id in up:
        between = up[: up.index(mentee.employee_id)]
        chain = " -> ".join((mo, *between, me))
        return Exclusion(
            REPORTING_LINE,
            f"mentee {me} is in mentor {mo}'s reporting line (manager chain {chain})",
        )
    return OK


def check_declined(mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext) -> Outcome:
    if (mentee.participant_id, mentor.participant_id) in ctx.declined:
        return Exclusion(
            DECLINED,
            f"mentee {mentee.participant_id} and mentor {mentor.participant_id}"
            " were proposed before and declined",
        )
    return OK


def overlap_minutes(mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext) -> int:
    return intervals_overlap(
        utc_intervals(mentee.availability, mentee.time_zone, ctx.week_of),
        utc_intervals(mentor.availability, mentor.time_zone, ctx.week_of),
    )


def check_availability(
    mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext
) -> Outcome:
    minutes = overlap_minutes(mentee, mentor, ctx)
    minimum = ctx.rules.min_weekly_overlap_minutes
    if minutes < minimum:
        return Exclusion(AVAILABILITY, f"weekly overlap {minutes} min < {minimum} min minimum")
    return OK


PairCheck = Callable[[MenteeCandidate, MentorCandidate, PairContext], Outcome]

#: Per-pair checks, cheapest and most selective first: feasibility stops at
#: the first exclusion, so order is a speed choice, never a semantic one.
PAIR_CHECKS: tuple[tuple[str, PairCheck], ...] = (
    (AGE_GAP, check_age_gap),
    (SAME_DEPARTMENT, check_department),
    (LANGUAGE, check_language),
    (MEETING_MODE, check_meeting_mode),
    (DECLINED, check_declined),
    (REPORTING_LINE, check_reporting_line),
    (AVAILABILITY, check_availability),
)

#: Codes a proposal records as passed (capacity is guaranteed by the solver).
PROPOSAL_CHECKS: tuple[str, ...] = (
    MENTEE_INACTIVE,
    MENTOR_INACTIVE,
    NOT_CERTIFIED,
    *(code for code, _ in PAIR_CHECKS),
    CAPACITY,
)


def first_exclusion(
    mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext
) -> Exclusion | None:
    """The first failing check of a pair, or None if the pair is feasible."""
    for outcome in (mentee_eligibility(mentee), mentor_eligibility(mentor)):
        if isinstance(outcome, Exclusion):
            return outcome
    for _, check in PAIR_CHECKS:
        outcome = check(mentee, mentor, ctx)
        if isinstance(outcome, Exclusion):
            return outcome
    return None


def all_exclusions(
    mentee: MenteeCandidate, mentor: MentorCandidate, ctx: PairContext
) -> list[Exclusion]:
    """Every failing check of a pair, for explanations."""
    outcomes = [mentee_eligibility(mentee), mentor_eligibility(mentor)]
    outcomes += [check(mentee, mentor, ctx) for _, check in PAIR_CHECKS]
    return [o for o in outcomes if isinstance(o, Exclusion)]
