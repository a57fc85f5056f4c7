"""The enrolment gRPC servicer: a thin adapter from messages to commands.

Store work is synchronous, so each call runs in a worker thread (the request
context and trace travel with it). Errors are mapped once, by the kernel's
interceptor; nothing here catches them.

The interceptor has already authenticated the caller and checked their role
against :data:`access.POLICY`; each handler then applies the object-level rule
for what it loaded (:mod:`revmentor.enrolment.access`), so a participant sees
only themself and a programme manager only their programmes.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc

from revmentor.enrolment import access
from revmentor.enrolment import mapping as m
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.participant import Participant
from revmentor.enrolment.domain.programme import Programme
from revmentor.enrolment.readmodel import EnrolmentReadModel
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel import context
from revmentor.kernel.auth import AccessDenied, Principal
from revmentor.kernel.ids import parse_id
from revmentor.kernel.paging import page

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EnrolmentService"].full_name


def caller() -> Principal:
    """The authenticated caller of the current RPC (set by the kernel's interceptor)."""
    principal = context.current().principal
    if principal is None:
        raise AccessDenied("no authenticated caller")
    return principal


def now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class EnrolmentServicer(pb_grpc.EnrolmentServiceServicer):
    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = access.POLICY

    def __init__(self, app: EnrolmentApplication):
        self.app = app

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    def _programme(self, programme: Programme) -> pb.Programme:
        mentors, mentees = self.app.programme_counts(str(programme.id))
        return m.programme_message(programme, mentors, mentees)

    # -- programmes -------------------------------------------------------------
    async def CreateProgramme(self, request: pb.CreateProgrammeRequest, context: Context) -> Any:
        def create() -> pb.Programme:
            return self._programme(
                self.app.create_programme(
                    request.name,
                    request.description,
                    request.start_date,
                    request.end_date,
                    m.topics_from(request.topics),
                    m.rules_from(request.rules),
                )
            )

        return await self._run(create)

    def _load_programme(self, rpc: str, programme_id: str, manage: bool = False) -> Programme:
        programme = self.app.programme(programme_id)
        access.require_programme(caller(), rpc, str(programme.id), manage)
        return programme

    def _load_participant(self, rpc: str, participant_id: str) -> Participant:
        participant = self.app.participant(participant_id)
        access.require_participant(caller(), rpc, participant)
        return participant

    async def GetProgramme(self, request: pb.GetProgrammeRequest, context: Context) -> Any:
        return await self._run(
            lambda: self._programme(self._load_programme("GetProgramme", request.programme_id))
        )

    async def ListProgrammes(self, request: pb.ListProgrammesRequest, context: Context) -> Any:
        def list_programmes() -> pb.ListProgrammesResponse:
            status = m.enum_filter("status", request.status, m.PROGRAMME_STATUS)

            def read(model: EnrolmentReadModel) -> pb.ListProgrammesResponse:
                found = access.visible_programmes(caller(), model.list_programmes(status))
                chunk, token = page(found, request.page_size, request.page_token)
                return pb.ListProgrammesResponse(
                    programmes=[m.programme_view_message(v) for v in chunk],
                    next_page_token=token,
                    total_size=len(found),
                )

            return self.app.query(read)

        return await self._run(list_programmes)

    async def OpenEnrolment(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition("OpenEnrolment", self.app.open_enrolment, request)

    async def CloseEnrolment(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition("CloseEnrolment", self.app.close_enrolment, request)

    async def LaunchProgramme(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition("LaunchProgramme", self.app.launch, request)

    async def CloseProgramme(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition("CloseProgramme", self.app.close_programme, request)

    async def _transition(
        self, rpc: str, command: Callable[[str, int], Programme], request: pb.ProgrammeCommand
    ) -> pb.Programme:
        def transition() -> pb.Programme:
            programme = self._load_programme(rpc, request.programme_id, manage=True)
            return self._programme(command(str(programme.id), request.expected_version))

        return await self._run(transition)

    # -- participants -----------------------------------------------------------
    async def EnrolParticipant(self, request: pb.EnrolParticipantRequest, context: Context) -> Any:
        def enrol() -> pb.Participant:
            role = m.ROLE.get(request.role, "")
            # the id's shape first: a refusal quotes the programme id, so never raw input
            programme_id = str(parse_id("programme_id", request.programme_id))
            access.require_enrolment(caller(), programme_id, request.employee_id, role)
            participant = self.app.enrol(
                request.programme_id,
                request.employee_id,
                role,
                m.profile_from(request.profile),
                m.consent_from(request.consent),
            )
            return m.participant_message(participant)

        return await self._run(enrol)

    async def UpdateProfile(self, request: pb.UpdateProfileRequest, context: Context) -> Any:
        def update() -> pb.Participant:
            self._load_participant("UpdateProfile", request.participant_id)
            participant = self.app.update_profile(
                request.participant_id, m.profile_from(request.profile), request.expected_version
            )
            return m.participant_message(participant)

        return await self._run(update)

    async def WithdrawParticipant(
        self, request: pb.WithdrawParticipantRequest, context: Context
    ) -> Any:
        def withdraw() -> pb.Participant:
            self._load_participant("WithdrawParticipant", request.participant_id)
            participant = self.app.withdraw(
                request.participant_id,
                m.REASON.get(request.reason, ""),
                request.note,
                request.expected_version,
            )
            return m.participant_message(participant)

        return await self._run(withdraw)

    async def GetParticipant(self, request: pb.GetParticipantRequest, context: Context) -> Any:
        return await self._run(
            lambda: m.participant_message(
                self._load_participant("GetParticipant", request.participant_id)
            )
        )

    async def FindParticipant(self, request: pb.FindParticipantRequest, context: Context) -> Any:
        def find() -> pb.Participant:
            found = self.app.find_participant(request.programme_id, request.employee_id)
            access.require_found_participant(
                caller(), found, request.programme_id, request.employee_id
            )
            return m.participant_message(found)

        return await self._run(find)

    async def ListParticipants(self, request: pb.ListParticipantsRequest, context: Context) -> Any:
        def list_participants() -> pb.ListParticipantsResponse:
            programme = self._load_programme("ListParticipants", request.programme_id, manage=True)
            role = m.enum_filter("role", request.role, m.ROLE)
            status = m.enum_filter("status", request.status, m.PARTICIPANT_STATUS)

            found = self.app.participant_views(
                str(programme.id), role, status, request.topic, request.site
            )
            chunk, token = page(found, request.page_size, request.page_token)
            return pb.ListParticipantsResponse(
                participants=[m.participant_view_message(v) for v in self.app.opened(chunk)],
                next_page_token=token,
                total_size=len(found),
            )

        return await self._run(list_participants)

    async def GetMatchingAttributes(
        self, request: pb.GetMatchingAttributesRequest, context: Context
    ) -> Any:
        if request.as_of and caller().service != access.PAST_ATTRIBUTES_READER:
            # past values (ones a participant has since corrected) serve one
            # purpose: re-running a recorded matching round for an auditor
            raise AccessDenied(
                f"as_of is for the {access.PAST_ATTRIBUTES_READER} service only "
                "(re-running a recorded round); ask without it for the current attributes"
            )

        def attributes() -> pb.GetMatchingAttributesResponse:
            found = self.app.participants_for_matching(list(request.participant_ids), request.as_of)
            return pb.GetMatchingAttributesResponse(
                attributes=[m.matching_attributes(p) for p in found]
            )

        return await self._run(attributes)

    # -- GDPR -----------------------------------------------------------------------
    async def EraseParticipant(self, request: pb.EraseParticipantRequest, context: Context) -> Any:
        def erase() -> pb.ErasureReceipt:
            self._load_participant("EraseParticipant", request.participant_id)
            erased = self.app.erase_participant(request.participant_id, request.reason)
            return pb.ErasureReceipt(
                participant_id=request.participant_id,
                erased_at=now_rfc3339(),
                version=erased.version,
            )

        return await self._run(erase)

    async def ExportParticipantData(
        self, request: pb.ExportParticipantDataRequest, context: Context
    ) -> Any:
        def export() -> pb.ParticipantDataExport:
            self._load_participant("ExportParticipantData", request.participant_id)
            document = self.app.export_participant(request.participant_id)
            return pb.ParticipantDataExport(
                participant_id=request.participant_id,
                service="enrolment",
                exported_at=now_rfc3339(),
                document_json=json.dumps(document, sort_keys=True),
            )

        return await self._run(export)
