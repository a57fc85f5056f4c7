"""The benchmark workloads: pairs of (ours, raw baseline) coroutines."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from grpc_health.v1 import health_pb2, health_pb2_grpc

from revmentor.cli.devkeys import DevKey
from revmentor.enrolment import mapping
from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import AvailabilityWindow, Consent, LearningNeed, Profile
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.integration import translate
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.application import RELAY_TRACKING
from revmentor.kernel.auth import Authenticator, AuthSettings
from revmentor.kernel.cloudevents import encode
from revmentor.kernel.consumer import run_subscriptions
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.ratelimit import RateLimiter
from revmentor.kernel.relay import Relay
from revmentor.kernel.streams import ensure_stream, service_stream_config
from revmentor.training.application import TrainingApplication
from revmentor.training.subscriptions import enrolment_subscription

Work = Callable[[], Awaitable[int]]
IN_FLIGHT = 50


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str):
        self.text = text


class Raw(Application[Any]):
    name = "raw"


def mentee_profile(n: int) -> Profile:
    return Profile(
        display_name=f"Person {n}",
        email=f"p{n}@example.com",
        birth_year=1970,
        department="Finance",
        manager_employee_id=f"M{n % 50}",
        site="Lyon",
        time_zone="Europe/Paris",
        languages=("fr", "en"),
        learning_needs=(LearningNeed("generative-ai", 1), LearningNeed("social-media", 2)),
        availability=(AvailabilityWindow(2, "09:00", "11:00"),),
        meeting_preference="either",
    )


def new_programme(app: EnrolmentApplication) -> str:
    programme = app.create_programme(
        "Bench",
        "",
        "2027-01-01",
        "2027-12-31",
        [Topic("generative-ai", "Generative AI"), Topic("social-media", "Social media")],
        ProgrammeRules(),
    )
    app.open_enrolment(str(programme.id))
    return str(programme.id)


def enrol_many(app: EnrolmentApplication, programme_id: str, start: int, count: int) -> None:
    for n in range(start, start + count):
        app.enrol(programme_id, f"E{n}", "mentee", mentee_profile(n), Consent(True, "v1"))


#: One throwaway KEK per run: personal fields are sealed at rest as in production,
#: and nothing is written to the development KEK under ``var/``.
KEK = {"REVMENTOR_KEK": base64.b64encode(os.urandom(32)).decode(), "REVMENTOR_KEK_ID": "bench"}


def sqlite_env(path: Path) -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path), **KEK}


# -- store -------------------------------------------------------------------------
def store_pair(work: Path, count: int) -> tuple[Work, Work]:
    app = EnrolmentApplication(env=sqlite_env(work / "store-ours.sqlite"))
    programme_id = new_programme(app)
    raw = Raw(env=sqlite_env(work / "store-raw.sqlite"))

    async def ours() -> int:
        await asyncio.to_thread(enrol_many, app, programme_id, 0, count)
        return count

    async def baseline() -> int:
        def save_many() -> None:
            for n in range(count):
                raw.save(Note(text=f"note {n}"))

        await asyncio.to_thread(save_many)
        return count

    return ours, baseline


# -- relay -------------------------------------------------------------------------
def relay_pair(work: Path, server: LocalNatsServer, count: int) -> tuple[Work, Work]:
    app = EnrolmentApplication(env=sqlite_env(work / "relay.sqlite"))
    programme_id = new_programme(app)
    enrol_many(app, programme_id, 0, count)
    stop = asyncio.Event()
    relay = Relay(app, translate, server.url, batch=256, idle_seconds=0.01)
    messages = [
        encode("bench", n, translate(e) or _skip(), datetime.now(UTC), {})
        for n, e in enumerate(_events(app), start=1)
        if translate(e)
    ]

    async def ours() -> int:
        task = asyncio.create_task(relay.run(stop))
        last = app.recorder.max_notification_id() or 0
        while app.tracked_position(RELAY_TRACKING) < last:
            await asyncio.sleep(0.005)
        stop.set()
        await task
        return relay.published

    async def baseline() -> int:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_stream(js, service_stream_config("bench"))
        futures = [await js.publish_async(m.subject, m.data, headers=m.headers) for m in messages]
        await asyncio.gather(*futures)
        await nc.close()
        return len(messages)

    return ours, baseline


def _events(app: EnrolmentApplication) -> Iterator[Any]:
    after = 0
    while page := app.notifications(after, 500):
        for notification in page:
            yield app.mapper.to_domain_event(notification)
            after = notification.id


def _skip() -> Any:
    raise AssertionError("filtered above")


# -- consumer ----------------------------------------------------------------------
async def publish_enrolments(work: Path, server: LocalNatsServer, count: int) -> int:
    """Fill REVMENTOR_ENROLMENT through the real relay; returns the last position."""
    app = EnrolmentApplication(env=sqlite_env(work / "consumer-upstream.sqlite"))
    await asyncio.to_thread(enrol_many, app, new_programme(app), 0, count)
    last = app.recorder.max_notification_id() or 0
    stop = asyncio.Event()
    task = asyncio.create_task(Relay(app, translate, server.url, idle_seconds=0.01).run(stop))
    while await asyncio.to_thread(app.tracked_position, RELAY_TRACKING) < last:
        await asyncio.sleep(0.01)
    stop.set()
    await task
    return last


def consumer_pair(work: Path, server: LocalNatsServer, last: int, count: int) -> tuple[Work, Work]:
    training = TrainingApplication(env=sqlite_env(work / "consumer-training.sqlite"))

    async def ours() -> int:
        async with run_subscriptions(server.url, [enrolment_subscription(training)]):
            while await asyncio.to_thread(training.tracked_position, "enrolment") < last:
                await asyncio.sleep(0.01)
        return count

    async def baseline() -> int:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        subscription = await js.pull_subscribe("revmentor.enrolment.>", durable="bench-raw")
        seen = 0
        while seen < count:
            for message in await subscription.fetch(256, timeout=5):
                await message.ack()
                seen += "ParticipantEnrolled" in message.subject
        await nc.close()
        return count

    return ours, baseline


# -- replay ------------------------------------------------------------------------
def replay_pair(work: Path, count: int) -> tuple[Work, Work]:
    app = EnrolmentApplication(env=sqlite_env(work / "replay.sqlite"))
    enrol_many(app, new_programme(app), 0, count)
    total = app.recorder.max_notification_id() or 0

    async def ours() -> int:
        await asyncio.to_thread(app.rebuild_read_model)
        return total

    async def baseline() -> int:
        def read_all() -> int:
            after, seen = 0, 0
            while page := app.notifications(after, 500):
                after, seen = page[-1].id, seen + len(page)
            return seen

        return await asyncio.to_thread(read_all)

    return ours, baseline


# -- grpc --------------------------------------------------------------------------
Metadata = tuple[tuple[str, str], ...]


def bench_auth(work: Path) -> tuple[Authenticator, Metadata]:
    """A throwaway signing key the server trusts, and an admin token signed with it.

    Every measured call pays for token verification, as in production; the rate
    limit is lifted so it does not throttle the one benchmark caller.
    """
    key = DevKey.generate(issuer="revmentor-bench")
    jwks = work / "bench-jwks.json"
    jwks.write_text(json.dumps(key.jwks()), encoding="utf-8")
    settings = AuthSettings(issuer=key.issuer, audience=key.audience, jwks_file=str(jwks))
    token = key.mint("bench", roles=["admin"], ttl=3600)
    return Authenticator(settings), (("authorization", f"Bearer {token}"),)


async def start_grpc(
    work: Path, env: dict[str, str] | None = None
) -> tuple[GrpcServer, EnrolmentApplication, str, str, Metadata]:
    """The enrolment gRPC server as a service runs it (auth, validation, rate
    limiter lifted) on ``env``'s store (a SQLite file under ``work`` by default)."""
    app = EnrolmentApplication(env={**KEK, **(env or sqlite_env(work / "grpc.sqlite"))})
    programme_id = new_programme(app)
    authenticator, auth = bench_auth(work)
    unlimited = RateLimiter(rate=1e9, burst=1e9)
    server = GrpcServer("enrolment", "127.0.0.1", 0, authenticator=authenticator, limiter=unlimited)
    server.add(
        pb_grpc.add_EnrolmentServiceServicer_to_server, EnrolmentServicer(app), [SERVICE_NAME]
    )
    port = await server.start()
    return server, app, f"127.0.0.1:{port}", programme_id, auth


