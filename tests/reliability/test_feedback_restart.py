"""nats-server restarted (same store directory, same port) while feedback consumes.

A pair's mentorship is open and one session was held (feedback asked of both).
NATS stops; meanwhile the administrator logs a second session (scheduling keeps
it in its own store); NATS starts again and a third session is logged at once,
while the services are still reconnecting. Scheduling's relay and feedback's
consumers pick up where they were: each held session reaches
REVMENTOR_SCHEDULING once and causes exactly one ``FeedbackRequested``, and both
members' feedback requests list the three sessions, open, with the due times
published - the mentee's answer to the second one counted as answered.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from journeys import (
    TOPIC,
    WAIT,
    Person,
    certify,
    create_programme,
    enrol,
    start_feedback,
    start_platform,
    start_scheduling,
    wait_for_mentorships,
    wait_for_pool,
)
from support import ServiceProcess, StreamMessage, authed_channel, eventually, read_stream

from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.feedback.v1 import feedback_pb2_grpc as fpb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

PEOPLE = [
    Person("E-NR-MENTOR", True, "Mentor Restart", 2001, "Data"),
    Person("E-NR-MENTEE", False, "Mentee Restart", 1966, "Sales"),
]


def of_type(messages: list[StreamMessage], service: str, name: str) -> list[dict]:
    kind = f"revmentor.{service}.v1.{name}"
    return [json.loads(m.data) for m in messages if m.headers.get("ce-type") == kind]


async def log_past_session(
    scheduling: ServiceProcess, token: str, mentorship_id: str, days_ago: int
) -> spb.Session:
    day = datetime.now(UTC).date() - timedelta(days=days_ago)
    async with authed_channel(scheduling.address, token) as channel:
        held = await spb_grpc.SchedulingServiceStub(channel).LogPastSession(
            spb.ScheduleSessionRequest(
                mentorship_id=mentorship_id,
                local_start=f"{day.isoformat()}T10:00",
                time_zone="Europe/Paris",
                duration_minutes=60,
                mode=spb.MODE_IN_PERSON,
                location="Room 2",
            ),
            timeout=10,
        )
    assert held.status == spb.SESSION_STATUS_HELD
    return held


async def requests_of(
    feedback: ServiceProcess, token: str, participant_id: str
) -> list[fpb.FeedbackRequest]:
    async with authed_channel(feedback.address, token) as channel:
        listed = await fpb_grpc.FeedbackServiceStub(channel).ListFeedbackRequests(
            fpb.ListFeedbackRequestsRequest(participant_id=participant_id), timeout=10
        )
    return list(listed.requests)


async def test_sessions_held_across_a_nats_restart_are_asked_once_each(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    url = nats_server.url
    issuer, (enrolment, training, matching) = start_platform(tmp_path, url)
    feedback = start_feedback(tmp_path, url, issuer, enrolment)
    scheduling = start_scheduling(tmp_path, url, issuer, enrolment)
    try:
        today = datetime.now(UTC).date()
        pid = await create_programme(
            enrolment,
            "NATS restart cohort",
            (today - timedelta(days=21)).isoformat(),
            (today + timedelta(days=90)).isoformat(),
        )
        ids = await enrol(enrolment, pid, PEOPLE)
        mentor, mentee = ids["E-NR-MENTOR"], ids["E-NR-MENTEE"]
        await certify(training, mentor)
        admin = issuer.token("admin", sub="admin-1")
        mentee_token = issuer.token("mentee", sub="u-mentee", employee_id="E-NR-MENTEE")
        mentor_token = issuer.token("mentor", sub="u-mentor", employee_id="E-NR-MENTOR")
        members = ((mentee, mentee_token), (mentor, mentor_token))
        async with authed_channel(matching.address, admin) as channel:
            stub = mpb_grpc.MatchingServiceStub(channel)
            await wait_for_pool(stub, pid, mentees=1, certified=1)
            round_ = await stub.RunRound(mpb.RunRoundRequest(programme_id=pid), timeout=30)
        [proposal] = round_.proposals
        for participant_id, token in members:
            async with authed_channel(matching.address, token) as channel:
                await mpb_grpc.MatchingServiceStub(channel).RespondToProposal(
                    mpb.RespondToProposalRequest(
                        match_id=proposal.match_id,
                        participant_id=participant_id,
                        decision=mpb.DECISION_ACCEPT,
                    ),
                    timeout=10,
                )
        async with authed_channel(scheduling.address, admin) as channel:
            stub = spb_grpc.SchedulingServiceStub(channel)
            [mentorship] = await wait_for_mentorships(stub, pid, 1)
        mentorship_id = mentorship.mentorship_id

        async def requested(count: int) -> list[dict]:
            found: list[list[dict]] = []

            async def enough() -> bool:
                messages = await read_stream(url, "REVMENTOR_FEEDBACK")
                found.append(of_type(messages, "feedback", "FeedbackRequested"))
                return len(found[-1]) >= count

            await eventually(enough, timeout=WAIT, interval=0.2, what=f"{count} requests")
            return found[-1]

        # feedback is consuming: a first session is asked of both members
        first = await log_past_session(scheduling, admin, mentorship_id, days_ago=20)
        await requested(1)

        # NATS goes away; a session is logged meanwhile; NATS comes back (same
        # store, same port) and a session is logged while everyone reconnects
        nats_server.stop()
        second = await log_past_session(scheduling, admin, mentorship_id, days_ago=13)
        [meanwhile] = await requests_of(feedback, mentee_token, mentee)  # still serving
        assert meanwhile.session_id == first.session_id
        nats_server.start()
        third = await log_past_session(scheduling, admin, mentorship_id, days_ago=6)
        sessions = {first.session_id, second.session_id, third.session_id}
        assert len(sessions) == 3

        await requested(3)
        scheduling_events = await read_stream(url, "REVMENTOR_SCHEDULING")
        held = of_type(scheduling_events, "scheduling", "SessionHeld")
        assert sorted(h["sessionId"] for h in held) == sorted(sessions), "each held once"
        feedback_events = await read_stream(url, "REVMENTOR_FEEDBACK")
        msg_ids = [m.headers["Nats-Msg-Id"] for m in feedback_events + scheduling_events]
        assert len(msg_ids) == len(set(msg_ids)), "no event twice on a stream"
        asked = of_type(feedback_events, "feedback", "FeedbackRequested")
        assert sorted(a["sessionId"] for a in asked) == sorted(sessions), "each asked once"
        due = {a["sessionId"]: a["dueAt"] for a in asked}
        for a in asked:
            assert a["mentorshipId"] == mentorship_id and a["programmeId"] == pid
            assert (a["menteeId"], a["mentorId"]) == (mentee, mentor)

        # what each member is asked: the three sessions, newest first, still open
        newest_first = [third.session_id, second.session_id, first.session_id]
        for participant_id, token in members:
            listed = await requests_of(feedback, token, participant_id)
            assert [r.session_id for r in listed] == newest_first
            assert {r.session_id: r.due_at for r in listed} == due
            assert not any(r.answered or r.closed for r in listed)
            assert {r.mentorship_id for r in listed} == {mentorship_id}

        # feedback still takes answers after the restart; the requests follow
        async with authed_channel(feedback.address, mentee_token) as channel:
            answered = await fpb_grpc.FeedbackServiceStub(channel).SubmitFeedback(
                fpb.SubmitFeedbackRequest(
                    session_id=second.session_id,
                    participant_id=mentee,
                    answers=fpb.Answers(
                        ratings=fpb.Ratings(usefulness=4, topics=[TOPIC], confidence=4)
                    ),
                ),
                timeout=10,
            )
        assert list(answered.answered) == ["mentee"]
        mentee_requests = await requests_of(feedback, mentee_token, mentee)
        assert [(r.session_id, r.answered) for r in mentee_requests] == [
            (third.session_id, False),
            (second.session_id, True),
            (first.session_id, False),
        ]
        mentor_requests = await requests_of(feedback, mentor_token, mentor)
        assert not any(r.answered for r in mentor_requests)

        # and still exactly one request per session on the stream
        again = of_type(
            await read_stream(url, "REVMENTOR_FEEDBACK"), "feedback", "FeedbackRequested"
        )
        assert sorted(a["sessionId"] for a in again) == sorted(sessions)
        for process in (feedback, scheduling):
            assert process.stop() == 0, process.log()[-2000:]
    finally:
        for process in (feedback, scheduling, matching, training, enrolment):
            process.kill()
        print(feedback.log()[-3000:])
