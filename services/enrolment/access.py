"""Who may do what in enrolment: the role table and the object-level rules.

:data:`POLICY` is the one declarative table the kernel's interceptor enforces
before a handler runs (a wrong role is PERMISSION_DENIED; a method missing
here is denied to everyone). The functions below are the second gate, run by
the handlers once the object is loaded: they decide on the roles the caller
holds *that the table grants for this RPC*, so an auditor who is also a mentee
cannot use the auditor role to change someone else's profile.

An object the caller may not see is reported exactly as a missing one
(NOT_FOUND, same message), so ids cannot be probed for existence.

    admin              everything
    programme_manager  CreateProgramme; everything else only in the programmes of
                       their ``programmes`` claim
    mentor, mentee     programmes (read); their own participant: enrol themselves
                       in the role they hold, read, update, withdraw, export
    auditor            read-only: Get/List/Find and ExportParticipantData
    service            reads and GetMatchingAttributes (service-to-service)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from revmentor.enrolment.domain.participant import Participant
from revmentor.kernel.auth import (
    ADMIN,
    AUDITOR,
    MANAGERS,
    PARTICIPANTS,
    READERS,
    SERVICE,
    UNSCOPED_ROLES,
    AccessDenied,
    AccessTable,
    Principal,
    manages_programme,
)
from revmentor.kernel.errors import NotFound, shown

#: RPC method -> roles allowed to call it (deny by default).
#: The only caller that may ask GetMatchingAttributes for a past instant (``as_of``):
#: matching, re-running a recorded round for an auditor (ReplayRound).
PAST_ATTRIBUTES_READER = "matching"

POLICY: Mapping[str, frozenset[str]] = {
    "CreateProgramme": MANAGERS,
    "GetProgramme": READERS | PARTICIPANTS,
    "ListProgrammes": READERS | PARTICIPANTS,
    "OpenEnrolment": MANAGERS,
    "CloseEnrolment": MANAGERS,
    "LaunchProgramme": MANAGERS,
    "CloseProgramme": MANAGERS,
    "EnrolParticipant": MANAGERS | PARTICIPANTS,
    "UpdateProfile": MANAGERS | PARTICIPANTS,
    "WithdrawParticipant": MANAGERS | PARTICIPANTS,
    "GetParticipant": READERS | PARTICIPANTS,
    "FindParticipant": READERS | PARTICIPANTS,
    "ListParticipants": READERS,
    # personal attributes for matching/scheduling: not for people, who use GetParticipant
    "GetMatchingAttributes": frozenset({ADMIN, SERVICE}),
    "EraseParticipant": MANAGERS,
    "ExportParticipantData": MANAGERS | PARTICIPANTS | {AUDITOR},
}


TABLE = AccessTable(POLICY)
acting_roles = TABLE.roles


def may_see_programme(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Programmes are not personal: people see all; a manager only their own."""
    roles = acting_roles(principal, rpc)
    return bool(roles & (UNSCOPED_ROLES | PARTICIPANTS)) or manages_programme(
        principal, roles, programme_id
    )


def may_manage_programme(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Acting inside a programme (changing it, listing its people): admin or its manager."""
    roles = acting_roles(principal, rpc)
    return bool(roles & UNSCOPED_ROLES) or manages_programme(principal, roles, programme_id)


def may_see_participant(principal: Principal, rpc: str, participant: Participant) -> bool:
    roles = acting_roles(principal, rpc)
    if roles & UNSCOPED_ROLES or manages_programme(principal, roles, str(participant.programme_id)):
        return True
    return bool(roles & PARTICIPANTS) and participant.employee_id == principal.employee_id


def require_programme(principal: Principal, rpc: str, programme_id: str, manage: bool) -> None:
    """NOT_FOUND, worded as for a missing programme, unless the caller may act on it."""
    check = may_manage_programme if manage else may_see_programme
    if not check(principal, rpc, programme_id):
        raise NotFound(f"programme {programme_id} not found")


def require_participant(principal: Principal, rpc: str, participant: Participant) -> None:
    """NOT_FOUND, worded as for a missing participant, unless it is the caller's to see."""
    if not may_see_participant(principal, rpc, participant):
        raise NotFound(f"participant {participant.id} not found")


def require_found_participant(
    principal: Principal, participant: Participant, programme_id: str, employee_id: str
) -> None:
    """FindParticipant: the same answer as when nobody has that employee id."""
    if not may_see_participant(principal, "FindParticipant", participant):
        raise NotFound(f"no participant with employee id {shown(employee_id)} in {programme_id}")


def require_enrolment(principal: Principal, programme_id: str, employee_id: str, role: str) -> None:
    """Managers enrol anyone in their programmes; people enrol only themselves, as themselves."""
    roles = acting_roles(principal, "EnrolParticipant")
    if ADMIN in roles or manages_programme(principal, roles, programme_id):
        return
    if roles & PARTICIPANTS:
        if employee_id != principal.employee_id:
            raise AccessDenied("mentors and mentees may enrol only themselves")
        if role not in roles:
            raise AccessDenied(f"your token does not hold the role {role or 'requested'!r}")
        return
    raise NotFound(f"programme {programme_id} not found")


def visible_programmes(
    principal: Principal, views: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """ListProgrammes: what the caller may see, before paging (so totals do not leak)."""
    return [v for v in views if may_see_programme(principal, "ListProgrammes", v["programme_id"])]