async def in_flight(count: int, call: Callable[[int], Awaitable[Any]]) -> int:
    queue = iter(range(count))

    async def worker() -> None:
        for n in queue:
            await call(n)

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count


def enrol_request(programme_id: str, employee_id: str, n: int) -> pb.EnrolParticipantRequest:
    """A valid EnrolParticipant request for a mentee (profile ``mentee_profile(n)``)."""
    return pb.EnrolParticipantRequest(
        programme_id=programme_id,
        employee_id=employee_id,
        role=pb.ROLE_MENTEE,
        profile=mapping.profile_message(mentee_profile(n).to_dict()),
        consent=pb.Consent(given=True, notice_version="v1"),
    )


def grpc_pairs(
    address: str, programme_id: str, count: int, participant_ids: list[str], auth: Metadata
) -> list[tuple[str, Work, Work]]:
    def stubs() -> tuple[grpc.aio.Channel, Any, Any]:
        channel = grpc.aio.insecure_channel(address)
        return (channel, pb_grpc.EnrolmentServiceStub(channel), health_pb2_grpc.HealthStub(channel))

    async def health() -> int:
        channel, _, stub = stubs()
        request = health_pb2.HealthCheckRequest(service="")
        done = await in_flight(count, lambda n: stub.Check(request))
        await channel.close()
        return done

    async def enrol() -> int:
        channel, stub, _ = stubs()

        async def one(n: int) -> Any:
            return await stub.EnrolParticipant(
                enrol_request(programme_id, f"G{n}", n), metadata=auth
            )

        done = await in_flight(count, one)
        await channel.close()
        return done

    async def get() -> int:
        channel, stub, _ = stubs()
        done = await in_flight(
            count,
            lambda n: stub.GetParticipant(
                pb.GetParticipantRequest(participant_id=participant_ids[n % len(participant_ids)]),
                metadata=auth,
            ),
        )
        await channel.close()
        return done

    return [
        ("grpc EnrolParticipant (50 in flight)", enrol, health),
        ("grpc GetParticipant (50 in flight)", get, health),
    ]


async def suite(work: Path, scale: float) -> AsyncIterator[tuple[str, Work, Work, str]]:
    """Every benchmark, each set up on a fresh store just before it runs."""
    n = max(int(1000 * scale), 50)
    server = LocalNatsServer(store_dir=work / "nats").start()
    try:
        yield ("store: enrol command vs raw save", *store_pair(work, n), "commands")
        yield ("relay vs raw publish_async", *relay_pair(work, server, 5 * n), "events")
        yield ("replay read model vs raw read", *replay_pair(work, 5 * n), "events")
        last = await publish_enrolments(work, server, n)
        yield (
            "consumer (training) vs raw pull+ack",
            *consumer_pair(work, server, last, n),
            "events",
        )
        grpc_server, app, address, programme_id, auth = await start_grpc(work)
        await asyncio.to_thread(enrol_many, app, programme_id, 0, 100)
        ids = list(app.views.participants)
        try:
            for name, ours, raw in grpc_pairs(address, programme_id, 2 * n, ids, auth):
                yield (name, ours, raw, "calls")
        finally:
            await grpc_server.stop()
    finally:
        server.stop()
