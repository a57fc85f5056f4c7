"""Fuzzing: every RPC of every service answers hostile input with a domain status.

What it proves: for each of the five services - its real gRPC server with the
kernel's interceptor, its real application on a SQLite store, seeded with a
small programme (a mentor and a mentee enrolled, certified, matched, a
mentorship with sessions, surveys and feedback requests open) - and for the
auditors' ``AuditLogService`` each of them serves (``ReplayProgramme``
streaming included), requests generated from the proto descriptors alone
(hostile strings: empty, 10 kB, unicode, control characters, SQL and format
strings, UUID-shaped and near-UUID text, broken dates; integers at their
bounds; unknown enum values; repeated fields with duplicates; nested messages
and maps) or, half the time, plausible ones (near dates, small numbers, defined
enum values) to reach past validation, half of the ``*_id`` fields holding the
id of an object that exists, called as admin, programme manager (of the seeded programme), mentor
and mentee (the seeded ones), auditor and a service identity, get only the
answers in :data:`ALLOWED` - a status a client can act on, with a message -
never INTERNAL or UNKNOWN; and the server still answers its health check after
every call.

RPCs are enumerated from the service descriptors, so a new RPC is fuzzed
without touching this file. The run is bounded for CI: ``FUZZ_EXAMPLES``
examples per RPC (default 80), derandomized (the same inputs on every run);
``FUZZ_EXAMPLES=500 FUZZ_RANDOM=1`` for a longer, random local run
(``FUZZ_REPORT=1 pytest -s`` prints the answers each RPC gave).

Limits: commands whose request must be valid as a whole (CreateProgramme,
EnrolParticipant, ScheduleSession...) rarely get past validation from
generated input; their valid paths are the services' own tests' job. The
state drifts as the fuzzer closes, erases and ends what was seeded.

The allowed codes, and why each is a legitimate domain answer:
- OK: the hostile input happened to be acceptable.
- INVALID_ARGUMENT (``ValidationFailed``): a field breaks a rule; it must name
  the field and the rule (``google.rpc.BadRequest`` field violations).
- NOT_FOUND (``NotFound``): no such object - or one the caller may not see.
- FAILED_PRECONDITION (``IllegalTransition``): the object's state forbids it.
- ALREADY_EXISTS (``AlreadyExists``): a create that would duplicate.
- ABORTED (``ConcurrencyConflict``): a stale ``expected_version``.
- PERMISSION_DENIED (``AccessDenied``): the role table or an object rule.
- RESOURCE_EXHAUSTED: only ``ReplayProgramme``'s cap on concurrent replays
  (the rate limit is raised out of the way here: it is tested on its own).
Never allowed: INTERNAL, UNKNOWN (an unexpected exception), UNAVAILABLE (every
upstream - enrolment for ownership, NATS for checkpoints - is up here),
UNAUTHENTICATED (every token is valid), DEADLINE_EXCEEDED (a hang).
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import grpc
import nats
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import DevIssuer

from revmentor.audit.v1 import audit_pb2
from revmentor.enrolment.domain.profile import (
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.v1 import enrolment_pb2
from revmentor.feedback.v1 import feedback_pb2
from revmentor.kernel import auditlog
from revmentor.kernel.attributes import EnrolmentAttributes
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.grpc_server import GrpcServer, field_violations
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.kernel.ratelimit import RateLimiter
from revmentor.kernel.streams import declare_streams
from revmentor.matching.v1 import matching_pb2
from revmentor.scheduling.v1 import scheduling_pb2
from revmentor.training.v1 import training_pb2

#: Examples per RPC; the default keeps the whole module within about a minute.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "80"))
#: Random (not derandomized) inputs, for longer local runs.
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"

OK = grpc.StatusCode.OK
ALLOWED = frozenset(
    {
        OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.PERMISSION_DENIED,
    }
)
#: Codes allowed for one RPC only, with the reason.
ALLOWED_FOR: Mapping[str, frozenset[grpc.StatusCode]] = {
    # at most MAX_REPLAYS replays at once per process
    "revmentor.audit.v1.AuditLogService/ReplayProgramme": frozenset(
        {grpc.StatusCode.RESOURCE_EXHAUSTED}
    ),
}

SERVICES = ("enrolment", "training", "matching", "scheduling", "feedback")
MODULES = {
    "enrolment": enrolment_pb2,
    "training": training_pb2,
    "matching": matching_pb2,
    "scheduling": scheduling_pb2,
    "feedback": feedback_pb2,
}
MENTOR_EMPLOYEE, MENTEE_EMPLOYEE = "E-FUZZ-MENTOR", "E-FUZZ-MENTEE"
TOPICS = ("generative-ai", "social-media", "data-privacy")
CALL_TIMEOUT = 30.0


# -- the callers -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Caller:
    name: str
    roles: tuple[str, ...]
    claims: Mapping[str, Any] = field(default_factory=dict)


def callers(programme_id: str) -> list[Caller]:
    return [
        Caller("admin", ("admin",)),
        Caller("manager", ("programme_manager",), {"programmes": [programme_id]}),
        Caller("mentor", ("mentor",), {"employee_id": MENTOR_EMPLOYEE}),
        Caller("mentee", ("mentee",), {"employee_id": MENTEE_EMPLOYEE}),
        Caller("auditor", ("auditor",)),
        Caller("service", ("service",), {"service": "matching"}),
    ]


# -- the servers, in a thread of their own ---------------------------------------------------------
@dataclass
class Served:
    """One service's server: where it listens and what it serves."""

    name: str
    port: int
    app: Any
    services: list[str]


