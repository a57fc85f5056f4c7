"""Matching fed by the real enrolment and training applications, and what it asks of enrolment.

- The pool follows enrolment's and training's integration events, relayed to a
  real nats-server and consumed by matching's two subscriptions; a round asks a
  real enrolment gRPC server for attributes with matching's service token.
- Withdrawal, a revoked certification and erasure close the right matches
  (erasure: after the closures are stored, the keys go, so explanations read
  "[erased]" while the match keeps its ids and status).
- Events from the two streams in any relative order; nothing applied twice.
- ``EnrolmentAttributes`` against the real enrolment server: mapping, chunks,
  and what a wrong, missing or powerless token or an absent server becomes.
- ``expire_due`` racing on two applications over one store: each proposal
  expires exactly once and the pair is never proposed again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from support import DevIssuer, eventually, read_stream

from revmentor.enrolment.api import SERVICE_NAME as ENROLMENT_SERVICE_NAME
from revmentor.enrolment.api import EnrolmentServicer
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
from revmentor.enrolment.v1 import enrolment_pb2_grpc
from revmentor.kernel.attributes import EnrolmentAttributes
from revmentor.kernel.cloudevents import MalformedEvent, ReceivedEvent, decode
from revmentor.kernel.consumer import SubscriptionRunner
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.relay import Relay
from revmentor.matching.application import AttributesUnavailable, MatchingApplication
from revmentor.matching.domain import match as m
from revmentor.matching.subscriptions import (
    ENROLMENT_HANDLERS,
    TRAINING_HANDLERS,
    enrolment_subscription,
    participant_erased,
    subscriptions,
    training_subscription,
)
from revmentor.training.application import TrainingApplication
from revmentor.training.integration import translate as training_translate
from revmentor.training.subscriptions import enrolment_subscription as training_from_enrolment

T = TypeVar("T")
TOKEN_VARIABLE = "REVMENTOR_MATCHING_TOKEN_FILE"
FAST = {"backoff": (0.1,), "ack_wait": 5.0}


def sqlite(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}


async def call(fn: Callable[..., T], *args: Any) -> T:
    """The applications are blocking: keep the event loop (relays, gRPC server) free."""
    return await asyncio.to_thread(fn, *args)


# -- a real enrolment gRPC server --------------------------------------------------------------
@pytest.fixture
def enrolment_issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "auth")


@pytest.fixture
def enrolment(tmp_path: Path) -> Iterator[EnrolmentApplication]:
    app = EnrolmentApplication(env=sqlite(tmp_path / "enrolment.sqlite"))
    yield app
    app.close()


@pytest.fixture
async def enrolment_address(
    enrolment: EnrolmentApplication, enrolment_issuer: DevIssuer
) -> AsyncIterator[str]:
    server = GrpcServer(
        "enrolment",
        "127.0.0.1",
        0,
        grace_seconds=0.5,
        authenticator=enrolment_issuer.authenticator(),
    )
    server.add(
        enrolment_pb2_grpc.add_EnrolmentServiceServicer_to_server,
        EnrolmentServicer(enrolment),
        [ENROLMENT_SERVICE_NAME],
    )
    port = await server.start()
    yield f"127.0.0.1:{port}"
    await server.stop()


@pytest.fixture
def service_token_file(
    tmp_path: Path, enrolment_issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Matching's own identity, where production finds it (REVMENTOR_MATCHING_TOKEN_FILE)."""
    path = tmp_path / "matching.token"
    token = enrolment_issuer.token("service", sub="service:matching", service="matching")
    path.write_text(token + "\n", encoding="utf-8")
    monkeypatch.setenv(TOKEN_VARIABLE, str(path))
    return path


# -- the enrolment story --------------------------------------------------------------------
def profile(role: str, n: int) -> Profile:
    mentor = role == MENTOR
    return Profile(
        display_name=f"Person {n}",
        email=f"p{n}@example.com",
        birth_year=1999 if mentor else 1966,
        department=f"Dept-{n}" if mentor else "Sales",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en",),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=(AvailabilityWindow(2, "09:00", "10:30"),),
        meeting_preference="virtual" if mentor else "either",
    )


