"""With OTEL_EXPORTER_OTLP_ENDPOINT set, a service process exports its spans.

A tiny OTLP/gRPC collector runs in the test; the enrolment service runs as its
own process pointed at it. One CreateProgramme call must arrive as spans of
service ``revmentor-enrolment`` sharing one trace id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2 as otlp
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc as otlp_grpc
from support import ServiceProcess, eventually

from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import LocalNatsServer

pytestmark = pytest.mark.slow


class Collector(otlp_grpc.TraceServiceServicer):
    def __init__(self) -> None:
        self.spans: list[tuple[str, str, bytes]] = []  # service name, span name, trace id

    async def Export(self, request: otlp.ExportTraceServiceRequest, context: Any) -> Any:
        for resource_spans in request.resource_spans:
            attributes = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    self.spans.append(
                        (attributes.get("service.name", ""), span.name, span.trace_id)
                    )
        return otlp.ExportTraceServiceResponse()


async def test_service_exports_spans_over_otlp(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    collector = Collector()
    server = grpc.aio.server()
    otlp_grpc.add_TraceServiceServicer_to_server(collector, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    service = ServiceProcess(
        "enrolment",
        tmp_path / "var",
        nats_server.url,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        },
    )
    service.start()
    try:
        async with service.channel() as channel:
            await pb_grpc.EnrolmentServiceStub(channel).CreateProgramme(
                pb.CreateProgrammeRequest(
                    name="Exported",
                    start_date="2027-01-01",
                    end_date="2027-06-30",
                    topics=[pb.Topic(code="generative-ai", title="Generative AI")],
                )
            )

        def names() -> set[str]:
            return {
                name
                for service_name, name, _ in collector.spans
                if service_name == "revmentor-enrolment"
            }

        async def exported() -> bool:
            wanted = {
                "revmentor.enrolment.v1.EnrolmentService/CreateProgramme",
                "enrolment.store.append",
            }
            published = any(n.startswith("publish revmentor.enrolment") for n in names())
            return wanted <= names() and published

        await eventually(exported, timeout=20, what="spans at the collector")
        call_trace = {t for _, n, t in collector.spans if n.endswith("/CreateProgramme")}
        store_trace = {t for _, n, t in collector.spans if n == "enrolment.store.append"}
        assert call_trace & store_trace, "the call and its store write share a trace"
    finally:
        assert service.stop() == 0, service.log()[-2000:]
        await server.stop(None)
