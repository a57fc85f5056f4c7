"""Scheduling fed by the real enrolment and matching applications, and its jobs.

- Mentorships follow matching's integration events, relayed to a real
  nats-server by matching's own relay from a real round both sides accepted:
  ``MatchConfirmed`` opens one mentorship per match (with the planned sessions
  enrolment's ``ProgrammeCreated`` gave), ``MatchEnded`` ends it, cancels its
  future sessions and frees both diaries.
- ``ParticipantErased`` from the real enrolment application: the erased
  person's mentorships are ended first (the cancellations are sealed), then
  the keys go, so agendas and links read "[erased]"; matching's own
  ``MatchEnded`` for the same pair, whenever it arrives, changes nothing.
- Redelivery and replay of every event apply nothing twice.
- The two streams in any relative order (no NATS): a confirmation before its
  programme, an erasure before the confirmation.
- Reminders exactly once: two applications over one store racing in threads
  record one ``Mentorship.ReminderDue`` per session; a reschedule gets a new
  reminder for the new time. The reminder and stall jobs run until stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from support import eventually, read_stream

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.integration import translate as enrolment_translate
from revmentor.kernel.cloudevents import ReceivedEvent, decode
from revmentor.kernel.consumer import SubscriptionRunner
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay
from revmentor.matching.application import MatchingApplication
from revmentor.matching.integration import translate as matching_translate
from revmentor.matching.subscriptions import enrolment_subscription as matching_from_enrolment
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.domain import mentorship as ms
from revmentor.scheduling.subscriptions import (
    ENROLMENT_HANDLERS,
    ERASED_OUTCOME,
    MATCHING_HANDLERS,
    enrolment_subscription,
    matching_subscription,
    participant_erased,
    reminder_job,
    stall_job,
    subscriptions,
)

T = TypeVar("T")
FAST = {"backoff": (0.1,), "ack_wait": 5.0}
ZONE = "Europe/Paris"
LINK = "https://meet.example/room"


def sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """The applications are blocking: keep the event loop (relays, consumers) free."""
    return await asyncio.to_thread(fn, *args, **kwargs)


async def until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    async def done() -> bool:
        return await call(check)

    await eventually(done, timeout=timeout, what=what)


def domain_events(app: Any, qualname: str) -> list[Any]:
    """Every stored event of that class, decoded (personal fields as they read now)."""
    return [
        event
        for n in app.notifications(0, 100_000)
        for event in [app.envelope_mapper.decode(n)[0]]
        if type(event).__qualname__ == qualname
    ]


def local(day: date, at: str = "10:00") -> str:
    return f"{day.isoformat()}T{at}"


# -- the upstream story: a real enrolment, a real matching pool ---------------------------------
class AttributeTable:
    """What enrolment's GetMatchingAttributes would answer, per participant id."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {pid: self.rows[pid] for pid in ids if pid in self.rows}


def attributes(pid: str, role: str, n: int) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "role": role,
        "status": "enrolled",
        "employee_id": f"E{n}",
        "manager_employee_id": "M-1",
        "department": f"Dept-{n}" if role == MENTOR else "Sales",
        "site": "Paris",
        "time_zone": ZONE,
        "birth_year": 1999 if role == MENTOR else 1966,
        "languages": ["en"],
        "skills_offered": ["generative-ai"] if role == MENTOR else [],
        "learning_needs": [("generative-ai", 1)] if role == MENTEE else [],
        "availability": [(d, "09:00", "12:00") for d in (1, 2, 3)],
        "meeting_preference": "either",
    }


def profile(role: str, n: int) -> Profile:
    mentor = role == MENTOR
    return Profile(
        display_name=f"Person {n}",
        email=f"p{n}@example.com",
        birth_year=1999 if mentor else 1966,
        department=f"Dept-{n}" if mentor else "Sales",
        manager_employee_id="M-1",
        site="Paris",
        time_zone=ZONE,
        languages=("en",),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=(AvailabilityWindow(2, "09:00", "10:30"),),
        meeting_preference="either",
    )


def programme_dates() -> tuple[date, date]:
    """Around today, so sessions last week and next week both lie within them."""
    today = datetime.now(UTC).date()
    return today - timedelta(days=30), today + timedelta(days=180)