class Cluster:
    """The five services' gRPC servers (each with its AuditLogService) over
    SQLite stores, in an event loop on a background thread of this process."""

    def __init__(self, root: Path):
        self.root = root
        self.issuer = DevIssuer(root / "auth")
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-servers")
        self.served: dict[str, Served] = {}
        self.known: dict[str, list[str]] = {}
        self.tokens: dict[str, str] = {}
        self._servers: list[GrpcServer] = []
        self._closers: list[Callable[[], Any]] = []
        self.nats = LocalNatsServer(store_dir=root / "nats", log_file=root / "nats.log")

    def run(self, coroutine: Any, timeout: float = 120.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self) -> None:
        self.nats.start()
        self.thread.start()
        self.run(self._start())

    def stop(self) -> None:
        try:
            self.run(self._stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            self.nats.stop()

    def store(self, name: str) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(self.root / f"{name}.sqlite"),
        }

    async def _serve(self, name: str, app: Any, register: Any, servicer: Any, full: str) -> None:
        server = GrpcServer(
            name,
            "127.0.0.1",
            0,
            grace_seconds=0.5,
            authenticator=self.issuer.authenticator(),
            # out of the way: thousands of calls a minute from one caller
            limiter=RateLimiter(rate=1e9, burst=1e9),
        )
        server.add(register, servicer, [full])
        audit = auditlog.AuditLogServicer(app, self.nats.url, name)
        server.add(auditlog.register, audit, [auditlog.SERVICE_NAME])
        port = await server.start()
        self._servers.append(server)
        self.served[name] = Served(name, port, app, [full, auditlog.SERVICE_NAME])

    async def _start(self) -> None:
        nc = await nats.connect(self.nats.url)
        try:
            await declare_streams(nc.jetstream(timeout=5))
        finally:
            await nc.close()
        seed = await asyncio.to_thread(seed_enrolment, self.store("enrolment"))
        self._closers.append(seed.app.close)
        from revmentor.enrolment.api import SERVICE_NAME as ENROLMENT
        from revmentor.enrolment.api import EnrolmentServicer
        from revmentor.enrolment.v1 import enrolment_pb2_grpc

        await self._serve(
            "enrolment",
            seed.app,
            enrolment_pb2_grpc.add_EnrolmentServiceServicer_to_server,
            EnrolmentServicer(seed.app),
            ENROLMENT,
        )
        enrolment_address = f"127.0.0.1:{self.served['enrolment'].port}"
        seed.issuer, seed.enrolment_address = self.issuer, enrolment_address
        known = seed.known
        for name, build in (
            ("training", build_training),
            ("matching", build_matching),
            ("scheduling", build_scheduling),
            ("feedback", build_feedback),
        ):
            ownership = OwnershipCheck(name, address=enrolment_address, ttl_seconds=60.0)
            self._closers.append(ownership.close)
            app, register, servicer, full, more = await asyncio.to_thread(
                build, self.store(name), ownership, seed
            )
            self._closers.append(app.close)
            for key, values in more.items():
                known.setdefault(key, []).extend(values)
            await self._serve(name, app, register, servicer, full)
        self._closers += [source.close for source in seed.sources.values()]
        aggregates = known.setdefault("aggregate_id", [])
        for served in self.served.values():
            rows = served.app.notifications(0, 50)
            aggregates.extend(sorted({str(row.originator_id) for row in rows})[:5])
        self.known = {key: sorted(set(values)) for key, values in known.items()}
        for who in callers(seed.programme_id):
            self.tokens[who.name] = self.issuer.token(
                list(who.roles), sub=f"fuzz-{who.name}", ttl=6 * 3600, **dict(who.claims)
            )

    async def _stop(self) -> None:
        for server in self._servers:
            await server.stop()
        for close in reversed(self._closers):
            result = close()
            if asyncio.iscoroutine(result):
                await result


