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
                       enrolment with the caller's own token (see ownership.py)

A record the caller may not see is reported exactly as a missing one
(NOT_FOUND, same message), so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Mapping

from revmentor.kernel.auth import (
    ADMIN,
    AUDITOR,
    MENTEE,
    MENTOR,
    PROGRAMME_MANAGER,
    SERVICE,
    UNSCOPED_ROLES,
    Principal,
    granted_roles,
    manages_programme,
)
from revmentor.kernel.errors import NotFound

_MANAGE = frozenset({ADMIN, PROGRAMME_MANAGER})
_SELF = frozenset({MENTOR, MENTEE})
_READ_ALL = frozenset({ADMIN, PROGRAMME_MANAGER, AUDITOR, SERVICE})
#: Facilitation: an LMS or workshop tool (service identity) records results.
_FACILITATE = _MANAGE | {SERVICE}

#: RPC method -> roles allowed to call it (deny by default).
POLICY: Mapping[str, frozenset[str]] = {
    "DefineCurriculum": _MANAGE,
    "GetCurriculum": _READ_ALL | _SELF,
    "SetTrainingDeadline": _MANAGE,
    "StartModule": _FACILITATE | _SELF,
    "CompleteModule": _FACILITATE,
    "RecordAttendance": _FACILITATE,
    "WaiveModule": _MANAGE,
    "RevokeCertification": _MANAGE,
    "RequestRecertification": _MANAGE,
    "GetTrainingRecord": _READ_ALL | _SELF,
    "GetProgrammeReadiness": _READ_ALL,
    "ListCertifiedMentors": _READ_ALL,
    "ExportParticipantData": _READ_ALL | _SELF,
}


def acting_roles(principal: Principal, rpc: str) -> frozenset[str]:
    """The caller's roles that this service's table grants for ``rpc``."""
    return granted_roles(principal, POLICY, rpc)


def may_act_in_programme(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Admin, auditor and services everywhere; a manager in their programmes."""
    roles = acting_roles(principal, rpc)
    return bool(roles & UNSCOPED_ROLES) or manages_programme(principal, roles, programme_id)


def may_see_curriculum(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Curricula are not personal: participants read every programme's."""
    roles = acting_roles(principal, rpc)
    return bool(roles & _SELF) or may_act_in_programme(principal, rpc, programme_id)


def needs_ownership(principal: Principal, rpc: str, programme_id: str) -> bool:
    """True when only "it is the caller's own record" could let them act on it."""
    if may_act_in_programme(principal, rpc, programme_id):
        return False
    return bool(acting_roles(principal, rpc) & _SELF)


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
    if own and acting_roles(principal, rpc) & _SELF:
        return
    raise NotFound(f"training record of participant {participant_id} not found")