def enrol_cohort(enrolment: EnrolmentApplication, mentors: int, mentees: int) -> dict[str, Any]:
    programme = enrolment.create_programme(
        "Pilot",
        "",
        "2027-01-11",
        "2027-06-30",
        [Topic("generative-ai", "AI")],
        ProgrammeRules(min_age_gap_years=12),
    )
    pid = str(programme.id)
    enrolment.open_enrolment(pid)
    consent = Consent(True, "2027-01")
    ids: dict[str, Any] = {"programme": pid, MENTOR: [], MENTEE: []}
    for n in range(mentors + mentees):
        role = MENTOR if n < mentors else MENTEE
        participant = enrolment.enrol(pid, f"E{n}", role, profile(role, n), consent)
        ids[role].append(str(participant.id))
    return ids


def certify(training: TrainingApplication, participant_id: str) -> None:
    """Everything the mentor curriculum requires, done."""
    record = training.record(participant_id)
    for module in record.pinned:
        if not module.required or record.credited.get(module.id):
            continue
        if module.kind == "workshop":
            training.record_attendance(participant_id, module.id, "2027-01-04")
        else:
            training.complete_module(participant_id, module.id, 100)


@contextlib.asynccontextmanager
async def platform(
    enrolment: EnrolmentApplication,
    training: TrainingApplication,
    matching: MatchingApplication,
    url: str,
) -> AsyncIterator[None]:
    """Enrolment and training publish; training consumes enrolment; matching both."""
    stop = asyncio.Event()
    relays = [
        asyncio.create_task(Relay(app, translate, url, idle_seconds=0.02).run(stop))
        for app, translate in ((enrolment, enrolment_translate), (training, training_translate))
    ]
    runners = (
        SubscriptionRunner(
            url, [training_from_enrolment(training, **FAST)], fetch_timeout=0.5, graceful_timeout=2
        ),
        SubscriptionRunner(
            url, subscriptions(matching, **FAST), fetch_timeout=0.5, graceful_timeout=2
        ),
    )
    try:
        async with runners[0], runners[1]:
            yield
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*relays), 10)


async def until(check: Callable[[], bool], what: str, timeout: float = 15) -> None:
    async def done() -> bool:
        return await call(check)

    await eventually(done, timeout=timeout, what=what)


async def test_pool_follows_enrolment_and_training_and_closes_matches(
    store: dict[str, str],
    nats_server: LocalNatsServer,
    tmp_path: Path,
    enrolment: EnrolmentApplication,
    enrolment_address: str,
    service_token_file: Path,
) -> None:
    training = TrainingApplication(env=sqlite(tmp_path / "training.sqlite"))
    matching = MatchingApplication(
        env=store, attributes=EnrolmentAttributes("matching", enrolment_address)
    )
    try:
        async with platform(enrolment, training, matching, nats_server.url):
            await story(enrolment, training, matching)
        await replay_changes_nothing(matching, nats_server.url)
    finally:
        training.close()
        matching.close()


