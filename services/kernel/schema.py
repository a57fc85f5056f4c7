"""Table creation, one process at a time.

Every process of a service makes the tables it needs when it starts (``CREATE
TABLE IF NOT EXISTS``, by the eventsourcing library). On PostgreSQL two
replicas doing that at the same moment can fail ("tuple concurrently updated",
a duplicate ``pg_type`` row): the statement is idempotent, not concurrent-safe.
So replicas take a session advisory lock, per database, around it: the first
makes the tables, the others wait a moment and find them made. SQLite is one
file for one process, and needs nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

#: The advisory lock's key: "revm" - one per database, shared by every service.
SCHEMA_LOCK = 0x7265766D
#: Seconds to wait for PostgreSQL (the lock itself waits as long as it takes).
CONNECT_TIMEOUT = 10

Setting = Callable[[str], str | None]


def on_postgres(setting: Setting) -> bool:
    return setting("PERSISTENCE_MODULE") == "eventsourcing.postgres"


def connect(setting: Setting) -> Any:
    """A connection of its own (autocommit) to the service's PostgreSQL database,
    for session-level advisory locks (held as long as the connection lives)."""
    import psycopg

    return psycopg.connect(
        host=setting("POSTGRES_HOST") or "127.0.0.1",
        port=setting("POSTGRES_PORT") or "5432",
        dbname=setting("POSTGRES_DBNAME") or "postgres",
        user=setting("POSTGRES_USER") or "postgres",
        password=setting("POSTGRES_PASSWORD") or "",
        autocommit=True,
        connect_timeout=CONNECT_TIMEOUT,
    )


@contextlib.contextmanager
def schema_lock(setting: Setting) -> Iterator[None]:
    """Hold the database's schema lock (PostgreSQL) while the block runs.

    ``setting`` reads the application's settings (``Application.env.get``:
    service-prefixed names first, as the library itself reads them)."""
    if not on_postgres(setting):
        yield
        return
    with connect(setting) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
