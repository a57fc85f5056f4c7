"""The gRPC bootstrap shared by every service.

One interceptor gives every RPC the same behaviour: a server span (joined to
the caller's trace); authentication of the bearer JWT (UNAUTHENTICATED), a
per-caller rate limit (RESOURCE_EXHAUSTED with ``google.rpc.RetryInfo``) and
authorisation by role from the service's declarative access table
(PERMISSION_DENIED; a method missing from the table is denied to everyone); a
request context (principal, actor, correlation, causation) for the handlers
and the events they record; and one error mapping - domain errors become their
status code with a readable message (and ``google.rpc.BadRequest`` field
violations for INVALID_ARGUMENT); anything unexpected is logged with the trace
id and answered without internals. Only gRPC health and reflection are open to
anonymous callers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import grpc
from eventsourcing.persistence import InterfaceError, OperationalError
from google.protobuf import any_pb2, descriptor_pool, duration_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from opentelemetry import trace

from revmentor.kernel import context, tls
from revmentor.kernel.auth import (
    AccessDenied,
    Authenticator,
    KeysUnavailable,
    Principal,
    Unauthenticated,
)
from revmentor.kernel.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    DomainError,
    FieldViolation,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from revmentor.kernel.ratelimit import RateLimiter
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
#: The message is sent as-is and the details base64-encoded (x4/3), both in the
#: trailers: 1,000 + 3,000 x 4/3 stays well inside the 8 KiB soft limit.
MAX_STATUS_MESSAGE = 1000
MAX_DETAILS_BYTES = 3000
#: Open to anonymous callers: liveness probes and API discovery carry no data.
PUBLIC_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

#: RPC method name -> roles allowed to call it, one table per service.
AccessPolicy = Mapping[str, frozenset[str]]


#: The store's "cannot talk to the database now" (a restart, a failover, a full
#: pool): the call changed nothing and may be retried - UNAVAILABLE, not INTERNAL.
STORE_UNREACHABLE = (OperationalError, InterfaceError)


class StoreUnavailable(Exception):
    """The service's database is known not to answer: refused at once (UNAVAILABLE)."""


class RateLimited(Exception):
    """The caller used up their bucket; ``retry_after`` seconds until the next token."""

    def __init__(self, actor: str, retry_after: float):
        super().__init__(f"rate limit exceeded for {actor}; retry in {retry_after:.3f} s")
        self.retry_after = retry_after


def code_for(error: DomainError) -> grpc.StatusCode:
    for cls, code in STATUS_OF:
        if isinstance(error, cls):
            return code
    return grpc.StatusCode.FAILED_PRECONDITION


def status_for(error: DomainError) -> status_pb2.Status:
    """The rich ``google.rpc.Status`` for a domain error."""
    message = fit_message(str(error))
    status = status_pb2.Status(code=code_for(error).value[0], message=message)
    if isinstance(error, ValidationFailed):
        detail = any_pb2.Any()
        detail.Pack(_bad_request(error))
        status.details.append(detail)
    return status


def encoded_length(text: str) -> int:
    """Bytes ``text`` takes in the ``grpc-message`` trailer: UTF-8, every byte
    outside printable ASCII (and ``%``) percent-encoded as three."""
    return sum(1 if 0x20 <= b <= 0x7E and b != 0x25 else 3 for b in text.encode())


#: Characters a quoted client value could use to forge lines or colours in a
#: log or a terminal that shows the message: C0/C1 controls, line separators.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escaped(message: str) -> str:
    """Control characters as escapes (``\\n``, ``\\x1b``): error messages may
    quote what a client sent, and are logged and shown as they are."""
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode(), message)


def fit_message(message: str, budget: int = MAX_STATUS_MESSAGE) -> str:
    """The message, escaped, cut to fit ``budget`` encoded bytes: an error quoting
    much multibyte text must not push the trailers past a client's limit (8 KiB
    by default), or the client gets RESOURCE_EXHAUSTED instead of the answer."""
    message = escaped(message)
    if encoded_length(message) <= budget:
        return message
    low, high = 0, len(message)
    while low < high:  # the longest prefix that fits with the ellipsis
        middle = (low + high + 1) // 2
        if encoded_length(message[:middle]) + 3 <= budget:
            low = middle
        else:
            high = middle - 1
    return message[:low] + "..."


def _bad_request(error: ValidationFailed) -> error_details_pb2.BadRequest:
    """Field violations, as many as fit the trailer budget; the rest are counted."""
    bad_request = error_details_pb2.BadRequest()
    for shown_count, v in enumerate(error.violations):
        bad_request.field_violations.add(field=v.field, description=v.description)
        if bad_request.ByteSize() > MAX_DETAILS_BYTES:
            del bad_request.field_violations[-1]
            left = len(error.violations) - shown_count
            bad_request.field_violations.add(
                field="request", description=f"and {left} more violations not listed"
            )
            break
    return bad_request


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


