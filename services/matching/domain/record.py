"""The record of one matching round, kept for managers and auditors.

It holds what an auditor needs to re-run the round and get the same pairs
(DESIGN section 6): the SHA-256 digest of the canonical inputs, the weights
and policy, and the algorithm version, plus the outcome: the proposals with
their scores and, for every mentee left unmatched, the aggregated reasons
nobody fits them. The reasons name participants by opaque id only.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def round_id_for(programme_id: UUID | str, round_number: int) -> UUID:
    """Deterministic, so two rounds racing for the same number collide on it."""
    return uuid5(NAMESPACE_URL, f"revmentor:matching:round:{programme_id}:{round_number}")


class MatchingRound(Aggregate):
    class Recorded(Aggregate.Created):
        programme_id: UUID
        round_number: int
        inputs_digest: str
        algorithm_version: str
        policy: dict[str, Any]
        mentees_considered: int
        mentors_considered: int
        proposals: list[dict[str, Any]]  # match_id, mentee_id, mentor_id, score
        unmatched: list[dict[str, Any]]  # mentee_id, reasons, excluded_by
        ran_at: str
        #: When the attributes were asked of enrolment (RFC 3339 UTC, microseconds):
        #: the instant a replay asks for them as of. "" in rounds recorded before.
        attributes_at: str

    @staticmethod
    def create_id(programme_id: UUID, round_number: int, **_: Any) -> UUID:
        return round_id_for(programme_id, round_number)

    @event(Recorded)
    def __init__(
        self,
        programme_id: UUID,
        round_number: int,
        inputs_digest: str,
        algorithm_version: str,
        policy: dict[str, Any],
        mentees_considered: int,
        mentors_considered: int,
        proposals: list[dict[str, Any]],
        unmatched: list[dict[str, Any]],
        ran_at: str,
        attributes_at: str = "",
    ) -> None:
        self.programme_id = programme_id
        self.round_number = round_number
        self.inputs_digest = inputs_digest
        self.algorithm_version = algorithm_version
        self.policy = policy
        self.mentees_considered = mentees_considered
        self.mentors_considered = mentors_considered
        self.proposals = proposals
        self.unmatched = unmatched
        self.ran_at = ran_at
        self.attributes_at = attributes_at

    @property
    def total_score(self) -> float:
        return round(sum(float(p["score"]) for p in self.proposals), 6)