def enrol_cohort(enrolment: EnrolmentApplication, table: AttributeTable) -> dict[str, Any]:
    start, end = programme_dates()
    programme = enrolment.create_programme(
        "Pilot",
        "",
        start.isoformat(),
        end.isoformat(),
        [Topic("generative-ai", "AI")],
        ProgrammeRules(min_age_gap_years=12, planned_sessions=4),
    )
    pid = str(programme.id)
    enrolment.open_enrolment(pid)
    consent = Consent(True, "2027-01")
    ids: dict[str, Any] = {"programme": pid, MENTOR: [], MENTEE: []}
    for n, role in enumerate((MENTOR, MENTOR, MENTEE, MENTEE)):
        participant = enrolment.enrol(pid, f"E{n}", role, profile(role, n), consent)
        ids[role].append(str(participant.id))
        table.rows[str(participant.id)] = attributes(str(participant.id), role, n)
    return ids


def certify_mentors(matching: MatchingApplication, programme_id: str, mentors: list[str]) -> None:
    """What training's MentorCertified does to the pool (same aggregate method)."""
    pool = matching.programme(programme_id)
    for mentor in mentors:
        pool.set_certified(mentor, True)
    matching.save(pool)


@contextlib.asynccontextmanager
async def platform(
    enrolment: EnrolmentApplication,
    matching: MatchingApplication,
    scheduling: SchedulingApplication,
    url: str,
) -> AsyncIterator[None]:
    """Enrolment and matching publish; matching consumes enrolment; scheduling both."""
    stop = asyncio.Event()
    relays = [
        asyncio.create_task(Relay(app, translate, url, idle_seconds=0.02).run(stop))
        for app, translate in ((enrolment, enrolment_translate), (matching, matching_translate))
    ]
    runners = (
        SubscriptionRunner(
            url, [matching_from_enrolment(matching, **FAST)], fetch_timeout=0.5, graceful_timeout=2
        ),
        SubscriptionRunner(
            url, subscriptions(scheduling, **FAST), fetch_timeout=0.5, graceful_timeout=2
        ),
    )
    try:
        async with runners[0], runners[1]:
            yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*relays), 10)


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[tuple[EnrolmentApplication, MatchingApplication, Any]]:
    table = AttributeTable()
    enrolment = EnrolmentApplication(env=sqlite(tmp_path / "enrolment.sqlite"))
    matching = MatchingApplication(env=sqlite(tmp_path / "matching.sqlite"), attributes=table)
    yield enrolment, matching, table
    matching.close()
    enrolment.close()


async def test_mentorships_follow_matching_and_enrolment(
    store: dict[str, str], nats_server: LocalNatsServer, upstream: Any
) -> None:
    enrolment, matching, table = upstream
    scheduling = SchedulingApplication(env=store)
    try:
        async with platform(enrolment, matching, scheduling, nats_server.url):
            await story(enrolment, matching, scheduling, table, nats_server.url)
        await replay_changes_nothing(scheduling, nats_server.url)
    finally:
        scheduling.close()


