"""A fresh PostgreSQL database per benchmark run, dropped at the end.

The server is ``BENCH_POSTGRES_HOST``/``_PORT``/``_USER``/``_PASSWORD``
(falling back to the tests' ``TEST_POSTGRES_*``, then 127.0.0.1:5432, user
postgres, no password). A run whose server is not reachable reports it and
leaves the PostgreSQL figures out; nothing else depends on it.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Any


def _setting(name: str, default: str) -> str:
    return (
        os.environ.get(f"BENCH_POSTGRES_{name}")
        or os.environ.get(f"TEST_POSTGRES_{name}")
        or default
    )


HOST = _setting("HOST", "127.0.0.1")
PORT = _setting("PORT", "5432")
USER = _setting("USER", "postgres")
PASSWORD = _setting("PASSWORD", "")


def connect(dbname: str = "postgres") -> Any:
    import psycopg

    return psycopg.connect(
        host=HOST,
        port=PORT,
        user=USER,
        password=PASSWORD or None,
        dbname=dbname,
        autocommit=True,
        connect_timeout=3,
    )


def server_version() -> str:
    """``SHOW server_version``, or why it is unavailable."""
    try:
        with connect() as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except Exception as error:  # noqa: BLE001 - any failure means "not reachable"
        return f"not reachable at {HOST}:{PORT} ({type(error).__name__})"
    return f"{row[0]} at {HOST}:{PORT}"


def reachable() -> bool:
    try:
        with connect():
            return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False


@contextlib.contextmanager
def fresh_database() -> Iterator[dict[str, str]]:
    """A new database for one run; yields the eventsourcing settings for it."""
    admin = connect()
    name = f"revmentor_bench_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": name,
            "POSTGRES_HOST": HOST,
            "POSTGRES_PORT": PORT,
            "POSTGRES_USER": USER,
            "POSTGRES_PASSWORD": PASSWORD,
        }
    finally:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
