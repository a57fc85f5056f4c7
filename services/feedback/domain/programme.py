"""A programme as feedback sees it: its topic catalogue and its feedback policy.

The catalogue comes from enrolment's ``ProgrammeCreated`` (what members may say
a session covered, what mentees rate their skill in); the policy - how long
members have to give feedback on a session, and the smallest group a reported
figure may stand for - is set by the programme manager here. Registered on
first sight of anything about the programme: the upstream streams are consumed
independently, so a held session may arrive before the programme's facts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import Violations


@dataclass(frozen=True)
class Policy:
    feedback_window_days: int = 7
    min_group_size: int = 5

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


#: field -> (low, high): the bounds of each policy value.
BOUNDS = {"feedback_window_days": (1, 30), "min_group_size": (3, 50)}
#: The smallest group a programme manager may set: they read the report the
#: suppression protects, so going lower (down to 3) is an administrator's call.
MANAGER_MIN_GROUP = 5


def changed_policy(
    current: dict[str, int], change: dict[str, int | None], administrator: bool = False
) -> dict[str, int]:
    """The validated new policy; every violation names the field."""
    v = Violations()
    new = dict(current)
    for name, value in change.items():
        if value is None:
            continue
        low, high = BOUNDS[name]
        if not v.check(low <= value <= high, name, f"must be {low}-{high}"):
            continue
        if name == "min_group_size" and not administrator and value < MANAGER_MIN_GROUP:
            v.check(False, name, f"below {MANAGER_MIN_GROUP} only an administrator may set it")
            continue
        new[name] = int(value)
    v.raise_if_any()
    return new


def programme_key(programme_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:feedback:programme:{programme_id}")


class FeedbackProgramme(Aggregate):
    class Registered(Aggregate.Created):
        programme_id: UUID

    @staticmethod
    def create_id(programme_id: UUID) -> UUID:
        return programme_key(programme_id)

    @event(Registered)
    def __init__(self, programme_id: UUID) -> None:
        self.programme_id = programme_id
        self.topics: list[str] = []
        self.policy: dict[str, int] = Policy().as_dict()

    @property
    def window_days(self) -> int:
        return int(self.policy["feedback_window_days"])

    @property
    def min_group(self) -> int:
        return int(self.policy["min_group_size"])

    class CatalogueRecorded(Aggregate.Event):
        topics: list[str]

    @event(CatalogueRecorded)
    def record_catalogue(self, topics: list[str]) -> None:
        self.topics = list(topics)

    class PolicyChanged(Aggregate.Event):
        policy: dict[str, Any]

    @event(PolicyChanged)
    def change_policy(self, policy: dict[str, Any]) -> None:
        self.policy = dict(policy)
