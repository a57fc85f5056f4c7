"""The programme (cohort): its topic catalogue, its rules and its lifecycle.

draft -> enrolment_open <-> enrolment_closed -> launched -> closed
(any state but closed can be closed: that is how a programme is cancelled)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import IllegalTransition

DRAFT = "draft"
ENROLMENT_OPEN = "enrolment_open"
ENROLMENT_CLOSED = "enrolment_closed"
LAUNCHED = "launched"
CLOSED = "closed"
STATUSES = (DRAFT, ENROLMENT_OPEN, ENROLMENT_CLOSED, LAUNCHED, CLOSED)


@dataclass(frozen=True)
class Topic:
    code: str
    title: str


@dataclass(frozen=True)
class ProgrammeRules:
    """How pairs are formed and how often they meet."""

    min_age_gap_years: int = 10
    mentor_capacity: int = 1
    planned_sessions: int = 6
    session_minutes: int = 60
    same_department_allowed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Programme(Aggregate):
    """A reverse-mentoring cohort."""

    @event("Created")
    def __init__(
        self,
        name: str,
        description: str,
        start_date: str,
        end_date: str,
        topics: list[dict[str, str]],
        rules: dict[str, Any],
    ):
        self.name = name
        self.description = description
        self.start_date = start_date
        self.end_date = end_date
        self.topics = topics
        self.rules = rules
        self.status = DRAFT

    # -- queries ---------------------------------------------------------------
    @property
    def topic_codes(self) -> list[str]:
        return [t["code"] for t in self.topics]

    @property
    def programme_rules(self) -> ProgrammeRules:
        return ProgrammeRules(**self.rules)

    @property
    def accepts_enrolments(self) -> bool:
        return self.status == ENROLMENT_OPEN

    def require_enrolment_open(self) -> None:
        if not self.accepts_enrolments:
            raise IllegalTransition(
                f"programme {self.id} is {self.status}: enrolment must be open to enrol"
            )

    # -- commands --------------------------------------------------------------
    def open_enrolment(self) -> None:
        self._require({DRAFT, ENROLMENT_CLOSED}, "open enrolment")
        self._enrolment_opened()

    def close_enrolment(self) -> None:
        self._require({ENROLMENT_OPEN}, "close enrolment")
        self._enrolment_closed()

    def launch(self) -> None:
        self._require({ENROLMENT_CLOSED}, "launch (close enrolment first)")
        self._launched()

    def close(self) -> None:
        self._require({DRAFT, ENROLMENT_OPEN, ENROLMENT_CLOSED, LAUNCHED}, "close")
        self._closed()

    def _require(self, allowed: set[str], action: str) -> None:
        if self.status not in allowed:
            raise IllegalTransition(
                f"cannot {action}: programme is {self.status} "
                f"(allowed from: {', '.join(sorted(allowed))})"
            )

    # -- events ------------------------------------------------------------------
    @event("EnrolmentOpened")
    def _enrolment_opened(self) -> None:
        self.status = ENROLMENT_OPEN

    @event("EnrolmentClosed")
    def _enrolment_closed(self) -> None:
        self.status = ENROLMENT_CLOSED

    @event("Launched")
    def _launched(self) -> None:
        self.status = LAUNCHED

    @event("Closed")
    def _closed(self) -> None:
        self.status = CLOSED
