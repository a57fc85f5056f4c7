"""Feedback fixtures: the application over each store with a clock the tests
move, and an ``upstream`` that feeds it the other services' integration events
through its own subscriptions (the kernel's ``apply``: the upstream position is
tracked in the same transaction as what the handler returns), the way the
consumers do in production.

For the API tests: the real gRPC server (``grpc_port``; ``stub`` calls carry
an admin token unless a call passes its own metadata) and, where a test asks
for it, a real in-process enrolment server (``enrolment_server``, from
tests/conftest.py) that answers "is this participant yours?" for mentors and
mentees, asked with their own tokens.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import grpc
import pytest
from support import DevIssuer, grpc_service

from revmentor.feedback.api import SERVICE, SERVICE_NAME, FeedbackServicer
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.subscriptions import UPSTREAMS, subscription
from revmentor.feedback.v1 import feedback_pb2_grpc as pb_grpc
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import UpstreamSubscription
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.kernel.timestamps import stamp

#: Where the tests' clock starts.
START = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
CATALOGUE = ["generative-ai", "social-media", "data-literacy"]


class Clock:
    """The application's clock; tests set ``now`` (or ``advance``) to move time."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def stamp(self) -> str:
        return stamp(self.now)


_sequences = itertools.count(1)


def received(upstream: str, name: str, time: str = "", **data: Any) -> ReceivedEvent:
    """An integration event as feedback's consumers receive it (proto3 JSON data)."""
    sequence = next(_sequences)
    return ReceivedEvent(
        id=f"{upstream}:{sequence}",
        source=f"/revmentor/{upstream}",
        type=f"revmentor.{upstream}.v1.{name}",
        time=time,
        subject=str(data.get("programmeId", "")),
        sequence=sequence,
        actor="",
        correlation_id="",
        causation_id="",
        traceparent="",
        data=data,
    )


@dataclass(frozen=True)
class Pair:
    programme_id: str
    match_id: str
    mentorship_id: str
    mentee_id: str
    mentor_id: str