# -- seeding: one small programme, the same ids in every service -----------------------------------
@dataclass
class Seed:
    app: Any
    programme_id: str
    mentor_id: str
    mentee_id: str
    start: datetime
    known: dict[str, list[str]]
    #: service -> its attribute source: the enrolment server, asked with a service token
    sources: dict[str, EnrolmentAttributes] = field(default_factory=dict)
    issuer: DevIssuer | None = None
    enrolment_address: str = ""

    def attributes(self, service: str) -> EnrolmentAttributes:
        assert self.issuer is not None
        token = self.issuer.token("service", sub=service, service=service, ttl=6 * 3600)
        source = EnrolmentAttributes(service, address=self.enrolment_address, token=lambda: token)
        self.sources[service] = source
        return source


def _profile(mentor: bool) -> Profile:
    return Profile(
        display_name="Fuzz Mentor" if mentor else "Fuzz Mentee",
        email="fuzz@example.com",
        birth_year=1999 if mentor else 1966,
        department="Data" if mentor else "Finance",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en", "fr"),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=tuple(AvailabilityWindow(d, "08:00", "18:00") for d in range(1, 6)),
        meeting_preference="either",
    )


def seed_enrolment(store: dict[str, str]) -> Seed:
    from revmentor.enrolment.application import EnrolmentApplication

    app = EnrolmentApplication(env=store)
    today = datetime.now(UTC)
    start = today - timedelta(days=30)
    programme = app.create_programme(
        "Fuzzed programme",
        "",
        start.date().isoformat(),
        (today + timedelta(days=200)).date().isoformat(),
        [Topic(code, code.replace("-", " ").title()) for code in TOPICS],
        ProgrammeRules(),
    )
    programme_id = str(programme.id)
    app.open_enrolment(programme_id)
    consent = Consent(given=True, notice_version="2025-01")
    mentor = app.enrol(programme_id, MENTOR_EMPLOYEE, "mentor", _profile(True), consent)
    mentee = app.enrol(programme_id, MENTEE_EMPLOYEE, "mentee", _profile(False), consent)
    known = {
        "programme_id": [programme_id],
        "participant_id": [str(mentor.id), str(mentee.id)],
        "mentor_id": [str(mentor.id)],
        "mentee_id": [str(mentee.id)],
        "employee_id": [MENTOR_EMPLOYEE, MENTEE_EMPLOYEE],
        "topic": list(TOPICS),
        "code": list(TOPICS),
        "skills_offered": list(TOPICS),
        "topics": list(TOPICS),
        "time_zone": ["Europe/Paris", "UTC", "America/New_York"],
    }
    return Seed(app, programme_id, str(mentor.id), str(mentee.id), start, known)


Built = tuple[Any, Any, Any, str, dict[str, list[str]]]


def build_training(store: dict[str, str], ownership: OwnershipCheck, seed: Seed) -> Built:
    from revmentor.training.api import SERVICE_NAME, TrainingServicer
    from revmentor.training.application import TrainingApplication
    from revmentor.training.domain.curriculum import ProgrammeTraining
    from revmentor.training.domain.record import TrainingRecord
    from revmentor.training.v1 import training_pb2_grpc

    app = TrainingApplication(env=store)
    programme_id = UUID(seed.programme_id)
    app.save(ProgrammeTraining.register(programme_id, seed.start.date().isoformat()))
    programme = app.find_programme(programme_id)
    assert programme is not None
    modules = programme.current_modules
    for pid, role in ((seed.mentor_id, "mentor"), (seed.mentee_id, "mentee")):
        record = TrainingRecord.open(
            UUID(pid), programme_id, role, programme.current_version, modules
        )
        app.save(record)
    module_ids = [str(getattr(module, "module_id", "")) for module in modules]
    more = {"module_id": [m for m in module_ids if m]}
    register = training_pb2_grpc.add_TrainingServiceServicer_to_server
    return app, register, TrainingServicer(app, ownership), SERVICE_NAME, more


