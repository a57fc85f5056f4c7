"""Enrolment, training, matching and scheduling as real processes on a real nats-server.

Enrol a mentor and a mentee -> certify the mentor -> a round -> both accept ->
scheduling (killed -9 and restarted meanwhile) opens the pair's mentorship from
matching's ``MatchConfirmed`` -> the programme manager logs last week's session
(``SessionHeld`` on REVMENTOR_SCHEDULING) and the mentee, with their own token,
books one two hours from now -> its reminder is due at once (lead 24 h, checked
every 0.5 s) and reaches the stream exactly once, though scheduling is killed
-9 twice more. Every event is on the stream once (no Nats-Msg-Id twice), there
is one mentorship, and no agenda, place or meeting link is ever published.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from journeys import (
    WAIT,
    Person,
    certify,
    create_programme,
    enrol,
    start_platform,
    start_scheduling,
    wait_for_mentorships,
    wait_for_pool,
)
from support import StreamMessage, accept_proposal, authed_channel, eventually, read_stream

from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as pb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

STREAM = "REVMENTOR_SCHEDULING"
ZONE = "Europe/Paris"
PEOPLE = [
    Person("E-MENTOR-1", True, "Chloé Tremblay", 2001, "Data"),
    Person("E-MENTEE-1", False, "Jean-Pierre Lefèvre", 1966, "Sales", ("fr",)),
]
#: What the pair writes: private to them and their programme's managers.
PAST_AGENDA = "Quixagenda: what we covered about prompts"
AGENDA = "Quixagenda: my worries about the reorganisation"
LOCATION = "Quixroom 4.12, Quixbuilding North"
LINK = "https://meet.example/quixlink-e2e-room"


def named(messages: list[StreamMessage], name: str) -> list[dict]:
    return [json.loads(m.data) for m in messages if m.headers["ce-type"].endswith(f".{name}")]


async def test_match_to_mentorship_sessions_and_one_reminder(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    url = nats_server.url
    issuer, (enrolment, training, matching) = start_platform(tmp_path, url)
    scheduling = start_scheduling(
        tmp_path, url, issuer, enrolment, {"SCHEDULING_REMINDER_CHECK_SECONDS": "0.5"}
    )
    try:
        # programme dates around today: last week's session and today's both lie within
        today = datetime.now(UTC).date()
        pid = await create_programme(
            enrolment,
            "Scheduling E2E",
            (today - timedelta(days=14)).isoformat(),
            (today + timedelta(days=90)).isoformat(),
        )
        ids = await enrol(enrolment, pid, PEOPLE)
        mentor, mentee = ids["E-MENTOR-1"], ids["E-MENTEE-1"]
        await certify(training, mentor)
        manager = issuer.token("programme_manager", sub="pm-1", programmes=[pid])
        async with authed_channel(matching.address, manager) as channel:
            stub = mpb_grpc.MatchingServiceStub(channel)
            await wait_for_pool(stub, pid, mentees=1, certified=1)
            round_ = await stub.RunRound(mpb.RunRoundRequest(programme_id=pid), timeout=30)
        [proposal] = round_.proposals
        assert (proposal.mentee_id, proposal.mentor_id) == (mentee, mentor)
        mentee_token = issuer.token("mentee", sub="u-mentee", employee_id="E-MENTEE-1")
        mentor_token = issuer.token("mentor", sub="u-mentor", employee_id="E-MENTOR-1")
        scheduling.kill()  # down while the match is confirmed: consumed after the restart
        for participant_id, token in ((mentee, mentee_token), (mentor, mentor_token)):
            answered = await accept_proposal(
                matching.address, token, proposal.match_id, participant_id
            )
        assert answered.status == mpb.MATCH_STATUS_CONFIRMED
        scheduling.start()

        async with authed_channel(scheduling.address, manager) as channel:
            stub = pb_grpc.SchedulingServiceStub(channel)
            # a message the server handed to the killed process's last pull comes
            # back after the consumer's ack_wait (10 s): allow for it
            [mentorship] = await wait_for_mentorships(stub, pid, 1, timeout=WAIT + 30)
            assert mentorship.match_id == proposal.match_id
            assert (mentorship.mentee_id, mentorship.mentor_id) == (mentee, mentor)
            assert mentorship.status == pb.MENTORSHIP_STATUS_ACTIVE
            assert mentorship.planned_sessions == 6  # enrolment's ProgrammeCreated
            last_week = today - timedelta(days=8)
            held = await stub.LogPastSession(
                pb.ScheduleSessionRequest(
                    mentorship_id=mentorship.mentorship_id,
                    local_start=f"{last_week.isoformat()}T10:00",
                    time_zone=ZONE,
                    duration_minutes=60,
                    mode=pb.MODE_IN_PERSON,
                    location=LOCATION,
                    agenda=PAST_AGENDA,
                ),
                timeout=10,
            )
        assert held.status == pb.SESSION_STATUS_HELD and held.location == LOCATION

        # the mentee books the next one with their own token (enrolment says it is them)
        soon = (datetime.now(UTC) + timedelta(hours=2)).astimezone(ZoneInfo(ZONE))
        async with authed_channel(scheduling.address, mentee_token) as channel:
            session = await pb_grpc.SchedulingServiceStub(channel).ScheduleSession(
                pb.ScheduleSessionRequest(
                    mentorship_id=mentorship.mentorship_id,
                    local_start=soon.strftime("%Y-%m-%dT%H:%M"),
                    time_zone=ZONE,
                    duration_minutes=60,
                    mode=pb.MODE_VIRTUAL,
                    meeting_link=LINK,
                    agenda=AGENDA,
                ),
                timeout=10,
            )
        assert session.status == pb.SESSION_STATUS_SCHEDULED and session.agenda == AGENDA
        scheduling.kill()  # the relay and the reminder job may or may not have run
        scheduling.start()

        async def reminded() -> bool:
            messages = await read_stream(url, STREAM)
            return bool(named(messages, "SessionReminderDue") and named(messages, "SessionHeld"))

        await eventually(reminded, timeout=WAIT, what="SessionHeld and the reminder on the stream")
        scheduling.kill()  # and once more after the reminder went out
        scheduling.start()
        await asyncio.sleep(3)  # six reminder checks later: still one reminder

        messages = await read_stream(url, STREAM)
        msg_ids = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(msg_ids) == len(set(msg_ids)), "no event twice on the stream"
        [opened] = named(messages, "MentorshipOpened")
        assert opened["mentorshipId"] == mentorship.mentorship_id
        assert opened["matchId"] == proposal.match_id
        [was_held] = named(messages, "SessionHeld")
        assert was_held["sessionId"] == held.session_id and was_held["heldCount"] == 1
        assert was_held["durationMinutes"] == 60
        scheduled = named(messages, "SessionScheduled")
        assert {s["sessionId"] for s in scheduled} == {held.session_id, session.session_id}
        [reminder] = named(messages, "SessionReminderDue")
        assert reminder["sessionId"] == session.session_id
        assert reminder["start"] == session.start
        assert (reminder["menteeId"], reminder["mentorId"]) == (mentee, mentor)

        async with authed_channel(scheduling.address, manager) as channel:
            stub = pb_grpc.SchedulingServiceStub(channel)
            listed = await stub.ListMentorships(
                pb.ListMentorshipsRequest(programme_id=pid), timeout=10
            )
            assert [m.mentorship_id for m in listed.mentorships] == [mentorship.mentorship_id]
            again = await stub.GetMentorship(
                pb.GetMentorshipRequest(mentorship_id=mentorship.mentorship_id), timeout=10
            )
        assert again.held_sessions == 1 and len(again.sessions) == 2

        # nothing personal on any stream: the pair's words, places, links, names
        everything = [
            m
            for stream in ("REVMENTOR_SCHEDULING", "REVMENTOR_MATCHING", "REVMENTOR_ENROLMENT")
            for m in await read_stream(url, stream)
        ]
        published = b"".join(m.data + json.dumps(m.headers).encode() for m in everything).decode()
        for personal in (PAST_AGENDA, AGENDA, LOCATION, LINK, "Quix", "quixlink"):
            assert personal not in published
        for person in PEOPLE:
            assert person.name not in published and person.employee_id not in published
        assert scheduling.stop() == 0, scheduling.log()[-2000:]
    finally:
        for process in (scheduling, matching, training, enrolment):
            process.kill()
        print(scheduling.log()[-3000:])
