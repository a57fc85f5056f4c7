"""Server-streaming RPCs through the kernel's interceptor (``ServiceInterceptor._wrap_stream``).

What must hold, through a real grpc.aio server with the kernel's interceptor:
a streaming call is admitted before its first message - no token is
UNAUTHENTICATED, a role outside the access table is PERMISSION_DENIED, a caller
over the rate limit is RESOURCE_EXHAUSTED (with a retry hint; the stream took
a token) - and a refused call streams nothing; a handler failing after its
first message ends the stream with INTERNAL and a generic message (no exception
text, no type name) once that message was delivered; client-streaming and bidi
RPCs are refused UNIMPLEMENTED without running their handler, and a streaming
method missing from the access table is denied to everyone; the caller's
request context (actor, principal, correlation id) is the current one inside
the handler at every step of the stream.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from eventsourcing.domain import Aggregate, event
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from support import DevIssuer, authed_channel, grpc_service

from revmentor.audit.v1 import audit_pb2 as pb
from revmentor.audit.v1 import audit_pb2_grpc as pb_grpc
from revmentor.kernel import auditlog, context, replay
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.auditlog import SERVICE_NAME, AuditLogServicer
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.readmodel import ReadModel

NATS = "nats://127.0.0.1:1"  # never reached: no test here verifies a chain
TEAM = str(uuid.uuid4())
SECRET = "db password hunter2 at /srv/secret/store.sqlite"
PROBE = "revmentor.test.Probe"  # a proto-free service, registered as a generic handler


class Tally(Aggregate):
    class Opened(Aggregate.Created):
        team: str

    @event(Opened)
    def __init__(self, team: str):
        self.team = team

    @event("Counted")
    def count(self, n: int) -> None:
        """Recorded as an event; the aggregate keeps nothing of it."""


class Tallies(ReadModel):
    """Counts per tally, grouped by team (the "programme")."""

    def __init__(self) -> None:
        super().__init__()
        self.tallies: dict[str, dict[str, Any]] = {}

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        name = type(event).__qualname__
        if name == "Tally.Opened":
            self.tallies[str(event.originator_id)] = {"team": event.team, "total": 0}
        elif name == "Tally.Counted":
            self.tallies[str(event.originator_id)]["total"] += event.n

    def programme_state(self, programme_id: str) -> Any:
        return {k: v["total"] for k, v in self.tallies.items() if v["team"] == programme_id}


class Counter(ServiceApplication):
    name = "counter"

    def construct_read_model(self) -> ReadModel:
        return Tallies()


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "var"))


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Counter]:
    """A small application over SQLite with one tally of TEAM (the store is not under test)."""
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    counter = Counter(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / "counter.sqlite"),
            "REVMENTOR_KEK": kek,
        }
    )
    tally = Tally(team=TEAM)
    tally.count(3)
    counter.save(tally)
    yield counter
    counter.close()


# -- helpers ----------------------------------------------------------------------------------
async def streamed(call: Any) -> tuple[list[Any], grpc.aio.AioRpcError | None]:
    """Every message a streaming call delivered, and the error that ended it (if any)."""
    messages: list[Any] = []
    try:
        async for message in call:
            messages.append(message)
    except grpc.aio.AioRpcError as error:
        return messages, error
    return messages, None


def request() -> pb.ReplayProgrammeRequest:
    return pb.ReplayProgrammeRequest(programme_id=TEAM)


@contextlib.asynccontextmanager
async def audit_stub(
    servicer: Any, issuer: DevIssuer, role: str = "auditor", **claims: Any
) -> AsyncIterator[pb_grpc.AuditLogServiceStub]:
    """``servicer`` on a real server (support.grpc_service); calls carry a ``role`` token."""
    async with grpc_service("counter", auditlog.register, servicer, [SERVICE_NAME], issuer) as port:
        token = issuer.token(role, sub=f"{role}-1", **claims)
        async with authed_channel(f"127.0.0.1:{port}", token) as channel:
            yield pb_grpc.AuditLogServiceStub(channel)


def assert_refused(
    outcome: tuple[list[Any], grpc.aio.AioRpcError | None], code: grpc.StatusCode
) -> grpc.aio.AioRpcError:
    messages, error = outcome
    assert error is not None, f"expected {code.name}, the stream ended normally"
    assert error.code() == code, error.details()
    assert messages == [], "a refused stream delivered messages"
    return error


# -- admission --------------------------------------------------------------------------------
async def test_a_stream_without_a_token_is_unauthenticated_before_any_message(
    app: Counter, issuer: DevIssuer
) -> None:
    servicer = AuditLogServicer(app, NATS, app.name)
    async with grpc_service("counter", auditlog.register, servicer, [SERVICE_NAME], issuer) as port:
        address = f"127.0.0.1:{port}"
        async with grpc.aio.insecure_channel(address) as channel:
            anonymous = pb_grpc.AuditLogServiceStub(channel)
            refused = await streamed(anonymous.ReplayProgramme(request()))
        # the same server streams to an auditor: the refusal was the token's
        async with authed_channel(address, issuer.token("auditor")) as authed:
            good = pb_grpc.AuditLogServiceStub(authed)
            messages, failed = await streamed(good.ReplayProgramme(request()))
    error = assert_refused(refused, grpc.StatusCode.UNAUTHENTICATED)
    assert "token" in (error.details() or "").lower()
    assert failed is None and messages and messages[-1].HasField("state")


@pytest.mark.parametrize("role", ["mentor", "programme_manager"])
async def test_a_role_outside_the_table_is_permission_denied_before_any_message(
    app: Counter, issuer: DevIssuer, role: str
) -> None:
    ran: list[str] = []

    class Watched(AuditLogServicer):
        async def ReplayProgramme(self, request: Any, ctx: Any) -> AsyncIterator[Any]:
            ran.append("handler")
            async for update in super().ReplayProgramme(request, ctx):
                yield update

    async with audit_stub(Watched(app, NATS, app.name), issuer, role) as stub:
        error = assert_refused(
            await streamed(stub.ReplayProgramme(request())), grpc.StatusCode.PERMISSION_DENIED
        )
    assert "ReplayProgramme is not allowed" in (error.details() or "")
    assert ran == [], "the handler ran for a caller who may not call it"


async def test_a_stream_takes_a_rate_limit_token_and_over_the_limit_is_exhausted(
    app: Counter, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's limiter comes from the environment (the service's own prefix wins).
    monkeypatch.setenv("COUNTER_REVMENTOR_RATE_LIMIT_PER_SECOND", "0.01")
    monkeypatch.setenv("COUNTER_REVMENTOR_RATE_LIMIT_BURST", "1")
    async with audit_stub(AuditLogServicer(app, NATS, app.name), issuer) as stub:
        first, failed = await streamed(stub.ReplayProgramme(request()))
        assert failed is None and first[-1].HasField("state")
        error = assert_refused(
            await streamed(stub.ReplayProgramme(request())), grpc.StatusCode.RESOURCE_EXHAUSTED
        )
        assert "retry in" in (error.details() or "")
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        assert status is not None
        retry = error_details_pb2.RetryInfo()
        assert status.details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
        # the bucket is the caller's: someone else streams at once
        other = (("authorization", f"Bearer {issuer.token('auditor', sub='auditor-2')}"),)
        theirs, failed = await streamed(stub.ReplayProgramme(request(), metadata=other))
        assert failed is None and theirs[-1].HasField("state")


# -- failures mid-stream ----------------------------------------------------------------------
async def test_a_failure_after_the_first_message_ends_the_stream_internal_and_generic(
    app: Counter, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_replay(
        application: Any, at: Any = None, upto: Any = None, on_page: Any = None
    ) -> replay.Replay:
        done = replay.Replay(application.construct_read_model(), position=1, applied=1)
        assert on_page is not None
        on_page(done)  # one progress message goes out...
        raise RuntimeError(SECRET)  # ...then the store "fails"

    monkeypatch.setattr(replay, "replay", failing_replay)
    async with audit_stub(AuditLogServicer(app, NATS, app.name), issuer) as stub:
        messages, error = await streamed(stub.ReplayProgramme(request()))

    assert error is not None and error.code() == grpc.StatusCode.INTERNAL, error
    assert len(messages) == 1 and messages[0].HasField("progress"), messages
    assert messages[0].progress.position == 1
    details = error.details() or ""
    assert details.startswith("unexpected server error; quote trace id")
    assert "hunter2" not in details and "RuntimeError" not in details and "/srv" not in details


# -- shapes the interceptor does not check ----------------------------------------------------
async def test_client_streaming_and_bidi_are_unimplemented_and_never_run(
    app: Counter, issuer: DevIssuer
) -> None:
    ran: list[str] = []

    async def collect(requests: Any, ctx: Any) -> bytes:
        ran.append("collect")
        return b"collected"

    async def chat(requests: Any, ctx: Any) -> AsyncIterator[bytes]:
        ran.append("chat")
        yield b"hello"

    async def watch(raw: bytes, ctx: Any) -> AsyncIterator[bytes]:
        ran.append("watch")
        yield b"update"

    probe = grpc.method_handlers_generic_handler(
        PROBE,
        {
            "Collect": grpc.stream_unary_rpc_method_handler(collect),
            "Chat": grpc.stream_stream_rpc_method_handler(chat),
            "Watch": grpc.unary_stream_rpc_method_handler(watch),
        },
    )
    # GrpcServer.add needs a service in the descriptor pool (its access table is
    # checked against it): a proto-free handler is added to the grpc server directly.
    server = GrpcServer("counter", "127.0.0.1", 0, 0.5, authenticator=issuer.authenticator())
    server.add(auditlog.register, AuditLogServicer(app, NATS, app.name), [SERVICE_NAME])
    server.server.add_generic_rpc_handlers((probe,))
    port = await server.start()
    try:
        async with authed_channel(f"127.0.0.1:{port}", issuer.token("admin")) as channel:
            # Nothing is written on the client streams: a client writing to a
            # stream the server has already closed fails on its own side
            # (INTERNAL from its core), whatever status the server sent.
            collect_call = channel.stream_unary(f"/{PROBE}/Collect")()
            await collect_call.done_writing()
            with pytest.raises(grpc.aio.AioRpcError) as client_streaming:
                await collect_call
            chat_call = channel.stream_stream(f"/{PROBE}/Chat")()
            await chat_call.done_writing()
            bidi = await streamed(chat_call)
            # a server-streaming method is checked, and one missing from the
            # access table is denied to everyone, admins included
            unlisted = await streamed(channel.unary_stream(f"/{PROBE}/Watch")(b"x"))
            # the audit service on the same server still streams to an admin
            audit = pb_grpc.AuditLogServiceStub(channel)
            served, failed = await streamed(audit.ReplayProgramme(request()))
    finally:
        await server.stop()

    assert client_streaming.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert "RPCs are not served" in (client_streaming.value.details() or "")
    error = assert_refused(bidi, grpc.StatusCode.UNIMPLEMENTED)
    assert "RPCs are not served" in (error.details() or "")
    assert_refused(unlisted, grpc.StatusCode.PERMISSION_DENIED)
    assert ran == [], f"refused handlers ran: {ran}"
    assert failed is None and served[-1].HasField("state")


# -- the caller's context inside the handler --------------------------------------------------
async def test_the_callers_context_is_current_at_every_step_of_the_stream(
    app: Counter, issuer: DevIssuer
) -> None:
    seen: list[tuple[str, context.RequestContext]] = []

    class Stepping(AuditLogServicer):
        """Three progress messages; records the current context before each and at the end."""

        async def ReplayProgramme(self, request: Any, ctx: Any) -> AsyncIterator[Any]:
            for step in range(3):
                seen.append((f"step {step}", context.current()))
                progress = pb.ReplayProgress(position=step + 1, last_position=3)
                yield pb.ReplayUpdate(progress=progress)
            seen.append(("end", context.current()))

    correlation = f"corr-{uuid.uuid4()}"
    async with audit_stub(Stepping(app, NATS, app.name), issuer, "auditor") as stub:
        call = stub.ReplayProgramme(request(), metadata=(("x-correlation-id", correlation),))
        messages, error = await streamed(call)

    assert error is None, error
    assert [m.progress.position for m in messages] == [1, 2, 3]
    assert [step for step, _ in seen] == ["step 0", "step 1", "step 2", "end"]
    for step, ctx in seen:
        assert ctx.actor == "auditor-1", (step, ctx)
        assert ctx.principal is not None and "auditor" in ctx.principal.roles, step
        assert ctx.correlation_id == correlation, step
    assert len({id(ctx) for _, ctx in seen}) == 1, "one request context for the whole stream"
