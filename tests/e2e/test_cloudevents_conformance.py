"""Every published message is a valid CloudEvent, as the CloudEvents SDK reads it.

Integrators read our streams with a CloudEvents SDK and the proto3 JSON
mapping, not with our code. So each message is mapped to an HTTP binary-mode
message (``ce-*`` headers as they are, ``content-type``) and parsed with the
``cloudevents`` SDK - both its current API and the 1.x ``from_http(headers,
data)`` - and must then be: specversion 1.0; id = ``Nats-Msg-Id`` =
``<service>:<ce-sequence>``; source ``/revmentor/<service>`` of its stream;
type ``revmentor.<service>.v1.<Event>`` naming the subject's event; subject
``revmentor.<service>.v1.<Event>.<ce-subject>``; time an RFC 3339 timestamp;
datacontenttype ``application/json``; data a JSON object that parses strictly
(unknown fields refused) into ``revmentor.events.v1.<Event>`` of that
service's file, and is exactly that message's canonical proto3 JSON.

- fast: one domain event per entry of every service's ``TRANSLATIONS`` (and
  the variants that publish another type), encoded as the relay does; between
  them they publish every message of ``proto/revmentor/events/v1``.
- slow: a short programme through the five services as real processes on a
  real nats-server (enrolment, certification, a round, both accept, the
  mentorship, a session held, feedback asked and given), then every message
  of every ``REVMENTOR_*`` stream but the DLQ.
"""

from __future__ import annotations

import collections
import importlib
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import nats
import pytest
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from google.protobuf import json_format
from google.protobuf.json_format import ParseError
from google.protobuf.message import Message
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
from revmentor.kernel.cloudevents import IntegrationEvent, encode
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.streams import AUDIT_STREAM, DLQ_STREAM, SERVICES
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc

try:  # cloudevents >= 2 keeps the 1.x API under cloudevents.v1
    from cloudevents.v1.http import from_http as from_http_1x
except ImportError:  # pragma: no cover - cloudevents 1.x
    from cloudevents.http import from_http as from_http_1x

TYPE = re.compile(r"^revmentor\.(?P<service>[a-z]+)\.v1\.(?P<event>[A-Z][A-Za-z0-9]*)$")
RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)
EXTENSION_NAME = re.compile(r"^[a-z0-9]{1,20}$")


def events_module(service: str) -> ModuleType:
    return importlib.import_module(f"revmentor.events.v1.{service}_pb2")


def check_cloudevent(
    service: str, subject: str, headers: dict[str, str], data: bytes
) -> tuple[str, Message]:
    """Assert the NATS message is a conformant revmentor CloudEvent published by
    ``service``; returns its event name and its data as the generated message."""
    where = f"{service} {headers.get('Nats-Msg-Id')} on {subject}"
    http_headers = {
        name: value
        for name, value in headers.items()
        if name.lower().startswith("ce-") or name.lower() == "content-type"
    }
    event = from_http(HTTPMessage(http_headers, data), JSONFormat())
    attributes = event.get_attributes()
    legacy = from_http_1x(http_headers, data)  # the 1.x API most integrators use

    assert event.get_specversion() == "1.0" == legacy["specversion"], where
    assert event.get_id() == headers["Nats-Msg-Id"] == legacy["id"], where
    sequence = attributes["sequence"]
    assert sequence.isdigit() and int(sequence) > 0, where
    assert event.get_id() == f"{service}:{sequence}", where
    assert event.get_source() == f"/revmentor/{service}" == legacy["source"], where
    matched = TYPE.match(event.get_type())
    assert matched and matched["service"] == service, (where, event.get_type())
    name = matched["event"]
    key = event.get_subject()
    assert key and key == legacy["subject"], where
    assert subject == f"revmentor.{service}.v1.{name}.{key}", (where, key)

    raw_time = headers["ce-time"]
    assert RFC3339.match(raw_time), (where, raw_time)
    parsed_time = datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
    assert event.get_time() == parsed_time and parsed_time.tzinfo is not None, where
    assert legacy["time"] == raw_time, where
    assert event.get_datacontenttype() == "application/json", where
    assert legacy["datacontenttype"] == "application/json", where
    for extension in set(attributes) - {"id", "source", "type", "specversion"}:
        assert EXTENSION_NAME.match(extension), (where, extension)

    payload = event.get_data()
    assert isinstance(payload, dict), (where, payload)
    assert payload == legacy.get_data() == json.loads(data), where
    message_class = getattr(events_module(service), name, None)
    assert message_class is not None, f"{where}: no message {name} in events/v1/{service}.proto"
    descriptor = message_class.DESCRIPTOR
    assert descriptor.full_name == f"revmentor.events.v1.{name}", where
    assert descriptor.file.name == f"revmentor/events/v1/{service}.proto", where
    message = json_format.ParseDict(payload, message_class(), ignore_unknown_fields=False)
    assert json_format.MessageToDict(message) == payload, f"{where}: not canonical proto3 JSON"
    return name, message


