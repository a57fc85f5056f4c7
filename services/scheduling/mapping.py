"""Conversions between the scheduling gRPC messages and the domain."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from revmentor.scheduling.domain import mentorship as dm
from revmentor.scheduling.domain import rules, times
from revmentor.scheduling.domain.mentorship import Mentorship
from revmentor.scheduling.domain.programme import BOUNDS, SchedulingProgramme
from revmentor.scheduling.v1 import scheduling_pb2 as pb

MENTORSHIP_STATUS = {
    dm.ACTIVE: pb.MENTORSHIP_STATUS_ACTIVE,
    dm.COMPLETED: pb.MENTORSHIP_STATUS_COMPLETED,
    dm.ENDED: pb.MENTORSHIP_STATUS_ENDED,
}
MENTORSHIP_STATUS_FROM = {v: k for k, v in MENTORSHIP_STATUS.items()}
SESSION_STATUS = {
    dm.SCHEDULED: pb.SESSION_STATUS_SCHEDULED,
    dm.HELD: pb.SESSION_STATUS_HELD,
    dm.NO_SHOW: pb.SESSION_STATUS_NO_SHOW,
    dm.CANCELLED: pb.SESSION_STATUS_CANCELLED,
    dm.DISPUTED: pb.SESSION_STATUS_DISPUTED,
}
SESSION_STATUS_FROM = {v: k for k, v in SESSION_STATUS.items()}
MODE = {rules.IN_PERSON: pb.MODE_IN_PERSON, rules.VIRTUAL: pb.MODE_VIRTUAL}
MODE_FROM = {v: k for k, v in MODE.items()}
#: Attendance -> domain (UNSPECIFIED is missing: the application names ``attendance``).
ATTENDANCE = {pb.ATTENDANCE_HELD: dm.HELD, pb.ATTENDANCE_NO_SHOW: dm.NO_SHOW}
#: The policy fields a PolicyChange may set, in the order the message has them.
POLICY_FIELDS = tuple(BOUNDS)


# -- requests -> domain ------------------------------------------------------------------
def policy_change_from(message: pb.PolicyChange) -> dict[str, int | None]:
    """Every policy field: its value when present in the message, else None (keep)."""
    return {
        name: int(getattr(message, name)) if message.HasField(name) else None
        for name in POLICY_FIELDS
    }


def mode_from(value: int) -> str:
    """'' for UNSPECIFIED or unknown: validation names ``mode``."""
    return MODE_FROM.get(value, "")  # type: ignore[call-overload]


def attendance_from(value: int) -> str:
    """'' for UNSPECIFIED or unknown: the application names ``attendance``."""
    return ATTENDANCE.get(value, "")  # type: ignore[call-overload]


def mentorship_status_from(value: int) -> str | None:
    """'' for UNSPECIFIED (all); None for a number this server does not know."""
    if value == pb.MENTORSHIP_STATUS_UNSPECIFIED:
        return ""
    return MENTORSHIP_STATUS_FROM.get(value)  # type: ignore[call-overload]


def session_status_from(value: int) -> str | None:
    """'' for UNSPECIFIED (all); None for a number this server does not know."""
    if value == pb.SESSION_STATUS_UNSPECIFIED:
        return ""
    return SESSION_STATUS_FROM.get(value)  # type: ignore[call-overload]


# -- domain -> responses -----------------------------------------------------------------
def policy_message(programme: SchedulingProgramme) -> pb.SchedulingPolicy:
    policy = programme.policy
    return pb.SchedulingPolicy(
        programme_id=str(programme.programme_id),
        min_session_minutes=int(policy["min_session_minutes"]),
        max_session_minutes=int(policy["max_session_minutes"]),
        min_gap_days=int(policy["min_gap_days"]),
        reminder_lead_hours=int(policy["reminder_lead_hours"]),
        stall_after_days=int(policy["stall_after_days"]),
        planned_sessions=int(programme.planned_sessions),
        start_date=programme.start_date,
        end_date=programme.end_date,
        version=programme.version,
    )


def _minutes(start: str, end: str) -> int:
    span = times.parse_stamp(end, "end") - times.parse_stamp(start, "start")
    return int(span.total_seconds() // 60)


def session_message(record: Mentorship, session: Mapping[str, Any], private: bool) -> pb.Session:
    """A session of the aggregate; ``private=False`` leaves out the agenda, the
    place, the link and the cancellation reason (the pair's own texts)."""
    message = _session_fields(
        session,
        mentorship_id=str(record.id),
        programme_id=str(record.programme_id),
        mentee_id=record.mentee_id,
        mentor_id=record.mentor_id,
    )
    if private:
        message.location = str(session.get("location") or "")
        message.meeting_link = str(session.get("meeting_link") or "")
        message.agenda = str(session.get("agenda") or "")
        message.cancel_reason = str(session.get("cancel_reason") or "")
    return message


def session_view_message(view: Mapping[str, Any]) -> pb.Session:
    """A read-model view: never the agenda, the place, the link or a reason."""
    return _session_fields(
        view,
        mentorship_id=view["mentorship_id"],
        programme_id=view["programme_id"],
        mentee_id=view["mentee_id"],
        mentor_id=view["mentor_id"],
    )


def _session_fields(source: Mapping[str, Any], **pair: str) -> pb.Session:
    return pb.Session(
        session_id=source["session_id"],
        status=SESSION_STATUS[source["status"]],
        start=source["start"],
        end=source["end"],
        local_start=source["local_start"],
        time_zone=source["time_zone"],
        duration_minutes=_minutes(source["start"], source["end"]),
        mode=MODE.get(source["mode"], pb.MODE_UNSPECIFIED),
        sequence=int(source["sequence"]),
        cancelled_by=source.get("cancelled_by", ""),
        recorded_by=source.get("recorded_by", ""),
        disputed_by=source.get("disputed_by", ""),
        number=int(source["number"]),
        **pair,
    )


def mentorship_message(record: Mentorship, private: bool) -> pb.Mentorship:
    """The mentorship with its sessions in booking order (see :func:`session_message`)."""
    sessions = sorted(record.sessions.values(), key=lambda s: int(s["number"]))
    return pb.Mentorship(
        mentorship_id=str(record.id),
        programme_id=str(record.programme_id),
        match_id=record.match_id,
        mentee_id=record.mentee_id,
        mentor_id=record.mentor_id,
        status=MENTORSHIP_STATUS[record.status],
        planned_sessions=record.planned_sessions,
        held_sessions=record.held,
        opened_at=record.opened_at,
        last_held_at=record.last_held_at,
        stalled=record.stalled,
        sessions=[session_message(record, s, private) for s in sessions],
        version=record.version,
    )


def mentorship_view_message(view: Mapping[str, Any]) -> pb.Mentorship:
    """A read-model view: without sessions (GetMentorship and ListSessions have them)."""
    return pb.Mentorship(
        mentorship_id=view["mentorship_id"],
        programme_id=view["programme_id"],
        match_id=view["match_id"],
        mentee_id=view["mentee_id"],
        mentor_id=view["mentor_id"],
        status=MENTORSHIP_STATUS[view["status"]],
        planned_sessions=view["planned_sessions"],
        held_sessions=view["held_sessions"],
        opened_at=view["opened_at"],
        last_held_at=view["last_held_at"],
        stalled=view["stalled"],
        version=view["version"],
    )


def slot_message(start: datetime, end: datetime, zone_name: str) -> pb.Slot:
    """A suggested slot: UTC bounds, and its local start in the zone it is shown in."""
    return pb.Slot(
        start=times.stamp(start),
        end=times.stamp(end),
        local_start=times.local_text(start, times.zone(zone_name)),
        time_zone=zone_name,
    )
