"""Helpers shared by tests (fixtures live in conftest.py; plain functions here)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
from nats.js.errors import NotFoundError

from revmentor.cli.devkeys import DevKey
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import AvailabilityWindow, Consent, LearningNeed, Profile
from revmentor.kernel.auth import Authenticator, AuthSettings
from revmentor.kernel.natsserver import free_port
from revmentor.kernel.settings import nats_servers
from revmentor.kernel.tls import balancing_options
from revmentor.matching.v1 import matching_pb2
from revmentor.matching.v1.matching_pb2_grpc import MatchingServiceStub

PG_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
PG_PORT = os.environ.get("TEST_POSTGRES_PORT", "5432")
PG_USER = os.environ.get("TEST_POSTGRES_USER", "postgres")
PG_PASSWORD = os.environ.get("TEST_POSTGRES_PASSWORD", "")


# -- authentication ---------------------------------------------------------------------------
TEST_ISSUER = "revmentor-test"
TEST_AUDIENCE = "revmentor"


class DevIssuer:
    """A throwaway identity provider: an EC key, its JWKS file, and tokens signed with it."""

    def __init__(self, directory: Path, issuer: str = TEST_ISSUER, audience: str = TEST_AUDIENCE):
        directory.mkdir(parents=True, exist_ok=True)
        self.jwks_file = directory / "jwks.json"
        self.issuer, self.audience = issuer, audience
        self.key = DevKey.generate(issuer=issuer, audience=audience)
        self.publish([self.key])

    def publish(self, keys: Iterable[DevKey]) -> None:
        """Write the JWKS file with exactly these keys (rotation: call with the new key)."""
        document = {"keys": [k for key in keys for k in key.jwks()["keys"]]}
        self.jwks_file.write_text(json.dumps(document), encoding="utf-8")

    def rotate(self) -> DevKey:
        """Sign with a new key from now on; the JWKS file holds only the new key."""
        old, self.key = self.key, DevKey.generate(issuer=self.issuer, audience=self.audience)
        self.publish([self.key])
        return old

    @property
    def env(self) -> dict[str, str]:
        """What a service process needs to trust this issuer."""
        return {
            "REVMENTOR_JWKS_FILE": str(self.jwks_file),
            "REVMENTOR_JWT_ISSUER": self.issuer,
            "REVMENTOR_JWT_AUDIENCE": self.audience,
        }

    def settings(self) -> AuthSettings:
        return AuthSettings(
            issuer=self.issuer, audience=self.audience, jwks_file=str(self.jwks_file)
        )

    def authenticator(self) -> Authenticator:
        return Authenticator(self.settings())

    def token(self, role: str | Iterable[str] = "admin", sub: str = "tester", **claims: Any) -> str:
        """A valid token; ``claims`` adds or overrides (programmes, employee_id, service...)."""
        roles = [role] if isinstance(role, str) else list(role)
        return self.key.mint(sub, roles=roles, ttl=claims.pop("ttl", 300), **claims)

    def metadata(self, role: str | Iterable[str] = "admin", **claims: Any) -> tuple[Any, ...]:
        return bearer(self.token(role, **claims))


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _with_token(metadata: Any, token: str) -> list[tuple[str, Any]]:
    items = list(metadata or ())
    if not any(key == "authorization" for key, _ in items):
        items.append(("authorization", f"Bearer {token}"))
    return items


class BearerAuth(grpc.aio.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """grpc.aio client interceptor: adds ``token`` unless a call brings its own."""

    def __init__(self, token: str):
        self.token = token

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = grpc.aio.Metadata(*_with_token(details.metadata, self.token))
        return await continuation(details._replace(metadata=metadata), request)


class StreamBearerAuth(grpc.aio.UnaryStreamClientInterceptor):  # type: ignore[misc]
    """The same for server-streaming calls."""

    def __init__(self, token: str):
        self.token = token

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        metadata = grpc.aio.Metadata(*_with_token(details.metadata, self.token))
        return await continuation(details._replace(metadata=metadata), request)


_Details = collections.namedtuple(
    "_Details",
    ["method", "timeout", "metadata", "credentials", "wait_for_ready", "compression"],
)


class SyncBearerAuth(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """The same for blocking channels (``grpc.intercept_channel``)."""

    def __init__(self, token: str):
        self.token = token

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        new = _Details(
            details.method,
            details.timeout,
            _with_token(details.metadata, self.token),
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )
        return continuation(new, request)


def authed_channel(address: str, token: str) -> grpc.aio.Channel:
    """An aio channel whose calls carry ``token`` by default."""
    interceptors = [BearerAuth(token), StreamBearerAuth(token)]
    options = balancing_options(address)  # round robin over replicas ("ipv4:a:1,b:2")
    return grpc.aio.insecure_channel(address, options=options, interceptors=interceptors)


async def accept_proposal(address: str, token: str, match_id: str, participant_id: str) -> Any:
    """A member accepts a match proposal as themself (with their own token)."""
    async with authed_channel(address, token) as channel:
        return await MatchingServiceStub(channel).RespondToProposal(
            matching_pb2.RespondToProposalRequest(
                match_id=match_id,
                participant_id=participant_id,
                decision=matching_pb2.DECISION_ACCEPT,
            ),
            timeout=10,
        )


#: The weekly window ``enrol_member`` gives unless told otherwise.
MONDAY_MORNING = AvailabilityWindow(1, "09:00", "12:00")


def enrol_member(
    app: EnrolmentApplication,
    programme_id: str,
    employee_id: str,
    role: str,
    window: AvailabilityWindow = MONDAY_MORNING,
) -> str:
    """Enrol a mentor (born 1999, offering generative-ai) or a mentee (born 1968,
    needing it) straight through the application; their participant id."""
    mentor = role == "mentor"
    profile = Profile(
        display_name="Ada",
        email="ada@example.com",
        birth_year=1999 if mentor else 1968,
        department="Finance",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en",),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=(window,),
    )
    return str(app.enrol(programme_id, employee_id, role, profile, Consent(True, "2027-01")).id)


def authed_sync_channel(address: str, token: str) -> grpc.Channel:
    return grpc.intercept_channel(grpc.insecure_channel(address), SyncBearerAuth(token))


@dataclass
class StreamMessage:
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes


async def read_stream(nats_url: str, stream: str) -> list[StreamMessage]:
    """Every message currently stored in ``stream``, in stream order."""
    nc = await nats.connect(nats_servers(nats_url))
    try:
        js = nc.jetstream()
        try:
            info = await js.stream_info(stream)
        except NotFoundError:
            return []
        found: list[StreamMessage] = []
        if not info.state.messages:
            return found
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            raw = await js.get_msg(stream, seq)
            found.append(
                StreamMessage(seq, raw.subject or "", dict(raw.headers or {}), raw.data or b"")
            )
        return found
    finally:
        await nc.close()


def mentions(published: str, personal: str) -> bool:
    """Whether ``personal`` appears in ``published`` as a whole token: a
    birth year ``2000`` inside a hex digest or a UUID segment is a coincidence
    of random identifiers, not a leak; standing alone it is one."""
    pattern = rf"(?<![0-9A-Za-z-]){re.escape(personal)}(?![0-9A-Za-z-])"
    return re.search(pattern, published) is not None


def tick() -> datetime:
    """The wall clock once it has moved past its reading at the call (a
    microsecond or so): what happened before the call is strictly earlier than
    the instant returned, and what happens after a second ``tick()`` strictly
    later - a time boundary for ``since`` filters without sleeping."""
    start = datetime.now(UTC)
    deadline = time.monotonic() + 1.0
    while (now := datetime.now(UTC)) <= start:
        if time.monotonic() > deadline:
            raise AssertionError("the wall clock did not move for a second")
    return now


async def eventually(
    check: Callable[[], Awaitable[bool]],
    timeout: float = 20.0,
    interval: float = 0.05,
    what: str = "condition",
) -> None:
    """Poll ``check`` until it is true, failing after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"{what} not reached within {timeout}s")


