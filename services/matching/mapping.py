"""Conversions between the matching gRPC messages and the domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from revmentor.kernel.attributes import as_of_text
from revmentor.matching.domain import match as dm
from revmentor.matching.domain.match import Match
from revmentor.matching.domain.policy import WEIGHT_NAMES, PolicyChange
from revmentor.matching.domain.programme import MENTEE, MENTOR, MatchingProgramme
from revmentor.matching.domain.record import MatchingRound
from revmentor.matching.domain.replay import Pair, Replay
from revmentor.matching.v1 import matching_pb2 as pb

STATUS = {
    dm.PROPOSED: pb.MATCH_STATUS_PROPOSED,
    dm.CONFIRMED: pb.MATCH_STATUS_CONFIRMED,
    dm.DECLINED: pb.MATCH_STATUS_DECLINED,
    dm.EXPIRED: pb.MATCH_STATUS_EXPIRED,
    dm.CANCELLED: pb.MATCH_STATUS_CANCELLED,
    dm.COMPLETED: pb.MATCH_STATUS_COMPLETED,
    dm.DISSOLVED: pb.MATCH_STATUS_DISSOLVED,
}
STATUS_FROM = {v: k for k, v in STATUS.items()}
ORIGIN = {dm.ROUND: pb.ORIGIN_ROUND, dm.MANUAL: pb.ORIGIN_MANUAL}
ANSWER = {
    dm.PENDING: pb.ANSWER_PENDING,
    dm.ACCEPTED: pb.ANSWER_ACCEPTED,
    dm.REFUSED: pb.ANSWER_DECLINED,
}
#: Decision -> accept? (UNSPECIFIED is missing: the servicer names ``decision``).
DECISION = {pb.DECISION_ACCEPT: True, pb.DECISION_DECLINE: False}
OUTCOME = {pb.END_OUTCOME_COMPLETED: dm.COMPLETED, pb.END_OUTCOME_DISSOLVED: dm.DISSOLVED}


# -- requests -> domain ------------------------------------------------------------------
def policy_change_from(message: pb.PolicyChange) -> PolicyChange:
    """Weights only when the message is set; each int only when present."""
    weights = (
        {name: float(getattr(message.weights, name)) for name in WEIGHT_NAMES}
        if message.HasField("weights")
        else None
    )

    def optional(name: str) -> int | None:
        return int(getattr(message, name)) if message.HasField(name) else None

    return PolicyChange(
        weights=weights,
        target_age_gap_years=optional("target_age_gap_years"),
        min_weekly_overlap_minutes=optional("min_weekly_overlap_minutes"),
        response_window_hours=optional("response_window_hours"),
    )


def status_from(value: int) -> str:
    """'' for UNSPECIFIED (all); an unknown number stays visible so validation names it."""
    if value == pb.MATCH_STATUS_UNSPECIFIED:
        return ""
    return STATUS_FROM.get(value, str(value))  # type: ignore[call-overload]


def outcome_from(value: int) -> str:
    """'' for UNSPECIFIED or unknown: the application names ``outcome``."""
    return OUTCOME.get(value, "")  # type: ignore[call-overload]


# -- domain -> responses -----------------------------------------------------------------
def weights_message(weights: Mapping[str, Any]) -> pb.Weights:
    return pb.Weights(**{name: float(weights.get(name, 0.0)) for name in WEIGHT_NAMES})


def policy_message(
    programme_id: str, policy: Mapping[str, Any], rules: Mapping[str, Any], version: int = 0
) -> pb.MatchingPolicy:
    return pb.MatchingPolicy(
        programme_id=programme_id,
        weights=weights_message(policy["weights"]),
        target_age_gap_years=int(policy["target_age_gap_years"]),
        min_weekly_overlap_minutes=int(policy["min_weekly_overlap_minutes"]),
        response_window_hours=int(policy["response_window_hours"]),
        min_age_gap_years=int(rules["min_age_gap_years"]),
        mentor_capacity=int(rules["mentor_capacity"]),
        same_department_allowed=bool(rules["same_department_allowed"]),
        version=version,
    )


def programme_policy_message(programme: MatchingProgramme) -> pb.MatchingPolicy:
    return policy_message(
        str(programme.programme_id), programme.policy, programme.rules, programme.version
    )


def pool_message(
    programme: MatchingProgramme, counts: Mapping[str, int], matched: int
) -> pb.CandidatePool:
    """``matched``: mentees with a confirmed match (the rest of the taken are proposed)."""
    return pb.CandidatePool(
        programme_id=str(programme.programme_id),
        mentors=counts["mentors"],
        certified_mentors=counts["certified_mentors"],
        mentees=counts["mentees"],
        mentees_proposed=counts["mentees_taken"] - matched,
        mentees_matched=matched,
        mentees_unmatched=counts["mentees_unmatched"],
        free_mentor_places=counts["free_mentor_places"],
        version=programme.version,
    )


def component_message(c: Mapping[str, Any]) -> pb.ScoreComponent:
    return pb.ScoreComponent(
        name=c["name"], value=c["value"], weight=c["weight"], contribution=c["contribution"]
    )


def check_message(c: Mapping[str, Any]) -> pb.Check:
    return pb.Check(
        code=c["code"],
        passed=c["passed"],
        overridden=c.get("overridden", False),
        explanation=c["explanation"],
    )


def match_message(record: Match, private: bool = True) -> pb.Match:
    """The match; ``private=False`` leaves out the override justification (a
    manager's note), never the checks: both sides see why they were paired.

    Once a participant is erased the sealed fields read as ``[erased]``: the
    checks are then absent and the texts say so.
    """
    checks = record.checks if isinstance(record.checks, list) else []
    return pb.Match(
        match_id=str(record.id),
        programme_id=str(record.programme_id),
        mentee_id=record.mentee_id,
        mentor_id=record.mentor_id,
        status=STATUS[record.status],
        origin=ORIGIN[record.origin],
        round_id=record.round_id,
        score=record.score,
        breakdown=[component_message(c) for c in _listed(record.breakdown)],
        checks=[check_message(c) for c in checks],
        mentee_answer=ANSWER[record.answers[MENTEE]],
        mentor_answer=ANSWER[record.answers[MENTOR]],
        proposed_at=record.proposed_at,
        expires_at=record.expires_at,
        confirmed_at=record.confirmed_at,
        ended_at=record.ended_at,
        decline_reason=record.decline_reason,
        end_reason=record.end_reason,
        override_justification=record.override_justification if private else "",
        version=record.version,
    )


def match_view_message(view: Mapping[str, Any]) -> pb.Match:
    """A read-model view: no checks and no sealed texts (GetMatch has them)."""
    return pb.Match(
        match_id=view["match_id"],
        programme_id=view["programme_id"],
        mentee_id=view["mentee_id"],
        mentor_id=view["mentor_id"],
        status=STATUS[view["status"]],
        origin=ORIGIN[view["origin"]],
        round_id=view["round_id"],
        score=view["score"],
        mentee_answer=ANSWER[view["answers"][MENTEE]],
        mentor_answer=ANSWER[view["answers"][MENTOR]],
        proposed_at=view["proposed_at"],
        expires_at=view["expires_at"],
        confirmed_at=view["confirmed_at"],
        ended_at=view["ended_at"],
        version=view["version"],
    )


def unmatched_message(item: Mapping[str, Any], round_id: str = "") -> pb.UnmatchedMentee:
    return pb.UnmatchedMentee(
        mentee_id=item["mentee_id"],
        reasons=list(item["reasons"]),
        excluded_by={str(k): int(v) for k, v in item["excluded_by"].items()},
        round_id=round_id or item.get("round_id", ""),
    )


def round_message(record: MatchingRound, ran_by: str = "") -> pb.Round:
    """The whole round: its pairs as proposed (GetMatch tells their state now) and the
    reasons for every mentee left over."""
    rid, programme_id = str(record.id), str(record.programme_id)
    return pb.Round(
        **_round_fields(rid, programme_id, record.policy, ran_by, _summary(record)),
        proposed=len(record.proposals),
        total_score=record.total_score,
        proposals=[
            pb.Match(
                match_id=p["match_id"],
                programme_id=programme_id,
                mentee_id=p["mentee_id"],
                mentor_id=p["mentor_id"],
                origin=pb.ORIGIN_ROUND,
                round_id=rid,
                score=float(p["score"]),
            )
            for p in record.proposals
        ],
        unmatched=[unmatched_message(u, rid) for u in record.unmatched],
    )


def replay_message(found: Replay) -> pb.RoundReplay:
    """A replayed round beside its record (pairs in the order each side has them)."""
    return pb.RoundReplay(
        round_id=found.round_id,
        programme_id=found.programme_id,
        round_number=found.round_number,
        ran_at=found.ran_at,
        attributes_as_of=as_of_text(found.attributes_as_of),
        programme_version=found.programme_version,
        recorded_inputs_digest=found.recorded_digest,
        replayed_inputs_digest=found.replayed_digest,
        recorded_algorithm_version=found.recorded_algorithm,
        current_algorithm_version=found.current_algorithm,
        recorded_pairs=[_pair(p) for p in found.recorded_pairs],
        replayed_pairs=[_pair(p) for p in found.replayed_pairs],
        recorded_unmatched=list(found.recorded_unmatched),
        replayed_unmatched=list(found.replayed_unmatched),
        identical=found.identical,
        differences=list(found.differences),
    )


def _pair(pair: Pair) -> pb.RoundPair:
    return pb.RoundPair(mentee_id=pair.mentee_id, mentor_id=pair.mentor_id, score=pair.score)


def round_summary_message(view: Mapping[str, Any], ran_by: str = "") -> pb.Round:
    """A round from the read model: counts only, no proposals or unmatched lists."""
    return pb.Round(
        **_round_fields(view["round_id"], view["programme_id"], view["policy"], ran_by, view),
        proposed=view["proposed"],
        total_score=view["total_score"],
    )


def _summary(record: MatchingRound) -> dict[str, Any]:
    names = (
        "round_number",
        "inputs_digest",
        "algorithm_version",
        "mentees_considered",
        "mentors_considered",
        "ran_at",
    )
    return {name: getattr(record, name) for name in names}


def _round_fields(
    round_id: str,
    programme_id: str,
    policy: Mapping[str, Any],
    ran_by: str,
    source: Mapping[str, Any],
) -> dict[str, Any]:
    return {
        "round_id": round_id,
        "programme_id": programme_id,
        "round_number": source["round_number"],
        "inputs_digest": source["inputs_digest"],
        "algorithm_version": source["algorithm_version"],
        "weights": weights_message(policy["weights"]),
        "policy": policy_message(programme_id, policy, policy),
        "mentees_considered": source["mentees_considered"],
        "mentors_considered": source["mentors_considered"],
        "ran_at": source["ran_at"],
        "ran_by": ran_by,
    }


def _listed(value: Any) -> list[Any]:
    """A sealed list, or nothing once it reads as erased."""
    return value if isinstance(value, list) else []
