"""The mentorship of a confirmed pair and its sessions.

    active --planned sessions held--> completed      (sessions may continue)
    active | completed --the match ends--> ended     (future sessions cancelled)

    session: scheduled --> held | no_show | cancelled
             held (recorded by one member) --the other disputes--> disputed
             disputed --the manager records attendance--> held | no_show

Every session change bumps its ``sequence`` (iCalendar SEQUENCE). Agendas,
locations, meeting links and reasons are sealed with the mentorship's key.
Reminders and stalls are flags in the aggregate, so each is recorded once
however many checkers run: a second save loses on the version.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import FieldViolation, IllegalTransition, ValidationFailed
from revmentor.scheduling.domain.rules import Slot
from revmentor.scheduling.domain.times import parse_stamp, stamp

ACTIVE = "active"
COMPLETED = "completed"
ENDED = "ended"

SCHEDULED = "scheduled"
HELD = "held"
NO_SHOW = "no_show"
CANCELLED = "cancelled"
DISPUTED = "disputed"
#: Sessions that occupy the pair's time (and the diaries).
BOOKED = (SCHEDULED, HELD, DISPUTED)

MENTEE = "mentee"
MENTOR = "mentor"
MANAGER = "programme_manager"
ENDED_BY = "mentorship_ended"

#: Sessions one mentorship may ever book (keeps the aggregate bounded).
MAX_SESSIONS = 60


def mentorship_key(match_id: UUID | str) -> UUID:
    """One mentorship per match, whatever redeliveries happen."""
    return uuid5(NAMESPACE_URL, f"revmentor:scheduling:mentorship:{match_id}")


def session_key(mentorship_id: UUID | str, number: int) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:scheduling:session:{mentorship_id}:{number}")


class Mentorship(Aggregate):
    class Opened(Aggregate.Created):
        programme_id: UUID
        match_id: str
        mentee_id: str
        mentor_id: str
        planned_sessions: int
        opened_at: str

    @staticmethod
    def create_id(match_id: str, **_: Any) -> UUID:
        return mentorship_key(match_id)

    @event(Opened)
    def __init__(
        self,
        programme_id: UUID,
        match_id: str,
        mentee_id: str,
        mentor_id: str,
        planned_sessions: int,
        opened_at: str,
    ) -> None:
        self.programme_id = programme_id
        self.match_id = match_id
        self.mentee_id = mentee_id
        self.mentor_id = mentor_id
        self.planned_sessions = planned_sessions
        self.opened_at = opened_at
        self.status = ACTIVE
        self.sessions: dict[str, dict[str, Any]] = {}
        self.held = 0
        self.last_held_at = ""
        self.stalled = False
        self.ended_at = ""

    class PairEvent(Aggregate.Event):
        """Every later event names the pair again, so one event reads alone."""

        programme_id: UUID
        mentee_id: str
        mentor_id: str

    @property
    def _pair(self) -> dict[str, Any]:
        return {
            "programme_id": self.programme_id,
            "mentee_id": self.mentee_id,
            "mentor_id": self.mentor_id,
        }

    # -- reading ---------------------------------------------------------------------
    def side_of(self, participant_id: str) -> str:
        if participant_id == self.mentee_id:
            return MENTEE
        if participant_id == self.mentor_id:
            return MENTOR
        return ""

    def session(self, session_id: str) -> dict[str, Any]:
        found = self.sessions.get(session_id)
        if found is None:
            raise ValidationFailed(
                [FieldViolation("session_id", "is not a session of this mentorship")]
            )
        return found

    def booked_intervals(self, except_id: str = "") -> list[tuple[datetime, datetime]]:
        return [
            (parse_stamp(s["start"], "start"), parse_stamp(s["end"], "end"))
            for sid, s in sorted(self.sessions.items())
            if s["status"] in BOOKED and sid != except_id
        ]

    def _require_open(self, doing: str) -> None:
        if self.status == ENDED:
            raise IllegalTransition(f"mentorship {self.id} has ended: cannot {doing}")

    def _require_status(
        self, session: dict[str, Any], allowed: tuple[str, ...], doing: str
    ) -> None:
        if session["status"] not in allowed:
            raise IllegalTransition(
                f"session {session['session_id']} is {session['status']}: cannot {doing}"
            )

    # -- booking -----------------------------------------------------------------------
    class SessionScheduled(PairEvent):
        personal_fields = ("location", "meeting_link", "agenda")
        session_id: str
        number: int
        start: str
        end: str
        local_start: str
        time_zone: str
        mode: str
        location: str
        meeting_link: str
        agenda: str
        scheduled_by: str

    def schedule(
        self, slot: Slot, mode: str, location: str, link: str, agenda: str, by: str
    ) -> str:
        """Book a new session (rules and diaries are checked by the caller)."""
        self._require_open("schedule a session")
        if len(self.sessions) >= MAX_SESSIONS:
            raise IllegalTransition(f"mentorship {self.id} already has {MAX_SESSIONS} sessions")
        number = len(self.sessions) + 1
        session_id = str(session_key(self.id, number))
        self._schedule(
            session_id=session_id,
            number=number,
            start=stamp(slot.start),
            end=stamp(slot.end),
            local_start=slot.local_start,
            time_zone=slot.time_zone,
            mode=mode,
            location=location,
            meeting_link=link,
            agenda=agenda,
            scheduled_by=by,
            **self._pair,
        )
        return session_id

    @event(SessionScheduled)
    def _schedule(
        self,
        session_id: str,
        number: int,
        start: str,
        end: str,
        local_start: str,
        time_zone: str,
        mode: str,
        location: str,
        meeting_link: str,
        agenda: str,
        scheduled_by: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.sessions[session_id] = {
            "session_id": session_id,
            "number": number,
            "start": start,
            "end": end,
            "local_start": local_start,
            "time_zone": time_zone,
            "mode": mode,
            "location": location,
            "meeting_link": meeting_link,
            "agenda": agenda,
            "status": SCHEDULED,
            "sequence": 0,
            "reminded": -1,
            "cancelled_by": "",
            "cancel_reason": "",
            "recorded_by": "",
            "recorder_role": "",
            "disputed_by": "",
            "dispute_reason": "",
        }

    class SessionRescheduled(PairEvent):
        session_id: str
        mode: str
        start: str
        end: str
        local_start: str
        time_zone: str
        sequence: int
        rescheduled_by: str

    def reschedule(self, session_id: str, slot: Slot, by: str) -> None:
        self._require_open("reschedule a session")
        session = self.session(session_id)
        self._require_status(session, (SCHEDULED,), "reschedule it")
        self._reschedule(
            session_id=session_id,
            mode=session["mode"],
            start=stamp(slot.start),
            end=stamp(slot.end),
            local_start=slot.local_start,
            time_zone=slot.time_zone,
            sequence=session["sequence"] + 1,
            rescheduled_by=by,
            **self._pair,
        )

    @event(SessionRescheduled)
    def _reschedule(
        self,
        session_id: str,
        mode: str,
        start: str,
        end: str,
        local_start: str,
        time_zone: str,
        sequence: int,
        rescheduled_by: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        session = self.sessions[session_id]
        session.update(
            start=start, end=end, local_start=local_start, time_zone=time_zone, sequence=sequence
        )

    class SessionCancelled(PairEvent):
        personal_fields = ("reason",)
        session_id: str
        cancelled_by: str
        by_role: str
        reason: str
        sequence: int

    def cancel(self, session_id: str, by: str, by_role: str, reason: str) -> None:
        session = self.session(session_id)
        self._require_status(session, (SCHEDULED,), "cancel it")
        self._cancel(
            session_id=session_id,
            cancelled_by=by,
            by_role=by_role,
            reason=reason,
            sequence=session["sequence"] + 1,
            **self._pair,
        )

    @event(SessionCancelled)
    def _cancel(
        self,
        session_id: str,
        cancelled_by: str,
        by_role: str,
        reason: str,
        sequence: int,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.sessions[session_id].update(
            status=CANCELLED, cancelled_by=cancelled_by, cancel_reason=reason, sequence=sequence
        )

    # -- attendance ------------------------------------------------------------------------
    class AttendanceRecorded(PairEvent):
        session_id: str
        start: str
        duration_minutes: int
        attendance: str  # held | no_show
        recorded_by: str
        by_role: str
        held_count: int
        sequence: int
        at: str

    def record_attendance(
        self, session_id: str, attendance: str, by: str, by_role: str, now: datetime
    ) -> None:
        """Held or no-show, once the session has started. A member records a
        scheduled session; the manager may also settle a disputed one."""
        session = self.session(session_id)
        allowed = (SCHEDULED, DISPUTED) if by_role == MANAGER else (SCHEDULED,)
        self._require_status(session, allowed, f"record it as {attendance}")
        if now < parse_stamp(session["start"], "start"):
            raise IllegalTransition(
                f"session {session_id} starts at {session['start']}: attendance can be "
                "recorded once it has started"
            )
        held = self.held + (attendance == HELD)
        start, end = parse_stamp(session["start"], "start"), parse_stamp(session["end"], "end")
        self._record(
            session_id=session_id,
            start=session["start"],
            duration_minutes=int((end - start).total_seconds() // 60),
            attendance=attendance,
            recorded_by=by,
            by_role=by_role,
            held_count=held,
            sequence=session["sequence"] + 1,
            at=stamp(now),
            **self._pair,
        )
        if self.status == ACTIVE and self.held >= self.planned_sessions:
            self._complete(held_sessions=self.held, at=stamp(now), **self._pair)

    @event(AttendanceRecorded)
    def _record(
        self,
        session_id: str,
        start: str,
        duration_minutes: int,
        attendance: str,
        recorded_by: str,
        by_role: str,
        held_count: int,
        sequence: int,
        at: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        session = self.sessions[session_id]
        session.update(
            status=attendance, recorded_by=recorded_by, sequence=sequence, recorder_role=by_role
        )
        self.held = held_count
        if attendance == HELD:
            self.last_held_at = max(self.last_held_at, session["start"])
            self.stalled = False

    class AttendanceDisputed(PairEvent):
        personal_fields = ("reason",)
        session_id: str
        disputed_by: str
        reason: str
        held_count: int
        sequence: int

    def dispute(self, session_id: str, by: str, reason: str) -> None:
        """The other member says a session recorded as held did not take place."""
        session = self.session(session_id)
        self._require_status(session, (HELD,), "dispute it")
        if session["recorder_role"] == MANAGER:
            raise IllegalTransition(
                f"session {session_id} was recorded by the programme manager: ask them to "
                "correct it"
            )
        if by == session["recorded_by"]:
            raise IllegalTransition(
                "only the other member can dispute an attendance; to correct your own "
                "record, ask the programme manager"
            )
        self._dispute(
            session_id=session_id,
            disputed_by=by,
            reason=reason,
            held_count=self.held - 1,
            sequence=session["sequence"] + 1,
            **self._pair,
        )

    @event(AttendanceDisputed)
    def _dispute(
        self,
        session_id: str,
        disputed_by: str,
        reason: str,
        held_count: int,
        sequence: int,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.sessions[session_id].update(
            status=DISPUTED, disputed_by=disputed_by, dispute_reason=reason, sequence=sequence
        )
        self.held = held_count

    # -- reminders, stalls, completion, end --------------------------------------------------
    class ReminderDue(PairEvent):
        session_id: str
        start: str
        sequence: int

    def remind(self, session_id: str, now: datetime, lead: timedelta) -> bool:
        """Record the reminder of a session's current time, once; False if not due."""
        session = self.sessions.get(session_id)
        if session is None or session["status"] != SCHEDULED or self.status == ENDED:
            return False
        start = parse_stamp(session["start"], "start")
        if session["reminded"] == session["sequence"] or not start - lead <= now < start:
            return False
        self._remind(
            session_id=session_id,
            start=session["start"],
            sequence=session["sequence"],
            **self._pair,
        )
        return True

    @event(ReminderDue)
    def _remind(
        self,
        session_id: str,
        start: str,
        sequence: int,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.sessions[session_id]["reminded"] = sequence

    class Stalled(PairEvent):
        since: str

    def flag_stall(self, now: datetime, after: timedelta) -> bool:
        """No held session for ``after``: flag once per stall (a held session clears it)."""
        if self.status != ACTIVE or self.stalled:
            return False
        since = self.last_held_at or self.opened_at
        if now - parse_stamp(since, "since") < after:
            return False
        self._stall(since=since, **self._pair)
        return True

    @event(Stalled)
    def _stall(self, since: str, programme_id: UUID, mentee_id: str, mentor_id: str) -> None:
        self.stalled = True

    class Planned(PairEvent):
        planned_sessions: int
        at: str

    def plan(self, planned_sessions: int, now: datetime) -> bool:
        """The programme's planned number of sessions became known after the
        mentorship opened (its facts arrived late): adopt it, and complete the
        mentorship if that many are already held. False when nothing changes."""
        if self.status == ENDED or planned_sessions == self.planned_sessions:
            return False
        self._plan(planned_sessions=planned_sessions, at=stamp(now), **self._pair)
        if self.status == ACTIVE and self.held >= self.planned_sessions:
            self._complete(held_sessions=self.held, at=stamp(now), **self._pair)
        return True

    @event(Planned)
    def _plan(
        self, planned_sessions: int, at: str, programme_id: UUID, mentee_id: str, mentor_id: str
    ) -> None:
        self.planned_sessions = planned_sessions

    class Completed(PairEvent):
        held_sessions: int
        at: str

    @event(Completed)
    def _complete(
        self, held_sessions: int, at: str, programme_id: UUID, mentee_id: str, mentor_id: str
    ) -> None:
        self.status = COMPLETED

    class Ended(PairEvent):
        outcome: str
        cancelled_sessions: int
        at: str

    def end(self, outcome: str, now: datetime) -> list[str]:
        """The match ended: cancel every future session; returns their ids."""
        if self.status == ENDED:
            return []
        future = [
            sid
            for sid, s in sorted(self.sessions.items())
            if s["status"] == SCHEDULED and parse_stamp(s["start"], "start") > now
        ]
        for sid in future:
            self.cancel(sid, "", ENDED_BY, "")
        self._end(outcome=outcome, cancelled_sessions=len(future), at=stamp(now), **self._pair)
        return future

    @event(Ended)
    def _end(
        self,
        outcome: str,
        cancelled_sessions: int,
        at: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.status = ENDED
        self.ended_at = at