def build_matching(store: dict[str, str], ownership: OwnershipCheck, seed: Seed) -> Built:
    from revmentor.matching.api import SERVICE_NAME, MatchingServicer
    from revmentor.matching.application import MatchingApplication
    from revmentor.matching.domain.programme import MatchingProgramme
    from revmentor.matching.v1 import matching_pb2_grpc

    app = MatchingApplication(env=store, attributes=seed.attributes("matching"))
    programme = MatchingProgramme(programme_id=UUID(seed.programme_id))
    programme.record_rules(
        {"min_age_gap_years": 10, "mentor_capacity": 2, "same_department_allowed": False}
    )
    app.save(programme)
    pool = app.programme(seed.programme_id)
    pool.enrol(seed.mentor_id, "mentor")
    pool.set_certified(seed.mentor_id, True)
    pool.enrol(seed.mentee_id, "mentee")
    app.save(pool)
    record = app.run_round(seed.programme_id)
    matches = app.matches(programme_id=seed.programme_id)
    more = {
        "round_id": [str(record.id)],
        "match_id": [str(match["match_id"]) for match in matches],
    }
    register = matching_pb2_grpc.add_MatchingServiceServicer_to_server
    return app, register, MatchingServicer(app, ownership), SERVICE_NAME, more


def build_scheduling(store: dict[str, str], ownership: OwnershipCheck, seed: Seed) -> Built:
    from revmentor.scheduling.api import SERVICE_NAME, SchedulingServicer
    from revmentor.scheduling.application import SchedulingApplication
    from revmentor.scheduling.v1 import scheduling_pb2_grpc

    app = SchedulingApplication(env=store, attributes=seed.attributes("scheduling"))
    programme = app.programme_of(UUID(seed.programme_id))
    end = datetime.now(UTC) + timedelta(days=200)
    programme.record_facts(seed.start.date().isoformat(), end.date().isoformat(), 6)
    app.save(programme)
    match_id = str(uuid.uuid4())
    app.save(
        *app.open_mentorship(match_id, UUID(seed.programme_id), seed.mentee_id, seed.mentor_id)
    )
    mentorship = app.find_mentorship_of_match(match_id)
    assert mentorship is not None
    mentorship_id = str(mentorship.id)
    sessions = []
    soon = (datetime.now(UTC) + timedelta(days=9)).strftime("%Y-%m-%dT10:00")
    _, session_id = app.schedule_session(
        mentorship_id, soon, "Europe/Paris", 60, "virtual", meeting_link="https://meet.example/a"
    )
    sessions.append(session_id)
    past = (datetime.now(UTC) - timedelta(days=5)).strftime("%Y-%m-%dT10:00")
    _, session_id = app.log_past_session(
        mentorship_id, past, "Europe/Paris", 60, "virtual", meeting_link="https://meet.example/b"
    )
    sessions.append(session_id)
    more = {"mentorship_id": [mentorship_id], "session_id": sessions, "match_id": [match_id]}
    register = scheduling_pb2_grpc.add_SchedulingServiceServicer_to_server
    return app, register, SchedulingServicer(app, ownership), SERVICE_NAME, more


def _received(upstream: str, name: str, sequence: int, **data: Any) -> ReceivedEvent:
    return ReceivedEvent(
        id=f"{upstream}:{sequence}",
        source=f"/revmentor/{upstream}",
        type=f"revmentor.{upstream}.v1.{name}",
        time=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        subject=str(data.get("programmeId", "")),
        sequence=sequence,
        actor="",
        correlation_id="",
        causation_id="",
        traceparent="",
        data=data,
    )