# -- fast: every translation of every service, encoded as the relay does ------------------------
def _ids() -> dict[str, str]:
    return {
        name: str(uuid.uuid4())
        for name in (
            "programme_id",
            "participant_id",
            "mentee_id",
            "mentor_id",
            "match_id",
            "round_id",
            "session_id",
            "mentorship_id",
        )
    }


SOON = "2027-03-01T09:00:00Z"

#: What a domain event of each service carries (a superset of what its translations read).
ATTRIBUTES: dict[str, dict[str, Any]] = {
    "enrolment": {
        "topics": [{"code": TOPIC, "title": "Generative AI"}],
        "rules": {
            "min_age_gap_years": 15,
            "mentor_capacity": 1,
            "planned_sessions": 6,
            "session_minutes": 60,
            "same_department_allowed": False,
        },
        "start_date": "2027-01-11",
        "end_date": "2027-06-30",
        "role": "mentee",
        "profile": {
            "skills_offered": [],
            "learning_needs": [{"topic": TOPIC, "priority": 1}],
            "meeting_preference": "either",
        },
        "changed_fields": ["availability"],
        "reason": "workload",
    },
    "training": {
        "role": "mentor",
        "curriculum_version": 1,
        "modules": [{"id": "ethics", "required": True}, {"id": "extra", "required": False}],
        "module_id": "ethics",
        "attempt": 1,
        "passed": True,
        "from_version": 1,
        "to_version": 2,
        "deadline": "2027-02-01",
    },
    "matching": {
        "round_number": 1,
        "inputs_digest": "sha256:00ff",
        "algorithm_version": "hungarian-1",
        "mentees_considered": 2,
        "proposals": [{}],
        "unmatched": [],
        "origin": "round",
        "score": 0.875,
        "expires_at": SOON,
        "overridden": ["min_age_gap"],
        "side": "mentee",
        "at": SOON,
        "cause": "completed",
    },
    "scheduling": {
        "planned_sessions": 6,
        "start": SOON,
        "end": "2027-03-01T10:00:00Z",
        "mode": "virtual",
        "sequence": 1,
        "by_role": "mentee",
        "attendance": "held",
        "duration_minutes": 60,
        "held_count": 1,
        "disputed_by": "mentor",
        "since": SOON,
        "held_sessions": 6,
        "outcome": "completed",
        "cancelled_sessions": 0,
    },
    "feedback": {
        "due_at": SOON,
        "side": "mentee",
        "usefulness": 4,
        "topics": [TOPIC],
        "edit": False,
        "confidence": 3,
        "pedagogy": None,
        "kind": "baseline",
        "new_codes": ["low_usefulness"],
        "codes": ["low_usefulness"],
    },
}

#: Domain events whose other values publish another type.
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("training", "TrainingRecord.Certified", {"role": "mentee"}),  # OrientationCompleted
    ("scheduling", "Mentorship.AttendanceRecorded", {"attendance": "no_show"}),  # SessionNoShow
]


def domain_event(service: str, qualname: str, **overrides: Any) -> Any:
    """A stand-in for the domain event class ``qualname`` (what ``translate`` dispatches on)."""
    cls = type(qualname.rsplit(".", 1)[-1], (SimpleNamespace,), {"__qualname__": qualname})
    attributes = {"originator_id": uuid.uuid4(), **_ids(), **ATTRIBUTES[service], **overrides}
    return cls(**attributes)


def translation_cases() -> list[tuple[str, str, dict[str, Any]]]:
    cases = [
        (service, qualname, {})
        for service in SERVICES
        for qualname in importlib.import_module(f"revmentor.{service}.integration").TRANSLATIONS
    ]
    return cases + VARIANTS


def published_messages(service: str) -> set[str]:
    """The messages of events/v1/<service>.proto that are events (not field types)."""
    messages = events_module(service).DESCRIPTOR.message_types_by_name
    used_as_fields = {
        field.message_type.name
        for message in messages.values()
        for field in message.fields
        if field.message_type is not None
    }
    return set(messages) - used_as_fields


