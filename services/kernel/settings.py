"""Configuration from the environment, in one place, with the defaults that
make ``make run`` work on a fresh machine (SQLite under ``var/``, local NATS).

Every variable is listed in the README's configuration table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: Default gRPC port per service; ``revmentor up`` moves a taken port to a free one.
DEFAULT_PORTS = {
    "enrolment": 50051,
    "training": 50052,
    "matching": 50053,
    "scheduling": 50054,
    "feedback": 50055,
}


def env(name: str, default: str = "", service: str = "") -> str:
    """``<SERVICE>_<NAME>`` wins over ``<NAME>``, which wins over ``default``."""
    if service:
        value = os.environ.get(f"{service.upper()}_{name}")
        if value:
            return value
    return os.environ.get(name) or default


#: Encryption at rest (read through the application's environment, so each may be
#: prefixed with the service name; see ``revmentor.kernel.crypto``):
#: the KEK (base64 of 32 bytes) or a file holding it, its id, retired KEKs
#: (``id=base64,...``) during a rotation, refusal to fall back to a development
#: KEK, and how long unwrapped data keys stay cached in memory.
ENCRYPTION_SETTINGS = (
    "REVMENTOR_KEK",
    "REVMENTOR_KEK_FILE",
    "REVMENTOR_KEK_ID",
    "REVMENTOR_KEK_PREVIOUS",
    "REVMENTOR_REQUIRE_KEK",
    "REVMENTOR_KEY_CACHE_SECONDS",
)


def nats_servers(url: str) -> list[str]:
    """``NATS_URL`` as the list of seed servers nats-py takes: a cluster is given
    as ``nats://a:4222,nats://b:4222,nats://c:4222`` so a client can make its
    first connection through any node that is up (once connected it also learns
    the others from the cluster itself)."""
    return [part.strip() for part in url.split(",") if part.strip()]


def var_dir() -> Path:
    """Where local state lives (SQLite stores, NATS store, endpoints file)."""
    return Path(env("REVMENTOR_VAR_DIR", "var")).resolve()


def store_env(service: str) -> dict[str, str]:
    """The eventsourcing settings for one service's event store.

    SQLite (one file per service under ``var/``) unless ``PERSISTENCE_MODULE``
    says otherwise; PostgreSQL reads the library's own ``POSTGRES_*`` variables,
    each of which may be prefixed with the service name (``ENROLMENT_POSTGRES_DBNAME``).
    """
    module = env("PERSISTENCE_MODULE", "eventsourcing.sqlite", service)
    settings = {"PERSISTENCE_MODULE": module}
    if module == "eventsourcing.sqlite":
        dbname = env("SQLITE_DBNAME", "", service)
        if not dbname:
            path = var_dir() / f"{service}.sqlite"
            path.parent.mkdir(parents=True, exist_ok=True)
            dbname = str(path)
        settings["SQLITE_DBNAME"] = dbname
        settings["SQLITE_LOCK_TIMEOUT"] = env("SQLITE_LOCK_TIMEOUT", "10", service)
    return settings


@dataclass(frozen=True)
class ServiceSettings:
    """What one service process needs to know to start."""

    service: str
    grpc_host: str
    grpc_port: int
    nats_url: str
    relay_batch: int
    relay_idle_seconds: float

    @classmethod
    def from_env(cls, service: str) -> ServiceSettings:
        return cls(
            service=service,
            grpc_host=env("GRPC_HOST", "127.0.0.1", service),
            grpc_port=int(env("GRPC_PORT", str(DEFAULT_PORTS.get(service, 50050)), service)),
            nats_url=env("NATS_URL", "nats://127.0.0.1:4222", service),
            relay_batch=int(env("RELAY_BATCH", "256", service)),
            relay_idle_seconds=float(env("RELAY_IDLE_SECONDS", "0.05", service)),
        )