async def story(
    enrolment: EnrolmentApplication,
    matching: MatchingApplication,
    scheduling: SchedulingApplication,
    table: AttributeTable,
    url: str,
) -> None:
    ids = await call(enrol_cohort, enrolment, table)
    pid, mentors = ids["programme"], ids[MENTOR]
    start, end = programme_dates()

    def facts() -> tuple[str, str, int] | None:
        found = scheduling.find_programme(UUID(pid))
        return (found.start_date, found.end_date, found.planned_sessions) if found else None

    await until(lambda: facts() == (start.isoformat(), end.isoformat(), 4), "programme facts")

    def pool_counts() -> dict[str, int]:
        found = matching.find_programme(UUID(pid))
        return found.pool_counts() if found else {}

    await until(lambda: pool_counts().get("mentees") == 2, "matching's pool")
    await until(lambda: pool_counts().get("mentors") == 2, "matching's pool")
    await call(certify_mentors, matching, pid, mentors)

    # a real round; both sides accept both proposals -> two MatchConfirmed
    record = await call(matching.run_round, pid)
    assert len(record.proposals) == 2
    for proposal in record.proposals:
        await call(matching.respond, proposal["match_id"], proposal["mentee_id"], True)
        await call(matching.respond, proposal["match_id"], proposal["mentor_id"], True)
    await until(lambda: len(scheduling.mentorships(programme_id=pid)) == 2, "two mentorships")
    views = {v["match_id"]: v for v in scheduling.mentorships(programme_id=pid)}
    assert set(views) == {p["match_id"] for p in record.proposals}
    for proposal in record.proposals:
        view = views[proposal["match_id"]]
        assert (view["mentee_id"], view["mentor_id"]) == (
            proposal["mentee_id"],
            proposal["mentor_id"],
        )
        assert view["status"] == ms.ACTIVE and view["planned_sessions"] == 4
    ended_pair, erased_pair = record.proposals
    a = views[ended_pair["match_id"]]["mentorship_id"]
    b = views[erased_pair["match_id"]]["mentorship_id"]

    # sessions: A held one last week and books two more; B books one
    today = datetime.now(UTC).date()
    mentee_a = ended_pair["mentee_id"]
    _, held = await call(
        scheduling.log_past_session,
        a,
        local(today - timedelta(days=7)),
        ZONE,
        60,
        "virtual",
        meeting_link=LINK,
        agenda="What we covered: prompts",
        by=mentee_a,
        by_role="mentee",
    )
    booked = []
    for days in (3, 12):
        _, session_id = await call(
            scheduling.schedule_session,
            a,
            local(today + timedelta(days=days)),
            ZONE,
            60,
            "virtual",
            meeting_link=LINK,
            agenda=f"Agenda A+{days}",
        )
        booked.append(session_id)
    _, b_session = await call(
        scheduling.schedule_session,
        b,
        local(today + timedelta(days=4)),
        ZONE,
        60,
        "virtual",
        meeting_link="https://meet.example/secret-b",
        agenda="Agenda B: my career worries",
    )

    # matching ends A: its future sessions are cancelled and both diaries freed
    await call(matching.end_match, ended_pair["match_id"], "dissolved", "Not the right fit")
    await until(lambda: scheduling.mentorship(a).status == ms.ENDED, "A ended")
    record_a = await call(scheduling.mentorship, a)
    assert record_a.sessions[held]["status"] == ms.HELD
    assert [record_a.sessions[s]["status"] for s in booked] == [ms.CANCELLED] * 2
    assert all(record_a.sessions[s]["cancelled_by"] == "" for s in booked)
    for member in (mentee_a, ended_pair["mentor_id"]):
        assert set((await call(scheduling.diary, member)).busy) == {held}
    [ended] = [
        e for e in domain_events(scheduling, "Mentorship.Ended") if str(e.originator_id) == a
    ]
    assert (ended.outcome, ended.cancelled_sessions) == ("dissolved", 2)
    assert (await call(scheduling.mentorship, b)).status == ms.ACTIVE

    # enrolment erases B's mentor; matching dissolves B too (MatchEnded): either order
    erased_mentor = erased_pair["mentor_id"]
    before = (await call(scheduling.mentorship, b)).sessions[b_session]
    assert before["agenda"] == "Agenda B: my career worries"
    await call(enrolment.erase_participant, erased_mentor, "asked to be forgotten")
    await until(lambda: scheduling.keys.is_destroyed(erased_mentor), "scheduling erased the mentor")
    await until(lambda: scheduling.mentorship(b).status == ms.ENDED, "B ended")
    await consumed(matching_subscription(scheduling), url, "MatchEnded", erased_pair["match_id"])
    record_b = await call(scheduling.mentorship, b)
    after = record_b.sessions[b_session]
    assert after["status"] == ms.CANCELLED
    assert after["agenda"] == ERASED and after["meeting_link"] == ERASED
    assert after["cancel_reason"] == ERASED
    assert (record_b.mentee_id, record_b.mentor_id) == (erased_pair["mentee_id"], erased_mentor)
    assert scheduling.keys.is_destroyed(b)
    endings = [
        e for e in domain_events(scheduling, "Mentorship.Ended") if str(e.originator_id) == b
    ]
    assert [(e.outcome, e.cancelled_sessions) for e in endings] == [(ERASED_OUTCOME, 1)]
    assert (await call(scheduling.diary, erased_pair["mentee_id"])).busy == {}
    # the other pair keeps its own words
    assert not scheduling.keys.is_destroyed(a)
    assert (await call(scheduling.mentorship, a)).sessions[held]["agenda"] == (
        "What we covered: prompts"
    )
    envelopes = [
        scheduling.envelope_mapper.decode(n)[1] for n in scheduling.notifications(0, 10_000)
    ]
    caused = [
        e for e in envelopes if e.get("causation_id", "").startswith(("enrolment:", "matching:"))
    ]
    assert caused and {e["actor"] for e in caused} == {"service:scheduling"}


