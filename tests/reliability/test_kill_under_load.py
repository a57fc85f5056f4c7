"""kill -9 under load: enrolment and training as real processes on a real
nats-server, 150 enrolments sent by 10 concurrent clients, enrolment killed
(SIGKILL) at a random point and restarted, then training killed while it is
consuming and restarted, the clients carrying on throughout.

A client retries what failed for want of a server (UNAVAILABLE, a deadline,
a cancelled call); a retried enrolment that had in fact been committed before
the crash answers ALREADY_EXISTS, and counts as present. Must hold afterwards,
the same as a run without faults would give:

- every acknowledged enrolment is stored exactly once: ListParticipants holds
  acknowledged + recovered participants, no employee twice, nobody missing;
- the enrolment stream holds each ``Nats-Msg-Id`` once, one ParticipantEnrolled
  per participant, in log order;
- training ends with exactly one training record per participant, with the
  participant's role (its read model's readiness counts, and one
  TrainingRecordOpened each on its stream), and nothing was dead-lettered.

The kill points and outage lengths come from a seeded random generator (SEED),
so a failure can be replayed.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from journeys import Person, create_programme, enrol_request
from support import (
    BearerAuth,
    DevIssuer,
    ServiceProcess,
    eventually,
    postgres_schema_env,
    read_stream,
)

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.streams import DLQ_STREAM
from revmentor.training.v1 import training_pb2 as tpb
from revmentor.training.v1 import training_pb2_grpc as tpb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

SEED = 20270111
TOTAL = 150
CLIENTS = 10
#: What a client retries: the server was not there (or went away mid-call).
RETRIED = (
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
)
#: Reconnect quickly after the restart (gRPC's default backoff starts at 1 s and grows).
CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 500),
]
PEOPLE = [
    Person(f"E-LOAD-{n:04d}", n % 3 == 0, f"Person {n}", 1995 if n % 3 == 0 else 1968, "Data")
    for n in range(TOTAL)
]


def channel(address: str, token: str) -> grpc.aio.Channel:
    return grpc.aio.insecure_channel(
        address, options=CHANNEL_OPTIONS, interceptors=[BearerAuth(token)]
    )


#: How far past a kill point the clients may go before they wait for the kill.
HOLD_AFTER = 10


class Load:
    """The clients: each takes the next person and enrols them until the
    service answers OK (acknowledged) or ALREADY_EXISTS (committed before a
    crash, the answer lost: recovered)."""

    def __init__(self, address: str, issuer: DevIssuer, programme_id: str) -> None:
        self.address = address
        self.issuer = issuer
        self.programme_id = programme_id
        self.queue: asyncio.Queue[Person] = asyncio.Queue()
        for person in PEOPLE:
            self.queue.put_nowait(person)
        self.acknowledged: dict[str, str] = {}  # employee id -> participant id
        self.recovered: set[str] = set()
        self.retries = 0
        #: The clients take no new person once this many are done (until released),
        #: so a kill always lands while enrolments are still to come.
        self.hold_at = len(PEOPLE)

    def hold(self, count: int) -> None:
        self.hold_at = count

    def release(self) -> None:
        self.hold_at = len(PEOPLE)

    @property
    def done(self) -> int:
        return len(self.acknowledged) + len(self.recovered)

    async def client(self, number: int) -> None:
        token = self.issuer.token("admin", sub=f"load-client-{number}", ttl=600)
        async with channel(self.address, token) as chan:
            stub = epb_grpc.EnrolmentServiceStub(chan)
            while not self.queue.empty():
                while self.done >= self.hold_at:
                    await asyncio.sleep(0.01)
                person = self.queue.get_nowait()
                await self.enrol(stub, person)

    async def enrol(self, stub: Any, person: Person) -> None:
        request = enrol_request(self.programme_id, person)
        while True:
            try:
                enrolled = await stub.EnrolParticipant(request, timeout=10, wait_for_ready=True)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.ALREADY_EXISTS:
                    self.recovered.add(person.employee_id)
                    return
                if error.code() not in RETRIED:
                    raise
                self.retries += 1
                await asyncio.sleep(0.05)
                continue
            self.acknowledged[person.employee_id] = enrolled.participant_id
            return

    async def run(self) -> None:
        await asyncio.gather(*(self.client(n) for n in range(CLIENTS)))


async def records_in_training(training: ServiceProcess, programme_id: str) -> int:
    """How many training records training's read model counts for the programme."""
    try:
        async with training.channel() as chan:
            readiness = await tpb_grpc.TrainingServiceStub(chan).GetProgrammeReadiness(
                tpb.GetProgrammeReadinessRequest(programme_id=programme_id), timeout=5
            )
    except grpc.aio.AioRpcError as error:
        if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNAVAILABLE):
            return 0
        raise
    return sum(count.count for count in readiness.counts)


@pytest.fixture(params=["sqlite", "postgres"])
def store_of(request: pytest.FixtureRequest) -> Callable[[], dict[str, str]]:
    """Each service's store settings: its own SQLite file, or its own PostgreSQL schema."""
    if request.param == "sqlite":
        return dict
    database = request.getfixturevalue("postgres_database")
    return lambda: postgres_schema_env(database)


