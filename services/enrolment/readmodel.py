"""The enrolment read model: programmes and participants as list queries see them.

Built only from the notification log (live, after a restart, or replayed from
zero: the same digest every time). Holds the views that list and count
queries need, so they never load aggregates one by one.

Personal values are kept sealed: the model is fed events whose personal
fields are withheld, and keeps each participant's sealed blobs (the enrolment's,
then the latest profile update's) in ``view["sealed"]``. Building it needs no
key and decrypts nothing; the application opens the views a query returns
(:meth:`EnrolmentApplication.opened`), so only what is shown is decrypted, and
an erased person reads as erased the moment the key is destroyed. The
``Erased`` event then drops the blobs and blanks the view, so live and replayed
models end in the same state.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.enrolment.domain.profile import erased_profile, profile_topics
from revmentor.kernel.envelope import SEALED, Sealed
from revmentor.kernel.readmodel import ReadModel


class EnrolmentReadModel(ReadModel):
    def __init__(self) -> None:
        super().__init__()
        self.programmes: dict[str, dict[str, Any]] = {}
        self.participants: dict[str, dict[str, Any]] = {}
        self.by_programme: dict[str, list[str]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            handler(self, event, envelope.get(SEALED))

    # -- programmes -------------------------------------------------------------
    def _programme_created(self, e: Any, _sealed: Sealed | None) -> None:
        pid = str(e.originator_id)
        self.programmes[pid] = {
            "programme_id": pid,
            "name": e.name,
            "description": e.description,
            "start_date": e.start_date,
            "end_date": e.end_date,
            "topics": e.topics,
            "rules": e.rules,
            "status": "draft",
            "version": e.originator_version,
            "mentor_count": 0,
            "mentee_count": 0,
        }
        self.by_programme[pid] = []

    def _programme_status(self, e: Any, _sealed: Sealed | None) -> None:
        view = self.programmes[str(e.originator_id)]
        view["status"] = _STATUS_AFTER[type(e).__name__]
        view["version"] = e.originator_version

    # -- participants -----------------------------------------------------------
    def _enrolled(self, e: Any, sealed: Sealed | None) -> None:
        pid, programme_id = str(e.originator_id), str(e.programme_id)
        self.participants[pid] = {
            "participant_id": pid,
            "programme_id": programme_id,
            "employee_id": e.employee_id,
            "role": e.role,
            "profile": e.profile,
            "consent": e.consent,
            "status": "enrolled",
            "withdrawal_reason": "",
            "version": e.originator_version,
            "enrolled_at": e.timestamp.isoformat(),
            "sealed": [sealed] if sealed else [],
        }
        self.by_programme.setdefault(programme_id, []).append(pid)
        self._count(programme_id, e.role, +1)

    def _profile_updated(self, e: Any, sealed: Sealed | None) -> None:
        view = self.participants[str(e.originator_id)]
        view["profile"] = e.profile
        view["version"] = e.originator_version
        if sealed:  # the enrolment's blob still holds employee id and consent
            view["sealed"] = [*view["sealed"][:1], sealed]

    def _withdrawn(self, e: Any, _sealed: Sealed | None) -> None:
        view = self.participants[str(e.originator_id)]
        view["status"] = "withdrawn"
        view["withdrawal_reason"] = e.reason
        view["version"] = e.originator_version
        self._count(view["programme_id"], view["role"], -1)

    def _erased(self, e: Any, _sealed: Sealed | None) -> None:
        view = self.participants[str(e.originator_id)]
        view["sealed"] = []
        if view["status"] == "enrolled":
            self._count(view["programme_id"], view["role"], -1)
        view["status"] = "erased"
        blank_personal(view)
        view["version"] = e.originator_version

    def _count(self, programme_id: str, role: str, delta: int) -> None:
        programme = self.programmes.get(programme_id)
        if programme is not None:
            programme[f"{role}_count"] += delta

    # -- queries ------------------------------------------------------------------
    def list_programmes(self, status: str) -> list[dict[str, Any]]:
        return [p for p in self.programmes.values() if not status or p["status"] == status]

    def list_participants(
        self, programme_id: str, role: str, status: str, topic: str
    ) -> list[dict[str, Any]]:
        """The programme's participant views (still sealed) with that role,
        status and topic ('' for any); copies, safe to open outside the model's
        lock (a view's values are replaced by events, never changed in place)."""
        found = []
        for pid in self.by_programme.get(programme_id, []):
            view = self.participants[pid]
            if (role and view["role"] != role) or (status and view["status"] != status):
                continue
            if topic and topic not in profile_topics(view["profile"]):
                continue
            found.append(dict(view))
        return found

    def programme_state(self, programme_id: str) -> Any:
        """The programme and its participants by id: role, status, versions. No
        profile, employee id or consent: those are personal (and shredded by an
        erasure, so a replay could not show them as they were anyway)."""
        programme = self.programmes.get(programme_id)
        if programme is None:
            return {}
        people = (self.participants[p] for p in self.by_programme.get(programme_id, []))
        return {
            "programme": {k: programme[k] for k in _PROGRAMME_FACTS},
            "participants": {
                v["participant_id"]: {k: v[k] for k in _PARTICIPANT_FACTS} for v in people
            },
        }

    def snapshot(self) -> Any:
        return {
            "programmes": self.programmes,
            "participants": self.participants,
            "by_programme": self.by_programme,
        }


def blank_personal(view: dict[str, Any]) -> None:
    """Blank a participant view's personal values, keeping the business facts
    (on ``Erased``, and where a key is found destroyed before that event)."""
    view["employee_id"] = ""
    view["profile"] = erased_profile(view["profile"])
    view["consent"] = {"given": False, "notice_version": "", "given_at": ""}


_HANDLERS: dict[str, Callable[[EnrolmentReadModel, Any, Sealed | None], None]] = {
    "Programme.Created": EnrolmentReadModel._programme_created,
    "Programme.EnrolmentOpened": EnrolmentReadModel._programme_status,
    "Programme.EnrolmentClosed": EnrolmentReadModel._programme_status,
    "Programme.Launched": EnrolmentReadModel._programme_status,
    "Programme.Closed": EnrolmentReadModel._programme_status,
    "Participant.Enrolled": EnrolmentReadModel._enrolled,
    "Participant.ProfileUpdated": EnrolmentReadModel._profile_updated,
    "Participant.Withdrawn": EnrolmentReadModel._withdrawn,
    "Participant.Erased": EnrolmentReadModel._erased,
}

_PROGRAMME_FACTS = (
    "name",
    "status",
    "start_date",
    "end_date",
    "topics",
    "rules",
    "version",
    "mentor_count",
    "mentee_count",
)
_PARTICIPANT_FACTS = ("role", "status", "withdrawal_reason", "enrolled_at", "version")

_STATUS_AFTER = {
    "EnrolmentOpened": "enrolment_open",
    "EnrolmentClosed": "enrolment_closed",
    "Launched": "launched",
    "Closed": "closed",
}
