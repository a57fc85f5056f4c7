"""One trace from a gRPC call through the store, NATS and a downstream consumer.

The span tree must read: server call -> store append; server call -> publish
(producer, parent taken from the stored envelope) -> consume (consumer, parent
taken from the NATS traceparent header) -> downstream store append.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from support import DevIssuer, authed_channel, eventually

from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.integration import translate
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.consumer import UpstreamSubscription, run_subscriptions
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay


class Seen(Aggregate):
    @event("Seen")
    def __init__(self, programme_id: str):
        self.programme_id = programme_id


class Observer(ServiceApplication):
    name = "observer"


@pytest.fixture
async def platform(
    nats_server: LocalNatsServer, tmp_path: Any
) -> AsyncIterator[tuple[pb_grpc.EnrolmentServiceStub, Observer]]:
    app = EnrolmentApplication(env={"SQLITE_DBNAME": str(tmp_path / "enrolment.sqlite")})
    observer = Observer(env={"SQLITE_DBNAME": str(tmp_path / "observer.sqlite")})
    issuer = DevIssuer(tmp_path / "auth")
    server = GrpcServer("enrolment", "127.0.0.1", 0, authenticator=issuer.authenticator())
    server.add(
        pb_grpc.add_EnrolmentServiceServicer_to_server, EnrolmentServicer(app), [SERVICE_NAME]
    )
    port = await server.start()
    stop = asyncio.Event()
    relay_task = asyncio.create_task(Relay(app, translate, nats_server.url).run(stop))
    subscription = UpstreamSubscription(
        observer,
        "enrolment",
        {"ProgrammeCreated": lambda e: [Seen(programme_id=e.data["programmeId"])]},
    )
    async with run_subscriptions(nats_server.url, [subscription]):
        channel = authed_channel(f"127.0.0.1:{port}", issuer.token())
        yield pb_grpc.EnrolmentServiceStub(channel), observer
        await channel.close()
    stop.set()
    await relay_task
    await server.stop()


async def test_one_grpc_call_is_one_trace_through_store_nats_and_consumer(
    platform: tuple[pb_grpc.EnrolmentServiceStub, Observer], span_exporter: Any
) -> None:
    stub, observer = platform
    span_exporter.clear()
    await stub.CreateProgramme(
        pb.CreateProgrammeRequest(
            name="Traced",
            start_date="2027-01-01",
            end_date="2027-06-30",
            topics=[pb.Topic(code="generative-ai", title="Generative AI")],
        )
    )

    def named(prefix: str) -> list[Any]:
        return [s for s in span_exporter.get_finished_spans() if s.name.startswith(prefix)]

    async def downstream_recorded() -> bool:
        return bool(named("observer.store.append"))

    await eventually(downstream_recorded, what="the consumer's store write")
    call = named("revmentor.enrolment.v1.EnrolmentService/CreateProgramme")[0]
    store = named("enrolment.store.append")[0]
    publish = named("publish revmentor.enrolment.v1.ProgrammeCreated")[0]
    consume = named("consume revmentor.enrolment.v1.ProgrammeCreated")[0]
    downstream = named("observer.store.append")[0]

    trace_id = call.context.trace_id
    for span in (store, publish, consume, downstream):
        assert span.context.trace_id == trace_id, f"{span.name} is in another trace"
    assert store.parent.span_id == call.context.span_id
    assert publish.parent.span_id == call.context.span_id
    assert consume.parent.span_id == publish.context.span_id
    assert downstream.parent.span_id == consume.context.span_id
    assert call.kind == grpc_kind("SERVER") and publish.kind == grpc_kind("PRODUCER")
    assert consume.kind == grpc_kind("CONSUMER")

    stored = observer.notifications(0, 10)
    _, envelope = observer.envelope_mapper.decode(stored[0])
    assert envelope["traceparent"].split("-")[1] == format(trace_id, "032x")


def grpc_kind(name: str) -> Any:
    from opentelemetry.trace import SpanKind

    return getattr(SpanKind, name)


def test_traceparent_of_a_span_is_what_the_propagator_would_inject() -> None:
    """The relay names its producer span as the parent without making it current."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from revmentor.kernel.telemetry import current_traceparent, traceparent_of

    span = TracerProvider().get_tracer("test").start_span("publish")
    with trace.use_span(span, end_on_exit=True):
        injected = current_traceparent()
    assert injected.startswith("00-") and traceparent_of(span) == injected
    assert traceparent_of(trace.INVALID_SPAN) == ""