def wait_healthy(address: str, timeout: float = 30.0) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            with contextlib.suppress(grpc.RpcError):  # not listening yet
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            time.sleep(0.1)
    raise AssertionError(f"{address} not healthy within {timeout}s")


class ServiceProcess:
    """A service started as its own OS process, as `revmentor up` does."""

    def __init__(
        self,
        service: str,
        var_dir: Path,
        nats_url: str,
        extra_env: dict[str, str] | None = None,
        issuer: DevIssuer | None = None,
    ):
        self.service = service
        self.var_dir = var_dir
        self.port = free_port()
        self.issuer = issuer or DevIssuer(var_dir / "auth")
        self.env = {
            **os.environ,
            **self.issuer.env,
            "REVMENTOR_VAR_DIR": str(var_dir),
            "NATS_URL": nats_url,
            f"{service.upper()}_GRPC_PORT": str(self.port),
            **(extra_env or {}),
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = var_dir / f"{service}.log"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def channel(self, role: str = "admin", **claims: Any) -> grpc.aio.Channel:
        """An aio channel to this service authenticated as ``role``."""
        return authed_channel(self.address, self.issuer.token(role, **claims))

    def start(self) -> ServiceProcess:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"revmentor.{self.service}.main"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_healthy(self.address)
        return self

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> int:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            return self.process.wait(20)
        return self.process.returncode if self.process else 0

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def stub_for(address: str, stub_class: Any) -> tuple[grpc.aio.Channel, Any]:
    channel = grpc.aio.insecure_channel(address)
    return channel, stub_class(channel)


def pg_connect(dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(
        host=PG_HOST,
        port=PG_PORT,
        user=PG_USER,
        password=PG_PASSWORD or None,
        dbname=dbname,
        autocommit=True,
        connect_timeout=3,
    )


def postgres_schema_env(database: dict[str, str]) -> dict[str, str]:
    """Settings for a new, empty schema in the run's database."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with pg_connect(database["POSTGRES_DBNAME"]) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return {**database, "POSTGRES_SCHEMA": schema}


# -- gRPC refusals: the code, and nothing written -----------------------------------------------
def stored(app: Any) -> int:
    """Notifications in a service application's log (to prove nothing was written)."""
    return len(app.notifications(0, 100_000))


async def refused(
    app: Any, code: grpc.StatusCode, method: Any, request: Any, **kwargs: Any
) -> grpc.aio.AioRpcError:
    """Call ``method``; assert it fails with ``code`` and stores nothing."""
    before = stored(app)
    try:
        await method(request, **kwargs)
    except grpc.aio.AioRpcError as error:
        assert error.code() == code, error.details()
        assert stored(app) == before, "a refused command left events behind"
        return error
    raise AssertionError(f"expected {code.name}, the call succeeded")


async def invalid(
    app: Any, method: Any, request: Any, fields: list[str], **kwargs: Any
) -> list[tuple[str, str]]:
    """INVALID_ARGUMENT naming exactly ``fields`` (in order), each with a description."""
    from revmentor.kernel.grpc_server import field_violations

    error = await refused(app, grpc.StatusCode.INVALID_ARGUMENT, method, request, **kwargs)
    violations = field_violations(error)
    assert [field for field, _ in violations] == fields
    assert all(description for _, description in violations)
    return violations


# -- in-process gRPC servers --------------------------------------------------------------------
@contextlib.asynccontextmanager
async def grpc_service(
    service: str, register: Any, servicer: Any, names: list[str], issuer: DevIssuer
) -> Any:
    """A real gRPC server on a free port with the kernel's interceptors; yields the port."""
    from revmentor.kernel.grpc_server import GrpcServer

    server = GrpcServer(
        service, "127.0.0.1", 0, grace_seconds=0.5, authenticator=issuer.authenticator()
    )
    server.add(register, servicer, names)
    port = await server.start()
    try:
        yield port
    finally:
        await server.stop()
