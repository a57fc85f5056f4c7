"""Who may do what in scheduling: the role table and the object-level rules.

:data:`POLICY` is enforced by the kernel's interceptor before a handler runs
(a wrong role is PERMISSION_DENIED; a method missing here is denied to all).
The functions below are the second gate, on the object loaded, and decide on
the roles the table grants *for this RPC* only.

    admin              everything
    programme_manager  everything, only in the programmes of their ``programmes``
                       claim; acts on a pair's sessions as the programme manager
    auditor            read-only, never the pair's private texts
    service            (feedback, reporting) read-only, never the private texts
    mentor, mentee     their own mentorships only: read them, book, move, cancel
                       and record their sessions, dispute the other member's
                       record, ask for slots, read their own calendar and export
                       their data; scheduling does not know employee ids, so
                       "own" is asked of enrolment with the caller's own token
                       (see revmentor.kernel.ownership)

A mentorship (or a participant's sessions) the caller may not see is reported
exactly as a missing one (NOT_FOUND, same message), so ids cannot be probed.
Agendas, locations, meeting links and cancellation reasons are private to the
pair and the people running their programme (admins, its managers): auditors
and services see every session without them.
"""

from __future__ import annotations

from collections.abc import Mapping

from revmentor.kernel.auth import (
    ADMIN,
    MANAGERS,
    PARTICIPANTS,
    READERS,
    AccessDenied,
    AccessTable,
    Principal,
    manages_programme,
)
from revmentor.kernel.errors import NotFound

#: The pair and the people running their programme.
_PAIR = MANAGERS | PARTICIPANTS

#: RPC method -> roles allowed to call it (deny by default).
POLICY: Mapping[str, frozenset[str]] = {
    "SetSchedulingPolicy": MANAGERS,
    "GetSchedulingPolicy": READERS,
    "GetMentorship": READERS | PARTICIPANTS,
    "ListMentorships": READERS | PARTICIPANTS,
    "ScheduleSession": _PAIR,
    "RescheduleSession": _PAIR,
    "CancelSession": _PAIR,
    "RecordAttendance": _PAIR,
    "DisputeAttendance": PARTICIPANTS,
    "LogPastSession": _PAIR,
    "SuggestSlots": _PAIR,
    "ListSessions": READERS | PARTICIPANTS,
    "GetCalendar": _PAIR,
    "ExportParticipantData": READERS | PARTICIPANTS,
}


TABLE = AccessTable(POLICY)
acting_roles = TABLE.roles


may_act_in_programme = TABLE.acts_in_programme


acts_for_self = TABLE.acts_for_self


needs_ownership = TABLE.needs_ownership


def runs_programme(principal: Principal, rpc: str, programme_id: str) -> bool:
    """An admin, or a manager of this programme, granted ``rpc``: sees the private
    texts and acts on a pair's sessions as the programme manager."""
    roles = acting_roles(principal, rpc)
    return ADMIN in roles or manages_programme(principal, roles, programme_id)


def require_programme(principal: Principal, rpc: str, programme_id: str, asked: str = "") -> None:
    """NOT_FOUND, worded as for a missing programme, unless the caller may act on it.

    ``asked``: the id as the client wrote it (the application's own NOT_FOUND
    quotes it so). A caller whose only granted roles are mentor/mentee is told
    plainly to ask by participant (a programme is no secret to its participants).
    """
    if may_act_in_programme(principal, rpc, programme_id):
        return
    roles = acting_roles(principal, rpc)
    if roles and roles <= PARTICIPANTS:
        raise AccessDenied(f"{rpc}: mentors and mentees ask by their own participant_id")
    raise NotFound(f"programme {asked or programme_id} not found")


def require_mentorship(
    principal: Principal, rpc: str, programme_id: str, mentorship_id: str, own: bool
) -> None:
    """NOT_FOUND, worded as for a missing mentorship, unless the caller may see it.

    ``own``: enrolment confirmed the mentee or the mentor is the caller.
    """
    if may_act_in_programme(principal, rpc, programme_id):
        return
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(f"mentorship {mentorship_id} not found")


def require_participant(
    principal: Principal, rpc: str, programme_ids: set[str], participant_id: str, own: bool
) -> None:
    """NOT_FOUND, worded as for a participant without mentorships, unless the caller
    may act in every programme the participant's mentorships are in, or is them."""
    if programme_ids and all(may_act_in_programme(principal, rpc, p) for p in programme_ids):
        return
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(f"participant {participant_id} has no mentorships")


def sees_private(principal: Principal, rpc: str, programme_id: str, own: bool) -> bool:
    """Agendas, places, links and reasons: for the pair (``own``), admins and the
    programme's managers; never for auditors or services."""
    return runs_programme(principal, rpc, programme_id) or (
        own and bool(acting_roles(principal, rpc) & PARTICIPANTS)
    )


def require_calendar(
    principal: Principal, rpc: str, programme_ids: set[str], participant_id: str, own: bool
) -> set[str]:
    """The programmes whose sessions go into a participant's feed for this caller:
    all of them for the participant themself (an empty feed if none yet), else
    those the caller runs; NOT_FOUND, as for a participant without mentorships,
    when that leaves nothing the caller may see."""
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return set(programme_ids)
    shown = {p for p in programme_ids if runs_programme(principal, rpc, p)}
    if not shown:
        raise NotFound(f"participant {participant_id} has no mentorships")
    return shown