def build_feedback(store: dict[str, str], ownership: OwnershipCheck, seed: Seed) -> Built:
    from revmentor.feedback.api import SERVICE_NAME, FeedbackServicer
    from revmentor.feedback.application import FeedbackApplication
    from revmentor.feedback.subscriptions import UPSTREAMS, subscription
    from revmentor.feedback.v1 import feedback_pb2_grpc

    app = FeedbackApplication(env=store)
    subscriptions = {name: subscription(app, name) for name in UPSTREAMS}
    p, mentor, mentee = seed.programme_id, seed.mentor_id, seed.mentee_id
    match_id, mentorship_id, session_id = (str(uuid.uuid4()) for _ in range(3))
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    events: list[tuple[str, str, dict[str, Any]]] = [
        ("enrolment", "ProgrammeCreated", {"programmeId": p, "topicCodes": list(TOPICS)}),
        (
            "enrolment",
            "ParticipantEnrolled",
            {"participantId": mentor, "programmeId": p, "role": "mentor"},
        ),
        (
            "enrolment",
            "ParticipantEnrolled",
            {"participantId": mentee, "programmeId": p, "role": "mentee"},
        ),
        (
            "training",
            "MentorCertified",
            {"participantId": mentor, "programmeId": p, "curriculumVersion": 1},
        ),
        (
            "matching",
            "MatchConfirmed",
            {
                "matchId": match_id,
                "programmeId": p,
                "menteeId": mentee,
                "mentorId": mentor,
                "confirmedAt": now,
            },
        ),
        (
            "scheduling",
            "MentorshipOpened",
            {
                "mentorshipId": mentorship_id,
                "programmeId": p,
                "matchId": match_id,
                "menteeId": mentee,
                "mentorId": mentor,
                "plannedSessions": 6,
            },
        ),
        (
            "scheduling",
            "SessionHeld",
            {
                "sessionId": session_id,
                "mentorshipId": mentorship_id,
                "programmeId": p,
                "menteeId": mentee,
                "mentorId": mentor,
                "start": now,
                "durationMinutes": 60,
                "heldCount": 1,
            },
        ),
    ]
    for sequence, (upstream, name, data) in enumerate(events, start=1):
        subscriptions[upstream].apply(_received(upstream, name, sequence, **data))
    surveys = [
        str(s["survey_id"]) for pid in (mentor, mentee) for s in app.surveys(pid, open_only=False)
    ]
    more = {
        "survey_id": surveys,
        "session_id": [session_id],
        "match_id": [match_id],
        "mentorship_id": [mentorship_id],
    }
    register = feedback_pb2_grpc.add_FeedbackServiceServicer_to_server
    return app, register, FeedbackServicer(app, ownership), SERVICE_NAME, more


# -- strategies from the descriptors ---------------------------------------------------------------
_TEXT = st.characters(exclude_categories=["Cs"])  # proto strings are UTF-8: no lone surrogates
HOSTILE_WORDS = [
    "' OR 1=1 --",
    "'; DROP TABLE stored_events; --",
    '"; SELECT * FROM sqlite_master; --',
    "%s%s%s%n",
    "%(name)s",
    "{0}{1}",
    "{__class__.__mro__}",
    "${jndi:ldap://x}",
    "../../../../etc/passwd",
    "\\",
    "null",
    "None",
    "NaN",
    "-Infinity",
    "1e309",
    "-1",
    "0",
    "<script>alert(1)</script>",
    "\x00",
    "\u202e\u200b\ufeff",
    "\U0001f600" * 3,
    "ǅ̸̡͓̈́",
    " ",
    "\t\n\r",
]
UUID_LIKE = [
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "00000000000000000000000000000000",
    "urn:uuid:12345678-1234-5678-1234-567812345678",
    "{12345678-1234-5678-1234-567812345678}",
    "12345678-1234-5678-1234-56781234567",
    "12345678-1234-5678-1234-5678123456789",
    "12345678-1234-5678-1234-56781234567g",
    "12345678_1234_5678_1234_567812345678",
]
DATES = [
    "2027-03-01",
    "2027-02-30",
    "2027-13-01",
    "2027-00-10",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "-0001-01-01",
    "20270301",
    "2027-W09-1",
    "2027-03-01T09:00",
    "2027-03-01T09:00:00",
    "2027-03-01T09:00:00Z",
    "2027-03-01T09:00:00+14:00",
    "2027-03-01T09:00:00-12:00",
    "2027-03-01T09:00:00+25:00",
    "2027-03-01T25:61:00Z",
    "2027-03-01T09:00:00.123456789Z",
    "2027-03-31T02:30",  # a DST gap in Europe
    "2027-10-31T02:30",  # a DST fold in Europe
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "now",
    "09:00",
    "24:00",
    "23:59",
    "9:0",
    "99:99",
    "-01:00",
]
ZONES = [
    "Europe/Paris",
    "UTC",
    "Mars/Olympus",
    "../../etc/localtime",
    "+05:00",
    "Etc/GMT+14",
    "utc",
]
TOKENS = [
    base64.urlsafe_b64encode(text.encode()).decode()
    for text in ("o:1", "o:-1", "o:" + "9" * 30, "o:1e3", "o:", "p:3", "p:" + "9" * 30, "v:1")
] + ["====", "o:1", "\xff"]


