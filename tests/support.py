"""Helpers shared by tests (fixtures live in conftest.py; plain functions here)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import nats
from nats.js.errors import NotFoundError

from revmentor.kernel.natsserver import free_port

PG_HOST = os.environ.get("TEST_POSTGRES_HOST", "127.0.0.1")
PG_PORT = os.environ.get("TEST_POSTGRES_PORT", "5432")
PG_USER = os.environ.get("TEST_POSTGRES_USER", "postgres")
PG_PASSWORD = os.environ.get("TEST_POSTGRES_PASSWORD", "")


@dataclass
class StreamMessage:
    seq: int
    subject: str
    headers: dict[str, str]
    data: bytes


async def read_stream(nats_url: str, stream: str) -> list[StreamMessage]:
    """Every message currently stored in ``stream``, in stream order."""
    nc = await nats.connect(nats_url)
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
            try:
                reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            time.sleep(0.1)
    raise AssertionError(f"{address} not healthy within {timeout}s")


class ServiceProcess:
    """A service started as its own OS process, as `revmentor up` does."""

    def __init__(
        self, service: str, var_dir: Path, nats_url: str, extra_env: dict[str, str] | None = None
    ):
        self.service = service
        self.var_dir = var_dir
        self.port = free_port()
        self.env = {
            **os.environ,
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
