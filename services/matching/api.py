"""The matching gRPC servicer: a thin adapter from messages to commands.

Store work runs in a worker thread. The interceptor has authenticated the
caller and checked the role table (:data:`access.POLICY`); each handler then
applies the object-level rule for what it loads: the programme for programme
work, the match's programme (or, for a mentor or mentee, "is one side of it
you?", asked of enrolment through :mod:`revmentor.kernel.ownership`) for a
match. Domain errors are mapped by the kernel's interceptor; the two ways
enrolment can be out of reach (attributes for a round or a manual match, an
ownership question) are answered here with UNAVAILABLE, nothing written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar
from uuid import UUID

import grpc

from revmentor.kernel.errors import ValidationFailed, Violations
from revmentor.kernel.ids import parse_id
from revmentor.kernel.ownership import (
    EnrolmentUnavailable,
    OwnershipCheck,
    authorization,
    caller,
    enrolment_unavailable,
)
from revmentor.kernel.paging import page
from revmentor.matching import access
from revmentor.matching import mapping as m
from revmentor.matching.application import AttributesUnavailable, MatchingApplication
from revmentor.matching.domain import policy
from revmentor.matching.domain.match import CONFIRMED, Match
from revmentor.matching.domain.programme import MENTEE, MatchingProgramme
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE = "matching"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["MatchingService"].full_name


async def unavailable(ctx: Context, error: Exception) -> NoReturn:
    await enrolment_unavailable(ctx, error, SERVICE)


class MatchingServicer(pb_grpc.MatchingServiceServicer):
    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = access.POLICY

    def __init__(self, app: MatchingApplication, ownership: OwnershipCheck | None = None):
        self.app = app
        self.ownership = ownership or OwnershipCheck(SERVICE)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    async def _with_attributes(self, ctx: Context, work: Callable[..., T], *args: Any) -> T:
        """Store work that asks enrolment for attributes (rounds, manual matches)."""
        try:
            return await self._run(work, *args)
        except AttributesUnavailable as error:
            await unavailable(ctx, error)

    async def _owns(self, ctx: Context, participant_id: str) -> bool:
        try:
            return await self.ownership.owns(authorization(ctx), participant_id)
        except EnrolmentUnavailable as error:
            await unavailable(ctx, error)

    # -- object checks ----------------------------------------------------------------
    async def _programme(self, rpc: str, programme_id: str) -> MatchingProgramme:
        programme = await self._run(self.app.programme, programme_id)
        access.require_programme(caller(), rpc, str(programme.programme_id), programme_id)
        return programme

    async def _match(self, rpc: str, match_id: str, ctx: Context) -> Match:
        """The match, if the caller may see it; NOT_FOUND (as if missing) otherwise."""
        record = await self._run(self.app.match, match_id)
        principal, programme_id = caller(), str(record.programme_id)
        own = False
        if access.needs_ownership(principal, rpc, programme_id):
            own = await self._owns(ctx, record.mentee_id) or await self._owns(ctx, record.mentor_id)
        access.require_match(principal, rpc, programme_id, match_id, own)
        return record

    def _message(self, rpc: str, record: Match) -> pb.Match:
        """The override justification only for callers acting in the programme."""
        private = access.sees_checks(caller(), rpc, str(record.programme_id))
        return m.match_message(record, private)

    # -- policy and pool ----------------------------------------------------------------
    async def SetMatchingPolicy(
        self, request: pb.SetMatchingPolicyRequest, context: Context
    ) -> Any:
        await self._programme("SetMatchingPolicy", request.programme_id)
        change = m.policy_change_from(request.change)
        programme = await self._run(
            self.app.set_policy, request.programme_id, change, request.expected_version
        )
        return m.programme_policy_message(programme)

    async def GetMatchingPolicy(
        self, request: pb.GetMatchingPolicyRequest, context: Context
    ) -> Any:
        programme = await self._programme("GetMatchingPolicy", request.programme_id)
        return m.programme_policy_message(programme)

    async def GetCandidatePool(self, request: pb.GetCandidatePoolRequest, context: Context) -> Any:
        await self._programme("GetCandidatePool", request.programme_id)
        return await self._run(self._pool, request.programme_id)

    def _pool(self, programme_id: str) -> pb.CandidatePool:
        programme, counts = self.app.pool_counts(programme_id)
        pid = str(programme.programme_id)
        confirmed = {v["match_id"] for v in self.app.matches(pid, "", CONFIRMED)}
        mentees = set(programme.ids(MENTEE))
        matched = sum(
            1 for mentee, mid in programme.taken.items() if mentee in mentees and mid in confirmed
        )
        return m.pool_message(programme, counts, matched)

    # -- rounds ---------------------------------------------------------------------------
    async def RunRound(self, request: pb.RunRoundRequest, context: Context) -> Any:
        await self._programme("RunRound", request.programme_id)
        record = await self._with_attributes(
            context, self.app.run_round, request.programme_id, request.expected_version
        )
        return m.round_message(record, caller().actor)

    async def GetRound(self, request: pb.GetRoundRequest, context: Context) -> Any:
        record = await self._run(self.app.round_record, request.round_id)
        access.require_round(caller(), "GetRound", str(record.programme_id), request.round_id)
        return m.round_message(record, await self._run(self._ran_by, str(record.id)))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Context) -> Any:
        await self._programme("ListRounds", request.programme_id)
        found = await self._run(self.app.rounds, request.programme_id)
        chunk, token = page(found, request.page_size, request.page_token)
        actors = await self._run(lambda: [self._ran_by(v["round_id"]) for v in chunk])
        return pb.ListRoundsResponse(
            rounds=[m.round_summary_message(v, a) for v, a in zip(chunk, actors, strict=True)],
            next_page_token=token,
            total_size=len(found),
        )

    async def ReplayRound(self, request: pb.ReplayRoundRequest, context: Context) -> Any:
        record = await self._run(self.app.round_record, request.round_id)
        access.require_round(caller(), "ReplayRound", str(record.programme_id), request.round_id)
        replayed = await self._with_attributes(context, self.app.replay, record)
        return m.replay_message(replayed)

    def _ran_by(self, round_id: str) -> str:
        """Who ran the round: the actor in its one event's envelope."""
        history = self.app.event_history(UUID(round_id))
        return str(history[0]["envelope"].get("actor", "")) if history else ""

    async def ListUnmatchedMentees(
        self, request: pb.ListUnmatchedMenteesRequest, context: Context
    ) -> Any:
        await self._programme("ListUnmatchedMentees", request.programme_id)
        found = await self._run(self.app.unmatched, request.programme_id)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListUnmatchedMenteesResponse(
            mentees=[m.unmatched_message(item) for item in chunk],
            next_page_token=token,
            total_size=len(found),
        )

    # -- matches ----------------------------------------------------------------------------
    async def ProposeMatch(self, request: pb.ProposeMatchRequest, context: Context) -> Any:
        v = Violations()  # every bad field at once, before anything is loaded
        for name in ("programme_id", "mentee_id", "mentor_id"):
            _check_id(v, name, getattr(request, name))
        policy.check_override(v, list(request.override.constraints), request.override.justification)
        v.raise_if_any()
        await self._programme("ProposeMatch", request.programme_id)
        record = await self._with_attributes(
            context,
            self.app.propose_match,
            request.programme_id,
            request.mentee_id,
            request.mentor_id,
            list(request.override.constraints),
            request.override.justification,
        )
        return self._message("ProposeMatch", record)

    async def RespondToProposal(
        self, request: pb.RespondToProposalRequest, context: Context
    ) -> Any:
        rpc = "RespondToProposal"
        v = Violations()
        v.check(request.decision in m.DECISION, "decision", "must be ACCEPT or DECLINE")
        _check_id(v, "match_id", request.match_id)
        if request.decision == pb.DECISION_DECLINE:
            policy.check_reason(v, "reason", request.reason)
        v.raise_if_any()
        record = await self._match(rpc, request.match_id, context)
        principal, programme_id = caller(), str(record.programme_id)
        if access.needs_ownership(principal, rpc, programme_id) and request.participant_id in (
            record.mentee_id,
            record.mentor_id,
        ):
            # A side of this match (else the application names participant_id).
            own = await self._owns(context, request.participant_id)
            access.require_answering_as_self(principal, rpc, programme_id, own)
        answered = await self._run(
            self.app.respond,
            request.match_id,
            request.participant_id,
            m.DECISION[request.decision],
            request.reason,
            request.expected_version,
        )
        return self._message(rpc, answered)

    async def EndMatch(self, request: pb.EndMatchRequest, context: Context) -> Any:
        v = Violations()  # every bad field at once, before anything is loaded
        _check_id(v, "match_id", request.match_id)
        outcome = m.outcome_from(request.outcome)
        v.check(bool(outcome), "outcome", "must be COMPLETED or DISSOLVED")
        policy.check_reason(v, "reason", request.reason, required=outcome == "dissolved")
        v.raise_if_any()
        await self._match("EndMatch", request.match_id, context)
        ended = await self._run(
            self.app.end_match,
            request.match_id,
            m.outcome_from(request.outcome),
            request.reason,
            request.expected_version,
        )
        return self._message("EndMatch", ended)

    async def GetMatch(self, request: pb.GetMatchRequest, context: Context) -> Any:
        return self._message("GetMatch", await self._match("GetMatch", request.match_id, context))

    async def ListMatches(self, request: pb.ListMatchesRequest, context: Context) -> Any:
        rpc = "ListMatches"
        status = m.status_from(request.status)
        if request.programme_id and not request.participant_id:
            await self._programme(rpc, request.programme_id)
        found = await self._run(
            self.app.matches, request.programme_id, request.participant_id, status
        )
        if request.participant_id:
            found = await self._visible(rpc, found, request.participant_id, context)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListMatchesResponse(
            matches=[m.match_view_message(v) for v in chunk],
            next_page_token=token,
            total_size=len(found),
        )

    async def _visible(
        self, rpc: str, views: list[dict[str, Any]], participant_id: str, ctx: Context
    ) -> list[dict[str, Any]]:
        """A participant's matches the caller may see (filtered before paging, so the
        total says nothing about the others): in their programmes, or all if theirs."""
        principal = caller()
        shown = [v for v in views if access.may_act_in_programme(principal, rpc, v["programme_id"])]
        if len(shown) == len(views):
            return views
        if access.acts_for_self(principal, rpc) and await self._owns(ctx, participant_id):
            return views
        return shown

    # -- privacy -------------------------------------------------------------------------------
    async def ExportParticipantData(
        self, request: pb.ExportParticipantDataRequest, context: Context
    ) -> Any:
        rpc, participant_id = "ExportParticipantData", request.participant_id
        principal = caller()
        views = await self._run(self.app.matches, "", participant_id, "")
        programmes = {v["programme_id"] for v in views}
        own = False
        if views and not all(access.may_act_in_programme(principal, rpc, p) for p in programmes):
            own = access.acts_for_self(principal, rpc) and await self._owns(context, participant_id)
        access.require_participant(principal, rpc, programmes, participant_id, own)
        document = await self._run(self.app.export_participant, participant_id)
        if not all(access.sees_checks(principal, rpc, p) for p in programmes):
            document = _without_private(document)
        return pb.ParticipantDataExport(
            participant_id=participant_id,
            service=SERVICE,
            exported_at=datetime.now(UTC).isoformat(),
            document_json=json.dumps(document, sort_keys=True),
        )


def _check_id(v: Violations, field: str, value: str) -> None:
    try:
        parse_id(field, value)
    except ValidationFailed as error:
        v.items += error.violations


#: A manager's note on an overridden constraint, kept from a participant's own export.
_PRIVATE_FIELDS = ("override_justification",)


def _without_private(document: dict[str, Any]) -> dict[str, Any]:
    """A participant's own export: without the manager's justification, the
    other side's free-text reasons, and who acted (subjects of other people)."""
    me = document.get("participant_id", "")
    for item in document.get("matches", []):
        for event in item.get("history", []):
            state = event.get("state", {})
            for name in _PRIVATE_FIELDS:
                state.pop(name, None)
            if state.get("participant_id", me) != me:
                state.pop("reason", None)
            event.get("envelope", {}).pop("actor", None)
    return document
