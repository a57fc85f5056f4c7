"""Conflicting commands on one aggregate from many clients at once, through the
real gRPC APIs (in-process servers with the kernel's interceptors), on SQLite
and PostgreSQL.

Each test fires 20-50 calls with ``asyncio.gather`` (each client on its own
channel and token), then keeps retrying the calls that lost a race (ABORTED:
"read it again and retry") the way a well-behaved client does, until every
call has a final answer. The services' own API tests race two calls with a
barrier; these race many without one, and check the invariant, not a script:

- matching, mentor capacity: of 30 manual proposals for one mentor of
  capacity 3, exactly 3 are ever accepted, every other answer is
  FAILED_PRECONDITION naming the capacity, the pool's load is 3;
- matching, answers: a proposal's mentee and mentor accepting and declining
  all at once end in exactly one outcome (confirmed once, or declined once);
- scheduling, double booking: 30 overlapping sessions for one mentor (each
  with another mentee): exactly one is booked, in every diary once;
- feedback, single submission: 25 different first answers of one member once
  the other member answered: exactly one is recorded, whole; with the other
  member silent (edits allowed), what is stored is the last answer recorded,
  whole, never a mix of two;
- enrolment: 10 employees each enrolled 5 times at once: exactly one
  participant per employee.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from journeys import Person, enrol_request
from support import DevIssuer, authed_channel, enrol_member, grpc_service

from revmentor.enrolment.api import SERVICE_NAME as ENROLMENT_SERVICE
from revmentor.enrolment.api import EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.feedback import api as feedback_api
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.subscriptions import subscription as feedback_subscription
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.feedback.v1 import feedback_pb2_grpc as fpb_grpc
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.kernel.timestamps import stamp
from revmentor.matching import api as matching_api
from revmentor.matching.application import MatchingApplication
from revmentor.matching.domain.programme import MatchingProgramme
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling import api as scheduling_api
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc

Code = grpc.StatusCode
#: Rounds of retrying the calls that lost a race before the test gives up.
MAX_WAVES = 30
#: How many commands are held until they all loaded the contended aggregate (see Gate);
#: fewer than the worker threads the servers run commands on.
GATED = 3
#: The clock of scheduling and feedback: before every session they book.
NOW = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)

Outcome = Any  # a response message or a grpc.aio.AioRpcError


# -- many clients, retried until every call has a final answer -----------------------------
async def stampede(
    calls: Sequence[Callable[[], Awaitable[Any]]],
) -> tuple[list[Outcome], int]:
    """Run every call at once; re-run the ABORTED ones (a lost race) until none is.

    Returns each call's final outcome, in call order, and how many were ABORTED
    at least once (so a test can tell it raced at all)."""
    final: list[Outcome] = [None] * len(calls)
    pending = list(range(len(calls)))
    aborted: set[int] = set()
    for _ in range(MAX_WAVES):
        results = await asyncio.gather(*(calls[i]() for i in pending), return_exceptions=True)
        retry = []
        for i, result in zip(pending, results, strict=True):
            if isinstance(result, grpc.aio.AioRpcError) and result.code() == Code.ABORTED:
                aborted.add(i)
                retry.append(i)
            elif isinstance(result, BaseException) and not isinstance(result, grpc.aio.AioRpcError):
                raise result
            else:
                final[i] = result
        if not retry:
            return final, len(aborted)
        pending = retry
    raise AssertionError(f"{len(pending)} calls still ABORTED after {MAX_WAVES} waves")


class Gate:
    """Makes the first ``parties`` commands that pass it wait for each other.

    Placed after a command loaded the contended aggregate and before it saves,
    it guarantees that those commands really do work from the same version at
    the same time (without it, the first call may finish before the next one
    has even loaded). Later commands pass straight through."""

    def __init__(self, parties: int = GATED) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)
        self.left = parties
        self.lock = threading.Lock()

    def passing(self) -> None:
        with self.lock:
            if self.left == 0:
                return
            self.left -= 1
        self.barrier.wait()


def codes(outcomes: Sequence[Outcome]) -> Counter[str]:
    return Counter(o.code().name if isinstance(o, grpc.aio.AioRpcError) else "OK" for o in outcomes)


def successes(outcomes: Sequence[Outcome]) -> list[Any]:
    return [o for o in outcomes if not isinstance(o, grpc.aio.AioRpcError)]


class Clients:
    """``clients(address, role, **claims)``: a new channel, its own caller."""

    def __init__(self, issuer: DevIssuer) -> None:
        self.issuer = issuer
        self.opened: list[grpc.aio.Channel] = []
        self.numbers = itertools.count(1)

    def __call__(self, address: str, role: str = "admin", **claims: Any) -> grpc.aio.Channel:
        claims.setdefault("sub", f"client-{next(self.numbers)}")
        channel = authed_channel(address, self.issuer.token(role, **claims))
        self.opened.append(channel)
        return channel

    async def ready(self) -> None:
        """Every channel connected, so the calls that follow really start together."""
        await asyncio.gather(*(channel.channel_ready() for channel in self.opened))


@pytest.fixture
async def clients(issuer: DevIssuer) -> AsyncIterator[Clients]:
    """Channels opened by a test, closed at its end."""
    found = Clients(issuer)
    yield found
    for channel in found.opened:
        await channel.close()


def address(port: int) -> str:
    return f"127.0.0.1:{port}"


# -- matching ---------------------------------------------------------------------------------
class AttributeTable:
    """What enrolment's GetMatchingAttributes would answer (as in the matching tests)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        return {pid: self.rows[pid] for pid in ids if pid in self.rows}

    def add(self, pid: str, role: str, n: int) -> None:
        self.rows[pid] = {
            "participant_id": pid,
            "role": role,
            "status": "enrolled",
            "employee_id": f"E{n:05d}",
            "manager_employee_id": "",
            "department": f"dept-{n}",
            "site": "paris",
            "time_zone": "Europe/Paris",
            "birth_year": 1998 if role == "mentor" else 1970,
            "languages": ["en"],
            "skills_offered": ["generative-ai"] if role == "mentor" else [],
            "skill_levels": {},
            "learning_needs": [("generative-ai", 1)] if role == "mentee" else [],
            "availability": [(d, "09:00", "12:00") for d in (1, 2, 3)],
            "meeting_preference": "either",
        }