async def story(
    enrolment: EnrolmentApplication, training: TrainingApplication, matching: MatchingApplication
) -> None:
    ids = await call(enrol_cohort, enrolment, 3, 3)
    programme_id, mentors, mentees = ids["programme"], ids[MENTOR], ids[MENTEE]

    def counts() -> dict[str, int]:
        found = matching.find_programme(UUID(programme_id))
        return found.pool_counts() if found else {}

    # training opens records from enrolment's events; certify every mentor there
    await until(
        lambda: all(training.find_record(p) for p in mentors), "training opened the records"
    )
    for mentor in mentors:
        await call(certify, training, mentor)
    await until(lambda: counts().get("certified_mentors") == 3, "matching saw 3 certifications")
    pool = await call(matching.programme, programme_id)
    assert pool.rules["min_age_gap_years"] == 12, "rules come from ProgrammeCreated"
    assert all(
        pool.members[p] == {"role": "mentor", "active": True, "certified": True} for p in mentors
    )
    assert all(pool.members[p]["role"] == "mentee" for p in mentees)
    assert counts() == {
        "mentors": 3,
        "certified_mentors": 3,
        "mentees": 3,
        "mentees_taken": 0,
        "mentees_unmatched": 3,
        "free_mentor_places": 3,
    }

    # a round asks the real enrolment server for attributes, with matching's token
    record = await call(matching.run_round, programme_id)
    assert record.mentees_considered == 3 and len(record.proposals) == 3
    by_mentee = {p["mentee_id"]: p for p in record.proposals}
    withdrawn, revoked_for, kept = mentees
    assert counts()["free_mentor_places"] == 0 and counts()["mentees_taken"] == 3

    # withdrawal: the proposal is cancelled and the mentor's place is free again
    await call(enrolment.withdraw, withdrawn, "workload", "")
    cancelled = by_mentee[withdrawn]["match_id"]
    await until(lambda: matching.match(cancelled).status == m.CANCELLED, "withdrawal cancelled")
    assert matching.match(cancelled).end_cause == m.WITHDRAWN_CAUSE
    assert counts()["mentees"] == 2 and counts()["free_mentor_places"] == 1

    # a revoked certification cancels that mentor's proposal
    revoked_mentor = by_mentee[revoked_for]["mentor_id"]
    await call(training.revoke_certification, revoked_mentor, "did not attend the refresher")
    revoked_match = by_mentee[revoked_for]["match_id"]
    await until(lambda: matching.match(revoked_match).status == m.CANCELLED, "revocation")
    assert matching.match(revoked_match).end_cause == m.REVOKED_CAUSE
    pool = await call(matching.programme, programme_id)
    assert pool.members[revoked_mentor]["certified"] is False
    assert counts()["certified_mentors"] == 2 and counts()["mentees_unmatched"] == 1

    # erasure of a confirmed match's mentor: dissolved, then shredded
    confirmed = by_mentee[kept]
    erased_mentor = confirmed["mentor_id"]
    await call(matching.respond, confirmed["match_id"], kept, True)
    await call(matching.respond, confirmed["match_id"], erased_mentor, True)
    before = await call(matching.match, confirmed["match_id"])
    assert before.status == m.CONFIRMED and before.checks != ERASED
    await call(enrolment.erase_participant, erased_mentor, "asked to be forgotten")
    await until(lambda: matching.keys.is_destroyed(erased_mentor), "matching erased the mentor")
    after = await call(matching.match, confirmed["match_id"])
    assert after.status == m.DISSOLVED and after.end_cause == m.ERASED_CAUSE
    assert after.checks == ERASED and after.end_reason == ERASED
    assert (after.mentee_id, after.mentor_id, after.programme_id) == (
        kept,
        erased_mentor,
        before.programme_id,
    )
    assert after.score == before.score and after.origin == m.ROUND
    assert matching.keys.is_destroyed(confirmed["match_id"])
    assert not matching.keys.is_destroyed(revoked_match), "other pairs keep their explanation"
    assert counts() == {
        "mentors": 2,
        "certified_mentors": 1,
        "mentees": 2,
        "mentees_taken": 0,
        "mentees_unmatched": 2,
        "free_mentor_places": 1,
    }
    envelopes = [matching.envelope_mapper.decode(n)[1] for n in matching.notifications(0, 1000)]
    caused = [
        e for e in envelopes if e.get("causation_id", "").startswith(("enrolment:", "training:"))
    ]
    assert caused and {e["actor"] for e in caused} == {"service:matching"}


async def replay_changes_nothing(matching: MatchingApplication, url: str) -> None:
    """Redelivery of every message, and each participant's latest event applied again."""
    written = len(matching.notifications(0, 10_000))
    digest = matching.views.digest()
    for sub in (enrolment_subscription(matching), training_subscription(matching)):
        events = [decode(s.headers, s.data) for s in await read_stream(url, sub.stream)]
        assert events and sub.position() == max(e.sequence for e in events)
        # what the kernel does on redelivery: every position is known, nothing applied
        assert [await call(sub.apply, e) for e in events] == [False] * len(events)
        # past the kernel's tracking: the handlers alone change nothing either
        latest: dict[str, ReceivedEvent] = {}
        for event in events:
            if event.name in sub.handlers:
                latest[event.data.get("participantId", event.data["programmeId"])] = event
        for event in latest.values():
            assert list(await call(sub.handlers[event.name], event)) == [], event.name
    assert len(matching.notifications(0, 10_000)) == written
    assert matching.views.digest() == digest


# -- order across streams, idempotency, and erasure without NATS -------------------------------
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


