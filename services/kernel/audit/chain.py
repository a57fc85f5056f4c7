"""The hash chain over the stored rows, and the table that keeps it.

Split out of the audit package so the chain (what is hashed, and how it is
stored and extended) reads on its own; signing and verification build on it.

Every row of the service's notification log is hashed in log order over its
*stored* bytes::

    chain(0) = SHA-256("revmentor.audit.chain.v1" 0x00 <service>)
    chain(n) = SHA-256(chain(previous row) || canonical(row n))
    canonical(row) = id, originator id, originator version, topic, state
                     (integers as 8-byte big-endian, strings and bytes
                     length-prefixed, so no two rows share an encoding)

``state`` is what the store holds (personal fields sealed per subject), so
crypto-shredding a subject (destroying its key) never changes a hash. The
genesis names the service, so one service's chain never verifies as another's.
Gaps in notification ids are fine (PostgreSQL sequences skip ids on rollback):
the chain follows the ids present when it is extended.

The chain table ``revmentor_audit_chain`` (next to the events, in the
service's own SQLite file or PostgreSQL schema, like the key store)::

    position    BIGINT PRIMARY KEY  -- the notification id
    hash        BLOB / BYTEA        -- chain(position)
    created_at  TEXT                -- RFC 3339

:class:`Chainer` extends it page by page from its last row. Replicas may
chain at the same time: an insert that collides on the primary key means
another replica chained those rows first (with the same hashes: the chain is a
function of the rows), so it re-reads the head and goes on.
"""

from __future__ import annotations

import hashlib
import struct
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from eventsourcing.persistence import IntegrityError, Notification

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.timestamps import stamp

TABLE = "revmentor_audit_chain"
HASH_BYTES = 32
GENESIS_LABEL = b"revmentor.audit.chain.v1"
PAGE_SIZE = 1000


def genesis(service: str) -> bytes:
    """chain(0): a per-service start, so one service's chain never passes as another's."""
    return hashlib.sha256(GENESIS_LABEL + b"\x00" + service.encode()).digest()


def _int(value: int) -> bytes:
    return struct.pack(">q", value)


def _bytes(value: bytes) -> bytes:
    return struct.pack(">Q", len(value)) + value


def canonical(row: Notification) -> bytes:
    """The bytes of one stored row that the chain covers (unambiguous encoding)."""
    return b"".join(
        (
            _int(row.id),
            _bytes(str(row.originator_id).encode()),
            _int(row.originator_version),
            _bytes(row.topic.encode()),
            _bytes(bytes(row.state)),
        )
    )


def link(previous: bytes, row: Notification) -> bytes:
    """chain(row) from chain(previous row)."""
    return hashlib.sha256(previous + canonical(row)).digest()


class ChainEntry(NamedTuple):
    position: int
    hash: bytes


_CREATE = (
    "CREATE TABLE IF NOT EXISTS {table} ("
    " position BIGINT PRIMARY KEY,"
    " hash {blob} NOT NULL,"
    " created_at TEXT NOT NULL)"
)
_HEAD = "SELECT position, hash FROM {table} ORDER BY position DESC LIMIT 1"
_PAGE = "SELECT position, hash FROM {table} WHERE position > ? ORDER BY position LIMIT ?"
_INSERT = "INSERT INTO {table} (position, hash, created_at) VALUES (?, ?, ?)"


class ChainTable:
    """The chain rows in the recorder's own database (SQLite or PostgreSQL)."""

    def __init__(self, datastore: Any):
        self.datastore = datastore
        self.postgres = hasattr(datastore, "schema")
        self.table = f'"{datastore.schema}".{TABLE}' if self.postgres else TABLE
        self._create_table()

    @classmethod
    def for_recorder(cls, recorder: Any) -> ChainTable:
        return cls(recorder.datastore)

    def head(self) -> ChainEntry | None:
        """The last chained position and its hash (None before the first row)."""
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(_HEAD))
            row = cursor.fetchone()
        return None if row is None else ChainEntry(int(row["position"]), bytes(row["hash"]))

    def entries(self, after: int, limit: int) -> list[ChainEntry]:
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql(_PAGE), (after, limit))
            rows = cursor.fetchall()
        return [ChainEntry(int(row["position"]), bytes(row["hash"])) for row in rows]

    def all_entries(self, page_size: int = PAGE_SIZE) -> Iterator[ChainEntry]:
        """Every entry in position order, read page by page."""
        after = 0
        while True:
            page = self.entries(after, page_size)
            yield from page
            if len(page) < page_size:
                return
            after = page[-1].position

    def append(self, entries: Sequence[ChainEntry]) -> bool:
        """Insert all of ``entries`` or none; False if a position was already chained."""
        now = stamp(datetime.now(UTC))
        try:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.executemany(self._sql(_INSERT), [(e.position, e.hash, now) for e in entries])
        except IntegrityError:
            return False
        return True

    def _sql(self, template: str) -> str:
        statement = template.format(table=self.table, blob="BYTEA" if self.postgres else "BLOB")
        return statement.replace("?", "%s") if self.postgres else statement

    def _create_table(self) -> None:
        """Create the table; a replica creating it at the same moment is fine."""
        try:
            with self.datastore.transaction(commit=True) as cursor:
                cursor.execute(self._sql(_CREATE))
        except Exception:  # noqa: BLE001 - a concurrent CREATE on PostgreSQL; check below
            with self.datastore.transaction(commit=False) as cursor:
                cursor.execute(self._sql("SELECT COUNT(*) AS n FROM {table}"))


def log_rows(app: ServiceApplication, page_size: int = PAGE_SIZE) -> Iterator[Notification]:
    """Every row of the notification log in id order, read page by page."""
    after = 0
    while True:
        page = app.notifications(after, page_size)
        yield from page
        if len(page) < page_size:
            return
        after = page[-1].id


class Chainer:
    """Extends the chain table over the rows written since its last entry."""

    def __init__(self, app: ServiceApplication, page_size: int = PAGE_SIZE):
        self.app = app
        self.page_size = page_size
        self.table = ChainTable.for_recorder(app.recorder)
        self.genesis = genesis(app.name)
        self._lock = threading.Lock()

    def chain(self) -> int:
        """Chain every row not chained yet; returns how many this call chained."""
        chained = 0
        with self._lock:
            while True:
                head = self.table.head()
                after, previous = head if head is not None else (0, self.genesis)
                page = self.app.notifications(after, self.page_size)
                if not page:
                    return chained
                entries = []
                for row in page:
                    previous = link(previous, row)
                    entries.append(ChainEntry(row.id, previous))
                if not self.table.append(entries):
                    continue  # another replica chained some of them: start from its head
                chained += len(entries)
                if len(page) < self.page_size:
                    return chained

    def head(self) -> ChainEntry | None:
        return self.table.head()
