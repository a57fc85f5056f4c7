"""OpenTelemetry: one trace from a gRPC call through the store, NATS and consumers.

Spans are exported over OTLP only when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set;
otherwise they are created (so trace ids reach logs and event envelopes) and
dropped. The W3C ``traceparent`` travels in gRPC metadata, NATS headers and the
stored event envelope.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s trace=%(trace_id)s %(message)s"


def setup_tracing(service: str) -> TracerProvider:
    """Install (once per process) the tracer provider for ``service``."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider(resource=Resource.create({"service.name": f"revmentor-{service}"}))
    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return provider


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def current_traceparent() -> str:
    """The W3C traceparent of the active span, or '' outside any span."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def traceparent_of(span: trace.Span) -> str:
    """The W3C traceparent naming ``span`` as the parent, or '' for a span that
    is not recording a trace - without making it the current span first."""
    ids = span.get_span_context()
    if not ids.is_valid:
        return ""
    return f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"


def context_from(carrier: Mapping[str, str]) -> otel_context.Context:
    """The parent context carried by headers or metadata (``traceparent``)."""
    return propagate.extract(dict(carrier))


def current_trace_id() -> str:
    span_context = trace.get_current_span().get_span_context()
    return format(span_context.trace_id, "032x") if span_context.is_valid else "-"


class TraceIdFilter(logging.Filter):
    """Adds ``trace_id`` to every log record so logs and traces join up."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id()
        return True


def setup_logging(level: str | None = None) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(TraceIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for noisy in ("faststream", "nats", "grpc"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
