"""The feedback gRPC servicer: a thin adapter from messages to commands.

Store work runs in a worker thread. The interceptor has authenticated the
caller and checked the role table (:data:`access.POLICY`); each handler then
applies the object-level rule for what it loads: the programme for its policy,
report and pairs at risk; for a member's session feedback, survey, requests
and export, "is this participant the caller?", asked of enrolment through
:mod:`revmentor.kernel.ownership` (UNAVAILABLE, nothing written, when
enrolment cannot answer). Domain errors are mapped by the kernel's interceptor.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc

from revmentor.feedback import access
from revmentor.feedback import mapping as m
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.programme import FeedbackProgramme
from revmentor.feedback.domain.session import SessionFeedback
from revmentor.feedback.domain.survey import Survey
from revmentor.feedback.v1 import feedback_pb2 as pb
from revmentor.feedback.v1 import feedback_pb2_grpc as pb_grpc
from revmentor.kernel.errors import NotFound, ValidationFailed
from revmentor.kernel.ids import parse_id
from revmentor.kernel.ownership import (
    EnrolmentUnavailable,
    OwnershipCheck,
    authorization,
    caller,
    enrolment_unavailable,
)
from revmentor.kernel.paging import page

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE = "feedback"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["FeedbackService"].full_name
#: What an export made for someone else shows instead of the member's own words.
WITHHELD_TEXT = "[withheld: seen by its author only]"


class FeedbackServicer(pb_grpc.FeedbackServiceServicer):
    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = access.POLICY

    def __init__(self, app: FeedbackApplication, ownership: OwnershipCheck | None = None):
        self.app = app
        self.ownership = ownership or OwnershipCheck(SERVICE)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    async def _owns(self, ctx: Context, participant_id: str) -> bool:
        try:
            return await self.ownership.owns(authorization(ctx), participant_id)
        except EnrolmentUnavailable as error:
            await enrolment_unavailable(ctx, error, SERVICE)

    async def _require_self(
        self, rpc: str, participant_id: str, ctx: Context, missing: str
    ) -> None:
        """NOT_FOUND (``missing``) unless enrolment says the participant is the caller."""
        parse_id("participant_id", participant_id)
        own = await self._owns(ctx, participant_id)
        access.require_own(caller(), rpc, own, missing)

    # -- object checks -----------------------------------------------------------------
    async def _programme(self, rpc: str, programme_id: str) -> FeedbackProgramme:
        programme = await self._run(self.app.programme, programme_id)
        access.require_programme(caller(), rpc, str(programme.programme_id), programme_id)
        return programme

    async def _session(
        self, rpc: str, session_id: str, participant_id: str, ctx: Context
    ) -> SessionFeedback:
        """The session's feedback, if ``participant_id`` is the caller and a member
        of the session; NOT_FOUND (as if missing) otherwise."""
        parse_id("participant_id", participant_id)
        record = await self._run(self.app.session_feedback, session_id)
        missing = f"no feedback was requested for session {session_id}"
        if participant_id not in (record.mentee_id, record.mentor_id):
            raise NotFound(missing)
        await self._require_self(rpc, participant_id, ctx, missing)
        return record

    async def _survey(self, rpc: str, survey_id: str, ctx: Context) -> Survey:
        survey = await self._run(self.app.survey, survey_id)
        await self._require_self(rpc, survey.participant_id, ctx, f"survey {survey_id} not found")
        return survey

    def _session_message(self, record: SessionFeedback, participant_id: str) -> pb.SessionFeedback:
        now = self.app.now()
        view = record.view_for(participant_id, now)
        return m.session_feedback_message(
            record, view, not record.window_open(now), sorted(record.answers)
        )

    async def _topics(self, programme_id: str) -> list[str]:
        programme = await self._run(self.app.find_programme, parse_id("programme_id", programme_id))
        return list(programme.topics) if programme else []

    # -- policy ------------------------------------------------------------------------
    async def SetFeedbackPolicy(
        self, request: pb.SetFeedbackPolicyRequest, context: Context
    ) -> Any:
        await self._programme("SetFeedbackPolicy", request.programme_id)
        programme = await self._run(
            self.app.set_policy,
            request.programme_id,
            m.policy_change_from(request),
            request.expected_version,
            access.is_administrator(caller(), "SetFeedbackPolicy"),
        )
        return m.policy_message(programme)

    async def GetFeedbackPolicy(
        self, request: pb.GetFeedbackPolicyRequest, context: Context
    ) -> Any:
        return m.policy_message(await self._programme("GetFeedbackPolicy", request.programme_id))

    # -- session feedback --------------------------------------------------------------
    async def SubmitFeedback(self, request: pb.SubmitFeedbackRequest, context: Context) -> Any:
        rpc = "SubmitFeedback"
        await self._session(rpc, request.session_id, request.participant_id, context)
        try:
            record = await self._run(
                self.app.submit_feedback,
                request.session_id,
                request.participant_id,
                m.session_answers_from(request.answers),
                request.expected_version,
            )
        except ValidationFailed as error:
            raise m.in_request(error, m.SUBMIT_FEEDBACK_PATHS) from None
        return self._session_message(record, request.participant_id)

    async def GetSessionFeedback(
        self, request: pb.GetSessionFeedbackRequest, context: Context
    ) -> Any:
        rpc = "GetSessionFeedback"
        record = await self._session(rpc, request.session_id, request.participant_id, context)
        return self._session_message(record, request.participant_id)

    async def ListFeedbackRequests(
        self, request: pb.ListFeedbackRequestsRequest, context: Context
    ) -> Any:
        pid = request.participant_id
        await self._require_self(
            "ListFeedbackRequests", pid, context, f"participant {pid} has no feedback requests"
        )
        found = await self._run(self.app.feedback_requests, pid, request.open_only)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListFeedbackRequestsResponse(
            requests=[m.request_message(v) for v in chunk],
            next_page_token=token,
            total_size=len(found),
        )

    # -- surveys -----------------------------------------------------------------------
    async def SubmitSurvey(self, request: pb.SubmitSurveyRequest, context: Context) -> Any:
        await self._survey("SubmitSurvey", request.survey_id, context)
        try:
            survey = await self._run(
                self.app.submit_survey, request.survey_id, m.survey_answers_from(request.answers)
            )
        except ValidationFailed as error:
            raise m.in_request(error, m.SUBMIT_SURVEY_PATHS) from None
        return m.survey_message(survey, await self._survey_topics(survey), with_answers=True)

    async def GetSurvey(self, request: pb.GetSurveyRequest, context: Context) -> Any:
        survey = await self._survey("GetSurvey", request.survey_id, context)
        return m.survey_message(survey, await self._survey_topics(survey), with_answers=True)

    async def _survey_topics(self, survey: Survey) -> list[str]:
        """What a mentee rates: the programme's catalogue now (it may have arrived
        after the survey was asked), else the one recorded with the survey."""
        if survey.side != "mentee":
            return []
        return await self._topics(str(survey.programme_id)) or list(survey.topics)

    async def ListSurveys(self, request: pb.ListSurveysRequest, context: Context) -> Any:
        pid = request.participant_id
        await self._require_self("ListSurveys", pid, context, f"participant {pid} has no surveys")
        found = await self._run(self.app.surveys, pid, request.open_only)
        chunk, token = page(found, request.page_size, request.page_token)
        surveys = [m.survey_view_message(v, await self._topics(v["programme_id"])) for v in chunk]
        return pb.ListSurveysResponse(surveys=surveys, next_page_token=token, total_size=len(found))

    # -- aggregates --------------------------------------------------------------------
    async def GetOutcomesReport(
        self, request: pb.GetOutcomesReportRequest, context: Context
    ) -> Any:
        await self._programme("GetOutcomesReport", request.programme_id)
        report = await self._run(self.app.outcomes_report, request.programme_id)
        return m.report_message(report)

    async def ListPairsAtRisk(self, request: pb.ListPairsAtRiskRequest, context: Context) -> Any:
        await self._programme("ListPairsAtRisk", request.programme_id)
        found = await self._run(self.app.pairs_at_risk, request.programme_id)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListPairsAtRiskResponse(
            pairs=[m.pair_message(v) for v in chunk], next_page_token=token, total_size=len(found)
        )

    # -- GDPR --------------------------------------------------------------------------
    async def ExportParticipantData(
        self, request: pb.ExportParticipantDataRequest, context: Context
    ) -> Any:
        rpc, pid = "ExportParticipantData", request.participant_id
        parse_id("participant_id", pid)
        own = access.acts_for_self(caller(), rpc) and await self._owns(context, pid)
        without_text = access.export_without_text(caller(), rpc, own, pid)
        document = await self._run(self.app.export_participant, pid)
        if without_text:
            _withhold_text(document)
        return pb.ParticipantDataExport(
            participant_id=pid,
            service=SERVICE,
            exported_at=datetime.now(UTC).isoformat(),
            document_json=json.dumps(document, sort_keys=True),
        )


def _withhold_text(document: dict[str, Any]) -> None:
    """Practices and notes are their author's alone, even in an export made for them."""
    for item in document.get("session_feedback", []):
        own = item.get("own") or {}
        for key in ("practices", "note"):
            if own.get(key):
                own[key] = WITHHELD_TEXT
