"""The scheduling read model: mentorships and sessions as list queries see them.

Built only from the notification log (replay equals live). It holds no sealed
field: agendas, places and reasons are read from the aggregate, so an erasure
does not change it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from revmentor.kernel.readmodel import ReadModel
from revmentor.scheduling.domain import mentorship as ms
from revmentor.scheduling.domain.programme import BOUNDS
from revmentor.scheduling.domain.times import parse_stamp, stamp

#: The longest reminder lead a policy may set: sessions further away are not due.
MAX_LEAD = timedelta(hours=BOUNDS["reminder_lead_hours"][1])


class SchedulingReadModel(ReadModel):
    def __init__(self) -> None:
        super().__init__()
        self.mentorships: dict[str, dict[str, Any]] = {}
        self.by_programme: dict[str, list[str]] = {}
        self.by_participant: dict[str, list[str]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            handler(self, event)

    # -- mentorships -------------------------------------------------------------------
    def _opened(self, e: Any) -> None:
        mid, programme = str(e.originator_id), str(e.programme_id)
        self.mentorships[mid] = {
            "mentorship_id": mid,
            "programme_id": programme,
            "match_id": e.match_id,
            "mentee_id": e.mentee_id,
            "mentor_id": e.mentor_id,
            "status": ms.ACTIVE,
            "planned_sessions": e.planned_sessions,
            "held_sessions": 0,
            "opened_at": e.opened_at,
            "last_held_at": "",
            "stalled": False,
            "sessions": [],
            "version": e.originator_version,
        }
        self.by_programme.setdefault(programme, []).append(mid)
        for pid in (e.mentee_id, e.mentor_id):
            self.by_participant.setdefault(pid, []).append(mid)

    def _view(self, e: Any) -> dict[str, Any]:
        view = self.mentorships[str(e.originator_id)]
        view["version"] = e.originator_version
        return view

    def _scheduled(self, e: Any) -> None:
        view = self._view(e)
        view["sessions"].append(e.session_id)
        self.sessions[e.session_id] = {
            "session_id": e.session_id,
            "mentorship_id": view["mentorship_id"],
            "programme_id": view["programme_id"],
            "mentee_id": view["mentee_id"],
            "mentor_id": view["mentor_id"],
            "number": e.number,
            "status": ms.SCHEDULED,
            "start": e.start,
            "end": e.end,
            "local_start": e.local_start,
            "time_zone": e.time_zone,
            "mode": e.mode,
            "sequence": 0,
            "reminded": -1,
            "recorded_by": "",
            "cancelled_by": "",
            "disputed_by": "",
        }

    def _rescheduled(self, e: Any) -> None:
        self._view(e)
        self.sessions[e.session_id].update(
            start=e.start,
            end=e.end,
            local_start=e.local_start,
            time_zone=e.time_zone,
            sequence=e.sequence,
        )

    def _cancelled(self, e: Any) -> None:
        self._view(e)
        self.sessions[e.session_id].update(
            status=ms.CANCELLED, sequence=e.sequence, cancelled_by=e.cancelled_by
        )

    def _recorded(self, e: Any) -> None:
        view = self._view(e)
        session = self.sessions[e.session_id]
        session.update(status=e.attendance, sequence=e.sequence, recorded_by=e.recorded_by)
        view["held_sessions"] = e.held_count
        if e.attendance == ms.HELD:
            view["last_held_at"] = max(view["last_held_at"], session["start"])
            view["stalled"] = False

    def _disputed(self, e: Any) -> None:
        view = self._view(e)
        self.sessions[e.session_id].update(
            status=ms.DISPUTED, sequence=e.sequence, disputed_by=e.disputed_by
        )
        view["held_sessions"] = e.held_count

    def _reminded(self, e: Any) -> None:
        self._view(e)
        self.sessions[e.session_id]["reminded"] = e.sequence

    def _stalled(self, e: Any) -> None:
        self._view(e)["stalled"] = True

    def _planned(self, e: Any) -> None:
        self._view(e)["planned_sessions"] = e.planned_sessions

    def _completed(self, e: Any) -> None:
        self._view(e)["status"] = ms.COMPLETED

    def _ended(self, e: Any) -> None:
        self._view(e)["status"] = ms.ENDED

    # -- queries -----------------------------------------------------------------------
    def _mentorship_views(self, ids: list[str], status: str) -> list[dict[str, Any]]:
        views = (self.mentorships[i] for i in ids)
        return [v for v in views if not status or v["status"] == status]

    def mentorships_of_programme(self, programme_id: str, status: str = "") -> list[dict[str, Any]]:
        return self._mentorship_views(self.by_programme.get(programme_id, []), status)

    def mentorships_of_participant(
        self, participant_id: str, status: str = ""
    ) -> list[dict[str, Any]]:
        return self._mentorship_views(self.by_participant.get(participant_id, []), status)

    def mentorship_ids_of(self, participant_id: str) -> list[str]:
        return list(self.by_participant.get(participant_id, []))

    def sessions_of_mentorship(self, mentorship_id: str, status: str = "") -> list[dict[str, Any]]:
        ids = self.mentorships.get(mentorship_id, {}).get("sessions", [])
        return [self.sessions[s] for s in ids if not status or self.sessions[s]["status"] == status]

    def sessions_of_participant(
        self, participant_id: str, status: str = ""
    ) -> list[dict[str, Any]]:
        out = []
        for mid in self.by_participant.get(participant_id, []):
            out += self.sessions_of_mentorship(mid, status)
        return sorted(out, key=lambda s: (s["start"], s["session_id"]))

    def programme_state(self, programme_id: str) -> Any:
        """The programme's mentorships and each one's sessions (times, status,
        who recorded or disputed them); agendas, places and links are not kept."""
        return {
            "mentorships": {
                m["mentorship_id"]: m
                | {"sessions": self.sessions_of_mentorship(m["mentorship_id"])}
                for m in self.mentorships_of_programme(programme_id)
            }
        }

    def reminder_candidates(self, now: str) -> list[tuple[str, str, int]]:
        """(mentorship, session, 0) of scheduled sessions ahead within the longest
        lead, not yet reminded at their current time; the aggregate decides."""
        horizon = stamp(parse_stamp(now, "now") + MAX_LEAD)
        return sorted(
            (s["mentorship_id"], s["session_id"], 0)
            for s in self.sessions.values()
            if s["status"] == ms.SCHEDULED
            and s["reminded"] != s["sequence"]
            and now < s["start"] <= horizon
            and self.mentorships[s["mentorship_id"]]["status"] != ms.ENDED
        )

    def stall_candidates(self) -> list[str]:
        return sorted(
            v["mentorship_id"]
            for v in self.mentorships.values()
            if v["status"] == ms.ACTIVE and not v["stalled"]
        )

    def snapshot(self) -> Any:
        return {
            "mentorships": self.mentorships,
            "by_programme": self.by_programme,
            "by_participant": self.by_participant,
            "sessions": self.sessions,
        }


_HANDLERS: dict[str, Callable[[SchedulingReadModel, Any], None]] = {
    "Mentorship.Opened": SchedulingReadModel._opened,
    "Mentorship.SessionScheduled": SchedulingReadModel._scheduled,
    "Mentorship.SessionRescheduled": SchedulingReadModel._rescheduled,
    "Mentorship.SessionCancelled": SchedulingReadModel._cancelled,
    "Mentorship.AttendanceRecorded": SchedulingReadModel._recorded,
    "Mentorship.AttendanceDisputed": SchedulingReadModel._disputed,
    "Mentorship.ReminderDue": SchedulingReadModel._reminded,
    "Mentorship.Stalled": SchedulingReadModel._stalled,
    "Mentorship.Planned": SchedulingReadModel._planned,
    "Mentorship.Completed": SchedulingReadModel._completed,
    "Mentorship.Ended": SchedulingReadModel._ended,
}
