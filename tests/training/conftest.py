"""Training fixtures: an application over each store, the real gRPC server, and builders.

``training_app`` runs on SQLite and PostgreSQL (the shared ``store`` fixture).
Programmes and records are created the way the enrolment subscription creates
them (same aggregates, same deterministic ids), so API tests need no NATS.
``stub`` calls carry an admin token unless a call passes its own metadata.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from uuid import UUID, uuid4

import grpc
import pytest
from support import DevIssuer, grpc_service

from revmentor.kernel.ownership import OwnershipCheck
from revmentor.training.api import SERVICE_NAME, TrainingServicer
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.curriculum import ProgrammeTraining, default_modules
from revmentor.training.domain.record import TrainingRecord
from revmentor.training.v1 import training_pb2_grpc as pb_grpc


class Seeder:
    """Creates programmes and records as the enrolment subscription would."""

    def __init__(self, app: TrainingApplication):
        self.app = app

    def programme(self, start_date: str = "2027-01-11") -> str:
        programme_id = uuid4()
        self.app.save(ProgrammeTraining.register(programme_id, start_date))
        return str(programme_id)

    def record(
        self, programme_id: str, role: str = "mentor", participant: UUID | None = None
    ) -> str:
        participant_id = participant or uuid4()
        programme = self.app.find_programme(UUID(programme_id))
        version, modules = (
            (programme.current_version, programme.current_modules)
            if programme
            else (0, default_modules())
        )
        record = TrainingRecord.open(participant_id, UUID(programme_id), role, version, modules)
        self.app.save(record)
        return str(participant_id)


@pytest.fixture
def training_app(store: dict[str, str]) -> Iterator[TrainingApplication]:
    app = TrainingApplication(env=store)
    yield app
    app.close()


@pytest.fixture
def seed(training_app: TrainingApplication) -> Seeder:
    return Seeder(training_app)


@pytest.fixture
def ownership() -> OwnershipCheck:
    """Resolves REVMENTOR_ENROLMENT_ADDR at call time (tests monkeypatch it)."""
    return OwnershipCheck("training", ttl_seconds=0.0)


@pytest.fixture
async def grpc_port(
    training_app: TrainingApplication, issuer: DevIssuer, ownership: OwnershipCheck
) -> AsyncIterator[int]:
    servicer = TrainingServicer(training_app, ownership)
    register = pb_grpc.add_TrainingServiceServicer_to_server
    async with grpc_service("training", register, servicer, [SERVICE_NAME], issuer) as port:
        yield port
    await ownership.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.TrainingServiceStub:
    return pb_grpc.TrainingServiceStub(channel)
