"""Scheduling fixtures: the application over each store with an attribute table
standing in for enrolment's availability, a clock the tests move, and a seeder
that registers programmes and opens mentorships the way the subscriptions do
(same application and aggregate methods).

For the API tests: the real gRPC server (``grpc_port``; ``stub`` calls carry an
admin token unless a call passes its own metadata) and, where a test asks for
it, a real in-process enrolment server (``enrolment_server``, from
tests/conftest.py) that answers "is this participant yours?" for mentors and
mentees, asked with their own tokens.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import grpc
import pytest
from support import DevIssuer, grpc_service

from revmentor.kernel.ownership import OwnershipCheck
from revmentor.scheduling.api import SERVICE, SERVICE_NAME, SchedulingServicer
from revmentor.scheduling.application import SchedulingApplication
from revmentor.scheduling.v1 import scheduling_pb2_grpc as pb_grpc

#: Where the tests' clock starts: before every session they book.
START = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


class Clock:
    """The application's clock; tests set ``now`` to move time."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class AttributeTable:
    """What enrolment's GetMatchingAttributes would answer (zone, weekly windows)."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.calls = 0

    def __call__(self, ids: Sequence[str]) -> Mapping[str, Mapping[str, Any]]:
        self.calls += 1
        return {pid: self.rows[pid] for pid in ids if pid in self.rows}


@dataclass(frozen=True)
class Pair:
    mentorship_id: str
    programme_id: str
    mentee_id: str
    mentor_id: str


#: Monday and Wednesday mornings, 09:00-12:00 local time.
MORNINGS = [(1, "09:00", "12:00"), (3, "09:00", "12:00")]


class Seeder:
    """Registers programmes (as enrolment's ProgrammeCreated does) and opens
    mentorships (as matching's MatchConfirmed does), filling the attribute table."""

    def __init__(self, app: SchedulingApplication, table: AttributeTable):
        self.app = app
        self.table = table

    def programme(
        self, start_date: str = "2027-01-11", end_date: str = "2027-06-30", planned: int = 6
    ) -> str:
        programme = self.app.programme_of(uuid4())
        programme.record_facts(start_date, end_date, planned)
        self.app.save(programme)
        return str(programme.programme_id)

    def pair(
        self,
        programme_id: str,
        mentee_id: str = "",
        mentor_id: str = "",
        zone: str = "Europe/Paris",
        availability: Sequence[tuple[int, str, str]] = tuple(MORNINGS),
    ) -> Pair:
        """Open the mentorship of a confirmed match (new participants unless named)."""
        mentee_id, mentor_id = mentee_id or str(uuid4()), mentor_id or str(uuid4())
        for pid in (mentee_id, mentor_id):
            self.table.rows.setdefault(pid, {"time_zone": zone, "availability": list(availability)})
        match_id = str(uuid4())
        self.app.save(*self.app.open_mentorship(match_id, UUID(programme_id), mentee_id, mentor_id))
        found = self.app.find_mentorship_of_match(match_id)
        assert found is not None
        return Pair(str(found.id), programme_id, mentee_id, mentor_id)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def table() -> AttributeTable:
    return AttributeTable()


@pytest.fixture
def scheduling_app(
    store: dict[str, str], table: AttributeTable, clock: Clock
) -> Iterator[SchedulingApplication]:
    app = SchedulingApplication(env=store, attributes=table, clock=clock)
    yield app
    app.close()


@pytest.fixture
def seed(scheduling_app: SchedulingApplication, table: AttributeTable) -> Seeder:
    return Seeder(scheduling_app, table)


# -- the gRPC API ------------------------------------------------------------------------------
@pytest.fixture
def ownership() -> OwnershipCheck:
    """Resolves REVMENTOR_ENROLMENT_ADDR at call time (tests monkeypatch it)."""
    return OwnershipCheck(SERVICE, ttl_seconds=0.0)


@pytest.fixture
async def grpc_port(
    scheduling_app: SchedulingApplication, issuer: DevIssuer, ownership: OwnershipCheck
) -> AsyncIterator[int]:
    servicer = SchedulingServicer(scheduling_app, ownership)
    register = pb_grpc.add_SchedulingServiceServicer_to_server
    async with grpc_service(SERVICE, register, servicer, [SERVICE_NAME], issuer) as port:
        yield port
    await ownership.close()


@pytest.fixture
def stub(channel: grpc.aio.Channel) -> pb_grpc.SchedulingServiceStub:
    return pb_grpc.SchedulingServiceStub(channel)