class Upstream:
    """Sends feedback what enrolment, training, matching and scheduling publish."""

    def __init__(self, app: FeedbackApplication, clock: Clock) -> None:
        self.app = app
        self.clock = clock
        self.subscriptions: dict[str, UpstreamSubscription] = {
            name: subscription(app, name) for name in UPSTREAMS
        }
        self.sent: list[ReceivedEvent] = []

    def send(self, event: ReceivedEvent) -> bool:
        """Apply ``event`` as the kernel's consumer does; False if already applied."""
        self.sent.append(event)
        return self.subscriptions[event.service].apply(event)

    # -- reading back ----------------------------------------------------------------------
    def events(self, qualname: str) -> list[Any]:
        """Every stored event of that class, decoded (personal fields as they read now)."""
        return [
            event
            for n in self.app.notifications(0, 100_000)
            for event in [self.app.envelope_mapper.decode(n)[0]]
            if type(event).__qualname__ == qualname
        ]

    def survey_id(self, participant_id: str, kind: str, match_id: str = "") -> str:
        """The id of the participant's survey of ``kind`` (of ``match_id`` if given)."""
        [found] = [
            s["survey_id"]
            for s in self.app.surveys(participant_id, open_only=False)
            if s["kind"] == kind and (not match_id or s["match_id"] == match_id)
        ]
        return str(found)

    # -- enrolment and training ----------------------------------------------------------
    def programme(self, topics: Sequence[str] = tuple(CATALOGUE), programme_id: str = "") -> str:
        programme_id = programme_id or str(uuid4())
        self.send(self.programme_created(programme_id, topics))
        return programme_id

    @staticmethod
    def programme_created(programme_id: str, topics: Sequence[str]) -> ReceivedEvent:
        return received(
            "enrolment",
            "ProgrammeCreated",
            programmeId=programme_id,
            topicCodes=list(topics),
            startDate="2027-01-11",
            endDate="2027-06-30",
        )

    def enrolled(
        self, programme_id: str, role: str, participant_id: str = "", at: str = ""
    ) -> ReceivedEvent:
        return received(
            "enrolment",
            "ParticipantEnrolled",
            time=at or self.clock.stamp(),
            participantId=participant_id or str(uuid4()),
            programmeId=programme_id,
            role=role,
        )

    def enrol(self, programme_id: str, role: str, participant_id: str = "", at: str = "") -> str:
        event = self.enrolled(programme_id, role, participant_id, at)
        self.send(event)
        return str(event.data["participantId"])

    def certified(self, programme_id: str, participant_id: str) -> ReceivedEvent:
        return received(
            "training",
            "MentorCertified",
            time=self.clock.stamp(),
            participantId=participant_id,
            programmeId=programme_id,
            curriculumVersion=1,
        )

    def certify(self, programme_id: str, participant_id: str) -> None:
        self.send(self.certified(programme_id, participant_id))

    def erased(self, participant_id: str, programme_id: str = "") -> ReceivedEvent:
        return received(
            "enrolment",
            "ParticipantErased",
            participantId=participant_id,
            programmeId=programme_id or str(uuid4()),
        )

    # -- matching and scheduling ---------------------------------------------------------
    def confirmed(
        self, programme_id: str, mentee_id: str, mentor_id: str, match_id: str = ""
    ) -> ReceivedEvent:
        return received(
            "matching",
            "MatchConfirmed",
            matchId=match_id or str(uuid4()),
            programmeId=programme_id,
            menteeId=mentee_id,
            mentorId=mentor_id,
            confirmedAt=self.clock.stamp(),
        )

    def opened(self, pair: Pair) -> ReceivedEvent:
        return received(
            "scheduling",
            "MentorshipOpened",
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
            matchId=pair.match_id,
            menteeId=pair.mentee_id,
            mentorId=pair.mentor_id,
            plannedSessions=6,
        )

    @staticmethod
    def pair_of(match: ReceivedEvent) -> Pair:
        """The pair scheduling opens for a confirmed match (a new mentorship id)."""
        data = match.data
        return Pair(
            str(data["programmeId"]),
            str(data["matchId"]),
            str(uuid4()),
            str(data["menteeId"]),
            str(data["mentorId"]),
        )

    def pair(self, programme_id: str, mentee_id: str = "", mentor_id: str = "") -> Pair:
        """A confirmed match (baseline surveys) and its mentorship opened (the pair)."""
        match = self.confirmed(programme_id, mentee_id or str(uuid4()), mentor_id or str(uuid4()))
        self.send(match)
        pair = self.pair_of(match)
        self.send(self.opened(pair))
        return pair

    def session_held(self, pair: Pair, start: str = "", session_id: str = "") -> ReceivedEvent:
        return received(
            "scheduling",
            "SessionHeld",
            sessionId=session_id or str(uuid4()),
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
            menteeId=pair.mentee_id,
            mentorId=pair.mentor_id,
            start=start or self.clock.stamp(),
            durationMinutes=60,
            heldCount=1,
        )

    def hold(self, pair: Pair, start: str = "") -> str:
        """A held session; feedback is asked of both members. Its id."""
        event = self.session_held(pair, start)
        self.send(event)
        return str(event.data["sessionId"])

    def no_show(self, pair: Pair, session_id: str) -> ReceivedEvent:
        """A held session the manager settled as a no-show after a dispute."""
        return received(
            "scheduling",
            "SessionNoShow",
            sessionId=session_id,
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
        )

    def stalled(self, pair: Pair) -> ReceivedEvent:
        return received(
            "scheduling",
            "MentorshipStalled",
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
            menteeId=pair.mentee_id,
            mentorId=pair.mentor_id,
            since=self.clock.stamp(),
        )

    def completed(self, pair: Pair) -> ReceivedEvent:
        return received(
            "scheduling",
            "MentorshipCompleted",
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
            heldSessions=6,
        )

    def ended(self, pair: Pair, outcome: str = "dissolved") -> ReceivedEvent:
        return received(
            "scheduling",
            "MentorshipEnded",
            mentorshipId=pair.mentorship_id,
            programmeId=pair.programme_id,
            outcome=outcome,
            cancelledSessions=0,
        )


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def feedback_app(store: dict[str, str], clock: Clock) -> Iterator[FeedbackApplication]:
    app = FeedbackApplication(env=store, clock=clock)
    yield app
    app.close()


@pytest.fixture
def upstream(feedback_app: FeedbackApplication, clock: Clock) -> Upstream:
    return Upstream(feedback_app, clock)


# -- the gRPC API ------------------------------------------------------------------------------
@pytest.fixture
def ownership() -> OwnershipCheck:
    """Resolves REVMENTOR_ENROLMENT_ADDR at call time (tests monkeypatch it)."""
    return OwnershipCheck(SERVICE, ttl_seconds=0.0)


@pytest.fixture
async def grpc_port(
    feedback_app: FeedbackApplication, issuer: DevIssuer, ownership: OwnershipCheck
) -> AsyncIterator[int]:
    servicer = FeedbackServicer(feedback_app, ownership)
    register = pb_grpc.add_FeedbackServiceServicer_to_server
    async with grpc_service(SERVICE, register, servicer, [SERVICE_NAME], issuer) as port:
        yield port
    await ownership.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.FeedbackServiceStub:
    return pb_grpc.FeedbackServiceStub(channel)
