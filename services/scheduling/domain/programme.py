"""A programme as scheduling sees it: its dates and its scheduling policy.

Dates and the planned number of sessions come from enrolment's
``ProgrammeCreated``; the policy (session length bounds, minimum gap between
two sessions of a pair, reminder lead time, stall period) is set by the
programme manager here. Registered on first sight of either the programme or a
confirmed match, since the two streams are consumed independently.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import Violations

DEFAULT_PLANNED_SESSIONS = 6


@dataclass(frozen=True)
class Policy:
    min_session_minutes: int = 60
    max_session_minutes: int = 120
    min_gap_days: int = 6
    reminder_lead_hours: int = 24
    stall_after_days: int = 42

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


#: field -> (low, high): the bounds of each policy value.
BOUNDS = {
    "min_session_minutes": (30, 240),
    "max_session_minutes": (30, 240),
    "min_gap_days": (0, 60),
    "reminder_lead_hours": (1, 336),
    "stall_after_days": (7, 180),
}


def changed_policy(current: dict[str, int], change: dict[str, int | None]) -> dict[str, int]:
    """The validated new policy; every violation names ``change.<field>``."""
    v = Violations()
    new = dict(current)
    for name, value in change.items():
        if value is None:
            continue
        low, high = BOUNDS[name]
        if v.check(low <= value <= high, f"change.{name}", f"must be {low}-{high}"):
            new[name] = int(value)
    v.check(
        new["min_session_minutes"] <= new["max_session_minutes"],
        "change.min_session_minutes",
        "must not exceed max_session_minutes",
    )
    v.raise_if_any()
    return new


def programme_key(programme_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:scheduling:programme:{programme_id}")


class SchedulingProgramme(Aggregate):
    class Registered(Aggregate.Created):
        programme_id: UUID

    @staticmethod
    def create_id(programme_id: UUID) -> UUID:
        return programme_key(programme_id)

    @event(Registered)
    def __init__(self, programme_id: UUID) -> None:
        self.programme_id = programme_id
        self.start_date = ""
        self.end_date = ""
        self.planned_sessions = DEFAULT_PLANNED_SESSIONS
        self.policy: dict[str, int] = Policy().as_dict()

    class FactsRecorded(Aggregate.Event):
        start_date: str
        end_date: str
        planned_sessions: int

    @event(FactsRecorded)
    def record_facts(self, start_date: str, end_date: str, planned_sessions: int) -> None:
        self.start_date = start_date
        self.end_date = end_date
        self.planned_sessions = planned_sessions

    class PolicyChanged(Aggregate.Event):
        policy: dict[str, Any]

    @event(PolicyChanged)
    def change_policy(self, policy: dict[str, Any]) -> None:
        self.policy = dict(policy)
