"""The key store: per-subject data keys, wrapped, in the service's own database.

Why here: a service owns its data, so it owns the keys to it too; keeping them
in the same database (SQLite file, or the service's PostgreSQL schema) means no
extra infrastructure and one backup/restore story. The keys are useless
without the KEK, which never touches the database.

Table ``revmentor_subject_keys``::

    subject_id    TEXT PRIMARY KEY   -- participant id, or "service:<purpose>"
    kek_id        TEXT NOT NULL      -- which KEK wrapped it ('' for a tombstone)
    wrapped_key   BLOB / BYTEA NULL  -- AES-GCM(KEK, data key); NULL once destroyed
    created_at    TEXT NOT NULL      -- RFC 3339
    destroyed_at  TEXT NULL          -- RFC 3339, set by destroy()

A destroyed key leaves a tombstone row so that nothing personal can be
encrypted for that subject again. On SQLite the destroy runs with
``secure_delete`` and truncates the WAL so the old wrapped key is overwritten;
on PostgreSQL the dead row version disappears at the next (auto)vacuum.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresProcessRecorder
from eventsourcing.sqlite import SQLiteCursor, SQLiteProcessRecorder

from revmentor.kernel.crypto import StoredKey, new_keys

log = logging.getLogger(__name__)

TABLE = "revmentor_subject_keys"

_CREATE = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " subject_id TEXT PRIMARY KEY,"
    " kek_id TEXT NOT NULL,"
    " wrapped_key {blob},"
    " created_at TEXT NOT NULL,"
    " destroyed_at TEXT)"
)
_GET = "SELECT kek_id, wrapped_key FROM {table} WHERE subject_id = ?"
_GET_MANY = "SELECT subject_id, kek_id, wrapped_key FROM {table} WHERE subject_id IN ({marks})"
#: Subjects per IN (...) query: well under SQLite's and PostgreSQL's parameter limits.
BATCH = 500
_INSERT = (
    "INSERT INTO {table} (subject_id, kek_id, wrapped_key, created_at)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (subject_id) DO NOTHING"
)
#: A key made by a save, inserted with its events: no ON CONFLICT, so a key
#: another replica stored first fails the whole save (see ``NewKeys``).
_INSERT_NEW = (
    "INSERT INTO {table} (subject_id, kek_id, wrapped_key, created_at) VALUES (?, ?, ?, ?)"
)
_DESTROY = (
    "INSERT INTO {table} (subject_id, kek_id, wrapped_key, created_at, destroyed_at)"
    " VALUES (?, '', NULL, ?, ?) ON CONFLICT (subject_id) DO UPDATE"
    " SET wrapped_key = NULL, destroyed_at = COALESCE({table}.destroyed_at, excluded.destroyed_at)"
)
_OTHER_KEKS = (
    "SELECT subject_id, kek_id, wrapped_key FROM {table}"
    " WHERE wrapped_key IS NOT NULL AND kek_id <> ?"
)
_REWRAP = (
    "UPDATE {table} SET kek_id = ?, wrapped_key = ?"
    " WHERE subject_id = ? AND kek_id = ? AND wrapped_key IS NOT NULL"
)


class KeyStore:
    """Wrapped data keys in the recorder's own database (SQLite or PostgreSQL)."""

    def __init__(self, datastore: Any):
        self.datastore = datastore
        self.postgres = hasattr(datastore, "schema")
        self.table = f'"{datastore.schema}".{TABLE}' if self.postgres else TABLE
        self._create_table()

    @classmethod
    def for_recorder(cls, recorder: Any) -> KeyStore:
        """The key store next to an eventsourcing recorder's tables."""
        found = getattr(recorder, "key_store", None)
        return found if isinstance(found, KeyStore) else cls(recorder.datastore)

    # -- operations ----------------------------------------------------------------
    def get(self, subject: str) -> StoredKey | None:
        with self._cursor(commit=False) as cursor:
            cursor.execute(self._sql(_GET), (subject,))
            row = cursor.fetchone()
        if row is None:
            return None
        wrapped = row["wrapped_key"]
        return StoredKey(row["kek_id"], bytes(wrapped) if wrapped is not None else None)

    def get_many(self, subjects: list[str]) -> dict[str, StoredKey]:
        """The stored keys of many subjects in a few queries (replays read page by page)."""
        found: dict[str, StoredKey] = {}
        for start in range(0, len(subjects), BATCH):
            chunk = subjects[start : start + BATCH]
            statement = self._sql(_GET_MANY.replace("{marks}", ", ".join("?" * len(chunk))))
            with self._cursor(commit=False) as cursor:
                cursor.execute(statement, chunk)
                rows = cursor.fetchall()
            for row in rows:
                wrapped = row["wrapped_key"]
                found[row["subject_id"]] = StoredKey(
                    row["kek_id"], bytes(wrapped) if wrapped is not None else None
                )
        return found

    def insert_if_absent(self, subject: str, kek_id: str, wrapped: bytes) -> None:
        self.insert_many_if_absent([(subject, kek_id, wrapped)])

    def insert_many_if_absent(self, keys: list[tuple[str, str, bytes]]) -> None:
        """(subject, kek id, wrapped key) rows in one transaction; a subject that
        already has a key (another replica won) keeps it."""
        now = _now()
        with self._cursor(commit=True) as cursor:
            for subject, kek_id, wrapped in keys:
                cursor.execute(self._sql(_INSERT), (subject, kek_id, wrapped, now))

    def insert_new(self, cursor: Any, keys: list[tuple[str, str, bytes]]) -> None:
        """Insert a save's new keys on the cursor of the transaction writing its events."""
        now = _now()
        for subject, kek_id, wrapped in keys:
            cursor.execute(self._sql(_INSERT_NEW), (subject, kek_id, wrapped, now))

    def destroy(self, subject: str) -> None:
        now = _now()
        with self._cursor(commit=True) as cursor:
            if not self.postgres:
                cursor.execute("PRAGMA secure_delete = ON")
            cursor.execute(self._sql(_DESTROY), (subject, now, now))
        self._truncate_sqlite_wal()

    def wrapped_by_other_keks(self, kek_id: str) -> list[tuple[str, StoredKey]]:
        with self._cursor(commit=False) as cursor:
            cursor.execute(self._sql(_OTHER_KEKS), (kek_id,))
            rows = cursor.fetchall()
        return [
            (row["subject_id"], StoredKey(row["kek_id"], bytes(row["wrapped_key"]))) for row in rows
        ]

    def rewrap(self, subject: str, old_kek_id: str, kek_id: str, wrapped: bytes) -> None:
        with self._cursor(commit=True) as cursor:
            cursor.execute(self._sql(_REWRAP), (kek_id, wrapped, subject, old_kek_id))

    # -- plumbing ------------------------------------------------------------------
    def _sql(self, template: str) -> str:
        statement = template.format(table=self.table, blob="BYTEA" if self.postgres else "BLOB")
        return statement.replace("?", "%s") if self.postgres else statement

    @contextlib.contextmanager
    def _cursor(self, commit: bool) -> Iterator[Any]:
        with self.datastore.transaction(commit=commit) as cursor:
            yield cursor

    def _create_table(self) -> None:
        """Create the table; a replica creating it at the same moment is fine."""
        try:
            with self._cursor(commit=True) as cursor:
                cursor.execute(self._sql(_CREATE))
        except Exception:  # noqa: BLE001 - a concurrent CREATE on PostgreSQL; check below
            with self._cursor(commit=False) as cursor:
                cursor.execute(self._sql("SELECT COUNT(*) AS n FROM {table}"))

    def _truncate_sqlite_wal(self) -> None:
        """Overwrite the old page images that still hold the destroyed key (best effort)."""
        if self.postgres:
            return
        try:
            with self.datastore.get_connection(commit=True) as conn:
                conn.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except Exception as error:  # noqa: BLE001 - readers may hold the WAL; it is reused later
            log.warning("could not truncate the SQLite WAL after a key destruction: %s", error)


