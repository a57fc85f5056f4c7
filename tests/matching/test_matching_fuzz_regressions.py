"""Inputs the RPC fuzzer (tests/reliability/test_fuzz_rpcs.py) found answered
INTERNAL, each pinned to the answer it must get instead."""

from __future__ import annotations

from typing import Any

from revmentor.matching.application import MatchingApplication
from revmentor.matching.domain.round import ProgrammeRules, run_round
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc


async def test_a_round_on_an_empty_pool_proposes_nothing(
    stub: pb_grpc.MatchingServiceStub, matching_app: MatchingApplication, seed: Any
) -> None:
    """Nobody waiting and no eligible mentor: the availability columns had no
    row to infer their width from (numpy's reshape(0, -1) raised, INTERNAL)."""
    programme = seed.programme()
    seed.mentor(programme, certified=False)  # in the pool, but not eligible
    ran = await stub.RunRound(pb.RunRoundRequest(programme_id=programme))
    assert (ran.proposed, ran.mentees_considered, list(ran.proposals)) == (0, 0, [])


def test_the_vectorised_round_agrees_with_the_reference_on_an_empty_cohort() -> None:
    fast = run_round([], [], ProgrammeRules(), {})
    reference = run_round([], [], ProgrammeRules(), {}, reference=True)
    assert fast == reference and fast.proposals == () and fast.unmatched == ()
