"""Enrolment fixtures: an application over each store, the real gRPC server, and builders.

``enrolment_app`` runs on every store of the shared ``store`` fixture (SQLite
and PostgreSQL), and ``stub`` talks to a real ``grpc.aio`` server started
in-process on a free port over that application, so every API test runs on
both stores through the same interceptor the service uses. The server trusts
the test's ``issuer`` and ``stub`` calls carry an admin token unless a call
passes its own ``authorization`` metadata (``issuer.metadata(role, ...)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from support import DevIssuer, grpc_service

from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTOR,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc

TOPICS = [
    Topic("generative-ai", "Generative AI at work"),
    Topic("social-media", "Social media for leaders"),
    Topic("data-privacy", "Data privacy basics"),
]


def make_profile(role: str, **changes: Any) -> Profile:
    """A valid profile for ``role`` in a programme with :data:`TOPICS`."""
    fields: dict[str, Any] = {
        "display_name": "Ada Lovelace",
        "email": "ada@example.com",
        "birth_year": 1998 if role == MENTOR else 1968,
        "department": "Engineering",
        "manager_employee_id": "M-1",
        "site": "Paris",
        "time_zone": "Europe/Paris",
        "languages": ("en", "fr"),
        "skills_offered": ("generative-ai",) if role == MENTOR else (),
        "learning_needs": () if role == MENTOR else (LearningNeed("generative-ai", 1),),
        "availability": (AvailabilityWindow(2, "09:00", "10:30"),),
        "meeting_preference": "virtual",
    }
    fields.update(changes)
    return Profile(**fields)


def make_pb_profile(role: int, **changes: Any) -> pb.Profile:
    """A valid profile message for ``role`` (a ``pb.Role``)."""
    mentor = role == pb.ROLE_MENTOR
    fields: dict[str, Any] = {
        "display_name": "Grace Hopper",
        "email": "grace@example.com",
        "birth_year": 1999 if mentor else 1965,
        "department": "Finance" if mentor else "Operations",
        "manager_employee_id": "M-9",
        "site": "Lyon",
        "time_zone": "Europe/Paris",
        "languages": ["en", "fr-CA"],
        "availability": [pb.AvailabilityWindow(weekday=3, start_time="14:00", end_time="15:30")],
        "meeting_preference": pb.MEETING_PREFERENCE_VIRTUAL,
    }
    if mentor:
        fields["skills_offered"] = ["generative-ai", "social-media"]
    else:
        fields["learning_needs"] = [pb.LearningNeed(topic="generative-ai", priority=1)]
    fields.update(changes)
    return pb.Profile(**fields)


def create_programme_request(**changes: Any) -> pb.CreateProgrammeRequest:
    fields: dict[str, Any] = {
        "name": "Reverse mentoring 2025",
        "description": "Juniors mentor the executive committee",
        "start_date": "2025-03-01",
        "end_date": "2025-09-30",
        "topics": [pb.Topic(code=t.code, title=t.title) for t in TOPICS],
        "rules": pb.ProgrammeRules(mentor_capacity=2, session_minutes=90),
    }
    fields.update(changes)
    return pb.CreateProgrammeRequest(**fields)


def enrol_request(
    programme_id: str, employee_id: str, role: int, **profile_changes: Any
) -> pb.EnrolParticipantRequest:
    return pb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=role,
        profile=make_pb_profile(role, **profile_changes),
        consent=pb.Consent(given=True, notice_version="2025-01"),
    )


@pytest.fixture
def build() -> SimpleNamespace:
    """The builders above, for test modules (conftest is not importable by name)."""
    return SimpleNamespace(
        topics=TOPICS,
        profile=make_profile,
        pb_profile=make_pb_profile,
        programme=create_programme_request,
        enrol=enrol_request,
    )


@pytest.fixture
def consent() -> Consent:
    return Consent(given=True, notice_version="2025-01")


@pytest.fixture
def enrolment_app(store: dict[str, str]) -> Iterator[EnrolmentApplication]:
    app = EnrolmentApplication(env=store)
    yield app
    app.close()


@pytest.fixture
def open_programme_id(enrolment_app: EnrolmentApplication) -> str:
    """A programme with :data:`TOPICS`, 60-minute sessions, enrolment open."""
    programme = enrolment_app.create_programme(
        "Pilot", "", "2025-01-01", "2025-12-31", TOPICS, ProgrammeRules()
    )
    enrolment_app.open_enrolment(str(programme.id))
    return str(programme.id)


@pytest.fixture
async def grpc_port(enrolment_app: EnrolmentApplication, issuer: DevIssuer) -> AsyncIterator[int]:
    servicer = EnrolmentServicer(enrolment_app)
    register = pb_grpc.add_EnrolmentServiceServicer_to_server
    async with grpc_service("enrolment", register, servicer, [SERVICE_NAME], issuer) as port:
        yield port


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.EnrolmentServiceStub:
    return pb_grpc.EnrolmentServiceStub(channel)