@pytest.fixture
def matching(store: dict[str, str]) -> Iterator[tuple[MatchingApplication, AttributeTable]]:
    table = AttributeTable()
    app = MatchingApplication(env=store, attributes=table)
    yield app, table
    app.close()


@pytest.fixture
async def matching_port(
    matching: tuple[MatchingApplication, AttributeTable], issuer: DevIssuer
) -> AsyncIterator[int]:
    ownership = OwnershipCheck(matching_api.SERVICE, ttl_seconds=0.0)
    servicer = matching_api.MatchingServicer(matching[0], ownership)
    register = mpb_grpc.add_MatchingServiceServicer_to_server
    async with grpc_service(
        matching_api.SERVICE, register, servicer, [matching_api.SERVICE_NAME], issuer
    ) as port:
        yield port
    await ownership.close()


def seed_pool(
    app: MatchingApplication, table: AttributeTable, capacity: int, mentees: int
) -> tuple[str, str, list[str]]:
    """A programme with one certified mentor and ``mentees`` mentees, as the
    enrolment and training subscriptions would fill it."""
    programme = MatchingProgramme(programme_id=uuid4())
    programme.record_rules(
        {"min_age_gap_years": 10, "mentor_capacity": capacity, "same_department_allowed": False}
    )
    app.save(programme)
    programme_id = str(programme.programme_id)
    pool = app.programme(programme_id)
    mentor = str(uuid4())
    pool.enrol(mentor, "mentor")
    pool.set_certified(mentor, True)
    table.add(mentor, "mentor", 0)
    waiting = []
    for n in range(1, mentees + 1):
        mentee = str(uuid4())
        pool.enrol(mentee, "mentee")
        table.add(mentee, "mentee", n)
        waiting.append(mentee)
    app.save(pool)
    return programme_id, mentor, waiting


