"""A recorded round against its re-run: what an auditor reads (pure).

The application re-runs a round on the pool and the attributes as they were
(see ``MatchingApplication.replay``); this module only compares. Every
difference becomes one sentence naming opaque ids and derived facts, never a
personal attribute, so the answer is as safe to show as the round itself.
A changed algorithm version is a difference too: the record can only vouch for
the algorithm it names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from revmentor.matching.domain.record import MatchingRound
from revmentor.matching.domain.round import RoundResult


@dataclass(frozen=True)
class Pair:
    mentee_id: str
    mentor_id: str
    score: float


@dataclass(frozen=True)
class Rerun:
    """What the re-run saw and produced."""

    result: RoundResult
    policy: Mapping[str, Any]  # the pool's policy and rules, as the record keeps them
    mentees_considered: int
    mentors_considered: int
    programme_version: int  # the pool version it ran on
    attributes_as_of: datetime
    erased: tuple[str, ...] = ()  # members answered as erased (not rebuildable)


@dataclass(frozen=True)
class Replay:
    round_id: str
    programme_id: str
    round_number: int
    ran_at: str
    attributes_as_of: datetime
    programme_version: int
    recorded_digest: str
    replayed_digest: str
    recorded_algorithm: str
    current_algorithm: str
    recorded_pairs: tuple[Pair, ...]
    replayed_pairs: tuple[Pair, ...]
    recorded_unmatched: tuple[str, ...]
    replayed_unmatched: tuple[str, ...]
    differences: tuple[str, ...]

    @property
    def identical(self) -> bool:
        return not self.differences


def compare(record: MatchingRound, rerun: Rerun) -> Replay:
    """The record and the re-run side by side, with every difference in words."""
    recorded = tuple(
        Pair(p["mentee_id"], p["mentor_id"], float(p["score"])) for p in record.proposals
    )
    replayed = tuple(Pair(p.mentee_id, p.mentor_id, p.score) for p in rerun.result.proposals)
    outcome = [
        *_inputs(record, rerun),
        *_pairs(recorded, replayed),
        *_unmatched(record.unmatched, rerun.result, {p.mentee_id for p in recorded + replayed}),
    ]
    return Replay(
        round_id=str(record.id),
        programme_id=str(record.programme_id),
        round_number=record.round_number,
        ran_at=record.ran_at,
        attributes_as_of=rerun.attributes_as_of,
        programme_version=rerun.programme_version,
        recorded_digest=record.inputs_digest,
        replayed_digest=rerun.result.inputs_digest,
        recorded_algorithm=record.algorithm_version,
        current_algorithm=rerun.result.algorithm_version,
        recorded_pairs=recorded,
        replayed_pairs=replayed,
        recorded_unmatched=tuple(str(u["mentee_id"]) for u in record.unmatched),
        replayed_unmatched=tuple(u.mentee_id for u in rerun.result.unmatched),
        differences=tuple(
            _algorithm(record, rerun, bool(outcome)) + outcome + _erased(rerun, outcome)
        ),
    )


def _algorithm(record: MatchingRound, rerun: Rerun, outcome_differs: bool) -> list[str]:
    recorded, now = record.algorithm_version, rerun.result.algorithm_version
    if recorded == now:
        return []
    effect = (
        "it may explain the differences below"
        if outcome_differs
        else "the pairs, scores and unmatched mentees are the same"
    )
    return [
        f"algorithm version changed since the round ran: recorded {recorded!r}, "
        f"now {now!r} ({effect})"
    ]


def _inputs(record: MatchingRound, rerun: Rerun) -> list[str]:
    found = []
    if record.inputs_digest != rerun.result.inputs_digest:
        found.append(
            f"inputs digest differs: recorded {record.inputs_digest}, replayed "
            f"{rerun.result.inputs_digest} (the pool or the attributes rebuilt from history are "
            "not what the round saw)"
        )
    if dict(record.policy) != dict(rerun.policy):
        found.append(
            f"policy and rules differ: recorded {record.policy}, pool then {dict(rerun.policy)}"
        )
    counts = (
        ("mentees", record.mentees_considered, rerun.mentees_considered),
        ("mentors", record.mentors_considered, rerun.mentors_considered),
    )
    for what, then, again in counts:
        if then != again:
            found.append(f"{what} considered: recorded {then}, replayed {again}")
    return found


def _pairs(recorded: Sequence[Pair], replayed: Sequence[Pair]) -> list[str]:
    before = {p.mentee_id: p for p in recorded}
    after = {p.mentee_id: p for p in replayed}
    found = []
    for mentee in sorted(before.keys() | after.keys()):
        was, now = before.get(mentee), after.get(mentee)
        if was == now:
            continue
        if was is None and now is not None:
            found.append(f"mentee {mentee}: not proposed in the record, replayed with {_with(now)}")
        elif now is None and was is not None:
            found.append(f"mentee {mentee}: recorded with {_with(was)}, replayed unproposed")
        elif was is not None and now is not None and was.mentor_id != now.mentor_id:
            found.append(f"mentee {mentee}: recorded with {_with(was)}, replayed with {_with(now)}")
        elif was is not None and now is not None:
            found.append(
                f"mentee {mentee} with mentor {was.mentor_id}: score recorded {was.score!r}, "
                f"replayed {now.score!r}"
            )
    return found


def _with(pair: Pair) -> str:
    return f"mentor {pair.mentor_id} (score {pair.score!r})"


def _unmatched(
    recorded: Sequence[Mapping[str, Any]], result: RoundResult, named: set[str]
) -> list[str]:
    """Unmatched mentees and their reasons; mentees a pair difference names already
    are not named twice."""
    before = {str(u["mentee_id"]): u for u in recorded}
    after = {u.mentee_id: u for u in result.unmatched}
    found = []
    for mentee in sorted(before.keys() ^ after.keys()):
        if mentee not in named:
            side = "the record" if mentee in before else "the replay"
            found.append(f"mentee {mentee}: unmatched only in {side}")
    for mentee in sorted(before.keys() & after.keys()):
        then, again = before[mentee], after[mentee]
        if list(then["reasons"]) != list(again.reasons):
            found.append(
                f"mentee {mentee}: unmatched reasons recorded {list(then['reasons'])}, "
                f"replayed {list(again.reasons)}"
            )
        elif dict(then["excluded_by"]) != dict(again.excluded_by):
            found.append(
                f"mentee {mentee}: mentors excluded per constraint recorded "
                f"{dict(then['excluded_by'])}, replayed {dict(again.excluded_by)}"
            )
    return found


def _erased(rerun: Rerun, outcome: Sequence[str]) -> list[str]:
    if not outcome or not rerun.erased:
        return []
    return [
        f"erased since the round (their attributes then cannot be rebuilt, so the replay saw "
        f"them as erased): {', '.join(rerun.erased)}"
    ]
