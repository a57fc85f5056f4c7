"""The training read model: programmes and records as the list queries see them.

Built only from the notification log, so live, restarted and replayed models
have the same digest. It holds no free text (waiver and revocation reasons are
read from the aggregate), so an erasure does not change it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from revmentor.kernel.readmodel import ReadModel
from revmentor.training.domain.curriculum import MENTOR
from revmentor.training.domain.record import (
    CERTIFIED,
    CLOSED,
    COMPLETED,
    IN_PROGRESS,
    NOT_STARTED,
    REVOKED,
)


class TrainingReadModel(ReadModel):
    def __init__(self) -> None:
        super().__init__()
        self.programmes: dict[str, dict[str, Any]] = {}
        self.records: dict[str, dict[str, Any]] = {}
        self.by_programme: dict[str, list[str]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            handler(self, event)

    # -- programmes -------------------------------------------------------------------
    def _registered(self, e: Any) -> None:
        pid = str(e.programme_id)
        self.programmes[pid] = {
            "programme_id": pid,
            "start_date": e.start_date,
            "deadline": e.deadline,
            "curriculum_version": 0,
        }
        self.by_programme.setdefault(pid, [])

    def _curriculum_defined(self, e: Any) -> None:
        self.programmes[str(e.programme_id)]["curriculum_version"] = e.curriculum_version

    def _deadline_set(self, e: Any) -> None:
        self.programmes[str(e.programme_id)]["deadline"] = e.deadline

    # -- records ------------------------------------------------------------------------
    def _opened(self, e: Any) -> None:
        participant, programme = str(e.participant_id), str(e.programme_id)
        self.records[participant] = {
            "record_id": str(e.originator_id),
            "participant_id": participant,
            "programme_id": programme,
            "role": e.role,
            "status": NOT_STARTED,
            "curriculum_version": e.curriculum_version,
            "certified_at": "",
            "overdue": False,
            "version": e.originator_version,
        }
        self.by_programme.setdefault(programme, []).append(participant)

    def _view(self, e: Any) -> dict[str, Any]:
        view = self.records[str(e.participant_id)]
        view["version"] = e.originator_version
        return view

    def _progressed(self, e: Any) -> None:
        view = self._view(e)
        if view["status"] == NOT_STARTED:
            view["status"] = IN_PROGRESS

    def _certified(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = CERTIFIED if e.role == MENTOR else COMPLETED
        view["certified_at"] = e.certified_at

    def _revoked(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = REVOKED
        view["certified_at"] = ""

    def _recertification(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = IN_PROGRESS
        view["curriculum_version"] = e.to_version
        view["certified_at"] = ""

    def _closed(self, e: Any) -> None:
        self._view(e)["status"] = CLOSED

    def _overdue(self, e: Any) -> None:
        self._view(e)["overdue"] = True

    # -- queries --------------------------------------------------------------------------
    def records_of(self, programme_id: str) -> list[dict[str, Any]]:
        return [self.records[p] for p in self.by_programme.get(programme_id, [])]

    def is_overdue(self, view: dict[str, Any], today: date) -> bool:
        """A mentor still in training (not certified, not withdrawn) after the deadline."""
        if view["role"] != MENTOR or view["status"] in (CERTIFIED, CLOSED):
            return False
        deadline = self.programmes.get(view["programme_id"], {}).get("deadline", "")
        return bool(deadline) and today > date.fromisoformat(deadline)

    def overdue_candidates(self, today: date) -> list[tuple[str, str]]:
        """(participant id, deadline) of overdue mentors not flagged yet."""
        return [
            (v["participant_id"], self.programmes[v["programme_id"]]["deadline"])
            for v in self.records.values()
            if not v["overdue"] and self.is_overdue(v, today)
        ]

    def readiness(self, programme_id: str, today: date) -> dict[str, Any]:
        counts: dict[tuple[str, str], int] = {}
        overdue: list[str] = []
        mentors = certified = 0
        for view in self.records_of(programme_id):
            key = (view["role"], view["status"])
            counts[key] = counts.get(key, 0) + 1
            if view["role"] == MENTOR and view["status"] != CLOSED:
                mentors += 1
                certified += view["status"] == CERTIFIED
            if self.is_overdue(view, today):
                overdue.append(view["participant_id"])
        programme = self.programmes.get(programme_id, {})
        return {
            "programme_id": programme_id,
            "deadline": programme.get("deadline", ""),
            "counts": dict(sorted(counts.items())),
            "mentors": mentors,
            "certified_mentors": certified,
            "overdue": sorted(overdue),
        }

    def programme_state(self, programme_id: str) -> Any:
        """The programme's training settings and every record's status (who is
        certified, since when, on which curriculum version); no free text."""
        programme = self.programmes.get(programme_id)
        if programme is None:
            return {}
        return {
            "programme": {k: v for k, v in programme.items() if k != "programme_id"},
            "records": {
                v["participant_id"]: {k: x for k, x in v.items() if k != "participant_id"}
                for v in self.records_of(programme_id)
            },
        }

    def certified_mentors(self, programme_id: str) -> list[dict[str, Any]]:
        return [
            v
            for v in self.records_of(programme_id)
            if v["role"] == MENTOR and v["status"] == CERTIFIED
        ]

    def snapshot(self) -> Any:
        return {
            "programmes": self.programmes,
            "records": self.records,
            "by_programme": self.by_programme,
        }


_HANDLERS: dict[str, Callable[[TrainingReadModel, Any], None]] = {
    "ProgrammeTraining.Registered": TrainingReadModel._registered,
    "ProgrammeTraining.CurriculumDefined": TrainingReadModel._curriculum_defined,
    "ProgrammeTraining.DeadlineSet": TrainingReadModel._deadline_set,
    "TrainingRecord.Opened": TrainingReadModel._opened,
    "TrainingRecord.ModuleStarted": TrainingReadModel._progressed,
    "TrainingRecord.ModuleCompleted": TrainingReadModel._progressed,
    "TrainingRecord.AttendanceRecorded": TrainingReadModel._progressed,
    "TrainingRecord.ModuleWaived": TrainingReadModel._progressed,
    "TrainingRecord.Certified": TrainingReadModel._certified,
    "TrainingRecord.CertificationRevoked": TrainingReadModel._revoked,
    "TrainingRecord.RecertificationRequested": TrainingReadModel._recertification,
    "TrainingRecord.Closed": TrainingReadModel._closed,
    "TrainingRecord.MarkedOverdue": TrainingReadModel._overdue,
}
