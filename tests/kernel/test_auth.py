"""Authentication and rate limiting through a real grpc.aio server.

The matrix is generated: every RPC of the enrolment service x every way a
token can be wrong must answer UNAUTHENTICATED, with a message that names the
problem and never carries key material. Health and reflection stay open.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status
from support import DevIssuer, authed_channel, bearer

from revmentor.cli.devkeys import DevKey
from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.auth import (
    Authenticator,
    KeySet,
    Principal,
    Unauthenticated,
    VerifiedTokens,
    principal_from,
)
from revmentor.kernel.grpc_server import GrpcServer
from revmentor.kernel.ratelimit import RateLimiter, TokenBucket

METHODS = pb.DESCRIPTOR.services_by_name["EnrolmentService"].methods


@dataclass
class Server:
    address: str
    issuer: DevIssuer
    app: EnrolmentApplication


async def start(
    store: dict[str, str], issuer: DevIssuer, limiter: RateLimiter | None = None
) -> tuple[GrpcServer, Server]:
    app = EnrolmentApplication(env=store)
    server = GrpcServer(
        "enrolment", "127.0.0.1", 0, 0.5, authenticator=issuer.authenticator(), limiter=limiter
    )
    server.add(
        pb_grpc.add_EnrolmentServiceServicer_to_server, EnrolmentServicer(app), [SERVICE_NAME]
    )
    port = await server.start()
    return server, Server(f"127.0.0.1:{port}", issuer, app)


@pytest.fixture
async def served(store: dict[str, str], tmp_path: Path) -> AsyncIterator[Server]:
    server, running = await start(store, DevIssuer(tmp_path / "auth"))
    yield running
    await server.stop()
    running.app.close()


async def call(address: str, method: str, metadata: Any) -> grpc.StatusCode:
    """The status of calling ``method`` with an empty request and ``metadata``."""
    request = getattr(pb, METHODS_BY_NAME[method].input_type.name)()
    async with grpc.aio.insecure_channel(address) as channel:
        try:
            await getattr(pb_grpc.EnrolmentServiceStub(channel), method)(
                request, metadata=metadata, timeout=10
            )
        except grpc.aio.AioRpcError as error:
            LAST_DETAILS[method] = error.details() or ""
            return error.code()
    return grpc.StatusCode.OK


METHODS_BY_NAME = {m.name: m for m in METHODS}
LAST_DETAILS: dict[str, str] = {}


# -- forged and broken tokens --------------------------------------------------------------
def claims(issuer: DevIssuer, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": issuer.issuer,
        "aud": issuer.audience,
        "sub": "mallory",
        "iat": now,
        "exp": now + 300,
        "roles": ["admin"],
    }
    return {**base, **changes}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(issuer: DevIssuer) -> str:
    """The classic confusion attack: HMAC keyed with the (public) verification key."""
    public_pem = issuer.key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.key.kid}).encode())
    payload = b64(json.dumps(claims(issuer)).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def rs256_under_ec_kid(issuer: DevIssuer) -> str:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims(issuer), rsa_key, algorithm="RS256", headers={"kid": issuer.key.kid})


def alg_none(issuer: DevIssuer) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": issuer.key.kid}).encode())
    return f"{header}.{b64(json.dumps(claims(issuer)).encode())}."


def unknown_key(issuer: DevIssuer) -> str:
    stranger = DevKey.generate(issuer=issuer.issuer, audience=issuer.audience)
    return stranger.mint("mallory", roles=["admin"])


#: case -> (metadata for the call, words the UNAUTHENTICATED message must contain)
BAD_TOKENS: dict[str, Callable[[DevIssuer], tuple[Any, str]]] = {
    "no token": lambda i: ((), "missing token"),
    "malformed header": lambda i: ((("authorization", "Basic dXNlcjpwdw=="),), "malformed"),
    "not a jwt": lambda i: (bearer("not.a.jwt"), "malformed"),
    "expired": lambda i: (
        bearer(i.token(exp=int(time.time()) - 120, iat=int(time.time()) - 600)),
        "expired",
    ),
    "not yet valid": lambda i: (bearer(i.token(nbf=int(time.time()) + 3600)), "not yet valid"),
    "wrong audience": lambda i: (bearer(i.token(aud="payroll")), "wrong audience"),
    "wrong issuer": lambda i: (bearer(i.token(iss="https://evil.example")), "wrong issuer"),
    "alg none": lambda i: (bearer(alg_none(i)), "'none' is not accepted"),
    "unknown key": lambda i: (bearer(unknown_key(i)), "unknown key"),
    "HS256 with the public key": lambda i: (bearer(hs256_with_public_key(i)), "'HS256'"),
    "RS256 under an EC kid": lambda i: (bearer(rs256_under_ec_kid(i)), "not a RS256 key"),
    "no exp": lambda i: (bearer(jwt_without(i, "exp")), "'exp'"),
    "no sub": lambda i: (bearer(jwt_without(i, "sub")), "'sub'"),
    "roles not a list": lambda i: (bearer(signed(i, roles="admin")), "'roles'"),
}


def signed(issuer: DevIssuer, payload: dict[str, Any] | None = None, **changes: Any) -> str:
    """Correctly signed by the trusted key, whatever the claims say."""
    key = issuer.key
    payload = payload if payload is not None else claims(issuer, **changes)
    return jwt.encode(payload, key.private_key, algorithm="ES256", headers={"kid": key.kid})


def jwt_without(issuer: DevIssuer, claim: str) -> str:
    payload = claims(issuer)
    del payload[claim]
    return signed(issuer, payload)


@pytest.mark.parametrize("case", list(BAD_TOKENS))
async def test_every_rpc_refuses_a_bad_token(served: Server, case: str) -> None:
    metadata, reason = BAD_TOKENS[case](served.issuer)
    secret_bits = [served.issuer.key.jwks()["keys"][0][c] for c in ("x", "y")]
    wrong = {}
    for method in METHODS_BY_NAME:
        code = await call(served.address, method, metadata)
        details = LAST_DETAILS.get(method, "")
        if code != grpc.StatusCode.UNAUTHENTICATED or reason not in details:
            wrong[method] = (code, details)
        assert not any(bit in details for bit in secret_bits), details
    assert not wrong, f"{case}: {wrong}"
    assert len(METHODS_BY_NAME) >= 16


async def test_a_good_token_gets_through(served: Server) -> None:
    code = await call(served.address, "ListProgrammes", served.issuer.metadata("admin"))
    assert code == grpc.StatusCode.OK


async def test_clock_skew_of_a_few_seconds_is_tolerated(served: Server) -> None:
    soon = served.issuer.token(nbf=int(time.time()) + 10)
    assert await call(served.address, "ListProgrammes", bearer(soon)) == grpc.StatusCode.OK


async def test_health_and_reflection_need_no_token(served: Server) -> None:
    from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

    async with grpc.aio.insecure_channel(served.address) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        stream = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        async for answer in stream:
            names = [s.name for s in answer.list_services_response.service]
            assert SERVICE_NAME in names


# -- principals -----------------------------------------------------------------------------
def test_principal_from_claims() -> None:
    person = principal_from(
        {"sub": "u-1", "roles": ["programme_manager"], "programmes": ["p1"], "employee_id": "E7"}
    )
    assert person == Principal("u-1", frozenset({"programme_manager"}), frozenset({"p1"}), "E7")
    assert person.actor == "u-1"
    assert principal_from({"sub": "u-2", "roles": ["mentee"]}).employee_id == "u-2"
    robot = principal_from({"sub": "client-9", "service": "matching"})
    assert (robot.actor, robot.roles) == ("service:matching", frozenset({"service"}))
    with pytest.raises(Unauthenticated, match="'service' claim"):
        principal_from({"sub": "x", "roles": ["service"]})
    with pytest.raises(Unauthenticated, match="'programmes'"):
        principal_from({"sub": "x", "programmes": "p1"})


# -- key rotation ---------------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unknown_kid_refetches_the_jwks_at_most_every_30_seconds(tmp_path: Path) -> None:
    issuer = DevIssuer(tmp_path)
    auth = issuer.authenticator()
    clock = Clock()
    auth.keys = KeySet(issuer.settings().key_source(), clock=clock)

    first = issuer.token(sub="before")
    assert (await auth.authenticate(f"Bearer {first}")).subject == "before"
    old = issuer.rotate()  # the file now holds only the new key
    clock.now += 5
    assert (await auth.authenticate(f"Bearer {first}")).subject == "before", "old kid still cached"
    new = issuer.token(sub="after")
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.authenticate(f"Bearer {new}")  # too soon after the last fetch
    assert auth.keys.fetches == 1
    clock.now += 30
    assert (await auth.authenticate(f"Bearer {new}")).subject == "after"
    assert auth.keys.fetches == 2
    stale = old.mint("before", roles=["admin"])
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.authenticate(f"Bearer {stale}")  # gone with the re-fetch
    assert auth.keys.fetches == 2


async def rotated_after_one_call(tmp_path: Path) -> tuple[DevIssuer, Authenticator, Clock, str]:
    """A token that authenticated once; then the issuer signs with a new key only."""
    issuer = DevIssuer(tmp_path)
    auth = issuer.authenticator()
    clock = Clock()
    auth.keys = KeySet(issuer.settings().key_source(), clock=clock)
    token = issuer.token()
    await auth.authenticate(f"Bearer {token}")
    issuer.rotate()
    return issuer, auth, clock, token


async def test_the_set_is_reread_when_stale_so_removed_keys_stop_working(tmp_path: Path) -> None:
    _issuer, auth, clock, token = await rotated_after_one_call(tmp_path)
    clock.now += 15 * 60
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.authenticate(f"Bearer {token}")


# -- verified tokens ---------------------------------------------------------------------
async def test_a_verified_token_is_not_checked_again_but_an_altered_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer = DevIssuer(tmp_path)
    auth = issuer.authenticator()
    checks: list[str] = []
    verify = auth.verify
    monkeypatch.setattr(auth, "verify", lambda *args: checks.append(args[2]) or verify(*args))
    token = issuer.token(sub="ada")
    for _ in range(3):
        assert (await auth.authenticate(f"Bearer {token}")).subject == "ada"
    assert len(checks) == 1
    head, claims, signature = token.split(".")
    forged_claims = (
        base64.urlsafe_b64encode(
            json.dumps(
                {**jwt.decode(token, options={"verify_signature": False}), "sub": "eve"}
            ).encode()
        )
        .rstrip(b"=")
        .decode()
    )
    for forged in (f"{head}.{forged_claims}.{signature}", f"{head}.{claims}.{signature[:-4]}AAAA"):
        with pytest.raises(Unauthenticated):
            await auth.authenticate(f"Bearer {forged}")
    assert len(checks) == 3, "each altered token went through the signature check"


async def test_a_remembered_token_is_forgotten_when_it_expires(tmp_path: Path) -> None:
    """Past ``exp`` plus the leeway the token is checked again in full (and
    pyjwt then refuses it as expired)."""
    issuer = DevIssuer(tmp_path)
    auth = issuer.authenticator()
    clock = Clock()
    clock.now = time.time()
    auth.verified = VerifiedTokens(clock=clock)
    token = issuer.token(ttl=60)
    principal = await auth.authenticate(f"Bearer {token}")
    clock.now += 60 + 30 - 2
    assert auth.verified.get(token, auth.keys) == principal
    clock.now += 3  # past exp and the 30 s leeway
    assert auth.verified.get(token, auth.keys) is None


async def test_a_remembered_token_stops_with_its_key(tmp_path: Path) -> None:
    """The key that verified it left the set at a re-read: the token is refused."""
    issuer, auth, clock, token = await rotated_after_one_call(tmp_path)
    clock.now += 30
    auth.keys.fetch(issuer.key.kid)  # a newer token's unknown kid made it re-read the set
    with pytest.raises(Unauthenticated, match="unknown key"):
        await auth.authenticate(f"Bearer {token}")


# -- rate limit -----------------------------------------------------------------------------
def test_token_bucket_refills_at_its_rate_up_to_its_burst() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0, tokens=3.0, updated=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)  # one token every 0.5 s
    assert bucket.take(0.5) == 0.0
    assert bucket.take(100.0) == 0.0 and bucket.tokens == pytest.approx(2.0)  # capped at burst


def test_rate_limiter_keeps_one_bucket_per_caller() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1.0, burst=1.0, clock=clock)
    assert limiter.retry_after("alice") == 0.0
    assert limiter.retry_after("alice") == pytest.approx(1.0)
    assert limiter.retry_after("bob") == 0.0
    clock.now += 1.0
    assert limiter.retry_after("alice") == 0.0


async def test_a_caller_over_the_limit_gets_resource_exhausted_with_a_retry_hint(
    store: dict[str, str], tmp_path: Path
) -> None:
    issuer = DevIssuer(tmp_path / "auth")
    server, running = await start(store, issuer, RateLimiter(rate=0.01, burst=2))
    try:
        async with authed_channel(running.address, issuer.token(sub="greedy")) as channel:
            stub = pb_grpc.EnrolmentServiceStub(channel)
            for _ in range(2):
                await stub.ListProgrammes(pb.ListProgrammesRequest())
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListProgrammes(pb.ListProgrammesRequest())
            assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "retry in" in (refused.value.details() or "")
            status = rpc_status.from_call(refused.value)  # type: ignore[arg-type]
            assert status is not None
            retry = error_details_pb2.RetryInfo()
            assert status.details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
            other = issuer.metadata(sub="patient")
            await stub.ListProgrammes(pb.ListProgrammesRequest(), metadata=other)
    finally:
        await server.stop()
        running.app.close()


async def test_concurrent_first_calls_all_see_the_keys(tmp_path: Path) -> None:
    """The first calls race to load the JWKS; none may be refused meanwhile."""
    issuer = DevIssuer(tmp_path)
    authenticator = issuer.authenticator()
    load = authenticator.keys._load

    def slow_load() -> Any:
        time.sleep(0.2)  # a JWKS URL answering slowly
        return load()

    authenticator.keys._load = slow_load
    calls = [authenticator.authenticate(f"Bearer {issuer.token()}") for _ in range(8)]
    principals = await asyncio.gather(*calls)
    assert {p.subject for p in principals} == {"tester"}
    assert authenticator.keys.fetches == 1