def _near_uuid(value: UUID, index: int, char: str) -> str:
    text = str(value)
    return text[:index] + char + text[index + 1 :]


def hostile_strings(max_huge: int = 10_000) -> st.SearchStrategy[str]:
    uuids = st.uuids().map(str)
    return st.one_of(
        st.just(""),
        st.sampled_from(HOSTILE_WORDS),
        st.text(_TEXT, max_size=40),
        st.text(st.characters(max_codepoint=0x20) | st.sampled_from("\x7f\x85\u2028"), max_size=8),
        uuids,
        uuids.map(str.upper),
        st.sampled_from(UUID_LIKE),
        st.builds(_near_uuid, st.uuids(), st.integers(0, 35), st.sampled_from("gZ-_ {")),
        st.sampled_from(DATES),
        st.sampled_from(ZONES),
        st.sampled_from(TOKENS),
        st.builds(
            lambda n, s: (s * n)[:n], st.integers(1000, max_huge), st.sampled_from("xé\U0001f600")
        ),
    )


INT_BOUNDS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}


def integers(low: int, high: int) -> st.SearchStrategy[int]:
    edges = [
        v for v in (0, 1, -1, 2, 5, 60, 100, 1000, low, high, low + 1, high - 1) if low <= v <= high
    ]
    return st.one_of(
        st.sampled_from(edges),
        st.integers(-3, 10).filter(lambda v: low <= v <= high),
        st.integers(low, high),
    )


def plausible_strings() -> st.SearchStrategy[str]:
    """Text a real client might send: dates and instants near now, a zone, a link."""
    now = datetime.now(UTC)
    days = st.integers(-60, 200).map(lambda d: now + timedelta(days=d))
    return st.one_of(
        st.just(""),
        days.map(lambda t: t.date().isoformat()),
        days.map(lambda t: t.strftime("%Y-%m-%dT%H:00")),
        days.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")),
        st.sampled_from(["Europe/Paris", "UTC", "https://meet.example/fuzz", "Room 4", "en"]),
        st.text("abcdefghij -", min_size=1, max_size=12),
    )