async def consumed(sub: Any, url: str, name: str, match_id: str, timeout: float = 20) -> None:
    """Until upstream has published ``name`` for ``match_id`` and ``sub`` has applied it."""
    found: list[ReceivedEvent] = []

    async def published() -> bool:
        events = [decode(s.headers, s.data) for s in await read_stream(url, sub.stream)]
        found[:] = [e for e in events if e.name == name and e.data.get("matchId") == match_id]
        return bool(found)

    await eventually(published, timeout=timeout, what=f"{name} of {match_id} on {sub.stream}")
    await sub.wait_for_position(found[0].sequence, timeout)


async def replay_changes_nothing(scheduling: SchedulingApplication, url: str) -> None:
    """Redelivery of every message, and each thing's latest event applied again."""
    written = len(scheduling.notifications(0, 10_000))
    for sub in (enrolment_subscription(scheduling), matching_subscription(scheduling)):
        events = [decode(s.headers, s.data) for s in await read_stream(url, sub.stream)]
        assert events and sub.position() == max(e.sequence for e in events)
        # what the kernel does on redelivery: every position is known, nothing applied
        assert [await call(sub.apply, e) for e in events] == [False] * len(events)
        # past the kernel's tracking: the handlers alone change nothing either
        latest: dict[tuple[str, str], ReceivedEvent] = {}
        for event in events:
            if event.name in sub.handlers:
                key = event.data.get("matchId") or event.data.get("participantId") or ""
                latest[(event.name, key or event.data["programmeId"])] = event
        assert {name for name, _ in latest} == set(sub.handlers)
        for event in latest.values():
            assert list(await call(sub.handlers[event.name], event)) == [], event.name
    assert len(scheduling.notifications(0, 10_000)) == written


# -- order across streams, idempotency and erasure, without NATS --------------------------------
_sequences = iter(range(1, 1_000_000))


def received(upstream: str, name: str, **data: Any) -> ReceivedEvent:
    sequence = next(_sequences)
    return ReceivedEvent(
        id=f"{upstream}:{sequence}",
        source=f"/revmentor/{upstream}",
        type=f"revmentor.{upstream}.v1.{name}",
        time="",
        subject=str(data.get("programmeId", "")),
        sequence=sequence,
        actor="",
        correlation_id="",
        causation_id="",
        traceparent="",
        data=data,
    )


def confirmed(programme: str, mentee: str, mentor: str, match: str = "") -> ReceivedEvent:
    return received(
        "matching",
        "MatchConfirmed",
        matchId=match or str(uuid4()),
        programmeId=programme,
        menteeId=mentee,
        mentorId=mentor,
        confirmedAt="2027-01-20T09:00:00Z",
    )


def match_ended(event: ReceivedEvent, outcome: str) -> ReceivedEvent:
    return received(
        "matching",
        "MatchEnded",
        matchId=event.data["matchId"],
        programmeId=event.data["programmeId"],
        menteeId=event.data["menteeId"],
        mentorId=event.data["mentorId"],
        outcome=outcome,
        endedAt="2027-03-01T09:00:00Z",
    )


def programme_created(programme: str, rules: dict[str, Any] | None = None) -> ReceivedEvent:
    data: dict[str, Any] = {
        "programmeId": programme,
        "topicCodes": ["generative-ai"],
        "startDate": "2027-01-11",
        "endDate": "2027-06-30",
    }
    if rules is not None:
        data["rules"] = rules
    return received("enrolment", "ProgrammeCreated", **data)


@pytest.fixture
def frozen_clock() -> list[datetime]:
    return [datetime(2027, 2, 1, 10, 0, tzinfo=UTC)]


@pytest.fixture
def consumer_app(
    store: dict[str, str], frozen_clock: list[datetime]
) -> Iterator[SchedulingApplication]:
    app = SchedulingApplication(env=store, clock=lambda: frozen_clock[0])
    yield app
    app.close()


