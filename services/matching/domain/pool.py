"""From enrolment's attributes and the pool's facts to round candidates.

Enrolment owns the personal attributes; matching's own pool knows who is
active and certified. A candidate is active only if both say so (the pool may
lag enrolment by a few events, or the other way round). Attributes arrive as
plain dicts (the adapter maps enrolment's messages) and live only in memory
for the length of one command.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from revmentor.matching.domain.candidates import (
    ACTIVE,
    DEFAULT_SKILL_LEVEL,
    WITHDRAWN,
    MenteeCandidate,
    MentorCandidate,
    Need,
    SkillOffer,
    Window,
)
from revmentor.matching.domain.programme import MENTEE, MENTOR, MatchingProgramme

#: Enrolment statuses under which a participant may still be matched.
ENROLLED = "enrolled"
ERASED = "erased"

Attributes = Mapping[str, Any]


class MissingAttributes(Exception):
    """Enrolment returned nothing for a pool member (unknown there)."""


def _common(attrs: Attributes, programme: MatchingProgramme) -> dict[str, Any]:
    pid = str(attrs["participant_id"])
    active = programme.is_active(pid) and attrs.get("status", ENROLLED) == ENROLLED
    return {
        "participant_id": pid,
        "employee_id": str(attrs.get("employee_id", "")),
        "manager_employee_id": str(attrs.get("manager_employee_id", "")),
        "department": str(attrs.get("department", "")),
        "site": str(attrs.get("site", "")),
        "time_zone": str(attrs.get("time_zone", "") or "UTC"),
        "birth_year": int(attrs.get("birth_year", 0)),
        "languages": tuple(sorted(set(attrs.get("languages", ())))),
        "availability": tuple(sorted(Window(*w) for w in attrs.get("availability", ()))),
        "meeting_preference": str(attrs.get("meeting_preference", "") or "either"),
        "status": ACTIVE if active else WITHDRAWN,
    }


def mentee_candidate(attrs: Attributes, programme: MatchingProgramme) -> MenteeCandidate:
    needs = tuple(
        sorted(Need(topic, priority) for topic, priority in attrs.get("learning_needs", ()))
    )
    return MenteeCandidate(**_common(attrs, programme), learning_needs=needs)


def mentor_candidate(
    attrs: Attributes, programme: MatchingProgramme, load: int | None = None
) -> MentorCandidate:
    pid = str(attrs["participant_id"])
    levels = attrs.get("skill_levels") or {}
    skills = tuple(
        sorted(
            SkillOffer(topic, level=levels.get(topic, DEFAULT_SKILL_LEVEL))
            for topic in set(attrs.get("skills_offered", ()))
        )
    )
    return MentorCandidate(
        **_common(attrs, programme),
        skills_offered=skills,
        certified=bool(programme.members.get(pid, {}).get("certified", False)),
        current_mentees=programme.load.get(pid, 0) if load is None else load,
    )


def manager_links(found: Sequence[Attributes]) -> dict[str, str]:
    """employee id -> manager employee id, as far as the programme's members tell.

    Withdrawn members count: a manager who left the programme is still in the
    reporting line between a mentee and a mentor. Erased ones have no links left.
    """
    return {
        str(a["employee_id"]): str(a["manager_employee_id"])
        for a in found
        if a.get("status") != ERASED and a.get("employee_id") and a.get("manager_employee_id")
    }


def cohort(
    programme: MatchingProgramme, found: Mapping[str, Attributes]
) -> tuple[list[MenteeCandidate], list[MentorCandidate]]:
    """The waiting mentees and every active mentor, as round candidates."""
    missing = [pid for pid in _wanted(programme) if pid not in found]
    if missing:
        raise MissingAttributes(
            f"enrolment has no attributes for {len(missing)} pool member(s), e.g. {missing[0]}"
        )
    mentees = [
        mentee_candidate(found[pid], programme)
        for pid in programme.waiting_mentees()
        if _enrolled(found[pid])
    ]
    mentors = [
        mentor_candidate(found[pid], programme)
        for pid in programme.ids(MENTOR)
        if _enrolled(found[pid])
    ]
    return mentees, mentors


def _enrolled(attrs: Attributes) -> bool:
    """Enrolment already knows the participant left: not a candidate at all."""
    return attrs.get("status", ENROLLED) == ENROLLED


def _wanted(programme: MatchingProgramme) -> list[str]:
    return programme.waiting_mentees() + programme.ids(MENTOR)


def members_to_fetch(programme: MatchingProgramme) -> list[str]:
    """Everyone whose attributes a round needs: the cohort, plus every other
    member - taken or withdrawn - whose manager link is part of the reporting tree."""
    mentees = programme.ids(MENTEE, active_only=False)
    return sorted(set(mentees) | set(programme.ids(MENTOR, active_only=False)))


__all__ = ["MENTEE", "MENTOR", "cohort", "manager_links", "members_to_fetch"]
