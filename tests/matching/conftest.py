"""Matching fixtures: the application over each store with an attribute table
standing in for enrolment, and a seeder that fills the pool the way the
enrolment and training subscriptions do (same aggregate methods).

The real enrolment client is exercised by the API and end-to-end tests.

For the API tests: the real gRPC server (``grpc_port``; ``stub`` calls carry an
admin token unless a call passes its own metadata) and a real in-process
enrolment server (``enrolment_server``) that answers "is this participant
yours?" for mentors and mentees, asked with their own tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import grpc
import pytest
from matching_support import AttributeTable, Seeder
from support import DevIssuer, authed_channel

from revmentor.enrolment.api import SERVICE_NAME as ENROLMENT_SERVICE
from revmentor.enrolment.api import EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.v1 import enrolment_pb2_grpc
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.ownership import OwnershipCheck
from revmentor.matching.api import SERVICE, SERVICE_NAME, MatchingServicer
from revmentor.matching.application import MatchingApplication
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc


@pytest.fixture
def table() -> AttributeTable:
    return AttributeTable()


@pytest.fixture
def matching_app(store: dict[str, str], table: AttributeTable) -> Iterator[MatchingApplication]:
    app = MatchingApplication(env=store, attributes=table)
    yield app
    app.close()


@pytest.fixture
def seed(matching_app: MatchingApplication, table: AttributeTable) -> Seeder:
    return Seeder(matching_app, table)


# -- the gRPC API ------------------------------------------------------------------------------
@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    return DevIssuer(tmp_path / "auth")


@pytest.fixture
def ownership() -> OwnershipCheck:
    """Resolves REVMENTOR_ENROLMENT_ADDR at call time (tests monkeypatch it)."""
    return OwnershipCheck(SERVICE, ttl_seconds=0.0)


@pytest.fixture
async def grpc_port(
    matching_app: MatchingApplication, issuer: DevIssuer, ownership: OwnershipCheck
) -> AsyncIterator[int]:
    server = GrpcServer(
        SERVICE, "127.0.0.1", 0, grace_seconds=0.5, authenticator=issuer.authenticator()
    )
    server.add(
        pb_grpc.add_MatchingServiceServicer_to_server,
        MatchingServicer(matching_app, ownership),
        [SERVICE_NAME],
    )
    port = await server.start()
    yield port
    await server.stop()
    await ownership.close()


@pytest.fixture
async def channel(grpc_port: int, issuer: DevIssuer) -> AsyncIterator[grpc.aio.Channel]:
    async with authed_channel(f"127.0.0.1:{grpc_port}", issuer.token("admin", "admin-1")) as chan:
        yield chan


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.MatchingServiceStub:
    return pb_grpc.MatchingServiceStub(channel)


@pytest.fixture
async def enrolment_server(
    tmp_path: Path, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[EnrolmentApplication]:
    """A real enrolment server over SQLite, where REVMENTOR_ENROLMENT_ADDR points."""
    app = EnrolmentApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    server = GrpcServer(
        "enrolment", "127.0.0.1", 0, grace_seconds=0.5, authenticator=issuer.authenticator()
    )
    server.add(
        enrolment_pb2_grpc.add_EnrolmentServiceServicer_to_server,
        EnrolmentServicer(app),
        [ENROLMENT_SERVICE],
    )
    port = await server.start()
    monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{port}")
    yield app
    await server.stop()
    app.close()