async def test_kill_9_enrolment_then_training_under_load_loses_and_duplicates_nothing(
    tmp_path: Path, nats_server: LocalNatsServer, store_of: Callable[[], dict[str, str]]
) -> None:
    rng = random.Random(SEED)
    kill_enrolment_at = rng.randint(20, 60)
    kill_training_at = rng.randint(kill_enrolment_at + 25, 115)
    outages = (rng.uniform(0.2, 1.0), rng.uniform(0.2, 1.0))
    issuer = DevIssuer(tmp_path / "auth")
    var = tmp_path / "var"
    enrolment = ServiceProcess("enrolment", var, nats_server.url, store_of(), issuer).start()
    upstream = {"REVMENTOR_ENROLMENT_ADDR": enrolment.address, **store_of()}
    training = ServiceProcess("training", var, nats_server.url, upstream, issuer).start()
    try:
        started = time.monotonic()
        programme_id = await create_programme(enrolment, "Load cohort")
        load = Load(enrolment.address, issuer, programme_id)
        load.hold(kill_enrolment_at + HOLD_AFTER)  # calls in flight at the kill, more to come
        clients = asyncio.create_task(load.run())

        async def reached(count: int) -> bool:
            assert not clients.done() or clients.exception() is None, clients.exception()
            return load.done >= count

        # -- enrolment dies with calls in flight, and comes back
        await eventually(lambda: reached(kill_enrolment_at), timeout=30, what="enrolments")
        enrolment.kill()
        assert load.done < TOTAL, "killed while the clients were still enrolling"
        load.hold(kill_training_at + HOLD_AFTER)  # go on, up to the next kill
        await asyncio.sleep(outages[0])
        await asyncio.to_thread(enrolment.start)

        # -- training dies while it is consuming (enrolments keep arriving), and comes back
        await eventually(lambda: reached(kill_training_at), timeout=30, what="enrolments")
        consumed = await records_in_training(training, programme_id)
        training.kill()
        assert load.done < TOTAL and consumed < TOTAL, "killed in the middle of the stream"
        load.release()  # enrolments keep arriving while training is down
        await asyncio.sleep(outages[1])
        await asyncio.to_thread(training.start)

        await asyncio.wait_for(clients, 60)

        async def all_in_training() -> bool:
            return await records_in_training(training, programme_id) >= TOTAL

        await eventually(all_in_training, timeout=30, what="every record in training")
        elapsed = time.monotonic() - started

        # -- every enrolment present exactly once
        everybody = {p.employee_id for p in PEOPLE}
        assert set(load.acknowledged) | load.recovered == everybody
        assert not set(load.acknowledged) & load.recovered
        async with enrolment.channel() as chan:
            listed = await epb_grpc.EnrolmentServiceStub(chan).ListParticipants(
                epb.ListParticipantsRequest(programme_id=programme_id, page_size=500), timeout=10
            )
        employees = Counter(p.employee_id for p in listed.participants)
        assert len(listed.participants) == len(load.acknowledged) + len(load.recovered) == TOTAL
        assert max(employees.values()) == 1, "no employee enrolled twice"
        participants = {p.employee_id: p.participant_id for p in listed.participants}
        for employee, participant in load.acknowledged.items():
            assert participants[employee] == participant, "the acknowledged participant is kept"
        roles = {p.participant_id: p.role for p in listed.participants}

        # -- the enrolment stream: each event once, in log order
        messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
        ids = [m.headers["Nats-Msg-Id"] for m in messages]
        assert len(ids) == len(set(ids)), "no event twice on the stream"
        positions = [int(m.headers["ce-sequence"]) for m in messages]
        assert positions == sorted(positions), "stream order is log order"
        enrolled = Counter(
            json.loads(m.data)["participantId"]
            for m in messages
            if m.headers["ce-type"].endswith(".ParticipantEnrolled")
        )
        assert set(enrolled) == set(roles) and set(enrolled.values()) == {1}

        # -- training: exactly one record per participant, with their role
        async with training.channel() as chan:
            readiness = await tpb_grpc.TrainingServiceStub(chan).GetProgrammeReadiness(
                tpb.GetProgrammeReadinessRequest(programme_id=programme_id), timeout=10
            )
        mentors = sum(person.mentor for person in PEOPLE)
        assert sum(c.count for c in readiness.counts) == TOTAL
        assert readiness.mentors == mentors
        by_audience = Counter()
        for count in readiness.counts:
            by_audience[count.role] += count.count
        assert by_audience == {tpb.AUDIENCE_MENTOR: mentors, tpb.AUDIENCE_MENTEE: TOTAL - mentors}

        async def opened_for_all() -> bool:
            found = await read_stream(nats_server.url, "REVMENTOR_TRAINING")
            return sum(m.headers["ce-type"].endswith(".TrainingRecordOpened") for m in found) >= (
                TOTAL
            )

        await eventually(opened_for_all, timeout=30, what="every TrainingRecordOpened published")
        published = await read_stream(nats_server.url, "REVMENTOR_TRAINING")
        training_ids = [m.headers["Nats-Msg-Id"] for m in published]
        assert len(training_ids) == len(set(training_ids)), "no training event twice"
        opened = [
            json.loads(m.data)
            for m in published
            if m.headers["ce-type"].endswith(".TrainingRecordOpened")
        ]
        assert len(opened) == TOTAL
        expected_roles = {
            pid: "mentor" if role == epb.ROLE_MENTOR else "mentee" for pid, role in roles.items()
        }
        assert {o["participantId"]: o["role"] for o in opened} == expected_roles
        assert await read_stream(nats_server.url, DLQ_STREAM) == [], "nothing dead-lettered"

        print(
            f"seed {SEED}: enrolment killed at {kill_enrolment_at}, training at "
            f"{kill_training_at} ({consumed} records then); {len(load.recovered)} recovered "
            f"with ALREADY_EXISTS, {load.retries} retries; {elapsed:.1f}s"
        )
        assert training.stop() == 0, training.log()[-2000:]
        assert enrolment.stop() == 0, enrolment.log()[-2000:]
    finally:
        training.kill()
        enrolment.kill()
