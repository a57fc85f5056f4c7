"""The machine a benchmark run measured: printed with the results, stored in the JSON.

Cores and CPU model, memory, the load when the run started (the machine may
be shared), the OS, Python, the SQLite library Python links, the PostgreSQL
server the run used (if reachable), the nats-server binary and the versions of
the libraries on the measured paths.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import postgres
from revmentor.kernel.natsserver import nats_server_binary

PACKAGES = ("eventsourcing", "grpcio", "nats-py", "faststream", "protobuf", "psycopg")


def _cpu_model() -> str:
    with contextlib.suppress(OSError):  # not Linux: the platform's own answer below
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gb() -> float | None:
    with contextlib.suppress(OSError):  # not Linux: unknown
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return None


def _nats_server_version() -> str:
    try:
        out = subprocess.run(
            [nats_server_binary(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as error:
        return f"unavailable ({error})"
    return out.stdout.strip() or out.stderr.strip()


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, Any]:
    """Everything :func:`summary` prints, as the JSON ``machine`` section."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gb": _memory_gb(),
        "load_average_at_start": [round(x, 2) for x in load],
        "os": platform.platform(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres.server_version(),
        "nats_server": _nats_server_version(),
        "packages": {name: _version(name) for name in PACKAGES},
    }


def summary(machine: dict[str, Any]) -> str:
    """A few lines for the top of the printed results."""
    packages = ", ".join(f"{name} {v}" for name, v in machine["packages"].items())
    load = " ".join(f"{x:.2f}" for x in machine["load_average_at_start"])
    return (
        f"machine: {machine['cores']} cores ({machine['cpu']}), {machine['memory_gb']} GB,"
        f" load at start {load}; {machine['os']}\n"
        f"stores: SQLite {machine['sqlite']}; PostgreSQL {machine['postgresql']}\n"
        f"{machine['python']}; {machine['nats_server']}; {packages}"
    )
