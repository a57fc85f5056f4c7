"""A participant's profile: what they offer or need, and when and how they meet."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

MENTOR = "mentor"
MENTEE = "mentee"
ROLES = (MENTOR, MENTEE)

MEETING_PREFERENCES = ("in_person", "virtual", "either")

WITHDRAWAL_REASONS = ("personal", "workload", "left_company", "role_change", "other")

#: Profile fields that identify or describe a person: encrypted at rest with the
#: participant's key, blanked on erasure. The rest (topics, meeting preference)
#: are business facts published on NATS and kept after an erasure.
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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("languages", "skills_offered", "learning_needs", "availability"):
            data[key] = list(data[key])
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


def erased_profile(profile: Any) -> dict[str, Any]:
    """``profile`` (a profile dict, or anything left by an undecryptable event)
    with every personal field blanked and the business facts kept."""
    facts = profile if isinstance(profile, dict) else {}
    blank = {k: list(v) if isinstance(v, tuple) else v for k, v in _ERASED_VALUES.items()}
    return {
        "skills_offered": list(facts.get("skills_offered", [])),
        "learning_needs": list(facts.get("learning_needs", [])),
        "meeting_preference": facts.get("meeting_preference", "either"),
        **blank,
    }