def test_a_certification_may_come_before_the_programme_and_the_enrolment(
    matching_app: MatchingApplication,
) -> None:
    enrolment_sub, training_sub = (
        enrolment_subscription(matching_app),
        training_subscription(matching_app),
    )
    programme, mentor = str(uuid4()), str(uuid4())
    ids = {"participantId": mentor, "programmeId": programme}

    revoked_early = received("training", "CertificationRevoked", **ids)
    assert list(TRAINING_HANDLERS["CertificationRevoked"](matching_app, revoked_early)) == []
    assert training_sub.apply(revoked_early)  # tracked all the same
    assert matching_app.find_programme(UUID(programme)) is None, "nothing to record"

    certified = received("training", "MentorCertified", **ids, curriculumVersion=0)
    assert training_sub.apply(certified)
    pool = matching_app.programme(programme)
    assert pool.members[mentor] == {"role": "", "active": True, "certified": True}
    assert pool.pool_counts()["mentors"] == 0, "not a mentor until enrolment says so"
    assert list(TRAINING_HANDLERS["MentorCertified"](matching_app, certified)) == []

    rules = {"minAgeGapYears": 5, "mentorCapacity": 2, "sameDepartmentAllowed": True}
    created = received("enrolment", "ProgrammeCreated", programmeId=programme, rules=rules)
    assert enrolment_sub.apply(created)
    assert matching_app.programme(programme).rules == {
        "min_age_gap_years": 5,
        "mentor_capacity": 2,
        "same_department_allowed": True,
    }
    assert list(ENROLMENT_HANDLERS["ProgrammeCreated"](matching_app, created)) == []

    enrolled = received("enrolment", "ParticipantEnrolled", **ids, role="mentor")
    assert enrolment_sub.apply(enrolled)
    assert not enrolment_sub.apply(enrolled), "a redelivered position is not applied"
    assert list(ENROLMENT_HANDLERS["ParticipantEnrolled"](matching_app, enrolled)) == []
    pool = matching_app.programme(programme)
    assert pool.members[mentor] == {"role": "mentor", "active": True, "certified": True}
    assert pool.pool_counts()["free_mentor_places"] == 2

    mentee = str(uuid4())
    enrolment_sub.apply(
        received(
            "enrolment",
            "ParticipantEnrolled",
            participantId=mentee,
            programmeId=programme,
            role="mentee",
        )
    )
    withdrawn = received(
        "enrolment",
        "ParticipantWithdrawn",
        participantId=mentee,
        programmeId=programme,
        reason="workload",
    )
    assert enrolment_sub.apply(withdrawn)
    assert list(ENROLMENT_HANDLERS["ParticipantWithdrawn"](matching_app, withdrawn)) == []
    assert matching_app.programme(programme).pool_counts()["mentees"] == 0

    with pytest.raises(MalformedEvent):
        ENROLMENT_HANDLERS["ParticipantEnrolled"](
            matching_app,
            received(
                "enrolment",
                "ParticipantEnrolled",
                participantId=str(uuid4()),
                programmeId=programme,
                role="boss",
            ),
        )


def test_a_created_programme_with_default_rules_is_registered_once(
    matching_app: MatchingApplication,
) -> None:
    programme = str(uuid4())
    created = received("enrolment", "ProgrammeCreated", programmeId=programme, topicCodes=["ai"])
    assert len(ENROLMENT_HANDLERS["ProgrammeCreated"](matching_app, created)) == 1
    assert enrolment_subscription(matching_app).apply(created)
    assert matching_app.programme(programme).rules["mentor_capacity"] == 1
    assert list(ENROLMENT_HANDLERS["ProgrammeCreated"](matching_app, created)) == []


def test_revocation_cancels_proposals_and_leaves_confirmed_matches(
    matching_app: MatchingApplication, seed: Any
) -> None:
    programme = seed.programme(capacity=2)
    mentor = seed.mentor(programme)
    running, waiting = seed.mentee(programme), seed.mentee(programme)
    matching_app.run_round(programme)
    by_mentee = {x["mentee_id"]: x["match_id"] for x in matching_app.matches(programme)}
    assert set(by_mentee) == {running, waiting}
    matching_app.respond(by_mentee[running], running, True)
    matching_app.respond(by_mentee[running], mentor, True)

    revoked = received(
        "training",
        "RecertificationRequested",
        participantId=mentor,
        programmeId=programme,
        fromVersion=0,
        toVersion=1,
    )
    assert training_subscription(matching_app).apply(revoked)
    assert matching_app.match(by_mentee[running]).status == m.CONFIRMED
    assert matching_app.match(by_mentee[waiting]).status == m.CANCELLED
    pool = matching_app.programme(programme)
    assert pool.members[mentor]["certified"] is False
    assert pool.load == {mentor: 1} and running in pool.taken and waiting not in pool.taken
    assert list(TRAINING_HANDLERS["RecertificationRequested"](matching_app, revoked)) == []
    again = received(
        "training", "CertificationRevoked", participantId=mentor, programmeId=programme
    )
    assert list(TRAINING_HANDLERS["CertificationRevoked"](matching_app, again)) == []