def test_a_confirmation_may_come_before_its_programme(
    consumer_app: SchedulingApplication,
) -> None:
    app = consumer_app
    from_matching, from_enrolment = matching_subscription(app), enrolment_subscription(app)
    programme, mentee, mentor = str(uuid4()), str(uuid4()), str(uuid4())
    first = confirmed(programme, mentee, mentor)
    assert from_matching.apply(first)
    registered = app.find_programme(UUID(programme))
    assert registered is not None, "registered on first sight, with default facts"
    assert (registered.start_date, registered.end_date, registered.planned_sessions) == ("", "", 6)
    mentorship = app.find_mentorship_of_match(first.data["matchId"])
    assert mentorship is not None and mentorship.planned_sessions == 6
    assert list(MATCHING_HANDLERS["MatchConfirmed"](app, first)) == [], "opened once"

    created = programme_created(programme, {"minAgeGapYears": 12, "plannedSessions": 8})
    assert from_enrolment.apply(created)
    facts = app.programme(programme)
    assert (facts.start_date, facts.end_date, facts.planned_sessions) == (
        "2027-01-11",
        "2027-06-30",
        8,
    )
    assert list(ENROLMENT_HANDLERS["ProgrammeCreated"](app, created)) == []
    # the mentorship opened before the facts adopts the programme's planned sessions
    replanned = app.find_mentorship_of_match(first.data["matchId"])
    assert replanned is not None and replanned.planned_sessions == 8
    assert app.views.mentorships_of_programme(programme)[0]["planned_sessions"] == 8
    # a mentorship opened after the facts takes the programme's planned sessions
    later = confirmed(programme, str(uuid4()), str(uuid4()))
    assert from_matching.apply(later)
    found = app.find_mentorship_of_match(later.data["matchId"])
    assert found is not None and found.planned_sessions == 8

    # no rules at all (or no planned sessions in them): six sessions
    for rules in (None, {"minAgeGapYears": 12}):
        other = str(uuid4())
        assert from_enrolment.apply(programme_created(other, rules))
        assert app.programme(other).planned_sessions == 6
        assert list(ENROLMENT_HANDLERS["ProgrammeCreated"](app, programme_created(other))) == []

    # ended once; a second MatchEnded changes nothing
    written = len(app.notifications(0, 1000))
    assert from_matching.apply(match_ended(first, "completed"))
    assert app.mentorship(str(mentorship.id)).status == ms.ENDED
    assert list(MATCHING_HANDLERS["MatchEnded"](app, match_ended(first, "dissolved"))) == []
    assert len(app.notifications(0, 1000)) == written + 1
    [ended] = domain_events(app, "Mentorship.Ended")
    assert ended.outcome == "completed"
    # MatchEnded for a match scheduling never saw (its confirmation dead-lettered):
    # recorded as opened and ended at once
    stranger = confirmed(programme, str(uuid4()), str(uuid4()))
    caused = MATCHING_HANDLERS["MatchEnded"](app, match_ended(stranger, "dissolved"))
    assert [x.status for x in caused if hasattr(x, "match_id")] == [ms.ENDED]


def book(app: SchedulingApplication, mentorship_id: str, at: str, agenda: str) -> str:
    _, session_id = app.schedule_session(
        mentorship_id, at, ZONE, 60, "virtual", meeting_link=LINK, agenda=agenda
    )
    return session_id


def opened(app: SchedulingApplication, programme: str, mentee: str, mentor: str) -> str:
    event = confirmed(programme, mentee, mentor)
    assert matching_subscription(app).apply(event)
    found = app.find_mentorship_of_match(event.data["matchId"])
    assert found is not None
    return str(found.id)


