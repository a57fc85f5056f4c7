"""The scheduling gRPC API: a real grpc.aio server over SQLite and PostgreSQL.

Every refusal is checked for its status code and for leaving the store as it
was. A mentor's or mentee's own mentorship is confirmed by a real in-process
enrolment server, asked with the caller's own token (as in matching's tests).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import uuid4

import grpc
import pytest
from icalendar import Calendar
from support import DevIssuer, enrol_member, invalid, refused

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel.attributes import AttributesUnavailable
from revmentor.kernel.natsserver import free_port
from revmentor.scheduling import access
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.domain.diary import Diary
from revmentor.scheduling.v1 import scheduling_pb2 as pb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

Code = grpc.StatusCode
Stub = pb_grpc.SchedulingServiceStub
PARIS = "Europe/Paris"
LINK = "https://meet.example/pair-42"
AGENDA = "Prompting basics; what the team uses Copilot for"
PRIVATE = ("agenda", "location", "meeting_link", "cancel_reason")


def virtual(mentorship_id: str, local: str = "2027-03-01T10:00", **fields: Any) -> Any:
    """A virtual session request, 60 minutes in Paris; ``fields`` override."""
    request = pb.ScheduleSessionRequest(
        mentorship_id=mentorship_id,
        local_start=local,
        time_zone=PARIS,
        duration_minutes=60,
        mode=pb.MODE_VIRTUAL,
        meeting_link=LINK,
        agenda=AGENDA,
    )
    for name, value in fields.items():
        setattr(request, name, value)
    return request


def cancel(mentorship_id: str, session_id: str, reason: str = "the mentor is travelling") -> Any:
    return pb.CancelSessionRequest(
        mentorship_id=mentorship_id, session_id=session_id, reason=reason
    )


def attendance(mentorship_id: str, session_id: str, held: bool = True) -> Any:
    value = pb.ATTENDANCE_HELD if held else pb.ATTENDANCE_NO_SHOW
    return pb.RecordAttendanceRequest(
        mentorship_id=mentorship_id, session_id=session_id, attendance=value
    )


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_rpc_has_an_access_rule() -> None:
    methods = pb.DESCRIPTOR.services_by_name["SchedulingService"].methods
    assert set(access.POLICY) == {method.name for method in methods}


async def test_policy(stub: Stub, scheduling_app: SchedulingApplication, seed: Any) -> None:
    programme = seed.programme(planned=4)
    policy = await stub.GetSchedulingPolicy(pb.GetSchedulingPolicyRequest(programme_id=programme))
    assert (policy.min_session_minutes, policy.max_session_minutes) == (60, 120)
    assert (policy.min_gap_days, policy.reminder_lead_hours, policy.stall_after_days) == (6, 24, 42)
    assert (policy.planned_sessions, policy.start_date, policy.end_date) == (
        4,
        "2027-01-11",
        "2027-06-30",
    )
    changed = await stub.SetSchedulingPolicy(
        pb.SetSchedulingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(min_gap_days=0, min_session_minutes=30),
            expected_version=policy.version,
        )
    )
    assert (changed.min_gap_days, changed.min_session_minutes) == (0, 30), "0 is a value"
    assert (changed.max_session_minutes, changed.stall_after_days) == (120, 42), "unset: kept"
    assert changed.version == policy.version + 1
    await invalid(
        scheduling_app,
        stub.SetSchedulingPolicy,
        pb.SetSchedulingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(
                min_session_minutes=200, max_session_minutes=90, stall_after_days=3
            ),
        ),
        ["change.stall_after_days", "change.min_session_minutes"],
    )
    await refused(
        scheduling_app,
        Code.ABORTED,
        stub.SetSchedulingPolicy,
        pb.SetSchedulingPolicyRequest(
            programme_id=programme,
            change=pb.PolicyChange(min_gap_days=3),
            expected_version=policy.version,
        ),
    )
    unknown = str(uuid4())
    missing = await refused(
        scheduling_app,
        Code.NOT_FOUND,
        stub.GetSchedulingPolicy,
        pb.GetSchedulingPolicyRequest(programme_id=unknown),
    )
    assert missing.details() == f"programme {unknown} not found"
    await invalid(
        scheduling_app,
        stub.SetSchedulingPolicy,
        pb.SetSchedulingPolicyRequest(programme_id="p-1"),
        ["programme_id"],
    )


async def test_a_pairs_sessions_from_booking_to_completion(
    stub: Stub, scheduling_app: SchedulingApplication, seed: Any, clock: Any
) -> None:
    pair = seed.pair(seed.programme(planned=2))
    mid = pair.mentorship_id
    booked = await stub.ScheduleSession(virtual(mid))
    assert booked.status == pb.SESSION_STATUS_SCHEDULED and booked.number == 1
    assert (booked.start, booked.end) == ("2027-03-01T09:00:00Z", "2027-03-01T10:00:00Z")
    assert (booked.local_start, booked.time_zone, booked.duration_minutes) == (
        "2027-03-01T10:00",
        PARIS,
        60,
    )
    assert (booked.mode, booked.meeting_link, booked.agenda) == (pb.MODE_VIRTUAL, LINK, AGENDA)
    assert (booked.mentorship_id, booked.programme_id) == (mid, pair.programme_id)
    assert (booked.mentee_id, booked.mentor_id, booked.sequence) == (
        pair.mentee_id,
        pair.mentor_id,
        0,
    )

    moved = await stub.RescheduleSession(
        pb.RescheduleSessionRequest(
            mentorship_id=mid,
            session_id=booked.session_id,
            local_start="2027-03-02T14:30",
            time_zone="America/Toronto",
        )
    )
    assert (moved.start, moved.end) == ("2027-03-02T19:30:00Z", "2027-03-02T20:30:00Z")
    assert (moved.time_zone, moved.duration_minutes, moved.sequence) == ("America/Toronto", 60, 1)
    assert moved.agenda == AGENDA and moved.session_id == booked.session_id

    cancelled = await stub.CancelSession(cancel(mid, booked.session_id))
    assert cancelled.status == pb.SESSION_STATUS_CANCELLED and cancelled.sequence == 2
    assert (cancelled.cancelled_by, cancelled.cancel_reason) == (
        "admin-1",
        "the mentor is travelling",
    )

    second = await stub.ScheduleSession(virtual(mid, "2027-03-08T10:00", expected_version=0))
    assert second.number == 2
    clock.now = at("2027-03-08T09:30:00Z")
    held = await stub.RecordAttendance(attendance(mid, second.session_id))
    assert held.status == pb.SESSION_STATUS_HELD and held.recorded_by == "admin-1"
    assert held.sequence == 1
    logged = await stub.LogPastSession(
        virtual(
            mid,
            "2027-02-15T10:00",
            mode=pb.MODE_IN_PERSON,
            meeting_link="",
            location="Paris HQ, room 4.2",
        )
    )
    assert logged.status == pb.SESSION_STATUS_HELD and logged.number == 3
    assert logged.location == "Paris HQ, room 4.2" and logged.recorded_by == "admin-1"

    got = await stub.GetMentorship(pb.GetMentorshipRequest(mentorship_id=mid))
    assert got.status == pb.MENTORSHIP_STATUS_COMPLETED and got.held_sessions == 2
    assert (got.planned_sessions, got.last_held_at) == (2, "2027-03-08T09:00:00Z")
    assert [s.status for s in got.sessions] == [
        pb.SESSION_STATUS_CANCELLED,
        pb.SESSION_STATUS_HELD,
        pb.SESSION_STATUS_HELD,
    ]
    assert got.sessions[0].cancel_reason and got.sessions[1].agenda == AGENDA

    listed = await stub.ListMentorships(pb.ListMentorshipsRequest(programme_id=pair.programme_id))
    assert [m.mentorship_id for m in listed.mentorships] == [mid]
    assert listed.mentorships[0].held_sessions == 2 and not listed.mentorships[0].sessions
    for status, count in (
        (pb.MENTORSHIP_STATUS_ACTIVE, 0),
        (pb.MENTORSHIP_STATUS_COMPLETED, 1),
    ):
        mine = await stub.ListMentorships(
            pb.ListMentorshipsRequest(participant_id=pair.mentee_id, status=status)
        )
        assert mine.total_size == count
    stalled = await stub.ListMentorships(
        pb.ListMentorshipsRequest(programme_id=pair.programme_id, stalled_only=True)
    )
    assert stalled.total_size == 0

    sessions = await stub.ListSessions(pb.ListSessionsRequest(mentorship_id=mid, page_size=2))
    assert sessions.total_size == 3 and len(sessions.sessions) == 2 and sessions.next_page_token
    assert all(not getattr(s, name) for s in sessions.sessions for name in PRIVATE)
    rest = await stub.ListSessions(
        pb.ListSessionsRequest(mentorship_id=mid, page_token=sessions.next_page_token)
    )
    assert [s.number for s in rest.sessions] == [3] and not rest.next_page_token
    held_ones = await stub.ListSessions(
        pb.ListSessionsRequest(participant_id=pair.mentor_id, status=pb.SESSION_STATUS_HELD)
    )
    assert [s.local_start for s in held_ones.sessions] == ["2027-02-15T10:00", "2027-03-08T10:00"]

    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=pair.mentee_id)
    )
    document = json.loads(exported.document_json)
    assert exported.service == "scheduling" and exported.participant_id == pair.mentee_id
    [item] = document["mentorships"]
    assert item["mentorship_id"] == mid
    assert any(e["state"].get("agenda") == AGENDA for e in item["history"])


async def test_bad_input_names_each_field(
    stub: Stub, scheduling_app: SchedulingApplication, seed: Any
) -> None:
    pair = seed.pair(seed.programme())
    mid = pair.mentorship_id
    booked = await stub.ScheduleSession(virtual(mid))
    sid = booked.session_id
    for request, fields in (
        (virtual(mid, mode=pb.MODE_UNSPECIFIED), ["mode"]),
        (virtual(mid, meeting_link="http://meet.example/x"), ["meeting_link"]),
        (virtual(mid, meeting_link=""), ["meeting_link"]),
        (virtual(mid, mode=pb.MODE_IN_PERSON, meeting_link=""), ["location"]),
        (
            virtual(mid, duration_minutes=20, time_zone="Mars/Olympus"),
            ["duration_minutes", "time_zone"],
        ),
        (virtual(mid, "2027-03-01 10h"), ["local_start"]),
        (virtual(mid, agenda="x" * 2001), ["agenda"]),
        (virtual("x"), ["mentorship_id"]),
        (virtual(mid, expected_version=-1), ["expected_version"]),
    ):
        await invalid(scheduling_app, stub.ScheduleSession, request, fields)
    skipped = await invalid(
        scheduling_app, stub.ScheduleSession, virtual(mid, "2027-03-28T02:30"), ["local_start"]
    )
    assert "does not exist in Europe/Paris" in skipped[0][1]
    await invalid(
        scheduling_app, stub.LogPastSession, virtual(mid, mode=pb.MODE_UNSPECIFIED), ["mode"]
    )
    await invalid(
        scheduling_app,
        stub.RescheduleSession,
        pb.RescheduleSessionRequest(
            mentorship_id=mid, session_id=str(uuid4()), local_start="2027-03-09T10:00"
        ),
        ["session_id"],
    )
    await invalid(
        scheduling_app,
        stub.RescheduleSession,
        pb.RescheduleSessionRequest(mentorship_id=mid, session_id=sid, local_start="2027-03-09"),
        ["time_zone", "local_start"],
    )
    await invalid(scheduling_app, stub.CancelSession, cancel(mid, sid, " no "), ["reason"])
    await invalid(
        scheduling_app,
        stub.RecordAttendance,
        pb.RecordAttendanceRequest(mentorship_id=mid, session_id=sid),
        ["attendance"],
    )
    await invalid(
        scheduling_app,
        stub.SuggestSlots,
        pb.SuggestSlotsRequest(mentorship_id=mid, count=21, duration_minutes=10),
        ["count", "duration_minutes"],
    )
    await invalid(scheduling_app, stub.ListSessions, pb.ListSessionsRequest(), ["mentorship_id"])
    await invalid(
        scheduling_app,
        stub.ListSessions,
        pb.ListSessionsRequest(mentorship_id=mid, page_size=501),
        ["page_size"],
    )
    await invalid(
        scheduling_app, stub.ListMentorships, pb.ListMentorshipsRequest(), ["programme_id"]
    )
    await invalid(
        scheduling_app,
        stub.ListMentorships,
        pb.ListMentorshipsRequest(programme_id=pair.programme_id, status=99),
        ["status"],
    )
    await invalid(
        scheduling_app,
        stub.GetCalendar,
        pb.GetCalendarRequest(participant_id="E-1"),
        ["participant_id"],
    )


async def test_scheduling_rules_fail_their_precondition(
    stub: Stub, scheduling_app: SchedulingApplication, seed: Any, clock: Any
) -> None:
    programme = seed.programme()
    pair = seed.pair(programme)
    other = seed.pair(programme, mentor_id=pair.mentor_id)  # the same mentor's other mentee
    mid = pair.mentorship_id
    for local, says in (
        ("2027-01-25T10:00", "in the past"),
        ("2027-07-05T10:00", "outside the programme's dates"),
    ):
        error = await refused(
            scheduling_app, Code.FAILED_PRECONDITION, stub.ScheduleSession, virtual(mid, local)
        )
        assert says in (error.details() or "")
    booked = await stub.ScheduleSession(virtual(mid))
    gap = await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.ScheduleSession,
        virtual(mid, "2027-03-04T10:00"),
    )
    assert "at least 6 days apart" in (gap.details() or "")
    clash = await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.ScheduleSession,
        virtual(other.mentorship_id, "2027-03-01T10:30"),
    )
    assert "the mentor is already booked" in (clash.details() or "")
    right_after = await stub.ScheduleSession(virtual(other.mentorship_id, "2027-03-01T11:00"))
    assert right_after.status == pb.SESSION_STATUS_SCHEDULED
    early = await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.RecordAttendance,
        attendance(mid, booked.session_id),
    )
    assert "once it has started" in (early.details() or "")
    future = await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.LogPastSession,
        virtual(mid, "2027-05-03T10:00"),
    )
    assert "in the future" in (future.details() or "")
    await stub.CancelSession(cancel(mid, booked.session_id))
    for method, request in (
        (
            stub.RescheduleSession,
            pb.RescheduleSessionRequest(
                mentorship_id=mid,
                session_id=booked.session_id,
                local_start="2027-03-15T10:00",
                time_zone=PARIS,
            ),
        ),
        (stub.CancelSession, cancel(mid, booked.session_id)),
    ):
        await refused(scheduling_app, Code.FAILED_PRECONDITION, method, request)

    unknown = str(uuid4())
    missing = await refused(scheduling_app, Code.NOT_FOUND, stub.ScheduleSession, virtual(unknown))
    assert missing.details() == f"mentorship {unknown} not found"
    for method, request in (
        (stub.GetMentorship, pb.GetMentorshipRequest(mentorship_id=unknown)),
        (stub.ListSessions, pb.ListSessionsRequest(mentorship_id=unknown)),
        (stub.GetCalendar, pb.GetCalendarRequest(participant_id=unknown)),
        (stub.ExportParticipantData, pb.ExportParticipantDataRequest(participant_id=unknown)),
    ):
        await refused(scheduling_app, Code.NOT_FOUND, method, request)
    current = await stub.GetMentorship(pb.GetMentorshipRequest(mentorship_id=mid))
    await refused(
        scheduling_app,
        Code.ABORTED,
        stub.ScheduleSession,
        virtual(mid, "2027-03-22T10:00", expected_version=current.version - 1),
    )
    clock.now = at("2027-03-01T10:30:00Z")
    await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.ScheduleSession,
        virtual(mid, "2027-03-01T11:00"),
    )


# -- the calendar feed ----------------------------------------------------------------------------
def events(ics: str) -> dict[str, Any]:
    calendar = Calendar.from_ical(ics)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def test_calendar_feed_parsed_back(
    stub: Stub, scheduling_app: SchedulingApplication, seed: Any
) -> None:
    pair = seed.pair(seed.programme())
    mid = pair.mentorship_id
    # 10:00 in Paris the Monday before the 2027-03-28 switch (UTC+1) and after (UTC+2)
    first = await stub.ScheduleSession(virtual(mid, "2027-03-22T10:00"))
    second = await stub.ScheduleSession(virtual(mid, "2027-03-29T10:00"))
    third = await stub.ScheduleSession(virtual(mid, "2027-04-12T10:00"))
    assert (first.start, second.start) == ("2027-03-22T09:00:00Z", "2027-03-29T08:00:00Z")
    request = pb.GetCalendarRequest(participant_id=pair.mentee_id)
    before = events((await stub.GetCalendar(request)).ics)

    await stub.CancelSession(cancel(mid, third.session_id))
    await stub.RescheduleSession(
        pb.RescheduleSessionRequest(
            mentorship_id=mid,
            session_id=second.session_id,
            local_start="2027-03-30T10:00",
            time_zone=PARIS,
        )
    )
    feed = await stub.GetCalendar(request)
    assert feed.content_type == "text/calendar; charset=utf-8"
    assert feed.participant_id == pair.mentee_id
    after = events(feed.ics)
    uids = {f"{s.session_id}@revmentor" for s in (first, second, third)}
    assert set(before) == set(after) == uids, "UIDs are stable"
    one, two, three = (after[f"{s.session_id}@revmentor"] for s in (first, second, third))
    assert [int(before[f"{s.session_id}@revmentor"]["SEQUENCE"]) for s in (first, second)] == [
        0,
        0,
    ]
    assert (int(one["SEQUENCE"]), int(two["SEQUENCE"]), int(three["SEQUENCE"])) == (0, 1, 1)
    assert (str(one["STATUS"]), str(two["STATUS"]), str(three["STATUS"])) == (
        "CONFIRMED",
        "CONFIRMED",
        "CANCELLED",
    )
    for event, day, offset in ((one, date(2027, 3, 22), 1), (two, date(2027, 3, 30), 2)):
        start, end = event["DTSTART"], event["DTEND"]
        assert start.params["TZID"] == PARIS and end.params["TZID"] == PARIS
        assert (start.dt.date(), start.dt.hour, start.dt.minute) == (day, 10, 0)
        assert start.dt.utcoffset() == timedelta(hours=offset)
        assert end.dt - start.dt == timedelta(hours=1)
        assert AGENDA in str(event["DESCRIPTION"]) and str(event["URL"]) == LINK
    assert "DTSTART;TZID=Europe/Paris:20270322T100000" in feed.ics
    assert "DTSTART;TZID=Europe/Paris:20270330T100000" in feed.ics
    zones = [str(z["TZID"]) for z in Calendar.from_ical(feed.ics).walk("VTIMEZONE")]
    assert zones == [PARIS]
    mentors = events(
        (await stub.GetCalendar(pb.GetCalendarRequest(participant_id=pair.mentor_id))).ics
    )
    assert set(mentors) == uids


# -- slot suggestions -----------------------------------------------------------------------------
async def test_suggest_slots(
    stub: Stub,
    scheduling_app: SchedulingApplication,
    seed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pair = seed.pair(seed.programme())  # both free Monday and Wednesday 09:00-12:00 in Paris
    request = pb.SuggestSlotsRequest(
        mentorship_id=pair.mentorship_id, count=3, not_before="2027-03-20T00:00:00Z"
    )
    found = await stub.SuggestSlots(request)
    assert [(s.local_start, s.time_zone) for s in found.slots] == [
        ("2027-03-22T09:00", PARIS),
        ("2027-03-24T09:00", PARIS),
        ("2027-03-29T09:00", PARIS),
    ]
    assert [(s.start, s.end) for s in found.slots][::2] == [
        ("2027-03-22T08:00:00Z", "2027-03-22T09:00:00Z"),
        ("2027-03-29T07:00:00Z", "2027-03-29T08:00:00Z"),
    ]
    request.time_zone = "America/Toronto"
    shown = await stub.SuggestSlots(request)
    assert [s.start for s in shown.slots] == [s.start for s in found.slots]
    assert [s.local_start for s in shown.slots] == [
        "2027-03-22T04:00",
        "2027-03-24T04:00",
        "2027-03-29T03:00",
    ]
    assert {s.time_zone for s in shown.slots} == {"America/Toronto"}
    default = await stub.SuggestSlots(pb.SuggestSlotsRequest(mentorship_id=pair.mentorship_id))
    assert len(default.slots) == 5

    def enrolment_down(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        raise AttributesUnavailable("enrolment did not answer GetMatchingAttributes (UNAVAILABLE)")

    monkeypatch.setattr(scheduling_app, "attributes", enrolment_down)
    down = await refused(scheduling_app, Code.UNAVAILABLE, stub.SuggestSlots, request)
    assert "Nothing was changed" in (down.details() or "") and "retry" in (down.details() or "")


# -- who may do what ------------------------------------------------------------------------------
async def test_managers_auditors_and_services(
    stub: Stub, scheduling_app: SchedulingApplication, seed: Any, issuer: DevIssuer
) -> None:
    mine, elsewhere = seed.programme(), seed.programme()
    here, there = seed.pair(mine), seed.pair(elsewhere)
    theirs = await stub.ScheduleSession(virtual(there.mentorship_id))
    manager = issuer.metadata("programme_manager", programmes=[mine])
    auditor = issuer.metadata("auditor")
    service = issuer.metadata("service", service="feedback")
    mentor = issuer.metadata("mentor", employee_id="E-1")

    # a manager runs the sessions of their own programme
    booked = await stub.ScheduleSession(virtual(here.mentorship_id), metadata=manager)
    assert booked.agenda == AGENDA
    await stub.SetSchedulingPolicy(
        pb.SetSchedulingPolicyRequest(programme_id=mine, change=pb.PolicyChange(min_gap_days=7)),
        metadata=manager,
    )
    feed = await stub.GetCalendar(
        pb.GetCalendarRequest(participant_id=here.mentee_id), metadata=manager
    )
    assert set(events(feed.ics)) == {f"{booked.session_id}@revmentor"}
    dropped = await stub.CancelSession(
        cancel(here.mentorship_id, booked.session_id), metadata=manager
    )
    assert dropped.cancelled_by == "tester"

    # ... and finds nothing of another programme: it looks missing
    unknown = str(uuid4())
    missing = await refused(
        scheduling_app,
        Code.NOT_FOUND,
        stub.GetMentorship,
        pb.GetMentorshipRequest(mentorship_id=unknown),
        metadata=manager,
    )
    hidden = await refused(
        scheduling_app,
        Code.NOT_FOUND,
        stub.GetMentorship,
        pb.GetMentorshipRequest(mentorship_id=there.mentorship_id),
        metadata=manager,
    )
    assert hidden.details() == (missing.details() or "").replace(unknown, there.mentorship_id)
    for method, request in (
        (stub.ScheduleSession, virtual(there.mentorship_id, "2027-03-15T10:00")),
        (stub.CancelSession, cancel(there.mentorship_id, theirs.session_id)),
        (stub.RecordAttendance, attendance(there.mentorship_id, theirs.session_id)),
        (stub.LogPastSession, virtual(there.mentorship_id, "2027-01-20T10:00")),
        (stub.SuggestSlots, pb.SuggestSlotsRequest(mentorship_id=there.mentorship_id)),
        (stub.ListSessions, pb.ListSessionsRequest(mentorship_id=there.mentorship_id)),
        (stub.GetSchedulingPolicy, pb.GetSchedulingPolicyRequest(programme_id=elsewhere)),
        (
            stub.SetSchedulingPolicy,
            pb.SetSchedulingPolicyRequest(
                programme_id=elsewhere, change=pb.PolicyChange(min_gap_days=1)
            ),
        ),
        (stub.ListMentorships, pb.ListMentorshipsRequest(programme_id=elsewhere)),
        (stub.GetCalendar, pb.GetCalendarRequest(participant_id=there.mentee_id)),
        (
            stub.ExportParticipantData,
            pb.ExportParticipantDataRequest(participant_id=there.mentor_id),
        ),
    ):
        await refused(scheduling_app, Code.NOT_FOUND, method, request, metadata=manager)
    for method, request in (
        (stub.ListMentorships, pb.ListMentorshipsRequest(participant_id=there.mentee_id)),
        (stub.ListSessions, pb.ListSessionsRequest(participant_id=there.mentee_id)),
    ):
        listed = await method(request, metadata=manager)
        assert listed.total_size == 0

    # auditors and services read every session, without the pair's private texts
    for reader in (auditor, service):
        read = await stub.GetMentorship(
            pb.GetMentorshipRequest(mentorship_id=there.mentorship_id), metadata=reader
        )
        [session] = read.sessions
        assert session.start == theirs.start and session.mode == pb.MODE_VIRTUAL
        assert all(not getattr(session, name) for name in PRIVATE)
        listed = await stub.ListSessions(
            pb.ListSessionsRequest(participant_id=there.mentor_id), metadata=reader
        )
        assert listed.total_size == 1
        await stub.GetSchedulingPolicy(
            pb.GetSchedulingPolicyRequest(programme_id=elsewhere), metadata=reader
        )
        exported = await stub.ExportParticipantData(
            pb.ExportParticipantDataRequest(participant_id=there.mentee_id), metadata=reader
        )
        document = json.loads(exported.document_json)
        states = [e["state"] for item in document["mentorships"] for e in item["history"]]
        assert any("start" in state for state in states)
        assert not any(name in state for state in states for name in (*PRIVATE, "reason"))
        for method, request in (
            (stub.ScheduleSession, virtual(there.mentorship_id, "2027-03-15T10:00")),
            (stub.CancelSession, cancel(there.mentorship_id, theirs.session_id)),
            (stub.SetSchedulingPolicy, pb.SetSchedulingPolicyRequest(programme_id=elsewhere)),
            (stub.SuggestSlots, pb.SuggestSlotsRequest(mentorship_id=there.mentorship_id)),
            (stub.GetCalendar, pb.GetCalendarRequest(participant_id=there.mentee_id)),
            (stub.DisputeAttendance, pb.DisputeAttendanceRequest()),
        ):
            await refused(scheduling_app, Code.PERMISSION_DENIED, method, request, metadata=reader)
    # admins run sessions, but only the pair disputes
    await refused(
        scheduling_app,
        Code.PERMISSION_DENIED,
        stub.DisputeAttendance,
        pb.DisputeAttendanceRequest(mentorship_id=there.mentorship_id),
    )

    # participants read no programme-wide views
    await refused(
        scheduling_app,
        Code.PERMISSION_DENIED,
        stub.ListMentorships,
        pb.ListMentorshipsRequest(programme_id=mine),
        metadata=mentor,
    )
    await refused(
        scheduling_app,
        Code.PERMISSION_DENIED,
        stub.GetSchedulingPolicy,
        pb.GetSchedulingPolicyRequest(programme_id=mine),
        metadata=mentor,
    )
    await refused(
        scheduling_app,
        Code.UNAUTHENTICATED,
        stub.GetMentorship,
        pb.GetMentorshipRequest(mentorship_id=there.mentorship_id),
        metadata=(("authorization", "Bearer nope"),),
    )


# -- mentors and mentees: enrolment says which participant is theirs -------------------------
async def test_members_act_only_on_their_own_mentorship(
    stub: Stub,
    scheduling_app: SchedulingApplication,
    seed: Any,
    clock: Any,
    issuer: DevIssuer,
    enrolment_server: EnrolmentApplication,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    enrolled = enrolment_server.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    enrolment_server.open_enrolment(str(enrolled.id))
    people = {
        employee: enrol_member(enrolment_server, str(enrolled.id), employee, role)
        for employee, role in (("E-1", MENTOR), ("E-2", MENTEE), ("E-3", MENTEE))
    }
    programme = seed.programme()
    ours = seed.pair(programme, people["E-2"], people["E-1"])
    theirs = seed.pair(programme, people["E-3"], people["E-1"])
    mid, mentee, mentor = ours.mentorship_id, people["E-2"], people["E-1"]
    as_mentor = issuer.metadata("mentor", sub="u-1", employee_id="E-1")
    as_mentee = issuer.metadata("mentee", sub="u-2", employee_id="E-2")
    outsider = issuer.metadata("mentee", sub="u-3", employee_id="E-3")

    booked = await stub.ScheduleSession(virtual(mid), metadata=as_mentee)
    assert booked.agenda == AGENDA
    seen = await stub.GetMentorship(pb.GetMentorshipRequest(mentorship_id=mid), metadata=as_mentor)
    assert seen.sessions[0].agenda == AGENDA and seen.sessions[0].meeting_link == LINK

    # the other mentee of the same mentor finds nothing of this pair
    missing = await refused(
        scheduling_app, Code.NOT_FOUND, stub.ScheduleSession, virtual(mid), metadata=outsider
    )
    assert missing.details() == f"mentorship {mid} not found"
    for method, request in (
        (stub.GetMentorship, pb.GetMentorshipRequest(mentorship_id=mid)),
        (stub.ListSessions, pb.ListSessionsRequest(mentorship_id=mid)),
        (stub.CancelSession, cancel(mid, booked.session_id)),
        (
            stub.DisputeAttendance,
            pb.DisputeAttendanceRequest(
                mentorship_id=mid, session_id=booked.session_id, reason="never happened"
            ),
        ),
        (stub.SuggestSlots, pb.SuggestSlotsRequest(mentorship_id=mid)),
        (stub.GetCalendar, pb.GetCalendarRequest(participant_id=mentee)),
        (stub.ExportParticipantData, pb.ExportParticipantDataRequest(participant_id=mentee)),
    ):
        await refused(scheduling_app, Code.NOT_FOUND, method, request, metadata=outsider)
    for method, request in (
        (stub.ListSessions, pb.ListSessionsRequest(participant_id=mentee)),
        (stub.ListMentorships, pb.ListMentorshipsRequest(participant_id=mentor)),
    ):
        assert (await method(request, metadata=outsider)).total_size == 0
    assert (
        await stub.ListMentorships(
            pb.ListMentorshipsRequest(participant_id=mentor), metadata=as_mentor
        )
    ).total_size == 2

    # a member records attendance; only the other member disputes it
    clock.now = at("2027-03-01T09:30:00Z")
    held = await stub.RecordAttendance(attendance(mid, booked.session_id), metadata=as_mentee)
    assert held.status == pb.SESSION_STATUS_HELD and held.recorded_by == mentee
    dispute = pb.DisputeAttendanceRequest(
        mentorship_id=mid, session_id=booked.session_id, reason="we did not meet"
    )
    own = await refused(
        scheduling_app,
        Code.FAILED_PRECONDITION,
        stub.DisputeAttendance,
        dispute,
        metadata=as_mentee,
    )
    assert "only the other member" in (own.details() or "")
    disputed = await stub.DisputeAttendance(dispute, metadata=as_mentor)
    assert disputed.status == pb.SESSION_STATUS_DISPUTED and disputed.disputed_by == mentor
    settled = await stub.RecordAttendance(attendance(mid, booked.session_id, held=False))
    assert settled.status == pb.SESSION_STATUS_NO_SHOW and settled.recorded_by == "admin-1"

    # the mentor books and cancels with the other mentee as themself
    other = await stub.ScheduleSession(
        virtual(theirs.mentorship_id, "2027-03-10T10:00"), metadata=as_mentor
    )
    dropped = await stub.CancelSession(
        cancel(theirs.mentorship_id, other.session_id), metadata=as_mentor
    )
    assert dropped.cancelled_by == mentor and dropped.cancel_reason
    logged = await stub.LogPastSession(virtual(mid, "2027-02-22T10:00"), metadata=as_mentor)
    assert logged.status == pb.SESSION_STATUS_HELD and logged.recorded_by == mentor

    # calendars and exports: their own only
    mine = events(
        (
            await stub.GetCalendar(pb.GetCalendarRequest(participant_id=mentee), metadata=as_mentee)
        ).ics
    )
    assert set(mine) == {f"{s.session_id}@revmentor" for s in (booked, logged)}
    theirs_too = events(
        (
            await stub.GetCalendar(pb.GetCalendarRequest(participant_id=mentor), metadata=as_mentor)
        ).ics
    )
    assert len(theirs_too) == 3
    await refused(
        scheduling_app,
        Code.NOT_FOUND,
        stub.GetCalendar,
        pb.GetCalendarRequest(participant_id=mentor),
        metadata=as_mentee,
    )
    exported = await stub.ExportParticipantData(
        pb.ExportParticipantDataRequest(participant_id=mentee), metadata=as_mentee
    )
    history = json.loads(exported.document_json)["mentorships"][0]["history"]
    assert any(e["state"].get("agenda") == AGENDA for e in history)

    # enrolment out of reach: nothing changes, the caller is told to retry
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{free_port()}")
    down = await refused(
        scheduling_app,
        Code.UNAVAILABLE,
        stub.ScheduleSession,
        virtual(mid, "2027-03-22T10:00"),
        metadata=as_mentee,
    )
    assert "Nothing was changed" in (down.details() or "")


# -- a race for one mentor's time ---------------------------------------------------------------
async def test_two_bookings_of_one_mentor_at_once_one_is_aborted(
    stub: Stub,
    scheduling_app: SchedulingApplication,
    seed: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both calls load the mentor's diary before either saves (a barrier in the
    diary load): one session is booked, the other call is ABORTED and writes
    nothing."""
    programme = seed.programme()
    first = seed.pair(programme)
    second = seed.pair(programme, mentor_id=first.mentor_id)
    barrier = threading.Barrier(2)
    load = scheduling_app.diary

    def diary_after_both_loaded(participant_id: str) -> Diary:
        found = load(participant_id)
        if participant_id == first.mentor_id:
            barrier.wait(timeout=10)
        return found

    monkeypatch.setattr(scheduling_app, "diary", diary_after_both_loaded)
    outcomes = await asyncio.gather(
        stub.ScheduleSession(virtual(first.mentorship_id)),
        stub.ScheduleSession(virtual(second.mentorship_id)),
        return_exceptions=True,
    )
    codes = sorted(o.code().name if isinstance(o, grpc.aio.AioRpcError) else "OK" for o in outcomes)
    assert codes == ["ABORTED", "OK"]
    monkeypatch.setattr(scheduling_app, "diary", load)
    assert len(scheduling_app.diary(first.mentor_id).busy) == 1
    booked = [scheduling_app.mentorship(p.mentorship_id).sessions for p in (first, second)]
    assert sum(len(s) for s in booked) == 1, "the loser wrote nothing"
    listed = await stub.ListSessions(pb.ListSessionsRequest(participant_id=first.mentor_id))
    assert listed.total_size == 1
