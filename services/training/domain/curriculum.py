"""Curricula: versioned lists of modules per programme, and the built-in default.

A programme that defines no curriculum trains on :data:`DEFAULT_MODULES`
(version 0). Each definition is a new version; a training record pins the
version it was opened on, so changing the curriculum never silently changes
a record (see :mod:`revmentor.training.domain.record`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

E_LEARNING = "e_learning"
WORKSHOP = "workshop"
READING = "reading"
KINDS = (E_LEARNING, WORKSHOP, READING)

MENTOR = "mentor"
MENTEE = "mentee"
AUDIENCES = (MENTOR, MENTEE)

#: The version number of the built-in default curriculum.
DEFAULT_VERSION = 0


@dataclass(frozen=True)
class Module:
    """One unit of training. ``pass_mark`` 0 means not assessed (completion passes)."""

    id: str
    title: str
    kind: str
    required: bool
    estimated_minutes: int
    pass_mark: int
    audience: str

    @property
    def assessed(self) -> bool:
        return self.pass_mark > 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Module:
        return cls(**data)

    def passes(self, score: int) -> bool:
        return score >= self.pass_mark


def _m(
    id: str, title: str, kind: str, minutes: int, pass_mark: int = 0, audience: str = MENTOR
) -> Module:
    return Module(id, title, kind, True, minutes, pass_mark, audience)


#: The reverse-mentoring curriculum shipped with the service.
DEFAULT_MODULES: tuple[Module, ...] = (
    _m("mentoring-foundations", "Foundations of mentoring", E_LEARNING, 45, 70),
    _m("active-listening", "Active listening and powerful questions", E_LEARNING, 60, 70),
    _m("adult-learning", "How adults learn: pedagogy for senior learners", READING, 30),
    _m("psychological-safety", "Confidentiality and psychological safety", E_LEARNING, 40, 80),
    _m("hierarchy-power-distance", "Navigating hierarchy and power distance", WORKSHOP, 120),
    _m("feedback", "Giving and receiving feedback", WORKSHOP, 90),
    Module(
        "coaching-toolkit",
        "Optional: a reverse mentor's coaching toolkit",
        READING,
        False,
        20,
        0,
        MENTOR,
    ),
    _m("mentee-expectations", "What to expect from a younger mentor", READING, 20, 0, MENTEE),
    _m("mentee-learning-goals", "How to set your learning goals", E_LEARNING, 30, 0, MENTEE),
)


def for_audience(modules: list[dict[str, Any]], audience: str) -> list[dict[str, Any]]:
    return [m for m in modules if m["audience"] == audience]


def default_modules() -> list[dict[str, Any]]:
    return [m.to_dict() for m in DEFAULT_MODULES]


class ProgrammeTraining(Aggregate):
    """Training settings of one programme: its curriculum versions and deadline.

    Created when the programme is first heard of (enrolment's ProgrammeCreated);
    the id is derived from the programme id, so redelivery cannot create two.
    """

    @staticmethod
    def create_id(programme_id: UUID | str) -> UUID:
        return uuid5(NAMESPACE_URL, f"revmentor:training:programme:{programme_id}")

    class Registered(Aggregate.Created):
        programme_id: UUID
        start_date: str
        deadline: str

    class CurriculumDefined(Aggregate.Event):
        programme_id: UUID
        curriculum_version: int
        modules: list[dict[str, Any]]

    class DeadlineSet(Aggregate.Event):
        programme_id: UUID
        deadline: str

    @classmethod
    def register(cls, programme_id: UUID, start_date: str) -> ProgrammeTraining:
        """The training deadline defaults to the programme's start date."""
        return cls(
            id=cls.create_id(programme_id),
            programme_id=programme_id,
            start_date=start_date,
            deadline=start_date,
        )

    @event(Registered)
    def __init__(self, id: UUID, programme_id: UUID, start_date: str, deadline: str):
        self.programme_id = programme_id
        self.start_date = start_date
        self.deadline = deadline
        self.versions: list[list[dict[str, Any]]] = []

    @property
    def current_version(self) -> int:
        return len(self.versions) or DEFAULT_VERSION

    def modules_of(self, version: int) -> list[dict[str, Any]] | None:
        """The modules of ``version`` (0: the default), or None if there is no such version."""
        if version == DEFAULT_VERSION:
            return default_modules()
        if 1 <= version <= len(self.versions):
            return [dict(m) for m in self.versions[version - 1]]
        return None

    @property
    def current_modules(self) -> list[dict[str, Any]]:
        found = self.modules_of(self.current_version)
        assert found is not None
        return found

    def define_curriculum(self, modules: list[Module]) -> int:
        """Publish a new version; records already pinned keep theirs. Returns its number."""
        version = len(self.versions) + 1
        self._curriculum_defined(
            programme_id=self.programme_id,
            curriculum_version=version,
            modules=[m.to_dict() for m in modules],
        )
        return version

    def set_deadline(self, deadline: str) -> bool:
        if deadline == self.deadline:
            return False
        self._deadline_set(programme_id=self.programme_id, deadline=deadline)
        return True

    @event(CurriculumDefined)
    def _curriculum_defined(
        self, programme_id: UUID, curriculum_version: int, modules: list[dict[str, Any]]
    ) -> None:
        self.versions.append(modules)

    @event(DeadlineSet)
    def _deadline_set(self, programme_id: UUID, deadline: str) -> None:
        self.deadline = deadline
