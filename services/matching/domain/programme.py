"""A programme as matching sees it: the candidate pool and who is taken.

This aggregate is the consistency boundary of matching. Every change to who
may be proposed (enrolment, withdrawal, certification), to who is taken (a
round's proposals, a manual match, a decline, an end) and to the policy goes
through it, so two managers running a round at once, or a round racing a
decline, meet on its version: one wins, the other is refused with a
concurrency conflict and nothing half-applies. Accepting a proposal does not
touch it (the mentee and the mentor are already taken), so accepts never
contend with each other across pairs.

Only opaque ids and business facts live here; personal attributes are fetched
from enrolment when a round runs and never stored.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.matching.domain.candidates import ProgrammeRules, Weights

MENTOR = "mentor"
MENTEE = "mentee"

DEFAULT_TARGET_GAP = 20
DEFAULT_MIN_OVERLAP = 60
DEFAULT_RESPONSE_HOURS = 7 * 24


def programme_key(programme_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:matching:programme:{programme_id}")


def default_policy() -> dict[str, Any]:
    return {
        "weights": dict(Weights().items()),
        "target_age_gap_years": DEFAULT_TARGET_GAP,
        "min_weekly_overlap_minutes": DEFAULT_MIN_OVERLAP,
        "response_window_hours": DEFAULT_RESPONSE_HOURS,
    }


def default_rules() -> dict[str, Any]:
    """Enrolment's defaults, used until its ProgrammeCreated has been consumed."""
    return {"min_age_gap_years": 10, "mentor_capacity": 1, "same_department_allowed": False}


#: Release outcomes after which the pair is never proposed again.
EXCLUDING = ("declined", "expired", "dissolved", "completed")
COMPLETED_OUTCOME = "completed"


def pair_key(mentee_id: str, mentor_id: str) -> str:
    return f"{mentee_id}/{mentor_id}"


