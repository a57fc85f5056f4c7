"""Where the running platform is: ``var/run/endpoints.json``, written by ``revmentor up``.

The file exists only while ``revmentor up`` runs (it is removed on a clean stop)::

    {"nats": "nats://127.0.0.1:4222",
     "services": {"enrolment": "127.0.0.1:50051"},
     "pid": 12345, "var": "/abs/path/var"}

Commands that talk to a service find it, in this order: ``--target``, the
``REVMENTOR_<SERVICE>_ADDR`` variable, this file, ``127.0.0.1:<default port>``.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from revmentor.cli.common import EXIT_UNREACHABLE, CliError, split_address
from revmentor.kernel.settings import DEFAULT_PORTS, var_dir
from revmentor.kernel.tls import secure_channel

SERVING = health_pb2.HealthCheckResponse.SERVING


def endpoints_file(var: Path | None = None) -> Path:
    return (var or var_dir()) / "run" / "endpoints.json"


def write_endpoints(path: Path, data: dict[str, Any]) -> None:
    """Atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def read_endpoints(path: Path | None = None) -> dict[str, Any] | None:
    try:
        data = json.loads((path or endpoints_file()).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def service_target(service: str, explicit: str | None = None) -> tuple[str, str]:
    """The address of ``service`` and where it came from (for error messages)."""
    if explicit:
        return explicit, "--target"
    variable = f"REVMENTOR_{service.upper()}_ADDR"
    if os.environ.get(variable):
        return os.environ[variable], variable
    path = endpoints_file()
    found = (read_endpoints(path) or {}).get("services", {}).get(service)
    if isinstance(found, str) and found:
        return found, str(path)
    return f"127.0.0.1:{DEFAULT_PORTS.get(service, 50050)}", "the default address"


def require_reachable(service: str, address: str, source: str, timeout: float = 3.0) -> None:
    """A quick TCP probe, so a stopped platform is reported at once, not after a deadline."""
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return
    except OSError as error:
        reason = error.strerror or str(error) or type(error).__name__
        message = unreachable_message(service, address, source, reason)
        raise CliError(message, EXIT_UNREACHABLE) from None


def unreachable_message(service: str, address: str, source: str, reason: str) -> str:
    return (
        f"cannot reach the {service} service at {address} (from {source}): {reason}.\n"
        "Start the platform with `make run` (or `revmentor up`) and leave it running, "
        f"or point at it: REVMENTOR_{service.upper()}_ADDR=HOST:PORT (or --target HOST:PORT "
        "where the command has it)."
    )


def health(channel: grpc.Channel, timeout: float = 1.0) -> int | None:
    """The overall health status of the server behind ``channel``, None if it does not answer."""
    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
    except grpc.RpcError:
        return None
    return int(reply.status)


def wait_healthy(
    address: str,
    timeout: float,
    still_worth_waiting: Callable[[], bool] = lambda: True,
    interval: float = 0.1,
) -> bool:
    """Poll the health service at ``address`` until SERVING (True) or the deadline (False).

    Stops early (False) as soon as ``still_worth_waiting()`` says so, e.g. because
    the process has exited.
    """
    deadline = time.monotonic() + timeout
    with secure_channel(address) as channel:
        while time.monotonic() < deadline and still_worth_waiting():
            if health(channel, timeout=min(1.0, max(0.1, deadline - time.monotonic()))) == SERVING:
                return True
            time.sleep(interval)
    return False
