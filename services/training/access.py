"""Who may do what in training: the role table and the object-level rules.

:data:`POLICY` is enforced by the kernel's interceptor before a handler runs
(a wrong role is PERMISSION_DENIED; a method missing here is denied to all).
The functions below are the second gate, on the object loaded, and decide on
the roles the table grants *for this RPC* only.

    admin              everything
    programme_manager  everything, only in the programmes of their ``programmes`` claim
    service            (an LMS, a workshop tool, matching) reads; CompleteModule,
                       RecordAttendance and StartModule on any record
    auditor            read-only
    mentor, mentee     their own record only (read, start a module) and curricula;
                       training does not know employee ids, so "own" is asked of
                       enrolment with the caller's own token
                       (see revmentor.kernel.ownership)

A record the caller may not see is reported exactly as a missing one
(NOT_FOUND, same message), so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping

from revmentor.kernel.auth import (
    MANAGERS,
    PARTICIPANTS,
    READERS,
    SERVICE,
    AccessTable,
    Principal,
)
from revmentor.kernel.errors import NotFound

#: Facilitation: an LMS or workshop tool (service identity) records results.
_FACILITATE = MANAGERS | {SERVICE}

#: RPC method -> roles allowed to call it (deny by default).
POLICY: Mapping[str, frozenset[str]] = {
    "DefineCurriculum": MANAGERS,
    "GetCurriculum": READERS | PARTICIPANTS,
    "SetTrainingDeadline": MANAGERS,
    "StartModule": _FACILITATE | PARTICIPANTS,
    "CompleteModule": _FACILITATE,
    "RecordAttendance": _FACILITATE,
    "WaiveModule": MANAGERS,
    "RevokeCertification": MANAGERS,
    "RequestRecertification": MANAGERS,
    "GetTrainingRecord": READERS | PARTICIPANTS,
    "GetProgrammeReadiness": READERS,
    "ListCertifiedMentors": READERS,
    "ExportParticipantData": READERS | PARTICIPANTS,
}


TABLE = AccessTable(POLICY)
acting_roles = TABLE.roles


may_act_in_programme = TABLE.acts_in_programme


def may_see_curriculum(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Curricula are not personal: participants read every programme's."""
    roles = acting_roles(principal, rpc)
    return bool(roles & PARTICIPANTS) or may_act_in_programme(principal, rpc, programme_id)


needs_ownership = TABLE.needs_ownership


def require_programme(principal: Principal, rpc: str, programme_id: str) -> None:
    """NOT_FOUND, worded as for a missing programme, unless the caller may act on it."""
    check = may_see_curriculum if rpc == "GetCurriculum" else may_act_in_programme
    if not check(principal, rpc, programme_id):
        raise NotFound(f"programme {programme_id} not found")


def require_record(
    principal: Principal, rpc: str, programme_id: str, participant_id: str, own: bool
) -> None:
    """NOT_FOUND, worded as for a missing record, unless the caller may act on it.

    ``own``: enrolment confirmed the participant is the caller (mentor/mentee).
    """
    if may_act_in_programme(principal, rpc, programme_id):
        return
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(f"training record of participant {participant_id} not found")