class Strategies:
    """Request strategies from message descriptors, with the seeded ids mixed in.

    ``plausible``: values a real client might send (known ids, near dates,
    small numbers, defined enum values), to get past validation into the
    domain; otherwise hostile ones."""

    MAX_DEPTH = 4

    def __init__(self, known: Mapping[str, Sequence[str]], plausible: bool = False):
        self.known = known
        self.plausible = plausible

    def string(self, name: str) -> st.SearchStrategy[str]:
        hostile = plausible_strings() if self.plausible else hostile_strings()
        known = self.known.get(name) or self.known.get(name.removesuffix("s"))
        if name.endswith("_id") and not known:
            known = self.known.get("participant_id")
        if known:
            return st.one_of(st.sampled_from(list(known)), hostile)  # about half the time
        return hostile

    def scalar(self, f: Any) -> st.SearchStrategy[Any]:
        t = f.type
        if t == FieldDescriptor.TYPE_STRING:
            return self.string(f.name)
        if t == FieldDescriptor.TYPE_BYTES:
            return st.binary(max_size=64)
        if t == FieldDescriptor.TYPE_BOOL:
            return st.booleans()
        if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            edges = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5, 1e308, -1e308, 5e-324])
            floats = st.floats(width=32) if t == FieldDescriptor.TYPE_FLOAT else st.floats()
            return st.one_of(edges, floats)  # NaN and infinities included
        if t == FieldDescriptor.TYPE_ENUM:
            values = [v.number for v in f.enum_type.values]
            if self.plausible:
                return st.sampled_from(values)
            unknown = [max(values) + 1, 99, -1, 2**31 - 1, -(2**31)]
            return st.sampled_from(values + unknown)
        if t in INT_BOUNDS and self.plausible:
            return st.one_of(st.integers(0, 10), st.sampled_from([30, 45, 60, 90, 1990]))
        if t in INT_BOUNDS:
            return integers(*INT_BOUNDS[t])
        raise AssertionError(f"no strategy for field {f.full_name} of type {t}")

    def single(self, f: Any, depth: int) -> st.SearchStrategy[Any]:
        if f.type == FieldDescriptor.TYPE_MESSAGE:
            return self.message(f.message_type, depth + 1)
        return self.scalar(f)

    def value(self, f: Any, depth: int) -> st.SearchStrategy[Any] | None:
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            key, value = (
                f.message_type.fields_by_name["key"],
                f.message_type.fields_by_name["value"],
            )
            keys = (
                self.scalar(key) if key.type != FieldDescriptor.TYPE_STRING else self.string(f.name)
            )
            return st.dictionaries(keys, self.single(value, depth), max_size=5)
        if f.type == FieldDescriptor.TYPE_MESSAGE and depth >= self.MAX_DEPTH:
            return None
        one = self.single(f, depth)
        if not f.is_repeated:
            return one
        if self.plausible:
            return st.lists(one, max_size=3)
        return st.one_of(
            st.lists(one, max_size=4),
            one.flatmap(lambda item: st.integers(2, 4).map(lambda n: [item] * n)),  # duplicates
            st.lists(one, min_size=30, max_size=60),
        )

    def message(self, descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
        cls = message_factory.GetMessageClass(descriptor)
        optional = {}
        for f in descriptor.fields:
            strategy = self.value(f, depth)
            if strategy is not None:
                optional[f.name] = strategy
        return st.fixed_dictionaries({}, optional=optional).map(lambda values: build(cls, values))


def build(cls: type[Message], values: Mapping[str, Any]) -> Message:
    message = cls()
    for name, value in values.items():
        f: Any = message.DESCRIPTOR.fields_by_name[name]
        target: Any = getattr(message, name) if f.is_repeated else None
        if f.type == FieldDescriptor.TYPE_MESSAGE and f.message_type.GetOptions().map_entry:
            entry = f.message_type.fields_by_name["value"]
            for key, item in value.items():
                if entry.type == FieldDescriptor.TYPE_MESSAGE:
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif f.is_repeated and f.type == FieldDescriptor.TYPE_MESSAGE:
            for item in value:
                target.add().CopyFrom(item)
        elif f.is_repeated:
            target.extend(value)
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            getattr(message, name).CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


# -- the RPCs --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Rpc:
    service: str  # which process serves it
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def id(self) -> str:
        return f"{self.service}:{self.method.containing_service.name}.{self.method.name}"


def every_rpc() -> list[Rpc]:
    """Each service's own RPCs and the AuditLogService it also serves."""
    found = []
    audit = audit_pb2.DESCRIPTOR.services_by_name["AuditLogService"]
    for name in SERVICES:
        for service in MODULES[name].DESCRIPTOR.services_by_name.values():
            found += [Rpc(name, method) for method in service.methods]
        found += [Rpc(name, method) for method in audit.methods]
    return found


RPCS = every_rpc()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("fuzz")
    saved = os.environ.get("REVMENTOR_VAR_DIR")
    os.environ["REVMENTOR_VAR_DIR"] = str(root / "var")  # development audit keys go here
    running = Cluster(root)
    try:
        running.start()
        yield running
    finally:
        running.stop()
        if saved is None:
            os.environ.pop("REVMENTOR_VAR_DIR", None)
        else:
            os.environ["REVMENTOR_VAR_DIR"] = saved


@pytest.fixture(scope="module")
def channels(cluster: Cluster) -> Iterator[dict[str, grpc.Channel]]:
    opened = {
        name: grpc.insecure_channel(f"127.0.0.1:{served.port}", options=ROOMY_METADATA)
        for name, served in cluster.served.items()
    }
    yield opened
    for channel in opened.values():
        channel.close()


#: Clients accept trailers up to 8 KiB (soft: dropped at random above) and 16 KiB
#: (hard). The fuzzing channels take more, so a status is judged by what the
#: server sent; whether it fits the default limits is its own test below.
ROOMY_METADATA = [
    ("grpc.max_metadata_size", 256 * 1024),
    ("grpc.absolute_max_metadata_size", 256 * 1024),
]
DEFAULT_SOFT_LIMIT = 8192


def trailer_bytes(error: grpc.RpcError) -> int:
    """About what the status costs in the trailers: the percent-encoded
    ``grpc-message`` and the base64 ``grpc-status-details-bin``, plus the rest."""
    message = (error.details() or "").encode()
    size = sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in message)
    trailers: Any = error.trailing_metadata() or ()  # type: ignore[attr-defined]
    for key, value in trailers:
        if key == "grpc-status-details-bin":
            size += -(-len(value) * 4 // 3)
    return size + 200  # :status, content-type, grpc-status and the keys


def call(
    channel: grpc.Channel, rpc: Rpc, request: Message, token: str
) -> tuple[grpc.StatusCode, str, list[tuple[str, str]]]:
    """The status code, its message and its field violations for one call."""
    output = message_factory.GetMessageClass(rpc.method.output_type)
    metadata = (("authorization", f"Bearer {token}"),)
    try:
        if rpc.method.server_streaming:
            stream = channel.unary_stream(
                rpc.path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=output.FromString,
            )
            list(stream(request, metadata=metadata, timeout=CALL_TIMEOUT))  # read it to the end
        else:
            unary = channel.unary_unary(
                rpc.path,
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=output.FromString,
            )
            unary(request, metadata=metadata, timeout=CALL_TIMEOUT)
    except grpc.RpcError as error:
        try:
            violations = field_violations(error)
        except ValueError:  # the status the server sent was lost on the way (see the code)
            violations = []
        return error.code(), error.details() or "", violations
    return OK, "", []


def healthy(channel: grpc.Channel) -> bool:
    reply = health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=10
    )
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


