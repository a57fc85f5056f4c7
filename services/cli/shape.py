"""The shape ``revmentor up`` runs: replicas per service, PostgreSQL, a NATS cluster.

The default shape is the embedded one: one process per service, SQLite under
``var/``, one nats-server. ``--replicas N --postgres DSN --nats-cluster 3`` is
the production shape on one machine: N processes of every service sharing one
PostgreSQL store per service (schema ``revmentor_<service>``), and three
nats-server nodes routed into one JetStream cluster with every stream
replicated on three of them. Replicas need PostgreSQL: SQLite is one file for
one process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from revmentor.cli.common import EXIT_UNREACHABLE, CliError

#: Most processes per service and nodes `up` will start on one machine.
MAX_REPLICAS = 9
MAX_NATS_NODES = 5
#: JetStream replicates a stream on at most this many nodes (R3 is the norm).
MAX_STREAM_REPLICAS = 3


@dataclass(frozen=True)
class Shape:
    replicas: int = 1
    postgres: str = ""
    nats_cluster: int = 1

    def check(self) -> None:
        """CliError naming the flag and the rule, before anything starts."""
        if not 1 <= self.replicas <= MAX_REPLICAS:
            raise CliError(f"--replicas {self.replicas}: must be 1-{MAX_REPLICAS}")
        if not 1 <= self.nats_cluster <= MAX_NATS_NODES:
            raise CliError(f"--nats-cluster {self.nats_cluster}: must be 1-{MAX_NATS_NODES}")
        if self.replicas > 1 and not self.postgres:
            raise CliError(
                f"--replicas {self.replicas} needs --postgres DSN: replicas share one store, "
                "and SQLite is a file for one process"
            )

    @property
    def stream_replicas(self) -> int:
        return min(self.nats_cluster, MAX_STREAM_REPLICAS)

    def schema(self, service: str) -> str:
        return f"revmentor_{service}"

    def store_env(self, service: str) -> dict[str, str]:
        """The eventsourcing settings of one service's processes (empty: SQLite)."""
        if not self.postgres:
            return {}
        found = _conninfo(self.postgres)
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": found.get("dbname") or "postgres",
            "POSTGRES_HOST": found.get("host") or "127.0.0.1",
            "POSTGRES_PORT": found.get("port") or "5432",
            "POSTGRES_USER": found.get("user") or "postgres",
            "POSTGRES_PASSWORD": found.get("password") or "",
            "POSTGRES_SCHEMA": self.schema(service),
            # Five services x N replicas share the server's connections (100 by
            # default): a small pool each, more only under load.
            "POSTGRES_POOL_SIZE": os.environ.get("POSTGRES_POOL_SIZE", "2"),
            "POSTGRES_MAX_OVERFLOW": os.environ.get("POSTGRES_MAX_OVERFLOW", "3"),
        }

    def prepare_postgres(self, services: list[str]) -> None:
        """Each service's schema, made if missing (its tables are made by the
        service's first process, before the other replicas start)."""
        if not self.postgres:
            return
        import psycopg

        try:
            with psycopg.connect(self.postgres, autocommit=True, connect_timeout=5) as conn:
                for service in services:
                    conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema(service)}"')
        except psycopg.Error as error:
            found = _conninfo(self.postgres)
            hint = (
                f"create it first: createdb -h {found.get('host', '127.0.0.1')} "
                f"-U {found.get('user', 'postgres')} {found.get('dbname', '')}"
                if "does not exist" in str(error)
                else "check the DSN, that the server runs and that the user may create schemas"
            )
            raise CliError(
                f"cannot prepare PostgreSQL at --postgres ({type(error).__name__}: "
                f"{str(error).strip()}); {hint}",
                EXIT_UNREACHABLE,
            ) from None


def _conninfo(dsn: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(dsn).items() if v is not None}
    except Exception as error:  # noqa: BLE001 - psycopg raises ProgrammingError subclasses
        raise CliError(
            f"--postgres is not a PostgreSQL DSN ({type(error).__name__}); "
            "e.g. postgresql://postgres@127.0.0.1:5432/revmentor"
        ) from None