def match_history(app: MatchingApplication, match_id: str) -> list[str]:
    return [type(e).__name__ for e in app.repository.event_store.get(UUID(match_id))]


async def test_a_mentor_is_never_given_more_mentees_than_capacity(
    matching: tuple[MatchingApplication, AttributeTable],
    matching_port: int,
    clients: Clients,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30 programme managers propose 30 different mentees to one mentor of
    capacity 3 at once: exactly 3 proposals ever succeed (the pool aggregate is
    the one place capacity is counted, and a lost race is ABORTED with nothing
    written), every other final answer is FAILED_PRECONDITION: the mentor is full."""
    app, table = matching
    capacity, contenders = 3, 30
    programme_id, mentor, mentees = seed_pool(app, table, capacity, contenders)
    stubs = [mpb_grpc.MatchingServiceStub(clients(address(matching_port))) for _ in mentees]
    gate, fetch = Gate(), table.__call__

    def fetch_after_loading_the_pool(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        gate.passing()  # propose_match loaded the pool before; it saves the pool after
        return fetch(ids)

    monkeypatch.setattr(app, "attributes", fetch_after_loading_the_pool)

    def propose(stub: Any, mentee: str) -> Callable[[], Awaitable[Any]]:
        request = mpb.ProposeMatchRequest(
            programme_id=programme_id, mentee_id=mentee, mentor_id=mentor
        )
        return lambda: stub.ProposeMatch(request, timeout=30)

    await clients.ready()
    outcomes, raced = await stampede(
        [propose(stub, mentee) for stub, mentee in zip(stubs, mentees, strict=True)]
    )

    assert codes(outcomes) == {"OK": capacity, "FAILED_PRECONDITION": contenders - capacity}
    assert raced > 0, "the calls did race on the pool"
    refusals = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    full = f"mentor {mentor} already has {capacity} of {capacity} mentees"
    assert all(full in (r.details() or "") for r in refusals), refusals[0].details()
    proposed = successes(outcomes)
    assert len({m.mentee_id for m in proposed}) == capacity
    listed = await stubs[0].ListMatches(
        mpb.ListMatchesRequest(programme_id=programme_id, page_size=100)
    )
    assert listed.total_size == capacity
    assert {m.match_id for m in listed.matches} == {m.match_id for m in proposed}
    pool = app.programme(programme_id)
    assert pool.load.get(mentor) == capacity
    assert sorted(pool.taken) == sorted(m.mentee_id for m in proposed)


async def test_racing_answers_to_one_proposal_end_in_exactly_one_outcome(
    matching: tuple[MatchingApplication, AttributeTable],
    matching_port: int,
    clients: Clients,
) -> None:
    """The mentee accepts (10 clients), the mentor accepts (10) and declines
    (10), all at once: the proposal ends confirmed once or declined once, each
    side's answer recorded once, and the pool agrees (taken iff confirmed)."""
    app, table = matching
    programme_id, mentor, (mentee,) = seed_pool(app, table, capacity=1, mentees=1)
    admin = mpb_grpc.MatchingServiceStub(clients(address(matching_port)))
    match = await admin.ProposeMatch(
        mpb.ProposeMatchRequest(programme_id=programme_id, mentee_id=mentee, mentor_id=mentor)
    )

    def answer(who: str, accept: bool) -> Callable[[], Awaitable[Any]]:
        stub = mpb_grpc.MatchingServiceStub(clients(address(matching_port)))
        request = mpb.RespondToProposalRequest(
            match_id=match.match_id,
            participant_id=who,
            decision=mpb.DECISION_ACCEPT if accept else mpb.DECISION_DECLINE,
            reason="" if accept else "no shared time after all",
        )
        return lambda: stub.RespondToProposal(request, timeout=30)

    calls = [answer(mentee, True), answer(mentor, True), answer(mentor, False)] * 10
    await clients.ready()
    outcomes, _ = await stampede(calls)
    assert set(codes(outcomes)) <= {"OK", "FAILED_PRECONDITION"}

    final = await admin.GetMatch(mpb.GetMatchRequest(match_id=match.match_id))
    history = Counter(match_history(app, match.match_id))
    pool = app.programme(programme_id)
    assert history["Accepted"] <= 2
    if final.status == mpb.MATCH_STATUS_CONFIRMED:
        assert (history["Accepted"], history["Confirmed"], history["Declined"]) == (2, 1, 0)
        assert pool.taken.get(mentee) == match.match_id and pool.load.get(mentor) == 1
    else:
        assert final.status == mpb.MATCH_STATUS_DECLINED, mpb.MatchStatus.Name(final.status)
        assert (history["Confirmed"], history["Declined"]) == (0, 1)
        assert mentee not in pool.taken and not pool.load.get(mentor)


# -- scheduling -------------------------------------------------------------------------------
@pytest.fixture
def scheduling(store: dict[str, str]) -> Iterator[SchedulingApplication]:
    def table(ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        windows = [(1, "09:00", "12:00"), (3, "09:00", "12:00")]
        return {pid: {"time_zone": "Europe/Paris", "availability": windows} for pid in ids}

    app = SchedulingApplication(env=store, attributes=table, clock=lambda: NOW)
    yield app
    app.close()


@pytest.fixture
async def scheduling_port(
    scheduling: SchedulingApplication, issuer: DevIssuer
) -> AsyncIterator[int]:
    ownership = OwnershipCheck(scheduling_api.SERVICE, ttl_seconds=0.0)
    servicer = scheduling_api.SchedulingServicer(scheduling, ownership)
    register = spb_grpc.add_SchedulingServiceServicer_to_server
    async with grpc_service(
        scheduling_api.SERVICE, register, servicer, [scheduling_api.SERVICE_NAME], issuer
    ) as port:
        yield port
    await ownership.close()


async def test_one_mentor_is_never_double_booked(
    scheduling: SchedulingApplication,
    scheduling_port: int,
    clients: Clients,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """30 mentorships share one mentor; each books an hour on the same Monday
    morning, starting a minute apart (every pair of them overlaps), all at once:
    exactly one session is booked, in the mentor's and its mentee's diaries
    once; every other final answer is FAILED_PRECONDITION (the mentor is busy)."""
    app = scheduling
    programme = app.programme_of(uuid4())
    programme.record_facts("2027-01-11", "2027-06-30", 6)
    app.save(programme)
    mentor = str(uuid4())
    mentorships = []
    for _ in range(30):
        match_id = str(uuid4())
        app.save(*app.open_mentorship(match_id, programme.programme_id, str(uuid4()), mentor))
        found = app.find_mentorship_of_match(match_id)
        assert found is not None
        mentorships.append(found)

    gate, load = Gate(), app.diary

    def diary_then_wait(participant_id: str) -> Any:
        found = load(participant_id)
        if participant_id == mentor:
            gate.passing()
        return found

    monkeypatch.setattr(app, "diary", diary_then_wait)

    def book(mentorship_id: str, minute: int) -> Callable[[], Awaitable[Any]]:
        stub = spb_grpc.SchedulingServiceStub(clients(address(scheduling_port)))
        request = spb.ScheduleSessionRequest(
            mentorship_id=mentorship_id,
            local_start=f"2027-03-01T10:{minute:02d}",
            time_zone="Europe/Paris",
            duration_minutes=60,
            mode=spb.MODE_VIRTUAL,
            meeting_link="https://meet.example/pair",
            agenda="Prompting basics",
        )
        return lambda: stub.ScheduleSession(request, timeout=30)

    calls = [book(str(m.id), i) for i, m in enumerate(mentorships)]
    await clients.ready()
    outcomes, raced = await stampede(calls)

    assert codes(outcomes) == {"OK": 1, "FAILED_PRECONDITION": 29}
    assert raced > 0, "the calls did race on the mentor's diary"
    [booked] = successes(outcomes)
    assert len(app.diary(mentor).busy) == 1
    sessions = {str(m.id): len(app.mentorship(str(m.id)).sessions) for m in mentorships}
    assert sum(sessions.values()) == 1, "the losers wrote nothing"
    [winner] = [mid for mid, count in sessions.items() if count]
    assert len(app.diary(app.mentorship(winner).mentee_id).busy) == 1
    stub = spb_grpc.SchedulingServiceStub(clients(address(scheduling_port)))
    listed = await stub.ListSessions(spb.ListSessionsRequest(participant_id=mentor))
    assert listed.total_size == 1 and listed.sessions[0].session_id == booked.session_id


# -- feedback ---------------------------------------------------------------------------------
class Upstream:
    """Feeds feedback the other services' integration events through its own
    subscriptions (the kernel's ``apply``), as its consumers do."""

    def __init__(self, app: FeedbackApplication) -> None:
        self.subscriptions = {
            name: feedback_subscription(app, name)
            for name in ("enrolment", "matching", "scheduling")
        }
        self.positions: Counter[str] = Counter()

    def send(self, upstream: str, name: str, **data: Any) -> None:
        self.positions[upstream] += 1
        sequence = self.positions[upstream]
        event = ReceivedEvent(
            id=f"{upstream}:{sequence}",
            source=f"/revmentor/{upstream}",
            type=f"revmentor.{upstream}.v1.{name}",
            time=stamp(NOW),
            subject=str(data.get("programmeId", "")),
            sequence=sequence,
            actor="",
            correlation_id="",
            causation_id="",
            traceparent="",
            data=data,
        )
        assert self.subscriptions[upstream].apply(event)

    def held_session(self, programme_id: str, mentee: str, mentor: str) -> str:
        match_id, mentorship_id, session_id = str(uuid4()), str(uuid4()), str(uuid4())
        self.send(
            "enrolment",
            "ProgrammeCreated",
            programmeId=programme_id,
            topicCodes=["generative-ai"],
            startDate="2027-01-11",
            endDate="2027-06-30",
        )
        pair = {"programmeId": programme_id, "menteeId": mentee, "mentorId": mentor}
        self.send("matching", "MatchConfirmed", matchId=match_id, confirmedAt=stamp(NOW), **pair)
        self.send(
            "scheduling",
            "MentorshipOpened",
            mentorshipId=mentorship_id,
            matchId=match_id,
            plannedSessions=6,
            **pair,
        )
        self.send(
            "scheduling",
            "SessionHeld",
            sessionId=session_id,
            mentorshipId=mentorship_id,
            start=stamp(NOW),
            durationMinutes=60,
            heldCount=1,
            **pair,
        )
        return session_id


@pytest.fixture
async def feedback(
    store: dict[str, str], issuer: DevIssuer, enrolment_server: EnrolmentApplication
) -> AsyncIterator[tuple[FeedbackApplication, int, dict[str, str]]]:
    """Feedback's server, and a held session of E-1 (mentor) and E-2 (mentee),
    both enrolled in the real in-process enrolment server that says who is whom."""
    app = FeedbackApplication(env=store, clock=lambda: NOW)
    programme = enrolment_server.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    programme_id = str(programme.id)
    enrolment_server.open_enrolment(programme_id)
    mentor = enrol_member(enrolment_server, programme_id, "E-1", "mentor")
    mentee = enrol_member(enrolment_server, programme_id, "E-2", "mentee")
    session = Upstream(app).held_session(programme_id, mentee, mentor)
    ownership = OwnershipCheck(feedback_api.SERVICE, ttl_seconds=0.0)
    servicer = feedback_api.FeedbackServicer(app, ownership)
    register = fpb_grpc.add_FeedbackServiceServicer_to_server
    async with grpc_service(
        feedback_api.SERVICE, register, servicer, [feedback_api.SERVICE_NAME], issuer
    ) as port:
        yield app, port, {"session": session, "mentor": mentor, "mentee": mentee}
    await ownership.close()
    app.close()


def mentee_answers(n: int) -> fpb.Answers:
    """The n-th answer (0-24): its own ratings, practice and note, so a mix shows."""
    usefulness, confidence = 1 + n // 5, 1 + n % 5
    return fpb.Answers(
        ratings=fpb.Ratings(usefulness=usefulness, confidence=confidence, topics=["generative-ai"]),
        practices=[f"practice number {n}"],
        note=f"note number {n}",
    )


def as_stored(answers: fpb.Answers) -> tuple[Any, ...]:
    r = answers.ratings
    return (r.usefulness, r.confidence, tuple(r.topics), tuple(answers.practices), answers.note)


def submitted(app: FeedbackApplication, session_id: str) -> list[str]:
    """The sides of the session's Submitted events, in order."""
    return [
        event.side
        for notification in app.notifications(0, 100_000)
        for event in [app.envelope_mapper.decode(notification)[0]]
        if type(event).__qualname__ == "SessionFeedback.Submitted"
        and str(event.session_id) == session_id
    ]


def mentee_submissions(
    clients: Clients, port: int, ids: dict[str, str], count: int
) -> list[Callable[[], Awaitable[Any]]]:
    """``count`` calls, each from a client of its own, submitting the mentee's
    answer number n (``mentee_answers(n)``) for the session."""

    def submit(n: int) -> Callable[[], Awaitable[Any]]:
        stub = fpb_grpc.FeedbackServiceStub(
            clients(address(port), "mentee", sub="u-2", employee_id="E-2")
        )
        request = fpb.SubmitFeedbackRequest(
            session_id=ids["session"], participant_id=ids["mentee"], answers=mentee_answers(n)
        )
        return lambda: stub.SubmitFeedback(request, timeout=30)

    return [submit(n) for n in range(count)]


async def test_final_feedback_is_submitted_exactly_once(
    feedback: tuple[FeedbackApplication, int, dict[str, str]],
    clients: Clients,
) -> None:
    """The mentor has answered; 25 of the mentee's clients send 25 different
    first answers at once. Once both answered the ratings are final, so exactly
    one answer is recorded (every other final answer is FAILED_PRECONDITION),
    and what is stored is that answer whole: ratings, practices and note."""
    app, port, ids = feedback
    session = ids["session"]
    as_mentor = fpb_grpc.FeedbackServiceStub(
        clients(address(port), "mentor", sub="u-1", employee_id="E-1")
    )
    await as_mentor.SubmitFeedback(
        fpb.SubmitFeedbackRequest(
            session_id=session,
            participant_id=ids["mentor"],
            answers=fpb.Answers(
                ratings=fpb.Ratings(usefulness=4, pedagogy=4, topics=["generative-ai"])
            ),
        )
    )

    calls = mentee_submissions(clients, port, ids, 25)
    await clients.ready()
    outcomes, _ = await stampede(calls)

    assert codes(outcomes) == {"OK": 1, "FAILED_PRECONDITION": 24}
    [winner] = [n for n, o in enumerate(outcomes) if not isinstance(o, grpc.aio.AioRpcError)]
    refusals = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert all("ratings are final" in (r.details() or "") for r in refusals)
    assert submitted(app, session) == ["mentor", "mentee"]
    mine = fpb_grpc.FeedbackServiceStub(
        clients(address(port), "mentee", sub="u-2", employee_id="E-2")
    )
    seen = await mine.GetSessionFeedback(
        fpb.GetSessionFeedbackRequest(session_id=session, participant_id=ids["mentee"])
    )
    assert as_stored(seen.own) == as_stored(mentee_answers(winner))
    theirs = await as_mentor.GetSessionFeedback(
        fpb.GetSessionFeedbackRequest(session_id=session, participant_id=ids["mentor"])
    )
    winning = mentee_answers(winner).ratings
    assert (theirs.other.usefulness, theirs.other.confidence) == (
        winning.usefulness,
        winning.confidence,
    )


async def test_racing_edits_store_one_whole_answer_never_a_mix(
    feedback: tuple[FeedbackApplication, int, dict[str, str]],
    clients: Clients,
) -> None:
    """The other member has not answered, so a member may still edit: 25
    different answers at once may each be recorded (an edit replaces the
    answers), but each as one whole event, one version apart, and what is
    stored is exactly the answer with the highest version, never a mix."""
    app, port, ids = feedback
    session = ids["session"]

    calls = mentee_submissions(clients, port, ids, 25)
    await clients.ready()
    outcomes, _ = await stampede(calls)

    recorded = {n: o for n, o in enumerate(outcomes) if not isinstance(o, grpc.aio.AioRpcError)}
    assert set(codes(outcomes)) == {"OK"}, codes(outcomes)
    versions = sorted(o.version for o in recorded.values())
    assert versions == list(range(versions[0], versions[0] + len(recorded))), "one save each"
    assert submitted(app, session) == ["mentee"] * len(recorded)
    for n, response in recorded.items():
        assert as_stored(response.own) == as_stored(mentee_answers(n)), "each reply is whole"
    last = max(recorded, key=lambda n: recorded[n].version)
    mine = fpb_grpc.FeedbackServiceStub(
        clients(address(port), "mentee", sub="u-2", employee_id="E-2")
    )
    seen = await mine.GetSessionFeedback(
        fpb.GetSessionFeedbackRequest(session_id=session, participant_id=ids["mentee"])
    )
    assert seen.version == recorded[last].version
    assert as_stored(seen.own) == as_stored(mentee_answers(last))


# -- enrolment --------------------------------------------------------------------------------
@pytest.fixture
async def enrolment(
    store: dict[str, str], issuer: DevIssuer
) -> AsyncIterator[tuple[EnrolmentApplication, int]]:
    app = EnrolmentApplication(env=store)
    register = epb_grpc.add_EnrolmentServiceServicer_to_server
    async with grpc_service(
        "enrolment", register, EnrolmentServicer(app), [ENROLMENT_SERVICE], issuer
    ) as port:
        yield app, port
    app.close()


async def test_one_employee_enrolled_at_once_by_many_clients_is_one_participant(
    enrolment: tuple[EnrolmentApplication, int],
    clients: Clients,
) -> None:
    """10 employees, each enrolled 5 times at once by 5 different clients (50
    calls): exactly one participant per employee; every other final answer is
    ALREADY_EXISTS naming the same participant's employee."""
    app, port = enrolment
    programme = app.create_programme(
        "Race cohort",
        "",
        "2027-01-11",
        "2027-06-30",
        [Topic("generative-ai", "Generative AI")],
        ProgrammeRules(),
    )
    programme_id = str(programme.id)
    app.open_enrolment(programme_id)
    people = [Person(f"E-RACE-{n}", n % 2 == 0, f"Person {n}", 1970 + n, "Data") for n in range(10)]

    def enrol(person: Person) -> Callable[[], Awaitable[Any]]:
        stub = epb_grpc.EnrolmentServiceStub(clients(address(port)))
        request = enrol_request(programme_id, person)
        return lambda: stub.EnrolParticipant(request, timeout=30)

    calls = [enrol(person) for _ in range(5) for person in people]
    await clients.ready()
    outcomes, _ = await stampede(calls)

    assert codes(outcomes) == {"OK": 10, "ALREADY_EXISTS": 40}
    admitted = successes(outcomes)
    assert sorted(p.employee_id for p in admitted) == sorted(p.employee_id for p in people)
    stub = epb_grpc.EnrolmentServiceStub(clients(address(port)))
    listed = await stub.ListParticipants(
        epb.ListParticipantsRequest(programme_id=programme_id, page_size=100)
    )
    assert listed.total_size == len(listed.participants) == 10
    assert sorted((p.employee_id, p.participant_id) for p in listed.participants) == sorted(
        (p.employee_id, p.participant_id) for p in admitted
    )