def test_erasure_stores_the_closures_before_destroying_the_keys(
    matching_app: MatchingApplication, seed: Any
) -> None:
    programme = seed.programme(capacity=2)
    mentor = seed.mentor(programme)
    confirmed, proposed = seed.mentee(programme), seed.mentee(programme)
    matching_app.run_round(programme)
    by_mentee = {x["mentee_id"]: x["match_id"] for x in matching_app.matches(programme)}
    matching_app.respond(by_mentee[confirmed], confirmed, True)
    matching_app.respond(by_mentee[confirmed], mentor, True)

    erased = received("enrolment", "ParticipantErased", participantId=mentor, programmeId=programme)
    sub = enrolment_subscription(matching_app)
    assert sub.apply(erased)  # a dissolution seals its reason: it must precede the shredding
    dissolved, cancelled = (matching_app.match(by_mentee[k]) for k in (confirmed, proposed))
    assert (dissolved.status, dissolved.end_cause) == (m.DISSOLVED, m.ERASED_CAUSE)
    assert (cancelled.status, cancelled.end_cause) == (m.CANCELLED, m.ERASED_CAUSE)
    for match in (dissolved, cancelled):
        assert match.checks == ERASED and match.mentor_id == mentor
        assert matching_app.keys.is_destroyed(str(match.id))
    assert dissolved.end_reason == ERASED
    assert matching_app.keys.is_destroyed(mentor)
    pool = matching_app.programme(programme)
    assert not pool.is_active(mentor) and pool.taken == {} and pool.load == {}

    # redelivered past the tracking (a crash before it was recorded): nothing new
    written = len(matching_app.notifications(0, 1000))
    assert list(participant_erased(matching_app, erased)) == []
    assert len(matching_app.notifications(0, 1000)) == written


# -- EnrolmentAttributes against the real enrolment server ----------------------------------
async def test_attributes_come_from_enrolment_with_the_service_token(
    enrolment: EnrolmentApplication, enrolment_address: str, service_token_file: Path
) -> None:
    ids = await call(enrol_cohort, enrolment, 2, 3)
    mentor, other_mentor = ids[MENTOR]
    mentee, withdrawn, erased = ids[MENTEE]
    await call(enrolment.withdraw, withdrawn, "workload", "")
    await call(enrolment.erase_participant, erased, "asked to be forgotten")
    source = EnrolmentAttributes("matching", enrolment_address, chunk=2)  # 5 ids: three calls
    try:
        everyone = [*ids[MENTOR], *ids[MENTEE]]
        found = await call(source, [*everyone, mentor])
    finally:
        source.close()
    assert set(found) == set(everyone)
    assert found[mentor] == {
        "participant_id": mentor,
        "role": "mentor",
        "status": "enrolled",
        "employee_id": "E0",
        "manager_employee_id": "M-1",
        "department": "Dept-0",
        "site": "Paris",
        "time_zone": "Europe/Paris",
        "birth_year": 1999,
        "languages": ["en"],
        "skills_offered": ["generative-ai"],
        "skill_levels": {},
        "learning_needs": [],
        "availability": [(2, "09:00", "10:30")],
        "meeting_preference": "virtual",
    }
    assert found[mentee]["learning_needs"] == [("generative-ai", 1)]
    assert found[mentee]["meeting_preference"] == "either"
    assert found[other_mentor]["role"] == "mentor" and found[mentee]["role"] == "mentee"
    assert found[withdrawn]["status"] == "withdrawn"
    assert found[erased]["status"] == "erased"
    assert await call(EnrolmentAttributes("matching", enrolment_address), []) == {}