#: rpc id -> status code name -> times answered (``FUZZ_REPORT=1`` prints it).
ANSWERS: dict[str, Counter[str]] = defaultdict(Counter)


@pytest.fixture(scope="module", autouse=True)
def answers_report() -> Iterator[None]:
    yield
    if os.environ.get("FUZZ_REPORT") == "1":
        for rpc_id, counts in sorted(ANSWERS.items()):
            print(rpc_id, dict(sorted(counts.items())))


CALLER_NAMES = ("admin", "manager", "mentor", "mentee", "auditor", "service")


@pytest.mark.parametrize("rpc", RPCS, ids=[rpc.id for rpc in RPCS])
def test_hostile_requests_get_a_domain_answer(
    rpc: Rpc, cluster: Cluster, channels: dict[str, grpc.Channel]
) -> None:
    requests = st.one_of(
        Strategies(cluster.known).message(rpc.method.input_type),
        Strategies(cluster.known, plausible=True).message(rpc.method.input_type),
    )
    channel = channels[rpc.service]
    allowed = ALLOWED | ALLOWED_FOR.get(rpc.path.lstrip("/"), frozenset())

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not RANDOM,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(request=requests, who=st.sampled_from(CALLER_NAMES))
    def fuzz(request: Message, who: str) -> None:
        code, details, violations = call(channel, rpc, request, cluster.tokens[who])
        ANSWERS[rpc.id][code.name] += 1
        assert code in allowed, (
            f"{rpc.path} as {who}: {code.name} {details!r}\nrequest: {request!r:.2000}"
        )
        if code != OK:
            assert details.strip(), f"{rpc.path} as {who}: {code.name} without a message"
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            assert violations, f"{rpc.path}: INVALID_ARGUMENT naming no field: {details!r}"
            assert all(f and d for f, d in violations), violations
        assert cluster.thread.is_alive(), "the servers' event loop died"
        assert healthy(channel), f"{rpc.service} stopped answering its health check"

    fuzz()


def test_an_invalid_argument_in_multibyte_text_fits_a_default_clients_trailers(
    cluster: Cluster,
) -> None:
    """Fifty ids of fifty emoji each: every violation quotes 40 characters of one."""
    rpc = next(r for r in RPCS if r.path.endswith("EnrolmentService/GetMatchingAttributes"))
    request = enrolment_pb2.GetMatchingAttributesRequest(participant_ids=["\U0001f600" * 50] * 50)
    address = f"127.0.0.1:{cluster.served['enrolment'].port}"
    with grpc.insecure_channel(address, options=ROOMY_METADATA) as channel:
        output = message_factory.GetMessageClass(rpc.method.output_type)
        unary = channel.unary_unary(
            rpc.path,
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=output.FromString,
        )
        with pytest.raises(grpc.RpcError) as caught:
            unary(request, metadata=(("authorization", f"Bearer {cluster.tokens['admin']}"),))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert trailer_bytes(caught.value) <= DEFAULT_SOFT_LIMIT