# -- recorders that write a save's new keys with its events -------------------------
class SQLiteKeyedRecorder(SQLiteProcessRecorder):
    """SQLite process recorder inserting the running save's new data keys
    (:data:`~revmentor.kernel.crypto.new_keys`) in the events' transaction."""

    inserts_new_keys = True

    @cached_property
    def key_store(self) -> KeyStore:
        return KeyStore(self.datastore)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The events first (a lost race on them is the usual failure), then the keys."""
        returning = super()._insert_events(c, stored_events, **kwargs)
        made = new_keys.get()
        if made:
            self.key_store.insert_new(c, made.rows())
        return returning


class PostgresKeyedRecorder(PostgresProcessRecorder):
    """PostgreSQL process recorder inserting the running save's new data keys in
    the events' transaction (pipelined with them: no extra round trip)."""

    @cached_property
    def key_store(self) -> KeyStore:
        return KeyStore(self.datastore)

    @property
    def inserts_new_keys(self) -> bool:
        """False when the library inserts events through a database function,
        which bypasses ``_insert_events``: keys are then stored before the save."""
        return not self.datastore.enable_db_functions

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """After the events, on a cursor of its own: the library reads the new
        notification ids from ``curs``, and a key statement queued before the
        events would turn their conflict into a bare "pipeline aborted"."""
        super()._insert_stored_events(curs, stored_events, **kwargs)
        made = new_keys.get()
        if made:
            with curs.connection.cursor() as keys_cursor:
                self.key_store.insert_new(keys_cursor, made.rows())


#: The recorder each persistence module gets (``PROCESS_RECORDER_TOPIC``).
KEYED_RECORDERS = {
    "eventsourcing.sqlite": SQLiteKeyedRecorder,
    "eventsourcing.postgres": PostgresKeyedRecorder,
}


def _now() -> str:
    return datetime.now(UTC).isoformat()
