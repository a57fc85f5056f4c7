"""What a matching round needs, as pure frozen values.

The application fetches these from enrolment and training at round time and
does not store them raw (DESIGN section 4); the domain never does I/O. Values
are frozen and hashable so derived data (UTC windows, manager ancestors) can be
cached per value and so the round's digest is computed from exactly what it saw.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ACTIVE = "active"
WITHDRAWN = "withdrawn"
STATUSES = (ACTIVE, WITHDRAWN)

IN_PERSON = "in_person"
VIRTUAL = "virtual"
EITHER = "either"
MEETING_PREFERENCES = (IN_PERSON, VIRTUAL, EITHER)

#: Level assumed for a skill offered without one: "can coach it", neither
#: beginner nor expert, so unlevelled catalogues still score sensibly.
DEFAULT_SKILL_LEVEL = 2


@dataclass(frozen=True, order=True)
class Window:
    """A weekly slot in the person's own time zone (ISO weekday, "HH:MM").

    ``end`` earlier than ``start`` means the slot crosses local midnight;
    ``end`` may be "24:00".
    """

    weekday: int
    start: str
    end: str

    def __post_init__(self) -> None:
        if not 1 <= self.weekday <= 7:
            raise ValueError(f"weekday {self.weekday} is not an ISO weekday 1-7")
        for text in (self.start, self.end):
            parse_minutes(text)


def parse_minutes(text: str) -> int:
    """Minutes since local midnight of an "HH:MM" time ("24:00" allowed)."""
    hours, sep, minutes = text.partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise ValueError(f"time {text!r} is not HH:MM")
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > 24 * 60:
        raise ValueError(f"time {text!r} is out of range")
    return value


@dataclass(frozen=True, order=True)
class SkillOffer:
    """A topic a mentor can coach, with a level 1 (basics) .. 3 (expert)."""

    topic: str
    level: int = DEFAULT_SKILL_LEVEL

    def __post_init__(self) -> None:
        if not 1 <= self.level <= 3:
            raise ValueError(f"skill level {self.level} is not 1-3")


@dataclass(frozen=True, order=True)
class Need:
    """A topic a mentee wants to learn, priority 1 (must) .. 3 (nice to have)."""

    topic: str
    priority: int = 2

    def __post_init__(self) -> None:
        if not 1 <= self.priority <= 3:
            raise ValueError(f"need priority {self.priority} is not 1-3")


@dataclass(frozen=True)
class _Candidate:
    participant_id: str
    employee_id: str
    manager_employee_id: str
    department: str
    site: str
    time_zone: str
    birth_year: int
    languages: tuple[str, ...] = ()
    availability: tuple[Window, ...] = ()
    meeting_preference: str = EITHER
    status: str = ACTIVE

    def __post_init__(self) -> None:
        if self.meeting_preference not in MEETING_PREFERENCES:
            raise ValueError(f"meeting preference {self.meeting_preference!r} is unknown")
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} is unknown")

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


@dataclass(frozen=True)
class MentorCandidate(_Candidate):
    """A mentor of the programme. ``current_mentees`` counts confirmed or pending
    matches from earlier rounds, which use up part of the capacity."""

    skills_offered: tuple[SkillOffer, ...] = ()
    certified: bool = False
    current_mentees: int = 0


@dataclass(frozen=True)
class MenteeCandidate(_Candidate):
    """A mentee of the programme still waiting for a match."""

    learning_needs: tuple[Need, ...] = ()


@dataclass(frozen=True)
class Weights:
    """Per-programme weights of the score components (see ``scoring``)."""

    coverage: float = 0.4
    availability: float = 0.2
    age_gap: float = 0.15
    cross_department: float = 0.15
    same_site: float = 0.1

    def __post_init__(self) -> None:
        for name, value in self.items():
            if value < 0:
                raise ValueError(f"weight {name} is negative")

    def items(self) -> tuple[tuple[str, float], ...]:
        return (
            ("coverage", self.coverage),
            ("availability", self.availability),
            ("age_gap", self.age_gap),
            ("cross_department", self.cross_department),
            ("same_site", self.same_site),
        )


@dataclass(frozen=True)
class ProgrammeRules:
    """The programme's matching rules. ``availability_saturation_minutes`` is the
    weekly overlap beyond which more shared time no longer improves the score."""

    min_age_gap_years: int = 10
    target_age_gap_years: int = 20
    mentor_capacity: int = 1
    same_department_allowed: bool = False
    min_weekly_overlap_minutes: int = 60
    availability_saturation_minutes: int = 240
    weights: Weights = field(default_factory=Weights)

    def __post_init__(self) -> None:
        if not 1 <= self.mentor_capacity <= 3:
            raise ValueError(f"mentor capacity {self.mentor_capacity} is not 1-3")
        if self.min_age_gap_years < 0 or self.target_age_gap_years <= 0:
            raise ValueError("age gaps must be positive")
        if self.min_weekly_overlap_minutes < 0 or self.availability_saturation_minutes <= 0:
            raise ValueError("overlap minutes must be positive")
