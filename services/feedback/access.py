"""Who may do what in feedback: the role table and the object-level rules.

:data:`POLICY` is enforced by the kernel's interceptor before a handler runs
(a wrong role is PERMISSION_DENIED; a method missing here is denied to all).
The functions below are the second gate, on the object loaded.

    admin              policy, reports and pairs at risk of every programme;
                       a participant's export without their free text
    programme_manager  policy, reports and pairs at risk of the programmes in
                       their ``programmes`` claim: aggregates only, never one
                       member's answers
    auditor, service   read the policy and the reports (aggregates only)
    mentor, mentee     their own feedback requests, session feedback, surveys
                       and export; feedback and surveys are given by the
                       member themself and nobody else

A member sees the other member's ratings once both answered or the window
closed, and never the other's practices or confidential note: a note is seen
by its author alone (not by admins, managers or auditors). Feedback does not
know employee ids, so "own" is asked of enrolment with the caller's own token
(see revmentor.kernel.ownership). Something the caller may not see is
reported exactly as a missing one (NOT_FOUND, same message).
"""

from __future__ import annotations

from collections.abc import Mapping

from revmentor.kernel.auth import (
    ADMIN,
    MANAGERS,
    PARTICIPANTS,
    READERS,
    AccessTable,
    Principal,
)
from revmentor.kernel.errors import NotFound

#: RPC method -> roles allowed to call it (deny by default).
POLICY: Mapping[str, frozenset[str]] = {
    "SetFeedbackPolicy": MANAGERS,
    "GetFeedbackPolicy": READERS,
    "SubmitFeedback": PARTICIPANTS,
    "GetSessionFeedback": PARTICIPANTS,
    "ListFeedbackRequests": PARTICIPANTS,
    "SubmitSurvey": PARTICIPANTS,
    "GetSurvey": PARTICIPANTS,
    "ListSurveys": PARTICIPANTS,
    "GetOutcomesReport": READERS,
    "ListPairsAtRisk": MANAGERS,
    "ExportParticipantData": PARTICIPANTS | frozenset({ADMIN}),
}

TABLE = AccessTable(POLICY)
acting_roles = TABLE.roles
may_act_in_programme = TABLE.acts_in_programme
acts_for_self = TABLE.acts_for_self


def is_administrator(principal: Principal, rpc: str) -> bool:
    """An admin may lower a programme's smallest reportable group below the
    managers' floor (the managers read the report it protects)."""
    return ADMIN in acting_roles(principal, rpc)


def require_programme(principal: Principal, rpc: str, programme_id: str, asked: str = "") -> None:
    """NOT_FOUND, worded as for a missing programme, unless the caller may act on it."""
    if may_act_in_programme(principal, rpc, programme_id):
        return
    raise NotFound(f"programme {asked or programme_id} not found")


def require_own(principal: Principal, rpc: str, own: bool, missing: str) -> None:
    """Member-only RPCs: NOT_FOUND (``missing``) unless enrolment confirmed the
    participant is the caller."""
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(missing)


def export_without_text(principal: Principal, rpc: str, own: bool, participant_id: str) -> bool:
    """An export for anyone but the participant themself (an admin answering a
    request on their behalf) leaves out the free text only its author may read;
    anyone else is told there is nothing (NOT_FOUND, as for a participant with
    no feedback)."""
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return False
    if ADMIN in acting_roles(principal, rpc):
        return True
    raise NotFound(f"participant {participant_id} has no feedback or surveys")
