"""A participant's profile: what they offer or need, and when and how they meet."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MENTOR = "mentor"
MENTEE = "mentee"
ROLES = (MENTOR, MENTEE)

MEETING_PREFERENCES = ("in_person", "virtual", "either")

WITHDRAWAL_REASONS = ("personal", "workload", "left_company", "role_change", "other")

#: A mentor's level in an offered skill: 1 (basics) .. 3 (expert). A skill
#: offered without a level counts as 2 ("can coach it") when matching.
SKILL_LEVELS = (1, 2, 3)

#: Profile fields that identify or describe a person: encrypted at rest with the
#: participant's key, blanked on erasure. The rest (topics, skill levels, meeting
#: preference) are business facts, kept in clear and kept after an erasure.
PERSONAL_FIELDS = (
    "display_name",
    "email",
    "birth_year",
    "department",
    "manager_employee_id",
    "site",
    "time_zone",
    "languages",
    "availability",
)

#: What each personal field holds once the person is erased (immutable defaults).
_ERASED_VALUES: dict[str, Any] = {
    "display_name": "",
    "email": "",
    "birth_year": 0,
    "department": "",
    "manager_employee_id": "",
    "site": "",
    "time_zone": "",
    "languages": (),
    "availability": (),
}


@dataclass(frozen=True)
class LearningNeed:
    topic: str
    priority: int  # 1 = must, 3 = nice to have


@dataclass(frozen=True)
class AvailabilityWindow:
    """A weekly slot in the participant's own time zone."""

    weekday: int  # ISO: 1 = Monday
    start_time: str  # "HH:MM"
    end_time: str


@dataclass(frozen=True)
class Profile:
    display_name: str
    email: str
    birth_year: int
    department: str
    manager_employee_id: str
    site: str
    time_zone: str
    languages: tuple[str, ...] = ()
    skills_offered: tuple[str, ...] = ()
    learning_needs: tuple[LearningNeed, ...] = ()
    availability: tuple[AvailabilityWindow, ...] = ()
    meeting_preference: str = "either"
    #: Mentors: (topic code, level 1-3) for some of skills_offered, kept sorted
    #: by topic. Skills without a level count as 2 when matching.
    skill_levels: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        # One canonical form, whatever order the levels came in: equal
        # profiles compare equal, and the value stays hashable.
        levels = dict(self.skill_levels)
        object.__setattr__(self, "skill_levels", tuple(sorted(levels.items())))

    def levels(self) -> dict[str, int]:
        """topic code -> level, for the skills given one."""
        return dict(self.skill_levels)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("languages", "skills_offered", "learning_needs", "availability"):
            data[key] = list(data[key])
        data["skill_levels"] = self.levels()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Profile:
        return cls(
            display_name=data["display_name"],
            email=data["email"],
            birth_year=int(data["birth_year"]),
            department=data["department"],
            manager_employee_id=data.get("manager_employee_id", ""),
            site=data["site"],
            time_zone=data["time_zone"],
            languages=tuple(data.get("languages", ())),
            skills_offered=tuple(data.get("skills_offered", ())),
            learning_needs=tuple(LearningNeed(**n) for n in data.get("learning_needs", ())),
            availability=tuple(AvailabilityWindow(**w) for w in data.get("availability", ())),
            meeting_preference=data.get("meeting_preference", "either"),
            skill_levels=tuple((str(topic), int(level)) for topic, level in _levels(data).items()),
        )

    def topics(self) -> list[str]:
        """The topics this profile offers (mentor) or needs (mentee)."""
        return list(self.skills_offered) + [n.topic for n in self.learning_needs]

    def changed_fields(self, other: Profile) -> list[str]:
        """Names of the fields whose value differs in ``other``."""
        mine, theirs = self.to_dict(), other.to_dict()
        return sorted(k for k in mine if mine[k] != theirs[k])


@dataclass(frozen=True)
class Consent:
    """Recorded consent to take part, against a versioned privacy notice."""

    given: bool
    notice_version: str
    given_at: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _levels(data: dict[str, Any]) -> dict[str, Any]:
    """The skill levels of a profile dict; {} for profiles recorded before levels
    existed, and for anything an erasure left that is not a mapping."""
    levels = data.get("skill_levels")
    return levels if isinstance(levels, dict) else {}


def profile_topics(profile: dict[str, Any]) -> list[str]:
    """The topics a profile dict offers or needs, read from its business facts
    alone (a read model's profile has its personal fields withheld)."""
    needs = profile.get("learning_needs", ())
    return list(profile.get("skills_offered", ())) + [n["topic"] for n in needs]


def erased_profile(profile: Any) -> dict[str, Any]:
    """``profile`` (a profile dict, or anything left by an undecryptable event)
    with every personal field blanked and the business facts kept."""
    facts = profile if isinstance(profile, dict) else {}
    blank = {k: list(v) if isinstance(v, tuple) else v for k, v in _ERASED_VALUES.items()}
    return {
        "skills_offered": list(facts.get("skills_offered", [])),
        "skill_levels": dict(_levels(facts)),
        "learning_needs": list(facts.get("learning_needs", [])),
        "meeting_preference": facts.get("meeting_preference", "either"),
        **blank,
    }