async def test_refused_tokens_and_an_absent_enrolment_are_explained(
    tmp_path: Path,
    enrolment: EnrolmentApplication,
    enrolment_address: str,
    enrolment_issuer: DevIssuer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = await call(enrol_cohort, enrolment, 1, 0)
    wanted = ids[MENTOR]

    async def refusal(source: EnrolmentAttributes) -> str:
        try:
            with pytest.raises(AttributesUnavailable) as caught:
                await call(source, wanted)
        finally:
            source.close()
        return str(caught.value)

    monkeypatch.delenv(TOKEN_VARIABLE, raising=False)
    monkeypatch.delenv("REVMENTOR_SERVICE_TOKEN_FILE", raising=False)
    said = await refusal(EnrolmentAttributes("matching", enrolment_address))
    assert TOKEN_VARIABLE in said and "no service token" in said

    stranger = DevIssuer(tmp_path / "stranger")  # a key enrolment does not trust
    token_file = tmp_path / "wrong.token"
    token_file.write_text(stranger.token("service", service="matching"), encoding="utf-8")
    monkeypatch.setenv(TOKEN_VARIABLE, str(token_file))
    said = await refusal(EnrolmentAttributes("matching", enrolment_address))
    assert f"enrolment at {enrolment_address} refused matching's token" in said
    assert "UNAUTHENTICATED" in said and TOKEN_VARIABLE in said

    # the file is re-read when it changes: the right token now works, same source object
    source = EnrolmentAttributes("matching", enrolment_address)
    with pytest.raises(AttributesUnavailable):
        await call(source, wanted)
    token_file.write_text(
        enrolment_issuer.token("service", sub="service:matching", service="matching") + "\n",
        encoding="utf-8",
    )
    assert set(await call(source, wanted)) == set(wanted)
    source.close()

    person = enrolment_issuer.token("mentee", sub="someone")  # known, but not a service
    said = await refusal(EnrolmentAttributes("matching", enrolment_address, token=lambda: person))
    assert "PERMISSION_DENIED" in said and "service token" in said

    nowhere = f"127.0.0.1:{free_port()}"
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", nowhere)
    said = await refusal(EnrolmentAttributes("matching", token=lambda: person, timeout=2))
    assert f"enrolment at {nowhere} did not answer" in said
    assert "REVMENTOR_ENROLMENT_ADDR" in said


# -- expiry, exactly once -------------------------------------------------------------------
def test_expiry_racing_on_two_applications_happens_once(
    store: dict[str, str], matching_app: MatchingApplication, seed: Any, table: Any
) -> None:
    programme = seed.programme()
    for _ in range(4):
        seed.mentor(programme)
    mentees = [seed.mentee(programme) for _ in range(3)]
    first = matching_app.run_round(programme)
    assert len(first.proposals) == 3
    proposed = {(p["mentee_id"], p["mentor_id"]) for p in first.proposals}

    other = MatchingApplication(env=store, attributes=table)
    later = datetime.now(UTC) + timedelta(days=8)
    assert matching_app.expire_due(datetime.now(UTC)) == 0, "not due yet"
    try:
        barrier = threading.Barrier(2)
        counts: list[int] = []
        errors: list[BaseException] = []

        def expire(app: MatchingApplication) -> None:
            try:
                barrier.wait(5)
                counts.append(app.expire_due(later))
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=expire, args=(a,)) for a in (matching_app, other)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert not errors, errors
        left = other.expire_due(later) + matching_app.expire_due(later)  # lost races: next pass
        assert sum(counts) + left == 3
        assert other.expire_due(later) == 0 and matching_app.expire_due(later) == 0
    finally:
        other.close()

    expired = [
        e
        for n in matching_app.notifications(0, 10_000)
        for e in [matching_app.envelope_mapper.decode(n)[0]]
        if type(e).__qualname__ == "Match.Expired"
    ]
    assert len(expired) == 3 and len({e.originator_id for e in expired}) == 3
    pool = matching_app.programme(programme)
    assert {tuple(k.split("/")) for k in pool.declined} == proposed
    assert pool.taken == {} and pool.load == {}

    again = matching_app.run_round(programme)
    assert {p["mentee_id"] for p in again.proposals} == set(mentees)
    assert not proposed & {(p["mentee_id"], p["mentor_id"]) for p in again.proposals}
