"""Who may do what in matching: the role table and the object-level rules.

:data:`POLICY` is enforced by the kernel's interceptor before a handler runs
(a wrong role is PERMISSION_DENIED; a method missing here is denied to all).
The functions below are the second gate, on the object loaded, and decide on
the roles the table grants *for this RPC* only.

    admin              everything
    programme_manager  everything, only in the programmes of their ``programmes``
                       claim; answers a proposal on behalf of either side
    auditor            read-only; with admins, the only ones to replay a round
    service            (scheduling, feedback, reporting) read-only
    mentor, mentee     their own matches only: read them, answer a proposal as
                       themselves, export their data; matching does not know
                       employee ids, so "own" is asked of enrolment with the
                       caller's own token (see revmentor.kernel.ownership)

A match the caller may not see is reported exactly as a missing one
(NOT_FOUND, same message), so ids cannot be probed. A participant sees their
match with its checks and score breakdown - the derived facts both sides need
to accept or decline knowingly - but never a manager's override justification;
their own export leaves out the other side's reasons and who acted.
"""

from __future__ import annotations

from collections.abc import Mapping

from revmentor.kernel.auth import (
    ADMIN,
    AUDITOR,
    MANAGERS,
    PARTICIPANTS,
    READERS,
    AccessDenied,
    AccessTable,
    Principal,
)
from revmentor.kernel.errors import NotFound

#: RPC method -> roles allowed to call it (deny by default).
POLICY: Mapping[str, frozenset[str]] = {
    "SetMatchingPolicy": MANAGERS,
    "GetMatchingPolicy": READERS,
    "GetCandidatePool": READERS,
    "RunRound": MANAGERS,
    "GetRound": READERS,
    "ListRounds": READERS,
    # re-runs a round on enrolment's attributes as they were: an audit, not management
    "ReplayRound": frozenset({ADMIN, AUDITOR}),
    "ProposeMatch": MANAGERS,
    "RespondToProposal": MANAGERS | PARTICIPANTS,
    "EndMatch": MANAGERS,
    "GetMatch": READERS | PARTICIPANTS,
    "ListMatches": READERS | PARTICIPANTS,
    "ListUnmatchedMentees": READERS,
    "ExportParticipantData": READERS | PARTICIPANTS,
}


TABLE = AccessTable(POLICY)
acting_roles = TABLE.roles


may_act_in_programme = TABLE.acts_in_programme


acts_for_self = TABLE.acts_for_self


needs_ownership = TABLE.needs_ownership


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


def require_round(principal: Principal, rpc: str, programme_id: str, round_id: str) -> None:
    """NOT_FOUND, worded as for a missing round, unless the caller may act in its programme."""
    if not may_act_in_programme(principal, rpc, programme_id):
        raise NotFound(f"round {round_id} not found")


def require_match(
    principal: Principal, rpc: str, programme_id: str, match_id: str, own: bool
) -> None:
    """NOT_FOUND, worded as for a missing match, unless the caller may see it.

    ``own``: enrolment confirmed the mentee or the mentor is the caller.
    """
    if may_act_in_programme(principal, rpc, programme_id):
        return
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(f"match {match_id} not found")


def require_answering_as_self(principal: Principal, rpc: str, programme_id: str, own: bool) -> None:
    """A participant answers a proposal only as themselves; a manager for either side.

    Called once the caller may see the match, so refusing says nothing new.
    """
    if may_act_in_programme(principal, rpc, programme_id) or own:
        return
    raise AccessDenied("a mentor or mentee answers a proposal only as themselves")


def require_participant(
    principal: Principal, rpc: str, programme_ids: set[str], participant_id: str, own: bool
) -> None:
    """NOT_FOUND, worded as for a participant without matches, unless the caller may
    act in every programme the participant's matches are in, or is that participant."""
    if programme_ids and all(may_act_in_programme(principal, rpc, p) for p in programme_ids):
        return
    if own and acting_roles(principal, rpc) & PARTICIPANTS:
        return
    raise NotFound(f"participant {participant_id} has no matches")


def sees_checks(principal: Principal, rpc: str, programme_id: str) -> bool:
    """Override justifications are for managers, auditors and services only; the
    checks (derived facts, e.g. the age gap) are shown to both sides, who accept
    or decline knowing why they were paired."""
    return may_act_in_programme(principal, rpc, programme_id)
