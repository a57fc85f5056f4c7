"""The scheduling gRPC servicer: a thin adapter from messages to commands.

Store work runs in a worker thread. The interceptor has authenticated the
caller and checked the role table (:data:`access.POLICY`); each handler then
applies the object-level rule for what it loads: the programme for its policy,
the mentorship's programme (or, for a mentor or mentee, "is one side of it
you?", asked of enrolment through :mod:`revmentor.kernel.ownership`) for a
mentorship and its sessions, the participant's mentorships for a calendar or an
export.

Who acts on a session: an admin or a manager of the programme acts as the
programme manager (their actor is recorded); a mentor or mentee acts as the
member of the pair enrolment confirms is them (their participant id is
recorded, so "the other member" can dispute their attendance record).

Domain errors are mapped by the kernel's interceptor; the two ways enrolment
can be out of reach (availability for slot suggestions, an ownership question)
are answered here with UNAVAILABLE, nothing written.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

import grpc

from revmentor.kernel.attributes import AttributesUnavailable
from revmentor.kernel.errors import FieldViolation, ValidationFailed
from revmentor.kernel.ownership import (
    EnrolmentUnavailable,
    OwnershipCheck,
    authorization,
    caller,
    enrolment_unavailable,
)
from revmentor.kernel.paging import page
from revmentor.scheduling import access
from revmentor.scheduling import mapping as m
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.calendar import CONTENT_TYPE, participant_calendar
from revmentor.scheduling.domain.mentorship import MANAGER, MENTEE, MENTOR, Mentorship
from revmentor.scheduling.domain.programme import SchedulingProgramme
from revmentor.scheduling.v1 import scheduling_pb2 as pb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

T = TypeVar("T")
Context = grpc.aio.ServicerContext

SERVICE = "scheduling"
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["SchedulingService"].full_name
#: SuggestSlots' count when the request leaves it 0.
DEFAULT_SLOT_COUNT = 5


async def unavailable(ctx: Context, error: Exception) -> NoReturn:
    await enrolment_unavailable(ctx, error, SERVICE)


class SchedulingServicer(pb_grpc.SchedulingServiceServicer):
    #: Picked up by ``GrpcServer.add``: who may call each RPC.
    ACCESS_POLICY = access.POLICY

    def __init__(self, app: SchedulingApplication, ownership: OwnershipCheck | None = None):
        self.app = app
        self.ownership = ownership or OwnershipCheck(SERVICE)

    async def _run(self, work: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(work, *args)

    async def _with_attributes(self, ctx: Context, work: Callable[..., T], *args: Any) -> T:
        """Store work that asks enrolment for availability (slot suggestions)."""
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
    async def _programme(self, rpc: str, programme_id: str) -> SchedulingProgramme:
        programme = await self._run(self.app.programme, programme_id)
        access.require_programme(caller(), rpc, str(programme.programme_id), programme_id)
        return programme

    async def _mentorship(
        self, rpc: str, mentorship_id: str, ctx: Context
    ) -> tuple[Mentorship, bool]:
        """The mentorship, if the caller may see it, and whether it is theirs (one
        side of it is the caller); NOT_FOUND (as if missing) otherwise."""
        record = await self._run(self.app.mentorship, mentorship_id)
        principal, programme_id = caller(), str(record.programme_id)
        own = False
        if access.needs_ownership(principal, rpc, programme_id):
            own = await self._owns(ctx, record.mentee_id) or await self._owns(ctx, record.mentor_id)
        access.require_mentorship(principal, rpc, programme_id, mentorship_id, own)
        return record, own

    async def _acting(self, rpc: str, mentorship_id: str, ctx: Context) -> tuple[str, str]:
        """Who acts on the mentorship's sessions, as (by, by_role): the caller's actor
        as the programme manager, or the member enrolment confirms is the caller;
        NOT_FOUND (as if missing) for anyone else."""
        record = await self._run(self.app.mentorship, mentorship_id)
        principal, programme_id = caller(), str(record.programme_id)
        if access.may_act_in_programme(principal, rpc, programme_id):
            return principal.actor, MANAGER
        side = ""
        if access.acts_for_self(principal, rpc):
            if await self._owns(ctx, record.mentee_id):
                side = MENTEE
            elif await self._owns(ctx, record.mentor_id):
                side = MENTOR
        access.require_mentorship(principal, rpc, programme_id, mentorship_id, bool(side))
        return (record.mentee_id if side == MENTEE else record.mentor_id), side

    # -- policy ------------------------------------------------------------------------
    async def SetSchedulingPolicy(
        self, request: pb.SetSchedulingPolicyRequest, context: Context
    ) -> Any:
        await self._programme("SetSchedulingPolicy", request.programme_id)
        programme = await self._run(
            self.app.set_policy,
            request.programme_id,
            m.policy_change_from(request.change),
            request.expected_version,
        )
        return m.policy_message(programme)

    async def GetSchedulingPolicy(
        self, request: pb.GetSchedulingPolicyRequest, context: Context
    ) -> Any:
        programme = await self._programme("GetSchedulingPolicy", request.programme_id)
        return m.policy_message(programme)

    # -- mentorships -------------------------------------------------------------------
    async def GetMentorship(self, request: pb.GetMentorshipRequest, context: Context) -> Any:
        rpc = "GetMentorship"
        record, own = await self._mentorship(rpc, request.mentorship_id, context)
        private = access.sees_private(caller(), rpc, str(record.programme_id), own)
        return m.mentorship_message(record, private)

    async def ListMentorships(self, request: pb.ListMentorshipsRequest, context: Context) -> Any:
        rpc = "ListMentorships"
        status = _known("status", m.mentorship_status_from(request.status))
        if request.programme_id and not request.participant_id:
            await self._programme(rpc, request.programme_id)
        found = await self._run(
            self.app.mentorships, request.programme_id, request.participant_id, status
        )
        if request.stalled_only:
            found = [v for v in found if v["stalled"]]
        if request.participant_id:
            found = await self._visible(rpc, found, request.participant_id, context)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListMentorshipsResponse(
            mentorships=[m.mentorship_view_message(v) for v in chunk],
            next_page_token=token,
            total_size=len(found),
        )

    async def _visible(
        self, rpc: str, views: list[dict[str, Any]], participant_id: str, ctx: Context
    ) -> list[dict[str, Any]]:
        """A participant's mentorships or sessions the caller may see (filtered before
        paging, so the total says nothing about the others): in their programmes,
        or all if the participant is them."""
        principal = caller()
        shown = [v for v in views if access.may_act_in_programme(principal, rpc, v["programme_id"])]
        if len(shown) == len(views):
            return views
        if access.acts_for_self(principal, rpc) and await self._owns(ctx, participant_id):
            return views
        return shown

    # -- sessions ----------------------------------------------------------------------
    async def ScheduleSession(self, request: pb.ScheduleSessionRequest, context: Context) -> Any:
        by, _ = await self._acting("ScheduleSession", request.mentorship_id, context)
        record, session_id = await self._run(
            lambda: self.app.schedule_session(
                request.mentorship_id,
                request.local_start,
                request.time_zone,
                request.duration_minutes,
                m.mode_from(request.mode),
                location=request.location,
                meeting_link=request.meeting_link,
                agenda=request.agenda,
                by=by,
                expected_version=request.expected_version,
            )
        )
        return m.session_message(record, record.sessions[session_id], private=True)

    async def LogPastSession(self, request: pb.ScheduleSessionRequest, context: Context) -> Any:
        by, by_role = await self._acting("LogPastSession", request.mentorship_id, context)
        record, session_id = await self._run(
            lambda: self.app.log_past_session(
                request.mentorship_id,
                request.local_start,
                request.time_zone,
                request.duration_minutes,
                m.mode_from(request.mode),
                location=request.location,
                meeting_link=request.meeting_link,
                agenda=request.agenda,
                by=by,
                by_role=by_role,
                expected_version=request.expected_version,
            )
        )
        return m.session_message(record, record.sessions[session_id], private=True)

    async def RescheduleSession(
        self, request: pb.RescheduleSessionRequest, context: Context
    ) -> Any:
        by, _ = await self._acting("RescheduleSession", request.mentorship_id, context)
        record = await self._run(
            lambda: self.app.reschedule_session(
                request.mentorship_id,
                request.session_id,
                request.local_start,
                request.time_zone,
                request.duration_minutes,
                by=by,
                expected_version=request.expected_version,
            )
        )
        return m.session_message(record, record.sessions[request.session_id], private=True)

    async def CancelSession(self, request: pb.CancelSessionRequest, context: Context) -> Any:
        by, by_role = await self._acting("CancelSession", request.mentorship_id, context)
        record = await self._run(
            self.app.cancel_session,
            request.mentorship_id,
            request.session_id,
            request.reason,
            by,
            by_role,
            request.expected_version,
        )
        return m.session_message(record, record.sessions[request.session_id], private=True)

    async def RecordAttendance(self, request: pb.RecordAttendanceRequest, context: Context) -> Any:
        by, by_role = await self._acting("RecordAttendance", request.mentorship_id, context)
        record = await self._run(
            self.app.record_attendance,
            request.mentorship_id,
            request.session_id,
            m.attendance_from(request.attendance),
            by,
            by_role,
            request.expected_version,
        )
        return m.session_message(record, record.sessions[request.session_id], private=True)

    async def DisputeAttendance(
        self, request: pb.DisputeAttendanceRequest, context: Context
    ) -> Any:
        by, _ = await self._acting("DisputeAttendance", request.mentorship_id, context)
        record = await self._run(
            self.app.dispute_attendance,
            request.mentorship_id,
            request.session_id,
            request.reason,
            by,
            request.expected_version,
        )
        return m.session_message(record, record.sessions[request.session_id], private=True)

    async def SuggestSlots(self, request: pb.SuggestSlotsRequest, context: Context) -> Any:
        await self._acting("SuggestSlots", request.mentorship_id, context)
        found, zone_name = await self._with_attributes(
            context,
            self.app.suggest_slots,
            request.mentorship_id,
            request.count or DEFAULT_SLOT_COUNT,
            request.duration_minutes,
            request.not_before,
            request.time_zone,
        )
        return pb.SuggestSlotsResponse(
            slots=[m.slot_message(start, end, zone_name) for start, end in found]
        )

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> Any:
        rpc = "ListSessions"
        status = _known("status", m.session_status_from(request.status))
        if request.mentorship_id and not request.participant_id:
            await self._mentorship(rpc, request.mentorship_id, context)
        found = await self._run(
            self.app.sessions, request.mentorship_id, request.participant_id, status
        )
        if request.participant_id:
            found = await self._visible(rpc, found, request.participant_id, context)
        chunk, token = page(found, request.page_size, request.page_token)
        return pb.ListSessionsResponse(
            sessions=[m.session_view_message(v) for v in chunk],
            next_page_token=token,
            total_size=len(found),
        )

    # -- calendars and privacy -----------------------------------------------------------
    async def _own_unless_running_all(
        self, rpc: str, programmes: set[str], participant_id: str, ctx: Context
    ) -> bool:
        """Ask enrolment "is this participant you?" only when it could matter: the
        caller may act for themself and does not run every programme concerned."""
        principal = caller()
        if not access.acts_for_self(principal, rpc):
            return False
        if programmes and all(access.runs_programme(principal, rpc, p) for p in programmes):
            return False
        return await self._owns(ctx, participant_id)

    async def GetCalendar(self, request: pb.GetCalendarRequest, context: Context) -> Any:
        rpc, participant_id = "GetCalendar", request.participant_id
        records = await self._run(self.app.mentorships_of, participant_id)
        programmes = {str(r.programme_id) for r in records}
        own = await self._own_unless_running_all(rpc, programmes, participant_id, context)
        shown = access.require_calendar(caller(), rpc, programmes, participant_id, own)
        ics = await self._run(
            participant_calendar,
            participant_id,
            [r for r in records if str(r.programme_id) in shown],
            self.app.clock(),
        )
        return pb.Calendar(participant_id=participant_id, content_type=CONTENT_TYPE, ics=ics)

    async def ExportParticipantData(
        self, request: pb.ExportParticipantDataRequest, context: Context
    ) -> Any:
        rpc, participant_id = "ExportParticipantData", request.participant_id
        principal = caller()
        views = await self._run(self.app.mentorships, "", participant_id, "")
        programme_of = {v["mentorship_id"]: v["programme_id"] for v in views}
        programmes = set(programme_of.values())
        own = False
        if views and not all(access.may_act_in_programme(principal, rpc, p) for p in programmes):
            own = access.acts_for_self(principal, rpc) and await self._owns(context, participant_id)
        access.require_participant(principal, rpc, programmes, participant_id, own)
        document = await self._run(self.app.export_participant, participant_id)
        for item in document.get("mentorships", []):
            programme_id = programme_of.get(item["mentorship_id"], "")
            if not access.sees_private(principal, rpc, programme_id, own):
                _without_private(item)
            elif own and not access.may_act_in_programme(principal, rpc, programme_id):
                _without_others(item, participant_id)
        return pb.ParticipantDataExport(
            participant_id=participant_id,
            service=SERVICE,
            exported_at=datetime.now(UTC).isoformat(),
            document_json=json.dumps(document, sort_keys=True),
        )


def _known(field: str, value: str | None) -> str:
    """A filter enum this server knows ('' for all), else INVALID_ARGUMENT naming it."""
    if value is None:
        raise ValidationFailed([FieldViolation(field, "is not a known value")])
    return value


#: The pair's own texts in scheduling's events (sealed with the mentorship's key).
_PRIVATE_FIELDS = ("agenda", "location", "meeting_link", "reason")


def _without_others(item: dict[str, Any], participant_id: str) -> None:
    """A member's own export: the pair's shared session details stay, but not
    the other member's reasons nor who acted (other people's subjects)."""
    for event in item.get("history", []):
        state = event.get("state", {})
        by = state.get("cancelled_by") or state.get("disputed_by") or participant_id
        if by != participant_id:
            state.pop("reason", None)
        event.get("envelope", {}).pop("actor", None)


def _without_private(item: dict[str, Any]) -> None:
    for event in item.get("history", []):
        for name in _PRIVATE_FIELDS:
            event.get("state", {}).pop(name, None)
