"""``revmentor audit rematch --round R``: does a recorded round re-run to the same pairs?

Matching re-runs the round itself (``MatchingService.ReplayRound``): on the
pool as it was just before the round was recorded and on enrolment's
attributes as they were then, with the code a live round runs, and compares
with the record. This command asks and prints the answer::

    round             7d0c... (number 2)
    programme         51e2... (pool version 17)
    ran at            2027-01-12T09:00:03Z
    attributes as of  2027-01-12T09:00:03.412345Z
    inputs digest     recorded 3f4a...
                      replayed 3f4a... (same)
    algorithm         revmentor-matching/2 ...
    pairs             mentee -> mentor (score): recorded | replayed (* differs)
      a1... -> b7... (0.812300) | -> b7... (0.812300)
    unmatched         1, the same mentees
    identical: the round re-runs to the same 1 pair

or ``DIFFERENT:`` and one line per difference. ``--json`` prints the answer's
fields as one JSON object instead.

Exit status: 0 identical; 1 different, or the call refused (unknown round, bad
id, a token that may not replay); 2 matching, or the enrolment it asks, could
not be reached. The token: as ``revmentor audit verify`` (an auditor's).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import grpc

from revmentor.cli.audit import auditor_metadata
from revmentor.cli.common import EXIT_FAILED, EXIT_OK, EXIT_UNREACHABLE, CliError, emit, printable
from revmentor.cli.endpoints import require_reachable, service_target, unreachable_message
from revmentor.cli.importer import Metadata
from revmentor.kernel.tls import secure_channel
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

SERVICE = "matching"
#: A replay asks enrolment for every pool member and re-runs the solver.
REPLAY_TIMEOUT = 120.0
HINTS = {
    grpc.StatusCode.PERMISSION_DENIED: "replaying is for admins and auditors "
    "(`revmentor token --role auditor --sub ME`)",
    grpc.StatusCode.UNAUTHENTICATED: "the token was refused; get a fresh one or check "
    "REVMENTOR_TOKEN",
    grpc.StatusCode.NOT_FOUND: "check the round id (`ListRounds` of the programme)",
}


def run(args: argparse.Namespace) -> int:
    """Ask matching to replay ``args.round_id``; print; exit 0 identical, 1, or 2."""
    try:
        replay = ask(args.round_id, auditor_metadata(args.token))
    except CliError as error:
        emit(f"revmentor: {error}", sys.stderr)
        return error.exit_code
    if args.json:
        emit(json.dumps(document(replay), indent=2, sort_keys=True))
    else:
        for line in text(replay):
            emit(printable(line))
    return EXIT_OK if replay.identical else EXIT_FAILED


def ask(round_id: str, metadata: Metadata) -> pb.RoundReplay:
    """The replay, or CliError saying what failed and what to do."""
    address, source = service_target(SERVICE)
    require_reachable(SERVICE, address, source)
    with secure_channel(address) as channel:
        stub = pb_grpc.MatchingServiceStub(channel)
        try:
            reply: pb.RoundReplay = stub.ReplayRound(
                pb.ReplayRoundRequest(round_id=round_id), metadata=metadata, timeout=REPLAY_TIMEOUT
            )
        except grpc.RpcError as error:
            raise refusal(error, address, source) from None
    return reply


def refusal(error: grpc.RpcError, address: str, source: str) -> CliError:
    code = error.code()  # type: ignore[attr-defined]
    details = error.details()  # type: ignore[attr-defined]
    said = f"{code.name}: {details}"
    if code == grpc.StatusCode.UNAVAILABLE:
        # matching was reachable a moment ago (probed): most likely its own answer,
        # which names enrolment when that is the one out of reach
        return CliError(f"matching at {address} (from {source}) answered {said}", EXIT_UNREACHABLE)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        reason = f"no answer within {REPLAY_TIMEOUT:.0f} s ({said})"
        return CliError(unreachable_message(SERVICE, address, source, reason), EXIT_UNREACHABLE)
    hint = HINTS.get(code)
    return CliError(f"{said}; {hint}" if hint else said, EXIT_FAILED)


def document(replay: pb.RoundReplay) -> dict[str, Any]:
    """The answer's fields by name; pairs as objects, integers as integers."""
    found: dict[str, Any] = {}
    for field in replay.DESCRIPTOR.fields:
        value = getattr(replay, field.name)
        if field.name.endswith("_pairs"):
            value = [_pair(p) for p in value]
        elif field.is_repeated:
            value = list(value)
        found[field.name] = value
    return found


def _pair(pair: pb.RoundPair) -> dict[str, Any]:
    return {"mentee_id": pair.mentee_id, "mentor_id": pair.mentor_id, "score": pair.score}


def text(replay: pb.RoundReplay) -> list[str]:
    same = replay.recorded_inputs_digest == replay.replayed_inputs_digest
    lines = [
        f"round             {replay.round_id} (number {replay.round_number})",
        f"programme         {replay.programme_id} (pool version {replay.programme_version})",
        f"ran at            {replay.ran_at}",
        f"attributes as of  {replay.attributes_as_of}",
        f"inputs digest     recorded {replay.recorded_inputs_digest}",
        f"                  replayed {replay.replayed_inputs_digest} "
        f"({'same' if same else 'DIFFERENT'})",
        f"algorithm         {replay.recorded_algorithm_version}"
        + (
            ""
            if replay.recorded_algorithm_version == replay.current_algorithm_version
            else f" (now {replay.current_algorithm_version})"
        ),
        *side_by_side(replay),
        *unmatched(replay),
    ]
    if replay.identical:
        n = len(replay.recorded_pairs)
        lines.append(f"identical: the round re-runs to the same {n} pair{'' if n == 1 else 's'}")
    else:
        lines.append(f"DIFFERENT: {len(replay.differences)} difference(s)")
        lines += [f"  - {difference}" for difference in replay.differences]
    return lines


def side_by_side(replay: pb.RoundReplay) -> list[str]:
    """One line per mentee proposed on either side: recorded | replayed."""
    before = {p.mentee_id: p for p in replay.recorded_pairs}
    after = {p.mentee_id: p for p in replay.replayed_pairs}
    order = [p.mentee_id for p in replay.recorded_pairs]
    order += [m for m in (p.mentee_id for p in replay.replayed_pairs) if m not in before]
    if not order:
        return ["pairs             none proposed, none replayed"]
    lines = ["pairs             mentee -> mentor (score): recorded | replayed (* differs)"]
    for mentee in order:
        was, now = before.get(mentee), after.get(mentee)
        mark = " " if _same(was, now) else "*"
        lines.append(f"{mark} {mentee} {_side(was)} | {_side(now)}")
    return lines


def _same(a: pb.RoundPair | None, b: pb.RoundPair | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.mentor_id, a.score) == (b.mentor_id, b.score)


def _side(pair: pb.RoundPair | None) -> str:
    return "-> (none)" if pair is None else f"-> {pair.mentor_id} ({pair.score:.6f})"


def unmatched(replay: pb.RoundReplay) -> list[str]:
    recorded, replayed = list(replay.recorded_unmatched), list(replay.replayed_unmatched)
    if recorded == replayed:
        return [f"unmatched         {len(recorded)}, the same mentees"]
    return [
        f"unmatched         recorded {len(recorded)}: {', '.join(recorded) or '-'}",
        f"                  replayed {len(replayed)}: {', '.join(replayed) or '-'}",
    ]