def test_erasure_stores_the_endings_before_destroying_the_keys(
    consumer_app: SchedulingApplication,
) -> None:
    app = consumer_app
    programme = str(uuid4())
    assert enrolment_subscription(app).apply(programme_created(programme))
    mentor, first_mentee, second_mentee = str(uuid4()), str(uuid4()), str(uuid4())
    first = opened(app, programme, first_mentee, mentor)
    second = opened(app, programme, second_mentee, mentor)
    one = book(app, first, "2027-02-03T10:00", "First agenda")
    two = book(app, second, "2027-02-04T10:00", "Second agenda")
    assert set(app.diary(mentor).busy) == {one, two}

    # the mentor shared by both pairs: both end, their one diary is freed of both
    erased = received("enrolment", "ParticipantErased", participantId=mentor, programmeId=programme)
    assert enrolment_subscription(app).apply(erased)
    for mentorship_id, session_id in ((first, one), (second, two)):
        record = app.mentorship(mentorship_id)
        assert record.status == ms.ENDED and record.mentor_id == mentor
        session = record.sessions[session_id]
        assert session["status"] == ms.CANCELLED
        assert (session["agenda"], session["meeting_link"]) == (ERASED, ERASED)
        assert app.keys.is_destroyed(mentorship_id)
    assert app.keys.is_destroyed(mentor)
    assert app.diary(mentor).busy == {} and app.diary(first_mentee).busy == {}
    assert [e.outcome for e in domain_events(app, "Mentorship.Ended")] == [ERASED_OUTCOME] * 2

    # redelivered past the tracking (a crash before it was recorded): nothing new
    written = len(app.notifications(0, 1000))
    assert list(participant_erased(app, erased)) == []
    # matching's own dissolution of the same pair, arriving later: nothing either
    for mentee in (first_mentee, second_mentee):
        record = app.mentorships(participant_id=mentee)[0]
        late = received(
            "matching",
            "MatchEnded",
            matchId=record["match_id"],
            programmeId=programme,
            menteeId=mentee,
            mentorId=mentor,
            outcome=ERASED_OUTCOME,
        )
        assert list(MATCHING_HANDLERS["MatchEnded"](app, late)) == []
    assert len(app.notifications(0, 1000)) == written


def test_an_erasure_may_come_before_the_confirmation(
    consumer_app: SchedulingApplication,
) -> None:
    app = consumer_app
    programme, mentee, mentor = str(uuid4()), str(uuid4()), str(uuid4())
    erased = received("enrolment", "ParticipantErased", participantId=mentee, programmeId=programme)
    assert enrolment_subscription(app).apply(erased)
    assert app.keys.is_destroyed(mentee)

    late = confirmed(programme, mentee, mentor)
    assert matching_subscription(app).apply(late)
    record = app.find_mentorship_of_match(late.data["matchId"])
    assert record is not None and record.status == ms.ENDED, "opened and ended at once"
    assert app.keys.is_destroyed(str(record.id)), "nothing personal may be written about it"
    [ended] = domain_events(app, "Mentorship.Ended")
    assert (ended.outcome, ended.cancelled_sessions) == (ERASED_OUTCOME, 0)
    written = len(app.notifications(0, 1000))
    assert list(MATCHING_HANDLERS["MatchConfirmed"](app, late)) == []
    assert list(MATCHING_HANDLERS["MatchEnded"](app, match_ended(late, ERASED_OUTCOME))) == []
    assert len(app.notifications(0, 1000)) == written