class MatchingProgramme(Aggregate):
    """The pool of one programme, the taken places and the declined pairs."""

    class Registered(Aggregate.Created):
        programme_id: UUID

    @staticmethod
    def create_id(programme_id: UUID) -> UUID:
        return programme_key(programme_id)

    @event(Registered)
    def __init__(self, programme_id: UUID) -> None:
        self.programme_id = programme_id
        self.rules: dict[str, Any] = default_rules()
        self.policy: dict[str, Any] = default_policy()
        #: participant id -> {"role": mentor|mentee|"", "active": bool, "certified": bool}
        self.members: dict[str, dict[str, Any]] = {}
        #: mentee id -> id of their open (proposed or confirmed) match
        self.taken: dict[str, str] = {}
        #: mentor id -> number of open matches
        self.load: dict[str, int] = {}
        #: "mentee/mentor" -> match id, for every pair declined or expired:
        #: never proposed again (a dict, not a set, so snapshots stay JSON)
        self.declined: dict[str, str] = {}
        #: mentee id -> match id, for mentees whose mentorship completed
        self.completed: dict[str, str] = {}
        self.rounds = 0

    # -- pool ------------------------------------------------------------------------
    def _member(self, participant_id: str) -> dict[str, Any]:
        return self.members.setdefault(
            participant_id, {"role": "", "active": True, "certified": False}
        )

    class RulesRecorded(Aggregate.Event):
        rules: dict[str, Any]

    @event(RulesRecorded)
    def record_rules(self, rules: dict[str, Any]) -> None:
        self.rules = dict(rules)

    class PolicyChanged(Aggregate.Event):
        policy: dict[str, Any]

    @event(PolicyChanged)
    def change_policy(self, policy: dict[str, Any]) -> None:
        self.policy = dict(policy)

    class MemberEnrolled(Aggregate.Event):
        participant_id: str
        role: str

    @event(MemberEnrolled)
    def _enrol(self, participant_id: str, role: str) -> None:
        self._member(participant_id)["role"] = role

    def enrol(self, participant_id: str, role: str) -> bool:
        if self.members.get(participant_id, {}).get("role") == role:
            return False
        self._enrol(participant_id, role)
        return True

    class MemberLeft(Aggregate.Event):
        participant_id: str
        cause: str  # participant_withdrawn | participant_erased

    @event(MemberLeft)
    def _leave(self, participant_id: str, cause: str) -> None:
        self._member(participant_id)["active"] = False

    def leave(self, participant_id: str, cause: str) -> bool:
        if not self.members.get(participant_id, {}).get("active", True):
            return False
        self._leave(participant_id, cause)
        return True

    class CertificationChanged(Aggregate.Event):
        participant_id: str
        certified: bool

    @event(CertificationChanged)
    def _certify(self, participant_id: str, certified: bool) -> None:
        self._member(participant_id)["certified"] = certified

    def set_certified(self, participant_id: str, certified: bool) -> bool:
        if self.members.get(participant_id, {}).get("certified", False) == certified:
            return False
        self._certify(participant_id, certified)
        return True

    # -- places ----------------------------------------------------------------------
    class RoundRecorded(Aggregate.Event):
        round_id: str
        round_number: int
        pairs: list[list[str]]  # [match id, mentee id, mentor id]

    @event(RoundRecorded)
    def record_round(self, round_id: str, round_number: int, pairs: list[list[str]]) -> None:
        self.rounds = round_number
        for match_id, mentee_id, mentor_id in pairs:
            self._take(match_id, mentee_id, mentor_id)

    class PairTaken(Aggregate.Event):
        match_id: str
        mentee_id: str
        mentor_id: str

    @event(PairTaken)
    def take(self, match_id: str, mentee_id: str, mentor_id: str) -> None:
        self._take(match_id, mentee_id, mentor_id)

    def _take(self, match_id: str, mentee_id: str, mentor_id: str) -> None:
        self.taken[mentee_id] = match_id
        self.load[mentor_id] = self.load.get(mentor_id, 0) + 1

    class PairReleased(Aggregate.Event):
        match_id: str
        mentee_id: str
        mentor_id: str
        outcome: str  # declined | expired | cancelled | dissolved | completed

    @event(PairReleased)
    def release(self, match_id: str, mentee_id: str, mentor_id: str, outcome: str) -> None:
        """Free the mentor's place. A declined, expired or dissolved pair is never
        proposed again; a mentee whose match completed is done with the programme;
        a cancelled match (a side left) changes nothing else."""
        if self.taken.get(mentee_id) == match_id:
            del self.taken[mentee_id]
            left = self.load.get(mentor_id, 0) - 1
            if left > 0:
                self.load[mentor_id] = left
            else:
                self.load.pop(mentor_id, None)
        if outcome in EXCLUDING:
            self.declined[pair_key(mentee_id, mentor_id)] = match_id
        if outcome == COMPLETED_OUTCOME:
            self.completed[mentee_id] = match_id

    # -- reading -------------------------------------------------------------------------
    def role_of(self, participant_id: str) -> str:
        return str(self.members.get(participant_id, {}).get("role", ""))

    def is_active(self, participant_id: str) -> bool:
        return bool(self.members.get(participant_id, {}).get("active", False))

    def ids(self, role: str, *, active_only: bool = True) -> list[str]:
        return sorted(
            pid
            for pid, m in self.members.items()
            if m["role"] == role and (m["active"] or not active_only)
        )

    def waiting_mentees(self) -> list[str]:
        """Active mentees with no open proposal or match: the next round's cohort."""
        return [
            pid for pid in self.ids(MENTEE) if pid not in self.taken and pid not in self.completed
        ]

    def declined_pairs(self) -> frozenset[tuple[str, str]]:
        pairs = (key.split("/", 1) for key in self.declined)
        return frozenset((mentee, mentor) for mentee, mentor in pairs)

    def matching_rules(self) -> ProgrammeRules:
        weights = Weights(**self.policy["weights"])
        return ProgrammeRules(
            min_age_gap_years=int(self.rules["min_age_gap_years"]),
            target_age_gap_years=int(self.policy["target_age_gap_years"]),
            mentor_capacity=int(self.rules["mentor_capacity"]),
            same_department_allowed=bool(self.rules["same_department_allowed"]),
            min_weekly_overlap_minutes=int(self.policy["min_weekly_overlap_minutes"]),
            weights=weights,
        )

    def pool_counts(self) -> dict[str, int]:
        mentors = self.ids(MENTOR)
        certified = [m for m in mentors if self.members[m]["certified"]]
        mentees = self.ids(MENTEE)
        proposed_or_matched = [m for m in mentees if m in self.taken or m in self.completed]
        capacity = int(self.rules["mentor_capacity"])
        free = sum(max(0, capacity - self.load.get(m, 0)) for m in certified)
        return {
            "mentors": len(mentors),
            "certified_mentors": len(certified),
            "mentees": len(mentees),
            "mentees_taken": len(proposed_or_matched),
            "mentees_unmatched": len(mentees) - len(proposed_or_matched),
            "free_mentor_places": free,
        }
