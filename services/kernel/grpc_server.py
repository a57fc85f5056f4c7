"""The gRPC bootstrap shared by every service.

One interceptor gives every RPC the same behaviour: a server span (joined to
the caller's trace), a request context (actor, correlation, causation) for the
events it records, and one error mapping - domain errors become their status
code with a readable message (and ``google.rpc.BadRequest`` field violations
for INVALID_ARGUMENT); anything unexpected is logged with the trace id and
answered without internals.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import trace

from revmentor.kernel import context
from revmentor.kernel.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    DomainError,
    FieldViolation,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from revmentor.kernel.telemetry import context_from, current_trace_id, current_traceparent

log = logging.getLogger(__name__)

STATUS_OF: list[tuple[type[DomainError], grpc.StatusCode]] = [
    (ValidationFailed, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (IllegalTransition, grpc.StatusCode.FAILED_PRECONDITION),
    (AlreadyExists, grpc.StatusCode.ALREADY_EXISTS),
    (ConcurrencyConflict, grpc.StatusCode.ABORTED),
]

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
#: gRPC trailers are capped (8 KiB soft, 16 KiB hard): keep the status text well below.
MAX_STATUS_MESSAGE = 2000


def code_for(error: DomainError) -> grpc.StatusCode:
    for cls, code in STATUS_OF:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def status_for(error: DomainError) -> status_pb2.Status:
    """The rich ``google.rpc.Status`` for a domain error."""
    message = str(error)
    if len(message) > MAX_STATUS_MESSAGE:
        message = message[: MAX_STATUS_MESSAGE - 3] + "..."
    status = status_pb2.Status(code=code_for(error).value[0], message=message)
    if isinstance(error, ValidationFailed):
        bad_request = error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
        detail = any_pb2.Any()
        detail.Pack(bad_request)
        status.details.append(detail)
    return status


def internal_status() -> status_pb2.Status:
    return status_pb2.Status(
        code=code_pb2.INTERNAL,
        message=f"unexpected server error; quote trace id {current_trace_id()} to support",
    )


def field_violations(error: grpc.RpcError) -> list[tuple[str, str]]:
    """Client helper: the (field, description) pairs of an INVALID_ARGUMENT error."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    if status is None:
        return []
    found: list[tuple[str, str]] = []
    for detail in status.details:
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            found += [(v.field, v.description) for v in bad_request.field_violations]
    return found


def _request_context(metadata: dict[str, str]) -> context.RequestContext:
    return context.new_request(
        actor=metadata.get("x-revmentor-actor", "anonymous"),
        correlation_id=metadata.get("x-correlation-id", ""),
        causation_id=metadata.get("x-causation-id", ""),
        traceparent=current_traceparent(),
    )


def _decode_request(decode: Callable[[bytes], Any] | None, raw: bytes, method: str) -> Any:
    if decode is None:
        return raw
    try:
        return decode(raw)
    except Exception as error:
        raise ValidationFailed(
            [FieldViolation("request", f"is not a valid {method.rsplit('/', 1)[-1]} message")]
        ) from error


class ServiceInterceptor(grpc.aio.ServerInterceptor):
    """Tracing, request context and error mapping around every unary RPC."""

    def __init__(self, service: str):
        self.tracer = trace.get_tracer(f"revmentor.{service}.grpc")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method  # type: ignore[attr-defined]
        if handler is None or handler.unary_unary is None or method.startswith("/grpc."):
            return handler
        inner = handler.unary_unary
        decode = handler.request_deserializer
        metadata = {k: str(v) for k, v in (details.invocation_metadata or ())}  # type: ignore[attr-defined]

        async def wrapped(raw: bytes, ctx: Any) -> Any:
            with (
                self.tracer.start_as_current_span(
                    method.lstrip("/"), context=context_from(metadata), kind=trace.SpanKind.SERVER
                ) as span,
                context.acting_as(_request_context(metadata)),
            ):
                try:
                    request = _decode_request(decode, raw, method)
                    return await inner(request, ctx)
                except DomainError as error:
                    span.set_attribute("revmentor.error", type(error).__name__)
                    await ctx.abort_with_status(rpc_status.to_status(status_for(error)))
                except (asyncio.CancelledError, grpc.aio.AbortError):
                    raise
                except Exception:
                    log.exception("unexpected error in %s", method)
                    span.set_status(trace.Status(trace.StatusCode.ERROR))
                    await ctx.abort_with_status(rpc_status.to_status(internal_status()))

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=None,  # decoded inside, so a bad body is INVALID_ARGUMENT
            response_serializer=handler.response_serializer,
        )


class GrpcServer:
    """A grpc.aio server with health, reflection and graceful shutdown."""

    def __init__(self, service: str, host: str, port: int, grace_seconds: float = 10.0):
        self.service = service
        self.address = f"{host}:{port}"
        self.grace_seconds = grace_seconds
        self.health = HealthServicer()
        self.server = grpc.aio.server(
            interceptors=[ServiceInterceptor(service)],
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                # Linux would let a second process bind the same port silently.
                ("grpc.so_reuseport", 0),
            ],
        )
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.service_names: list[str] = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        self.port = 0

    def add(
        self,
        register: Callable[[Any, grpc.aio.Server], None],
        servicer: Any,
        full_names: Iterable[str],
    ) -> None:
        register(servicer, self.server)
        self.service_names += list(full_names)

    async def start(self) -> int:
        reflection.enable_server_reflection(
            [*self.service_names, reflection.SERVICE_NAME], self.server
        )
        self.port = self.server.add_insecure_port(self.address)
        await self.server.start()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving gRPC on port %s", self.service, self.port)
        return self.port

    async def stop(self) -> None:
        """Report NOT_SERVING, let in-flight calls finish, then stop."""
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
        await self.server.stop(self.grace_seconds)


def install_shutdown_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` instead of killing the process mid-write."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
