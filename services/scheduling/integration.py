"""Which scheduling events are published, and as what.

Opaque ids and business facts only (DESIGN section 4): agendas, locations,
meeting links and reasons never leave the store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.events.v1 import scheduling_pb2 as pb
from revmentor.kernel.cloudevents import IntegrationEvent, translator
from revmentor.scheduling.domain import mentorship as ms


def _opened(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MentorshipOpened(
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        match_id=e.match_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        planned_sessions=e.planned_sessions,
    )
    return IntegrationEvent("MentorshipOpened", programme_id, message)


def _scheduled(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SessionScheduled(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        start=e.start,
        end=e.end,
        mode=e.mode,
        sequence=0,
    )
    return IntegrationEvent("SessionScheduled", programme_id, message)


def _rescheduled(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SessionScheduled(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        start=e.start,
        end=e.end,
        mode=e.mode,
        sequence=e.sequence,
        rescheduled=True,
    )
    return IntegrationEvent("SessionScheduled", programme_id, message)


def _cancelled(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SessionCancelled(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        cancelled_by_role="participant" if e.by_role in (ms.MENTEE, ms.MENTOR) else e.by_role,
        sequence=e.sequence,
    )
    return IntegrationEvent("SessionCancelled", programme_id, message)


def _recorded(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    if e.attendance == ms.NO_SHOW:
        return IntegrationEvent(
            "SessionNoShow",
            programme_id,
            pb.SessionNoShow(
                session_id=e.session_id,
                mentorship_id=str(e.originator_id),
                programme_id=programme_id,
            ),
        )
    message = pb.SessionHeld(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        start=e.start,
        duration_minutes=e.duration_minutes,
        held_count=e.held_count,
    )
    return IntegrationEvent("SessionHeld", programme_id, message)


def _disputed(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SessionAttendanceDisputed(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        disputed_by=e.disputed_by,
    )
    return IntegrationEvent("SessionAttendanceDisputed", programme_id, message)


def _reminder(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.SessionReminderDue(
        session_id=e.session_id,
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        start=e.start,
        sequence=e.sequence,
    )
    return IntegrationEvent("SessionReminderDue", programme_id, message)


def _stalled(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MentorshipStalled(
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        mentee_id=e.mentee_id,
        mentor_id=e.mentor_id,
        since=e.since,
    )
    return IntegrationEvent("MentorshipStalled", programme_id, message)


def _completed(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MentorshipCompleted(
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        held_sessions=e.held_sessions,
    )
    return IntegrationEvent("MentorshipCompleted", programme_id, message)


def _ended(e: Any) -> IntegrationEvent:
    programme_id = str(e.programme_id)
    message = pb.MentorshipEnded(
        mentorship_id=str(e.originator_id),
        programme_id=programme_id,
        outcome=e.outcome,
        cancelled_sessions=e.cancelled_sessions,
    )
    return IntegrationEvent("MentorshipEnded", programme_id, message)


#: Domain event class (qualified name) -> integration event. Others stay private.
TRANSLATIONS: dict[str, Callable[[Any], IntegrationEvent]] = {
    "Mentorship.Opened": _opened,
    "Mentorship.SessionScheduled": _scheduled,
    "Mentorship.SessionRescheduled": _rescheduled,
    "Mentorship.SessionCancelled": _cancelled,
    "Mentorship.AttendanceRecorded": _recorded,
    "Mentorship.AttendanceDisputed": _disputed,
    "Mentorship.ReminderDue": _reminder,
    "Mentorship.Stalled": _stalled,
    "Mentorship.Completed": _completed,
    "Mentorship.Ended": _ended,
}

#: The integration event for a domain event, or None if it stays private.
translate = translator(TRANSLATIONS)
