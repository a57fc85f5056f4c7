"""The training gRPC servicer: a thin adapter from messages to commands.

Store work runs in a worker thread. The interceptor has authenticated the
caller and checked the role table (:data:`access.POLICY`); each handler then
applies the object-level rule for what it loads. For a mentor or mentee the
question "is this record yours?" goes to enrolment
(:mod:`revmentor.kernel.ownership`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc

from revmentor.kernel.ownership import EnrolmentUnavailable, OwnershipCheck, authorization, caller
from revmentor.kernel.paging import page
from revmentor.training import access
from revmentor.training import mapping as m
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.record import TrainingRecord
from revmentor.training.v1 import training_pb2 as pb
from revmentor.training.v1 import training_pb2_grpc as pb_grpc

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["TrainingService"].full_name


class TrainingServicer(pb_grpc.TrainingServiceServicer):
    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = access.POLICY

    def __init__(self, app: TrainingApplication, ownership: OwnershipCheck | None = None):
        self.app = app
        self.ownership = ownership or OwnershipCheck("training")

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    # -- object checks ----------------------------------------------------------------
    async def _programme(self, rpc: str, programme_id: str) -> str:
        programme = await self._run(self.app.programme, programme_id)
        pid = str(programme.programme_id)
        access.require_programme(caller(), rpc, pid)
        return pid

    async def _record(self, rpc: str, participant_id: str, ctx: Context) -> TrainingRecord:
        """The record, if the caller may act on it; NOT_FOUND (as if missing) otherwise."""
        record = await self._run(self.app.record, participant_id)
        principal, programme_id = caller(), str(record.programme_id)
        own = False
        if access.needs_ownership(principal, rpc, programme_id):
            try:
                own = await self.ownership.owns(authorization(ctx), str(record.participant_id))
            except EnrolmentUnavailable as error:
                await ctx.abort(grpc.StatusCode.UNAVAILABLE, str(error))
        access.require_record(principal, rpc, programme_id, participant_id, own)
        return record

    async def _on_record(
        self, rpc: str, participant_id: str, ctx: Context, command: Callable[[], TrainingRecord]
    ) -> pb.TrainingRecord:
        await self._record(rpc, participant_id, ctx)
        return m.record_message(await self._run(command))

    # -- curricula ----------------------------------------------------------------------
    async def DefineCurriculum(self, request: pb.DefineCurriculumRequest, context: Context) -> Any:
        pid = await self._programme("DefineCurriculum", request.programme_id)
        modules = [m.module_from(x) for x in request.modules]
        programme = await self._run(self.app.define_curriculum, pid, modules)
        version = programme.current_version
        return m.curriculum_message(pid, version, programme.current_modules)

    async def GetCurriculum(self, request: pb.GetCurriculumRequest, context: Context) -> Any:
        pid = await self._programme("GetCurriculum", request.programme_id)
        wanted = request.version if request.HasField("version") else None
        version, modules = await self._run(self.app.curriculum, pid, wanted)
        return m.curriculum_message(pid, version, modules)

    async def SetTrainingDeadline(
        self, request: pb.SetTrainingDeadlineRequest, context: Context
    ) -> Any:
        pid = await self._programme("SetTrainingDeadline", request.programme_id)
        programme = await self._run(self.app.set_deadline, pid, request.deadline)
        return m.programme_message(programme)

    # -- records --------------------------------------------------------------------------
    async def StartModule(self, request: pb.StartModuleRequest, context: Context) -> Any:
        return await self._on_record(
            "StartModule",
            request.participant_id,
            context,
            lambda: self.app.start_module(
                request.participant_id, request.module_id, request.expected_version
            ),
        )

    async def CompleteModule(self, request: pb.CompleteModuleRequest, context: Context) -> Any:
        return await self._on_record(
            "CompleteModule",
            request.participant_id,
            context,
            lambda: self.app.complete_module(
                request.participant_id,
                request.module_id,
                request.score,
                request.attempt,
                request.expected_version,
            ),
        )

    async def RecordAttendance(self, request: pb.RecordAttendanceRequest, context: Context) -> Any:
        return await self._on_record(
            "RecordAttendance",
            request.participant_id,
            context,
            lambda: self.app.record_attendance(
                request.participant_id,
                request.module_id,
                request.session_date,
                request.expected_version,
            ),
        )

    async def WaiveModule(self, request: pb.WaiveModuleRequest, context: Context) -> Any:
        return await self._on_record(
            "WaiveModule",
            request.participant_id,
            context,
            lambda: self.app.waive_module(
                request.participant_id, request.module_id, request.reason, request.expected_version
            ),
        )

    async def RevokeCertification(
        self, request: pb.RevokeCertificationRequest, context: Context
    ) -> Any:
        return await self._on_record(
            "RevokeCertification",
            request.participant_id,
            context,
            lambda: self.app.revoke_certification(
                request.participant_id, request.reason, request.expected_version
            ),
        )

    async def RequestRecertification(
        self, request: pb.RequestRecertificationRequest, context: Context
    ) -> Any:
        return await self._on_record(
            "RequestRecertification",
            request.participant_id,
            context,
            lambda: self.app.request_recertification(
                request.participant_id, request.curriculum_version, request.expected_version
            ),
        )

    async def GetTrainingRecord(
        self, request: pb.GetTrainingRecordRequest, context: Context
    ) -> Any:
        record = await self._record("GetTrainingRecord", request.participant_id, context)
        return m.record_message(record)

    async def ExportParticipantData(
        self, request: pb.ExportParticipantDataRequest, context: Context
    ) -> Any:
        await self._record("ExportParticipantData", request.participant_id, context)
        document = await self._run(self.app.export_participant, request.participant_id)
        return pb.ParticipantDataExport(
            participant_id=request.participant_id,
            service="training",
            exported_at=datetime.now(UTC).isoformat(),
            document_json=json.dumps(document, sort_keys=True),
        )

    # -- programme queries ----------------------------------------------------------------
    async def GetProgrammeReadiness(
        self, request: pb.GetProgrammeReadinessRequest, context: Context
    ) -> Any:
        pid = await self._programme("GetProgrammeReadiness", request.programme_id)
        return m.readiness_message(await self._run(self.app.readiness, pid))

    async def ListCertifiedMentors(
        self, request: pb.ListCertifiedMentorsRequest, context: Context
    ) -> Any:
        pid = await self._programme("ListCertifiedMentors", request.programme_id)
        found = await self._run(self.app.certified_mentors, pid)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListCertifiedMentorsResponse(
            mentors=[m.certified_message(v) for v in chunk],
            next_page_token=token,
            total_size=len(found),
        )
