"""TLS and mutual TLS for gRPC and NATS, configured by environment only.

A development CA from ``revmentor.kernel.tls`` signs the server and client
certificates; the servers are real (grpc.aio with the health service, and
nats-server from the venv) and every wait is bounded.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from nats.aio.client import Client

from revmentor.kernel import natsauth, tls
from revmentor.kernel.natsserver import LocalNatsServer

SERVING = health_pb2.HealthCheckResponse.SERVING
TLS_VARIABLES = (
    "GRPC_TLS_CERT",
    "GRPC_TLS_KEY",
    "GRPC_TLS_CLIENT_CA",
    "GRPC_TLS_CA",
    "GRPC_TLS_CLIENT_CERT",
    "GRPC_TLS_CLIENT_KEY",
    "GRPC_TLS_SERVER_NAME",
    "NATS_TLS_CA",
    "NATS_TLS_CERT",
    "NATS_TLS_KEY",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tls.DevCertificates:
    return tls.make_dev_ca(tmp_path_factory.mktemp("pki"))


def use(monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


async def start_health_server(service: str = "") -> tuple[grpc.aio.Server, str]:
    """A grpc.aio server bound by ``tls.add_port`` (TLS exactly when the env says so)."""
    server = grpc.aio.server()
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = tls.add_port(server, "127.0.0.1:0", service)
    await server.start()
    await health.set("", SERVING)
    return server, f"127.0.0.1:{port}"


@pytest.fixture
async def server_factory() -> AsyncIterator[list[grpc.aio.Server]]:
    started: list[grpc.aio.Server] = []
    yield started
    for server in started:
        await server.stop(0)


async def check(channel: grpc.aio.Channel) -> int:
    async with channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=3
        )
        return int(reply.status)


async def refused(channel: grpc.aio.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as failure:
        await check(channel)
    return failure.value.code()


# -- gRPC --------------------------------------------------------------------------
async def test_grpc_over_tls(
    certs: tls.DevCertificates,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: list[grpc.aio.Server],
) -> None:
    use(monkeypatch, certs.server_env())
    server, address = await start_health_server()
    server_factory.append(server)

    assert await refused(tls.secure_aio_channel(address)) == grpc.StatusCode.UNAVAILABLE
    use(monkeypatch, certs.client_env())
    assert await check(tls.secure_aio_channel(address)) == SERVING
    localhost = address.replace("127.0.0.1", "localhost")  # the other SAN
    assert await check(tls.secure_aio_channel(localhost)) == SERVING


async def test_grpc_with_mutual_tls_needs_a_client_certificate(
    certs: tls.DevCertificates,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: list[grpc.aio.Server],
) -> None:
    use(monkeypatch, certs.server_env(mutual=True))
    server, address = await start_health_server()
    server_factory.append(server)

    use(monkeypatch, certs.client_env(mutual=False))
    assert await refused(tls.secure_aio_channel(address)) == grpc.StatusCode.UNAVAILABLE
    use(monkeypatch, certs.client_env(mutual=True))
    assert await check(tls.secure_aio_channel(address)) == SERVING
    assert await asyncio.to_thread(blocking_check, address) == SERVING  # as the CLI calls


def blocking_check(address: str) -> int:
    with tls.secure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        return int(stub.Check(health_pb2.HealthCheckRequest(), timeout=3).status)


async def test_a_certificate_from_another_ca_is_refused(
    certs: tls.DevCertificates,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: list[grpc.aio.Server],
) -> None:
    use(monkeypatch, certs.server_env(mutual=True))
    server, address = await start_health_server()
    server_factory.append(server)
    stranger = tls.make_dev_ca(tmp_path / "stranger")
    use(monkeypatch, {**certs.client_env(mutual=True), **stranger.client_env(mutual=True)})
    assert await refused(tls.secure_aio_channel(address)) == grpc.StatusCode.UNAVAILABLE


async def test_plaintext_without_configuration_and_service_prefixes(
    certs: tls.DevCertificates,
    monkeypatch: pytest.MonkeyPatch,
    server_factory: list[grpc.aio.Server],
) -> None:
    server, address = await start_health_server("enrolment")
    server_factory.append(server)
    assert tls.grpc_server_credentials() is None
    assert tls.grpc_channel_credentials() is None
    assert await check(tls.secure_aio_channel(address)) == SERVING

    use(monkeypatch, {f"ENROLMENT_{k}": v for k, v in certs.server_env().items()})
    assert tls.grpc_server_credentials("enrolment") is not None
    assert tls.grpc_server_credentials("training") is None


def test_half_a_configuration_is_an_error(
    certs: tls.DevCertificates, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRPC_TLS_CERT", str(certs.server_cert))
    with pytest.raises(ValueError, match="GRPC_TLS_KEY"):
        tls.grpc_server_credentials()
    monkeypatch.delenv("GRPC_TLS_CERT")
    monkeypatch.setenv("GRPC_TLS_CLIENT_CA", str(certs.ca))
    with pytest.raises(ValueError, match="GRPC_TLS_CERT"):
        tls.grpc_server_credentials()
    monkeypatch.setenv("GRPC_TLS_CLIENT_CERT", str(certs.client_cert))
    with pytest.raises(ValueError, match="GRPC_TLS_CLIENT_KEY"):
        tls.grpc_channel_credentials()


def test_the_dev_ca_command_prints_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tls.main([str(tmp_path / "pki")]) == 0
    printed = capsys.readouterr().out
    for name in ("GRPC_TLS_CERT", "GRPC_TLS_CLIENT_CA", "GRPC_TLS_CLIENT_KEY", "NATS_TLS_CA"):
        assert f"export {name}=" in printed
    assert (tmp_path / "pki" / "server.key").stat().st_mode & 0o077 == 0


# -- NATS ------------------------------------------------------------------------
def nats_with_tls(
    tmp_path: Path, certs: tls.DevCertificates, verify: bool
) -> tuple[LocalNatsServer, natsauth.SecureNatsConfig]:
    server_tls = natsauth.NatsServerTls(certs.server_cert, certs.server_key, certs.ca, verify)
    config_file, config = natsauth.write_secure_config(tmp_path / "config", tls=server_tls)
    server = LocalNatsServer(
        tmp_path / "nats", config_file=config_file, log_file=tmp_path / "nats.log"
    )
    return server.start(), config


async def connect(server: LocalNatsServer, service: str) -> Client:
    async def quiet(error: Exception) -> None:
        """Refusals are asserted by the tests, not printed."""

    return await nats.connect(
        server.url,
        allow_reconnect=False,
        max_reconnect_attempts=0,
        connect_timeout=3,
        error_cb=quiet,
        **natsauth.nats_connect_options(service),
    )


async def test_nats_over_tls_with_a_service_user(
    certs: tls.DevCertificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config = nats_with_tls(tmp_path, certs, verify=False)
    try:
        use(monkeypatch, {f"ENROLMENT_{k}": v for k, v in config.service_env("enrolment").items()})
        with pytest.raises(Exception):  # noqa: B017 - no CA: the handshake fails
            await connect(server, "enrolment")
        use(monkeypatch, certs.nats_env())
        nc = await connect(server, "enrolment")
        assert nc.is_connected
        ack = await nc.jetstream().add_stream(
            name="REVMENTOR_ENROLMENT", subjects=["revmentor.enrolment.>"]
        )
        assert ack.config.name == "REVMENTOR_ENROLMENT"
        await nc.close()
    finally:
        server.stop()


async def test_nats_with_mutual_tls_needs_a_client_certificate(
    certs: tls.DevCertificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, config = nats_with_tls(tmp_path, certs, verify=True)
    try:
        use(monkeypatch, config.users["training"].env())
        use(monkeypatch, certs.nats_env(mutual=False))
        with pytest.raises(Exception):  # noqa: B017 - refused during the handshake
            await connect(server, "training")
        use(monkeypatch, certs.nats_env(mutual=True))
        nc = await connect(server, "training")
        assert nc.is_connected
        await nc.close()
    finally:
        server.stop()


async def test_the_service_grpc_server_serves_tls_when_configured(
    certs: tls.DevCertificates, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The kernel's GrpcServer (what every service runs) picks TLS up from the env."""
    from support import DevIssuer

    from revmentor.kernel.grpc_server import GrpcServer

    use(monkeypatch, {**certs.server_env(), **DevIssuer(tmp_path).env})
    server = GrpcServer("enrolment", "127.0.0.1", 0)
    port = await server.start()
    try:
        use(monkeypatch, {"GRPC_TLS_CA": str(certs.ca)})
        async with tls.secure_aio_channel(f"localhost:{port}") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=5
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as plain:
            with pytest.raises(grpc.aio.AioRpcError):
                await health_pb2_grpc.HealthStub(plain).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=2
                )
    finally:
        await server.stop()
