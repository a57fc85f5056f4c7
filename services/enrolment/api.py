"""The enrolment gRPC servicer: a thin adapter from messages to commands.

Store work is synchronous, so each call runs in a worker thread (the request
context and trace travel with it). Errors are mapped once, by the kernel's
interceptor; nothing here catches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import grpc

from revmentor.enrolment import mapping as m
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.programme import Programme
from revmentor.enrolment.readmodel import EnrolmentReadModel
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.paging import page

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["EnrolmentService"].full_name


class EnrolmentServicer(pb_grpc.EnrolmentServiceServicer):
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

    async def GetProgramme(self, request: pb.GetProgrammeRequest, context: Context) -> Any:
        return await self._run(lambda: self._programme(self.app.programme(request.programme_id)))

    async def ListProgrammes(self, request: pb.ListProgrammesRequest, context: Context) -> Any:
        def list_programmes() -> pb.ListProgrammesResponse:
            status = m.enum_filter("status", request.status, m.PROGRAMME_STATUS)

            def read(model: EnrolmentReadModel) -> pb.ListProgrammesResponse:
                found = model.list_programmes(status)
                chunk, token = page(found, request.page_size, request.page_token)
                return pb.ListProgrammesResponse(
                    programmes=[m.programme_view_message(v) for v in chunk],
                    next_page_token=token,
                    total_size=len(found),
                )

            return self.app.query(read)

        return await self._run(list_programmes)

    async def OpenEnrolment(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition(self.app.open_enrolment, request)

    async def CloseEnrolment(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition(self.app.close_enrolment, request)

    async def LaunchProgramme(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition(self.app.launch, request)

    async def CloseProgramme(self, request: pb.ProgrammeCommand, context: Context) -> Any:
        return await self._transition(self.app.close_programme, request)

    async def _transition(
        self, command: Callable[[str, int], Programme], request: pb.ProgrammeCommand
    ) -> pb.Programme:
        return await self._run(
            lambda: self._programme(command(request.programme_id, request.expected_version))
        )

    # -- participants -----------------------------------------------------------
    async def EnrolParticipant(self, request: pb.EnrolParticipantRequest, context: Context) -> Any:
        def enrol() -> pb.Participant:
            participant = self.app.enrol(
                request.programme_id,
                request.employee_id,
                m.ROLE.get(request.role, ""),
                m.profile_from(request.profile),
                m.consent_from(request.consent),
            )
            return m.participant_message(participant)

        return await self._run(enrol)

    async def UpdateProfile(self, request: pb.UpdateProfileRequest, context: Context) -> Any:
        def update() -> pb.Participant:
            participant = self.app.update_profile(
                request.participant_id, m.profile_from(request.profile), request.expected_version
            )
            return m.participant_message(participant)

        return await self._run(update)

    async def WithdrawParticipant(
        self, request: pb.WithdrawParticipantRequest, context: Context
    ) -> Any:
        def withdraw() -> pb.Participant:
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
            lambda: m.participant_message(self.app.participant(request.participant_id))
        )

    async def FindParticipant(self, request: pb.FindParticipantRequest, context: Context) -> Any:
        return await self._run(
            lambda: m.participant_message(
                self.app.find_participant(request.programme_id, request.employee_id)
            )
        )

    async def ListParticipants(self, request: pb.ListParticipantsRequest, context: Context) -> Any:
        def list_participants() -> pb.ListParticipantsResponse:
            programme = self.app.programme(request.programme_id)
            role = m.enum_filter("role", request.role, m.ROLE)
            status = m.enum_filter("status", request.status, m.PARTICIPANT_STATUS)

            def read(model: EnrolmentReadModel) -> pb.ListParticipantsResponse:
                found = model.list_participants(
                    str(programme.id), role, status, request.topic, request.site
                )
                chunk, token = page(found, request.page_size, request.page_token)
                return pb.ListParticipantsResponse(
                    participants=[m.participant_view_message(v) for v in chunk],
                    next_page_token=token,
                    total_size=len(found),
                )

            return self.app.query(read)

        return await self._run(list_participants)

    async def GetMatchingAttributes(
        self, request: pb.GetMatchingAttributesRequest, context: Context
    ) -> Any:
        def attributes() -> pb.GetMatchingAttributesResponse:
            found = self.app.participants_for_matching(list(request.participant_ids))
            return pb.GetMatchingAttributesResponse(
                attributes=[m.matching_attributes(p) for p in found]
            )

        return await self._run(attributes)