def rate_limited_status(error: RateLimited) -> status_pb2.Status:
    """RESOURCE_EXHAUSTED with a machine-readable ``google.rpc.RetryInfo``."""
    delay = duration_pb2.Duration()
    delay.FromNanoseconds(max(1, int(error.retry_after * 1e9)))
    detail = any_pb2.Any()
    detail.Pack(error_details_pb2.RetryInfo(retry_delay=delay))
    return status_pb2.Status(code=code_pb2.RESOURCE_EXHAUSTED, message=str(error), details=[detail])


def _request_context(metadata: dict[str, str], principal: Principal) -> context.RequestContext:
    return context.new_request(
        actor=principal.actor,
        correlation_id=metadata.get("x-correlation-id", ""),
        causation_id=metadata.get("x-causation-id", ""),
        traceparent=current_traceparent(),
        principal=principal,
    )


def policy_for(full_name: str, policy: AccessPolicy) -> dict[str, frozenset[str]]:
    """A service's table keyed by full method path; logs methods it forgot (denied)."""
    methods = descriptor_pool.Default().FindServiceByName(full_name).methods
    missing = [m.name for m in methods if m.name not in policy]
    if missing:
        log.error("%s: no access rule for %s; denied to everyone", full_name, missing)
    return {f"/{full_name}/{name}": frozenset(roles) for name, roles in policy.items()}


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
    """Tracing, authentication, rate limit, authorisation, context and errors per RPC."""

    def __init__(
        self,
        service: str,
        authenticator: Authenticator | None = None,
        limiter: RateLimiter | None = None,
    ):
        self.tracer = trace.get_tracer(f"revmentor.{service}.grpc")
        self.authenticator = authenticator or Authenticator.from_env(service)
        self.limiter = limiter or RateLimiter.from_env(service)
        #: full method path -> roles; filled by :meth:`GrpcServer.add` before start.
        self.policy: dict[str, frozenset[str]] = {}
        #: Why calls cannot be served now ("" when they can): the store watch's answer.
        self.unavailable: Callable[[], str] = lambda: ""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method  # type: ignore[attr-defined]
        if handler is None or method.startswith(PUBLIC_PREFIXES):
            return handler
        metadata = {k: str(v) for k, v in (details.invocation_metadata or ())}  # type: ignore[attr-defined]
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._wrap_stream(method, handler, metadata),
                request_deserializer=None,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_unary is None:
            return _refused(handler)  # fail closed: client streaming is not checked here
        return grpc.unary_unary_rpc_method_handler(
            self._wrap(method, handler, metadata),
            request_deserializer=None,  # decoded inside, so a bad body is INVALID_ARGUMENT
            response_serializer=handler.response_serializer,
        )

    def _wrap(
        self, method: str, handler: grpc.RpcMethodHandler, metadata: dict[str, str]
    ) -> Callable[[bytes, Any], Awaitable[Any]]:
        inner = handler.unary_unary
        decode = handler.request_deserializer
        assert inner is not None

        async def wrapped(raw: bytes, ctx: Any) -> Any:
            with self.tracer.start_as_current_span(
                method.lstrip("/"), context=context_from(metadata), kind=trace.SpanKind.SERVER
            ) as span:
                try:
                    principal = await self.admit(method, metadata)
                    self.check_available()
                    with context.acting_as(_request_context(metadata, principal)):
                        request = _decode_request(decode, raw, method)
                        return await inner(request, ctx)
                except Exception as error:  # noqa: BLE001 - every failure gets one status
                    await self._abort(ctx, span, method, error)

        return wrapped

    def _wrap_stream(
        self, method: str, handler: grpc.RpcMethodHandler, metadata: dict[str, str]
    ) -> Callable[[bytes, Any], AsyncIterator[Any]]:
        """The same checks for a server-streaming RPC: admitted before the first
        message, and a failure at any message ends the stream with its status."""
        inner: Any = handler.unary_stream  # an async generator function (grpc.aio)
        decode = handler.request_deserializer
        assert inner is not None

        async def wrapped(raw: bytes, ctx: Any) -> AsyncIterator[Any]:
            with self.tracer.start_as_current_span(
                method.lstrip("/"), context=context_from(metadata), kind=trace.SpanKind.SERVER
            ) as span:
                try:
                    principal = await self.admit(method, metadata)
                    self.check_available()
                    acting = _request_context(metadata, principal)
                    request = _decode_request(decode, raw, method)
                    # closed however the stream ends (a caller gone away included),
                    # so the handler's own clean-up runs at once
                    async with contextlib.aclosing(inner(request, ctx)) as messages:
                        while True:
                            # the caller's context is set around each step, never
                            # across a yield: the stream may be closed from elsewhere
                            with context.acting_as(acting):
                                try:
                                    message = await messages.__anext__()
                                except StopAsyncIteration:
                                    return
                            yield message
                except Exception as error:  # noqa: BLE001 - every failure gets one status
                    await self._abort(ctx, span, method, error)

        return wrapped

    def check_available(self) -> None:
        reason = self.unavailable()
        if reason:
            raise StoreUnavailable(reason)

    async def admit(self, method: str, metadata: dict[str, str]) -> Principal:
        """Who is calling, if they may call ``method`` now; raises the reason otherwise."""
        principal = await self.authenticator.authenticate(metadata.get("authorization"))
        retry_after = self.limiter.retry_after(principal.actor)
        if retry_after:
            raise RateLimited(principal.actor, retry_after)
        allowed = self.policy.get(method, frozenset())
        if not principal.has_any(allowed):
            raise AccessDenied(
                f"{method.rsplit('/', 1)[-1]} is not allowed for roles "
                f"{sorted(principal.roles) or '[]'}"
            )
        return principal

    async def _abort(self, ctx: Any, span: Any, method: str, error: Exception) -> None:
        if isinstance(error, (asyncio.CancelledError, grpc.aio.AbortError)):
            raise error
        span.set_attribute("revmentor.error", type(error).__name__)
        if isinstance(error, Unauthenticated):
            await ctx.abort(grpc.StatusCode.UNAUTHENTICATED, fit_message(str(error)))
        if isinstance(error, AccessDenied):
            await ctx.abort(grpc.StatusCode.PERMISSION_DENIED, fit_message(str(error)))
        if isinstance(error, KeysUnavailable):
            await ctx.abort(grpc.StatusCode.UNAVAILABLE, fit_message(str(error)))
        if isinstance(error, StoreUnavailable):
            await ctx.abort(grpc.StatusCode.UNAVAILABLE, fit_message(str(error)))
        if isinstance(error, STORE_UNREACHABLE):
            log.warning("%s: the store is not reachable: %s", method, error)
            await ctx.abort(
                grpc.StatusCode.UNAVAILABLE,
                "the service's database is not reachable right now and nothing was written; "
                "retry in a few seconds",
            )
        if isinstance(error, RateLimited):
            await ctx.abort_with_status(rpc_status.to_status(rate_limited_status(error)))
        if isinstance(error, DomainError):
            await ctx.abort_with_status(rpc_status.to_status(status_for(error)))
        log.error("unexpected error in %s", method, exc_info=error)
        span.set_status(trace.Status(trace.StatusCode.ERROR))
        await ctx.abort_with_status(rpc_status.to_status(internal_status()))