@pytest.mark.parametrize(
    "service,qualname,overrides",
    translation_cases(),
    ids=[f"{s}:{q}{'+' if o else ''}" for s, q, o in translation_cases()],
)
def test_every_translation_encodes_a_conformant_cloudevent(
    service: str, qualname: str, overrides: dict[str, Any]
) -> None:
    translate = importlib.import_module(f"revmentor.{service}.integration").translate
    event = domain_event(service, qualname, **overrides)
    integration = translate(event)
    assert isinstance(integration, IntegrationEvent), qualname
    envelope = {
        "actor": "admin-1",
        "correlation_id": str(uuid.uuid4()),
        "causation_id": str(uuid.uuid4()),
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    occurred = datetime(2027, 1, 11, 9, 30, 15, 123456, tzinfo=UTC)
    outgoing = encode(service, 41, integration, occurred, envelope)
    name, message = check_cloudevent(service, outgoing.subject, outgoing.headers, outgoing.data)
    assert name == integration.name and message == integration.message


#: (what is wrong, headers to change, data to use instead) - each must be refused.
NOT_CONFORMANT: list[tuple[str, dict[str, str], bytes | None]] = [
    ("unknown data field", {}, b'{"programmeId": "p-1", "surprise": 1}'),
    ("data not an object", {}, b'["p-1"]'),
    ("snake_case data", {}, b'{"programme_id": "p-1"}'),
    ("specversion 0.3", {"ce-specversion": "0.3"}, None),
    ("id is not Nats-Msg-Id", {"ce-id": "enrolment:40"}, None),
    ("source of another service", {"ce-source": "/revmentor/training"}, None),
    ("type not of the subject", {"ce-type": "revmentor.enrolment.v1.ProgrammeClosed"}, None),
    ("type without a version", {"ce-type": "revmentor.enrolment.ProgrammeLaunched"}, None),
    ("empty subject", {"ce-subject": ""}, None),
    ("time without a zone", {"ce-time": "2027-01-11T09:30:15"}, None),
    ("time not RFC 3339", {"ce-time": "11/01/2027 09:30"}, None),
    ("not JSON", {"content-type": "application/protobuf"}, None),
]


@pytest.mark.parametrize(
    "headers,data", [c[1:] for c in NOT_CONFORMANT], ids=[c[0] for c in NOT_CONFORMANT]
)
def test_the_check_refuses_what_is_not_conformant(
    headers: dict[str, str], data: bytes | None
) -> None:
    """The checker itself is strict: a good message, spoiled one way, fails it."""
    good = encode(
        "enrolment",
        41,
        IntegrationEvent(
            "ProgrammeLaunched",
            "p-1",
            events_module("enrolment").ProgrammeLaunched(programme_id="p-1"),
        ),
        datetime(2027, 1, 11, 9, 30, 15, tzinfo=UTC),
        {},
    )
    check_cloudevent("enrolment", good.subject, good.headers, good.data)  # as published: fine
    with pytest.raises((AssertionError, ValueError, BaseCloudEventException, ParseError)):
        check_cloudevent("enrolment", good.subject, {**good.headers, **headers}, data or good.data)


def test_the_translations_publish_every_event_message() -> None:
    published: dict[str, set[str]] = collections.defaultdict(set)
    for service, qualname, overrides in translation_cases():
        translate = importlib.import_module(f"revmentor.{service}.integration").translate
        published[service].add(translate(domain_event(service, qualname, **overrides)).name)
    for service in SERVICES:
        assert published[service] == published_messages(service), service


# -- slow: real messages from real processes ----------------------------------------------------
PEOPLE = [
    Person("E-CE-MENTOR", True, "Mentor Conformance", 2001, "Data"),
    Person("E-CE-MENTEE", False, "Mentee Conformance", 1966, "Sales"),
]
#: Types each stream must carry after the scenario (more may be there).
EXPECTED = {
    "enrolment": {"ProgrammeCreated", "ProgrammeEnrolmentOpened", "ParticipantEnrolled"},
    "training": {"TrainingRecordOpened", "ModuleCompleted", "MentorCertified"},
    "matching": {"MatchingRoundCompleted", "MatchProposed", "ProposalAccepted", "MatchConfirmed"},
    "scheduling": {"MentorshipOpened", "SessionScheduled", "SessionHeld"},
    "feedback": {"SurveyRequested", "FeedbackRequested", "FeedbackSubmitted"},
}


async def all_streams(url: str) -> dict[str, list[StreamMessage]]:
    """Every REVMENTOR_* stream on the server but the DLQ and the audit stream
    (signed checkpoints, not CloudEvents), with all its messages."""
    nc = await nats.connect(url)
    try:
        names = [info.config.name for info in await nc.jetstream().streams_info()]
    finally:
        await nc.close()
    return {
        name: await read_stream(url, name)
        for name in sorted(names)
        if name and name.startswith("REVMENTOR_") and name not in (DLQ_STREAM, AUDIT_STREAM)
    }


def types_on(messages: list[StreamMessage]) -> set[str]:
    return {m.headers.get("ce-type", "").rsplit(".", 1)[-1] for m in messages}


async def scenario(url: str, tmp_path: Path, started: list[ServiceProcess]) -> None:
    """Programme -> enrol -> certify -> round -> both accept -> mentorship -> a session
    held last week -> feedback asked of both -> the mentee answers."""
    issuer, platform = start_platform(tmp_path, url)
    started += platform
    enrolment, training, matching = platform
    started.append(start_scheduling(tmp_path, url, issuer, enrolment))
    started.append(start_feedback(tmp_path, url, issuer, enrolment))
    scheduling, feedback = started[-2:]
    admin = issuer.token("admin", sub="admin-1")
    today = datetime.now(UTC).date()
    pid = await create_programme(
        enrolment,
        "CloudEvents conformance",
        (today - timedelta(days=14)).isoformat(),
        (today + timedelta(days=90)).isoformat(),
    )
    ids = await enrol(enrolment, pid, PEOPLE)
    mentor, mentee = ids["E-CE-MENTOR"], ids["E-CE-MENTEE"]
    await certify(training, mentor)
    async with authed_channel(matching.address, admin) as channel:
        stub = mpb_grpc.MatchingServiceStub(channel)
        await wait_for_pool(stub, pid, mentees=1, certified=1)
        round_ = await stub.RunRound(mpb.RunRoundRequest(programme_id=pid), timeout=30)
    [proposal] = round_.proposals
    tokens = {
        mentee: issuer.token("mentee", sub="u-mentee", employee_id="E-CE-MENTEE"),
        mentor: issuer.token("mentor", sub="u-mentor", employee_id="E-CE-MENTOR"),
    }
    for participant_id, token in tokens.items():
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
        held = await stub.LogPastSession(
            spb.ScheduleSessionRequest(
                mentorship_id=mentorship.mentorship_id,
                local_start=f"{(today - timedelta(days=8)).isoformat()}T10:00",
                time_zone="Europe/Paris",
                duration_minutes=60,
                mode=spb.MODE_IN_PERSON,
                location="Room 2",
            ),
            timeout=10,
        )

    async def feedback_asked() -> bool:
        return "FeedbackRequested" in types_on(await read_stream(url, "REVMENTOR_FEEDBACK"))

    await eventually(feedback_asked, timeout=WAIT, interval=0.2, what="FeedbackRequested")
    async with authed_channel(feedback.address, tokens[mentee]) as channel:
        await fpb_grpc.FeedbackServiceStub(channel).SubmitFeedback(
            fpb.SubmitFeedbackRequest(
                session_id=held.session_id,
                participant_id=mentee,
                answers=fpb.Answers(
                    ratings=fpb.Ratings(usefulness=4, topics=[TOPIC], confidence=3)
                ),
            ),
            timeout=10,
        )


@pytest.mark.slow
@pytest.mark.timeout(90)
async def test_every_message_on_every_stream_is_a_conformant_cloudevent(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    url = nats_server.url
    started: list[ServiceProcess] = []
    try:
        await scenario(url, tmp_path, started)

        async def all_published() -> bool:
            streams = await all_streams(url)
            return all(
                expected <= types_on(streams.get(f"REVMENTOR_{service.upper()}", []))
                for service, expected in EXPECTED.items()
            )

        await eventually(all_published, timeout=WAIT, interval=0.2, what="every expected type")
        streams = await all_streams(url)
        assert set(streams) == {f"REVMENTOR_{s.upper()}" for s in SERVICES}
        counts: dict[str, collections.Counter[str]] = {}
        for stream, messages in streams.items():
            service = stream.removeprefix("REVMENTOR_").lower()
            counts[stream] = collections.Counter()
            sequences = []
            for m in messages:
                name, _ = check_cloudevent(service, m.subject, m.headers, m.data)
                counts[stream][name] += 1
                sequences.append(int(m.headers["ce-sequence"]))
            assert sequences == sorted(set(sequences)), f"{stream}: out of log order"
            assert EXPECTED[service] <= set(counts[stream]), (stream, counts[stream])
        print({stream: dict(found) for stream, found in counts.items()})
        assert sum(sum(found.values()) for found in counts.values()) >= 20
    finally:
        for process in reversed(started):
            process.kill()
            print(f"--- {process.service}\n{process.log()[-1500:]}")