# -- reminders exactly once ----------------------------------------------------------------------
def test_reminders_racing_on_two_applications_are_recorded_once(
    store: dict[str, str], consumer_app: SchedulingApplication, frozen_clock: list[datetime]
) -> None:
    app = consumer_app
    programme = str(uuid4())
    assert enrolment_subscription(app).apply(programme_created(programme))
    sessions = {}
    for n in range(3):
        mentorship = opened(app, programme, str(uuid4()), str(uuid4()))
        # 2027-02-02 10:00 in Paris is 09:00Z: due from 2027-02-01 09:00Z (24 h lead)
        sessions[book(app, mentorship, "2027-02-02T10:00", f"Agenda {n}")] = mentorship
        book(app, mentorship, "2027-02-20T10:00", "Not due yet")
    now = frozen_clock[0]

    other = SchedulingApplication(env=store, clock=lambda: frozen_clock[0])
    try:
        barrier = threading.Barrier(2)
        counts: list[int] = []
        errors: list[BaseException] = []

        def remind(application: SchedulingApplication) -> None:
            try:
                barrier.wait(5)
                counts.append(application.send_due_reminders(now))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=remind, args=(a,)) for a in (app, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        left = other.send_due_reminders(now) + app.send_due_reminders(now)  # lost races
        assert sum(counts) + left == 3
        assert other.send_due_reminders(now) == 0 and app.send_due_reminders(now) == 0
    finally:
        other.close()
    reminders = domain_events(app, "Mentorship.ReminderDue")
    assert sorted(e.session_id for e in reminders) == sorted(sessions)
    assert {e.sequence for e in reminders} == {0}

    # a reschedule: a new reminder for the new time, once
    moved = sorted(sessions)[0]
    app.reschedule_session(sessions[moved], moved, "2027-02-02T11:00", ZONE)
    later = now + timedelta(hours=1)  # the new time (10:00Z) is due from 2027-02-01 10:00Z
    assert app.send_due_reminders(later) == 1
    assert app.send_due_reminders(later) == 0
    reminders = domain_events(app, "Mentorship.ReminderDue")
    assert len(reminders) == 4
    [again] = [e for e in reminders if e.session_id == moved and e.sequence == 1]
    assert again.start == "2027-02-02T10:00:00Z"


async def test_the_reminder_and_stall_jobs_run_until_stopped(store: dict[str, str]) -> None:
    """The service's jobs with the real clock: one reminder, one stall, then a clean stop."""
    now = datetime.now(UTC)
    # opened two months ago (the stall period is six weeks), booked for in two hours
    app = SchedulingApplication(env=store, clock=lambda: now - timedelta(days=60))
    try:
        programme = str(uuid4())
        created = programme_created(programme)
        created.data.update(
            startDate=(now - timedelta(days=90)).date().isoformat(),
            endDate=(now + timedelta(days=90)).date().isoformat(),
        )
        assert enrolment_subscription(app).apply(created)
        mentorship = opened(app, programme, str(uuid4()), str(uuid4()))
        soon = (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
        app.schedule_session(mentorship, soon, "UTC", 60, "virtual", meeting_link=LINK)

        passes = {"reminders": 0, "stalls": 0}

        def counted(name: str, check: Any) -> Any:
            def run(moment: datetime) -> int:
                done = check(moment)
                passes[name] += 1
                return int(done)

            return run

        # the jobs bind the application's checks when made: count their passes
        app.send_due_reminders = counted("reminders", app.send_due_reminders)  # type: ignore[method-assign]
        app.flag_stalls = counted("stalls", app.flag_stalls)  # type: ignore[method-assign]
        stop = asyncio.Event()
        jobs = [
            asyncio.create_task(reminder_job(app, 0.05)(stop)),
            asyncio.create_task(stall_job(app, 0.05)(stop)),
        ]

        def recorded() -> bool:
            return bool(
                domain_events(app, "Mentorship.ReminderDue")
                and domain_events(app, "Mentorship.Stalled")
            )

        await until(recorded, "a reminder and a stall")
        seen = dict(passes)

        def five_more_passes() -> bool:
            return all(passes[k] >= seen[k] + 5 for k in passes)

        await until(five_more_passes, "five more passes of each job")  # nothing twice
        stop.set()
        await asyncio.wait_for(asyncio.gather(*jobs), 10)
        assert len(domain_events(app, "Mentorship.ReminderDue")) == 1
        assert len(domain_events(app, "Mentorship.Stalled")) == 1
    finally:
        app.close()


def test_an_end_before_its_dead_lettered_confirmation_opens_nothing_later(
    consumer_app: SchedulingApplication,
) -> None:
    """The confirmation went to the dead-letter stream; the end arrives first:
    the mentorship is recorded opened and ended at once, and the confirmation,
    replayed later, opens nothing."""
    app = consumer_app
    from_matching = matching_subscription(app)
    programme, mentee, mentor = str(uuid4()), str(uuid4()), str(uuid4())
    first = confirmed(programme, mentee, mentor)
    assert from_matching.apply(match_ended(first, "dissolved"))
    record = app.find_mentorship_of_match(first.data["matchId"])
    assert record is not None and record.status == "ended"
    assert list(MATCHING_HANDLERS["MatchConfirmed"](app, first)) == []
    replayed = confirmed(programme, mentee, mentor, match=first.data["matchId"])
    assert from_matching.apply(replayed)  # tracked, but nothing opened
    again = app.find_mentorship_of_match(first.data["matchId"])
    assert again is not None and again.status == "ended" and again.version == record.version
    assert [v["status"] for v in app.views.mentorships_of_programme(programme)] == ["ended"]