def _refused(handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """A client-streaming handler that refuses: nothing unchecked gets through
    (server-streaming RPCs are checked by ``_wrap_stream``)."""

    async def refuse(request: Any, ctx: Any) -> None:
        await ctx.abort(grpc.StatusCode.UNIMPLEMENTED, "client-streaming RPCs are not served")

    make = (
        grpc.stream_unary_rpc_method_handler
        if handler.stream_unary
        else grpc.stream_stream_rpc_method_handler
    )
    return make(refuse, response_serializer=handler.response_serializer)  # type: ignore[operator]


class GrpcServer:
    """A grpc.aio server with authentication, health, reflection and graceful shutdown.

    ``authenticator`` and ``limiter`` default to the environment's settings
    (:class:`~revmentor.kernel.auth.AuthSettings`, ``REVMENTOR_RATE_LIMIT_*``);
    a server without authentication settings refuses to start.
    """

    def __init__(
        self,
        service: str,
        host: str,
        port: int,
        grace_seconds: float = 10.0,
        authenticator: Authenticator | None = None,
        limiter: RateLimiter | None = None,
    ):
        self.service = service
        self.address = f"{host}:{port}"
        self.grace_seconds = grace_seconds
        self.health = HealthServicer()
        self.interceptor = ServiceInterceptor(service, authenticator, limiter)
        self.server = grpc.aio.server(
            interceptors=[self.interceptor],
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
        policy: AccessPolicy | None = None,
    ) -> None:
        """Serve ``servicer``; ``policy`` (default: its ``ACCESS_POLICY``) says who calls what."""
        register(servicer, self.server)
        policy = policy if policy is not None else getattr(servicer, "ACCESS_POLICY", {})
        for name in full_names:
            self.interceptor.policy.update(policy_for(name, policy))
            self.service_names.append(name)

    async def start(self) -> int:
        reflection.enable_server_reflection(
            [*self.service_names, reflection.SERVICE_NAME], self.server
        )
        self.port = tls.add_port(self.server, self.address, self.service)
        await self.server.start()
        for name in ["", *self.service_names]:
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info("%s serving gRPC on port %s", self.service, self.port)
        return self.port

    async def set_serving(self, serving: bool) -> None:
        """The health of every service on this server (a store outage: NOT_SERVING)."""
        status = health_pb2.HealthCheckResponse.SERVING
        if not serving:
            status = health_pb2.HealthCheckResponse.NOT_SERVING
        for name in ["", *self.service_names]:
            await self.health.set(name, status)

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
