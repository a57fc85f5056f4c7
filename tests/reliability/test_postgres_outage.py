"""A PostgreSQL outage under a running service.

What must hold: while the service's database refuses connections (every
session of it terminated, new ones refused - what a restart looks like from
the service), the health check says NOT_SERVING and commands answer
UNAVAILABLE with a hint to retry, never INTERNAL, writing nothing; once the
database is back the service recovers by itself, without a restart: it is
SERVING, commands succeed again, and every acknowledged command is stored
once and published once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from journeys import TOPIC, Person, enrol_request
from support import DevIssuer, ServiceProcess, authed_channel, eventually, pg_connect, read_stream

from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import LocalNatsServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


@contextlib.contextmanager
def outage(dbname: str) -> Iterator[None]:
    """The database refuses connections, and every open session of it is cut."""
    with pg_connect() as admin:
        admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (dbname,),
        )
    try:
        yield
    finally:
        with pg_connect() as admin:
            admin.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS true')


SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def health_is(address: str, status: int) -> bool:
    async with grpc.aio.insecure_channel(address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    return bool(reply.status == status)


def person(i: int) -> Person:
    return Person(f"E-PG-{i}", i % 2 == 0, f"Person {i}", 1970 + i % 30, "Ops")


async def test_commands_during_an_outage_are_unavailable_then_it_recovers(
    tmp_path: Path,
    nats_server: LocalNatsServer,
    postgres_database: dict[str, str],
) -> None:
    issuer = DevIssuer(tmp_path / "auth")
    env = {**postgres_database, "POSTGRES_CONNECT_TIMEOUT": "2"}
    enrolment = ServiceProcess("enrolment", tmp_path / "var", nats_server.url, env, issuer).start()
    try:
        async with authed_channel(enrolment.address, issuer.token("admin")) as channel:
            stub = pb_grpc.EnrolmentServiceStub(channel)
            programme = await stub.CreateProgramme(
                pb.CreateProgrammeRequest(
                    name="Outage",
                    start_date="2027-01-11",
                    end_date="2027-06-30",
                    topics=[pb.Topic(code=TOPIC, title="Generative AI")],
                    rules=pb.ProgrammeRules(min_age_gap_years=15, mentor_capacity=1),
                ),
                timeout=10,
            )
            pid = programme.programme_id
            await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=pid), timeout=10)
            acknowledged = [
                await stub.EnrolParticipant(enrol_request(pid, person(i)), timeout=10)
                for i in range(3)
            ]

            with outage(postgres_database["POSTGRES_DBNAME"]):
                await eventually(
                    lambda: health_is(enrolment.address, NOT_SERVING),
                    timeout=15,
                    what="NOT_SERVING while the database is away",
                )
                for i in range(3, 6):
                    with pytest.raises(grpc.aio.AioRpcError) as failed:
                        await stub.EnrolParticipant(enrol_request(pid, person(i)), timeout=10)
                    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE, failed.value
                    assert "retry" in (failed.value.details() or "")

            async def recovered() -> bool:
                try:
                    acknowledged.append(
                        await stub.EnrolParticipant(enrol_request(pid, person(6)), timeout=10)
                    )
                except grpc.aio.AioRpcError as error:
                    assert error.code() == grpc.StatusCode.UNAVAILABLE, error
                    return False
                return True

            await eventually(recovered, timeout=60, interval=1.0, what="the service back")
            assert await health_is(enrolment.address, SERVING)
            acknowledged.append(
                await stub.EnrolParticipant(enrol_request(pid, person(7)), timeout=10)
            )
            listed = await stub.ListParticipants(
                pb.ListParticipantsRequest(programme_id=pid, page_size=100), timeout=10
            )
        stored = sorted(p.participant_id for p in listed.participants)
        assert stored == sorted(p.participant_id for p in acknowledged), "each once, no other"

        async def all_published() -> bool:
            messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
            enrolled = [
                m for m in messages if m.headers["ce-type"].endswith(".ParticipantEnrolled")
            ]
            return len(enrolled) == len(acknowledged)

        await eventually(all_published, timeout=30, what="every enrolment published")
        messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
        ids = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(ids) == len(set(ids)), "published once each"
        enrolled = {
            json.loads(m.data)["participantId"]
            for m in messages
            if m.headers["ce-type"].endswith(".ParticipantEnrolled")
        }
        assert enrolled == set(stored)
        assert enrolment.process is not None and enrolment.process.poll() is None
    finally:
        enrolment.kill()
        await asyncio.sleep(0)
