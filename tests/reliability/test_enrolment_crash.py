"""kill -9 the enrolment process while enrolments are in flight, restart it.

Must hold afterwards: every acknowledged command is in the store exactly once,
every integration event is on the stream exactly once (by Nats-Msg-Id), in
log order, and nothing that was acknowledged is lost.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest
from support import (
    ServiceProcess,
    authed_channel,
    eventually,
    postgres_schema_env,
    read_stream,
)

from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import LocalNatsServer

pytestmark = pytest.mark.slow

TOTAL = 240
IN_FLIGHT = 8


def enrolment_request(programme_id: str, n: int) -> pb.EnrolParticipantRequest:
    return pb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=f"E{n:05d}",
        role=pb.ROLE_MENTEE,
        profile=pb.Profile(
            display_name=f"Person {n}",
            email=f"p{n}@example.com",
            birth_year=1970,
            department="Finance",
            site="Lyon",
            time_zone="Europe/Paris",
            languages=["fr"],
            learning_needs=[pb.LearningNeed(topic="generative-ai", priority=1)],
            availability=[pb.AvailabilityWindow(weekday=2, start_time="09:00", end_time="11:00")],
            meeting_preference=pb.MEETING_PREFERENCE_EITHER,
        ),
        consent=pb.Consent(given=True, notice_version="2027-01"),
    )


async def enrol_all(
    address: str,
    token: str,
    programme_id: str,
    numbers: list[int],
    acknowledged: set[int],
    stop_after: int | None = None,
) -> None:
    """Send enrolments, IN_FLIGHT at a time; record the ones the server acknowledged."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in numbers:
        queue.put_nowait(n)

    async def worker() -> None:
        async with authed_channel(address, token) as channel:
            stub = pb_grpc.EnrolmentServiceStub(channel)
            while not queue.empty():
                if stop_after is not None and len(acknowledged) >= stop_after:
                    return
                n = queue.get_nowait()
                try:
                    await stub.EnrolParticipant(enrolment_request(programme_id, n), timeout=5)
                    acknowledged.add(n)
                except grpc.aio.AioRpcError as error:
                    if error.code() == grpc.StatusCode.ALREADY_EXISTS:
                        acknowledged.add(n)  # committed before the crash, reply lost
                    elif error.code() not in (
                        grpc.StatusCode.UNAVAILABLE,
                        grpc.StatusCode.DEADLINE_EXCEEDED,
                        grpc.StatusCode.CANCELLED,
                    ):
                        raise

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


@pytest.fixture(params=["sqlite", "postgres"])
def store_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    return postgres_schema_env(request.getfixturevalue("postgres_database"))


async def test_kill_9_during_enrolments_loses_and_duplicates_nothing(
    tmp_path: Path, nats_server: LocalNatsServer, store_settings: dict[str, str]
) -> None:
    service = ServiceProcess("enrolment", tmp_path / "var", nats_server.url, store_settings)
    service.start()
    token = service.issuer.token("admin", sub="crash-test", ttl=600)
    async with service.channel() as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        programme = await stub.CreateProgramme(
            pb.CreateProgrammeRequest(
                name="Crash cohort",
                start_date="2027-01-01",
                end_date="2027-12-31",
                topics=[pb.Topic(code="generative-ai", title="Generative AI")],
            )
        )
        await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=programme.programme_id))

    acknowledged: set[int] = set()
    first_wave = asyncio.create_task(
        enrol_all(service.address, token, programme.programme_id, list(range(TOTAL)), acknowledged)
    )
    await eventually(lambda: _true(len(acknowledged) >= TOTAL // 3), what="enrolments flowing")
    service.kill()  # kill -9 with requests in flight
    await first_wave
    acknowledged_before_crash = set(acknowledged)
    assert len(acknowledged_before_crash) < TOTAL, "the crash interrupted the stream"

    service.start()
    remaining = [n for n in range(TOTAL) if n not in acknowledged]
    await enrol_all(service.address, token, programme.programme_id, remaining, acknowledged)
    assert acknowledged == set(range(TOTAL))

    async with service.channel() as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        listed = await stub.ListParticipants(
            pb.ListParticipantsRequest(programme_id=programme.programme_id, page_size=500)
        )
    employees = [p.employee_id for p in listed.participants]
    assert len(employees) == len(set(employees)) == TOTAL, "each command stored exactly once"
    assert {f"E{n:05d}" for n in acknowledged_before_crash} <= set(employees), "nothing lost"

    async def all_published() -> bool:
        messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
        return sum(m.headers["ce-type"].endswith("ParticipantEnrolled") for m in messages) >= TOTAL

    await eventually(all_published, timeout=30, what="every enrolment published")
    messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
    ids = [m.headers["Nats-Msg-Id"] for m in messages]
    assert len(ids) == len(set(ids)), "no event twice on the stream"
    positions = [int(m.headers["ce-sequence"]) for m in messages]
    assert positions == sorted(positions), "stream order is log order"
    published = {
        json.loads(m.data)["participantId"]
        for m in messages
        if m.headers["ce-type"].endswith("ParticipantEnrolled")
    }
    assert published == {p.participant_id for p in listed.participants}
    assert service.stop() == 0, service.log()[-2000:]


async def _true(value: bool) -> bool:
    return value
