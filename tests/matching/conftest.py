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

import grpc
import pytest
from matching_support import AttributeTable, Seeder
from support import DevIssuer, grpc_service

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
def ownership() -> OwnershipCheck:
    """Resolves REVMENTOR_ENROLMENT_ADDR at call time (tests monkeypatch it)."""
    return OwnershipCheck(SERVICE, ttl_seconds=0.0)


@pytest.fixture
async def grpc_port(
    matching_app: MatchingApplication, issuer: DevIssuer, ownership: OwnershipCheck
) -> AsyncIterator[int]:
    servicer = MatchingServicer(matching_app, ownership)
    register = pb_grpc.add_MatchingServiceServicer_to_server
    async with grpc_service(SERVICE, register, servicer, [SERVICE_NAME], issuer) as port:
        yield port
    await ownership.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.MatchingServiceStub:
    return pb_grpc.MatchingServiceStub(channel)
