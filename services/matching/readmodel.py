"""The matching read model: matches and rounds as the list queries see them.

Built only from the notification log, so live, restarted and replayed models
have the same digest. It holds no sealed field (explanations and reasons are
read from the aggregate), so an erasure does not change it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.kernel.readmodel import ReadModel
from revmentor.matching.domain.match import CONFIRMED, OPEN, PROPOSED


class MatchingReadModel(ReadModel):
    def __init__(self) -> None:
        super().__init__()
        self.matches: dict[str, dict[str, Any]] = {}
        self.by_programme: dict[str, list[str]] = {}
        self.by_participant: dict[str, list[str]] = {}
        self.rounds: dict[str, dict[str, Any]] = {}
        self.rounds_by_programme: dict[str, list[str]] = {}
        #: mentee id -> reasons from the latest round that left them unmatched
        self.unmatched: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            handler(self, event)

    # -- matches ---------------------------------------------------------------------
    def _proposed(self, e: Any) -> None:
        mid, programme = str(e.originator_id), str(e.programme_id)
        self.matches[mid] = {
            "match_id": mid,
            "programme_id": programme,
            "mentee_id": e.mentee_id,
            "mentor_id": e.mentor_id,
            "status": PROPOSED,
            "origin": e.origin,
            "round_id": e.round_id,
            "score": e.score,
            "answers": {"mentee": "pending", "mentor": "pending"},
            "proposed_at": e.proposed_at,
            "expires_at": e.expires_at,
            "confirmed_at": "",
            "ended_at": "",
            "end_cause": "",
            "version": e.originator_version,
        }
        self.by_programme.setdefault(programme, []).append(mid)
        for pid in (e.mentee_id, e.mentor_id):
            self.by_participant.setdefault(pid, []).append(mid)
        self.unmatched.pop(e.mentee_id, None)

    def _view(self, e: Any) -> dict[str, Any]:
        view = self.matches[str(e.originator_id)]
        view["version"] = e.originator_version
        return view

    def _accepted(self, e: Any) -> None:
        self._view(e)["answers"][e.side] = "accepted"

    def _confirmed(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = CONFIRMED
        view["confirmed_at"] = e.at

    def _declined(self, e: Any) -> None:
        view = self._view(e)
        view["answers"][e.side] = "declined"
        view["status"] = "declined"
        view["ended_at"] = e.at

    def _expired(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = "expired"
        view["ended_at"] = e.at

    def _cancelled(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = "cancelled"
        view["end_cause"] = e.cause
        view["ended_at"] = e.at

    def _ended(self, e: Any) -> None:
        view = self._view(e)
        view["status"] = e.outcome
        view["end_cause"] = e.cause
        view["ended_at"] = e.at

    # -- rounds ------------------------------------------------------------------------
    def _round(self, e: Any) -> None:
        rid, programme = str(e.originator_id), str(e.programme_id)
        self.rounds[rid] = {
            "round_id": rid,
            "programme_id": programme,
            "round_number": e.round_number,
            "inputs_digest": e.inputs_digest,
            "algorithm_version": e.algorithm_version,
            "policy": e.policy,
            "mentees_considered": e.mentees_considered,
            "mentors_considered": e.mentors_considered,
            "proposed": len(e.proposals),
            "total_score": round(sum(float(p["score"]) for p in e.proposals), 6),
            "ran_at": e.ran_at,
            "unmatched": [
                {"mentee_id": u["mentee_id"], "reasons": list(u["reasons"])} for u in e.unmatched
            ],
        }
        self.rounds_by_programme.setdefault(programme, []).append(rid)
        for item in e.unmatched:
            self.unmatched[item["mentee_id"]] = {**item, "round_id": rid}

    # -- queries -----------------------------------------------------------------------
    def _filtered(self, ids: list[str], status: str) -> list[dict[str, Any]]:
        views = (self.matches[i] for i in ids)
        return [v for v in views if not status or v["status"] == status]

    def matches_of_programme(self, programme_id: str, status: str = "") -> list[dict[str, Any]]:
        return self._filtered(self.by_programme.get(programme_id, []), status)

    def matches_of_participant(self, participant_id: str, status: str = "") -> list[dict[str, Any]]:
        return self._filtered(self.by_participant.get(participant_id, []), status)

    def match_ids_of(self, participant_id: str) -> list[str]:
        return list(self.by_participant.get(participant_id, []))

    def open_match_ids(self, participant_id: str) -> list[str]:
        ids = self.by_participant.get(participant_id, [])
        return [i for i in ids if self.matches[i]["status"] in OPEN]

    def due_proposals(self, now: str) -> list[tuple[str, str]]:
        """(match id, programme id) of proposals whose window passed at ``now`` (ISO UTC)."""
        return sorted(
            (v["match_id"], v["programme_id"])
            for v in self.matches.values()
            if v["status"] == PROPOSED and v["expires_at"] <= now
        )

    def rounds_of(self, programme_id: str) -> list[dict[str, Any]]:
        return [self.rounds[r] for r in self.rounds_by_programme.get(programme_id, [])]

    def programme_state(self, programme_id: str) -> Any:
        """The programme's rounds (inputs digest, policy, proposals, why each
        unmatched mentee was left out) and its matches with their scores and
        answers. A pair's own explanation is sealed with the match's key and
        not shown: auditors read no personal data."""
        return {
            "rounds": {r["round_id"]: r for r in self.rounds_of(programme_id)},
            "matches": {m["match_id"]: m for m in self.matches_of_programme(programme_id)},
        }

    def unmatched_reasons(self, mentee_id: str) -> dict[str, Any]:
        found = self.unmatched.get(mentee_id)
        if found is None:
            return {"mentee_id": mentee_id, "reasons": [], "excluded_by": {}, "round_id": ""}
        return found

    def snapshot(self) -> Any:
        return {
            "matches": self.matches,
            "by_programme": self.by_programme,
            "by_participant": self.by_participant,
            "rounds": self.rounds,
            "rounds_by_programme": self.rounds_by_programme,
            "unmatched": self.unmatched,
        }


_HANDLERS: dict[str, Callable[[MatchingReadModel, Any], None]] = {
    "Match.Proposed": MatchingReadModel._proposed,
    "Match.Accepted": MatchingReadModel._accepted,
    "Match.Confirmed": MatchingReadModel._confirmed,
    "Match.Declined": MatchingReadModel._declined,
    "Match.Expired": MatchingReadModel._expired,
    "Match.Cancelled": MatchingReadModel._cancelled,
    "Match.Ended": MatchingReadModel._ended,
    "MatchingRound.Recorded": MatchingReadModel._round,
}
