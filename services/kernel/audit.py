"""Tamper evidence: a hash chain over every stored event, and signed checkpoints.

DESIGN 6. Three parts, each in the service's own hands:

**The chain.** Every row of the service's notification log is hashed in log
order over its *stored* bytes::

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

**The chain table** ``revmentor_audit_chain`` (next to the events, in the
service's own SQLite file or PostgreSQL schema, like the key store)::

    position    BIGINT PRIMARY KEY  -- the notification id
    hash        BLOB / BYTEA        -- chain(position)
    created_at  TEXT                -- RFC 3339

:class:`Chainer` extends it page by page from its last row. Replicas may
chain at the same time: an insert that collides on the primary key means
another replica chained those rows first (with the same hashes: the chain is a
function of the rows), so it re-reads the head and goes on.

**Signed checkpoints.** :func:`checkpoint_job` periodically chains new rows
and, when the chain moved past the last checkpoint on the audit stream,
publishes ``{service, position, hash, at, key_id, public_key, signature}``
(Ed25519 over the canonical JSON of the other fields) on
``revmentor.audit.<service>`` of ``REVMENTOR_AUDIT``, a stream that refuses
purges and message deletions. Each publish carries ``Nats-Msg-Id =
audit:<service>:<position>`` (replicas racing publish it once) and
``Nats-Expected-Last-Subject-Sequence`` (positions on a service's subject only
ever grow, even past the duplicate window), and waits for the PubAck.

The signing key: ``REVMENTOR_AUDIT_SIGNING_KEY_FILE`` (an Ed25519 private key,
PKCS#8 PEM, unencrypted; a mounted Secret), else - unless
``REVMENTOR_REQUIRE_AUDIT_SIGNING_KEY=1`` - a development key created once
under ``<var>/secrets/audit-<service>.pem`` (0600). Its id is the first 16 hex
digits of SHA-256 over the raw public key. Verifiers trust the service's own
key plus ``REVMENTOR_AUDIT_TRUSTED_KEYS`` (comma-separated base64 raw public
keys: retired keys after a rotation, or the production key on an auditor's
machine). Each variable may be prefixed with the service name.

**Verification** (:func:`verify`) recomputes the chain over the rows as they
are now, in pages (memory stays flat), and compares it

1. with the chain table, row by row: the first position where the hashes
   differ, or a position present in one and not in the other, is broken
   ("row 42 changed", "row 17 missing", "row 30 is not in the chain");
2. with every checkpoint whose signature is valid and whose key is trusted
   (others are reported as rejected and prove nothing): its position must hold
   its hash. A checkpoint that does not match while the chain table still
   holds its hash confirms the row-level finding. One that does not match the
   chain table either means the chain table was rewritten (or truncated) along
   with the rows; the checkpoint cannot say which row changed, so the first
   broken position is *the first position after the last checkpoint that
   matched*: nothing from there on can be trusted.

The first broken position reported is the smallest of the two. What this
cannot catch: rows appended after the last chained position (they are simply
not chained yet; a forger with write access to the database can append like
the service does), and a consistent rewrite of rows *and* chain table after
the last checkpoint. Checkpoint often enough (``AUDIT_CHECKPOINT_SECONDS``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import secrets
import struct
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import nats
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from eventsourcing.persistence import IntegrityError, Notification
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import APIError, NotFoundError

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.cloudevents import MSG_ID_HEADER
from revmentor.kernel.natsauth import nats_connect_options
from revmentor.kernel.settings import var_dir
from revmentor.kernel.streams import AUDIT_STREAM, AUDIT_SUBJECT_PREFIX, audit_stream_config
from revmentor.kernel.streams import ensure_stream as _ensure_stream
from revmentor.kernel.timestamps import stamp

log = logging.getLogger(__name__)

TABLE = "revmentor_audit_chain"
HASH_BYTES = 32
GENESIS_LABEL = b"revmentor.audit.chain.v1"
PAGE_SIZE = 1000
EXPECTED_LAST_SUBJECT_SEQ_HEADER = "Nats-Expected-Last-Subject-Sequence"
#: JetStream's "wrong last sequence" error: another replica published first.
WRONG_LAST_SEQUENCE = 10071

SIGNING_KEY_FILE = "REVMENTOR_AUDIT_SIGNING_KEY_FILE"
REQUIRE_SIGNING_KEY = "REVMENTOR_REQUIRE_AUDIT_SIGNING_KEY"
TRUSTED_KEYS = "REVMENTOR_AUDIT_TRUSTED_KEYS"
#: The audit settings (each may be prefixed with the service name).
AUDIT_SETTINGS = (SIGNING_KEY_FILE, REQUIRE_SIGNING_KEY, TRUSTED_KEYS, "AUDIT_CHECKPOINT_SECONDS")

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
EnvGet = Callable[[str], "str | None"]


class AuditKeyUnavailable(RuntimeError):
    """No signing key is configured (and a development one is not allowed)."""


# -- the chain ---------------------------------------------------------------------------------
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


# -- signing -------------------------------------------------------------------------------------
def key_id(public_key: bytes) -> str:
    """A key's id: the first 16 hex digits of SHA-256 over the raw public key."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def raw_public_key(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class SigningKey:
    """The service's Ed25519 checkpoint key."""

    private: Ed25519PrivateKey = field(repr=False)

    @property
    def public_key(self) -> bytes:
        return raw_public_key(self.private.public_key())

    @property
    def id(self) -> str:
        return key_id(self.public_key)

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_pem(cls, pem: bytes, what: str = "signing key") -> SigningKey:
        try:
            private = serialization.load_pem_private_key(pem, password=None)
        except (ValueError, TypeError) as error:
            raise AuditKeyUnavailable(f"{what} is not an unencrypted PEM private key") from error
        if not isinstance(private, Ed25519PrivateKey):
            raise AuditKeyUnavailable(f"{what} is not an Ed25519 key")
        return cls(private)

    def pem(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def dev_key_path(var: Path | str, service: str) -> Path:
    return Path(var) / "secrets" / f"audit-{service}.pem"


def ensure_dev_signing_key(var: Path | str, service: str) -> SigningKey:
    """A development key under ``<var>/secrets``, created once (0600), atomically:
    processes starting together agree on one key. Never for production."""
    path = dev_key_path(var, service)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        temp = path.parent / f".audit-{service}-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(SigningKey.generate().pem())
        try:
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(temp, path)
        finally:
            temp.unlink()
    return SigningKey.from_pem(path.read_bytes(), str(path))


def load_signing_key(get: EnvGet, service: str, var: Callable[[], Path] = var_dir) -> SigningKey:
    """The service's checkpoint signing key (see the module docstring)."""
    configured = get(SIGNING_KEY_FILE)
    if configured:
        return SigningKey.from_pem(Path(configured).read_bytes(), configured)
    if get(REQUIRE_SIGNING_KEY) == "1":
        raise AuditKeyUnavailable(f"{REQUIRE_SIGNING_KEY}=1 but no {SIGNING_KEY_FILE} is set")
    directory = var()
    log.warning(
        "no %s set: signing %s checkpoints with a development key", SIGNING_KEY_FILE, service
    )
    return ensure_dev_signing_key(directory, service)


def decode_public_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValueError("a public key must be base64 of 32 raw bytes") from error
    if len(raw) != 32:
        raise ValueError(f"a public key must be 32 raw bytes, not {len(raw)}")
    return raw


def trusted_keys(get: EnvGet, service: str, var: Callable[[], Path] = var_dir) -> dict[str, bytes]:
    """key id -> raw public key: the service's own key and ``REVMENTOR_AUDIT_TRUSTED_KEYS``.

    Never creates a development key: a verifier only trusts what exists.
    """
    keys: dict[str, bytes] = {}
    configured = get(SIGNING_KEY_FILE)
    own = Path(configured) if configured else dev_key_path(var(), service)
    if own.exists():
        public = SigningKey.from_pem(own.read_bytes(), str(own)).public_key
        keys[key_id(public)] = public
    for item in filter(None, (part.strip() for part in (get(TRUSTED_KEYS) or "").split(","))):
        public = decode_public_key(item)
        keys[key_id(public)] = public
    return keys


# -- checkpoints --------------------------------------------------------------------------------
_FIELDS = ("service", "position", "hash", "at", "key_id", "public_key")


def _canonical_json(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: ``service``'s chain at ``position`` is ``hash``."""

    service: str
    position: int
    hash: str  # hex
    at: str  # RFC 3339
    key_id: str
    public_key: str  # base64 of the raw Ed25519 public key
    signature: str  # base64, over the canonical JSON of the fields above

    def body(self) -> bytes:
        """What the signature covers."""
        return _canonical_json({name: getattr(self, name) for name in _FIELDS})

    def document(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in _FIELDS}, "signature": self.signature}

    def to_json(self) -> bytes:
        return _canonical_json(self.document())

    @property
    def hash_bytes(self) -> bytes:
        return bytes.fromhex(self.hash)

    @classmethod
    def from_json(cls, data: bytes | str) -> Checkpoint:
        """Parse a checkpoint; ValueError if it is not one (signature not checked)."""
        try:
            document = json.loads(data)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(f"not JSON: {error}") from error
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        missing = [n for n in (*_FIELDS, "signature") if n not in document]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        position = document["position"]
        if not isinstance(position, int) or isinstance(position, bool) or position < 0:
            raise ValueError("position must be a non-negative integer")
        texts = {n: document[n] for n in (*_FIELDS, "signature") if n != "position"}
        if not all(isinstance(value, str) for value in texts.values()):
            raise ValueError("service, hash, at, key_id, public_key and signature are strings")
        try:
            if len(bytes.fromhex(texts["hash"])) != HASH_BYTES:
                raise ValueError
        except ValueError as error:
            raise ValueError("hash must be 64 hex digits") from error
        return cls(position=position, **texts)


def sign_checkpoint(
    key: SigningKey, service: str, position: int, chain_hash: bytes, at: datetime | None = None
) -> Checkpoint:
    unsigned = Checkpoint(
        service=service,
        position=position,
        hash=chain_hash.hex(),
        at=stamp(at or datetime.now(UTC)),
        key_id=key.id,
        public_key=base64.b64encode(key.public_key).decode(),
        signature="",
    )
    signature = base64.b64encode(key.private.sign(unsigned.body())).decode()
    return Checkpoint(**{**unsigned.document(), "signature": signature})


def verify_checkpoint_signature(checkpoint: Checkpoint) -> bool:
    """True when the signature is the embedded key's over the other fields, and the
    key id is that key's. Whether the key is *trusted* is the verifier's question."""
    try:
        public = decode_public_key(checkpoint.public_key)
        signature = base64.b64decode(checkpoint.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, checkpoint.body())
    except (ValueError, binascii.Error, InvalidSignature):
        return False
    return key_id(public) == checkpoint.key_id


# -- verification --------------------------------------------------------------------------------
@dataclass(frozen=True)
class VerificationReport:
    """What :func:`verify` found. ``ok`` only with no break and no rejected checkpoint."""

    service: str
    ok: bool
    first_broken_position: int | None
    reason: str
    rows: int  # rows in the log now
    chained: int  # the chain table's last position
    chain_entries: int  # rows in the chain table
    unchained: int  # rows after the chained range, not chained yet (not a break)
    checkpoints: int  # trusted checkpoints compared
    last_verified_checkpoint: int  # highest checkpoint position matched before any break
    rejected: tuple[str, ...] = ()  # checkpoints with a bad signature, unknown key...

    def describe(self) -> str:
        if self.ok:
            return (
                f"{self.service}: ok - {self.rows} rows, chained to {self.chained}, "
                f"{self.checkpoints} checkpoints, last at {self.last_verified_checkpoint}"
            )
        return f"{self.service}: BROKEN - {self.reason}"


def _accepted(
    service: str, checkpoints: Iterable[Checkpoint], trusted: Mapping[str, bytes]
) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints that prove something, and why the others do not."""
    accepted, rejected = [], []
    for cp in checkpoints:
        if cp.service != service:
            rejected.append(f"checkpoint at {cp.position} is for service {cp.service!r}")
        elif not verify_checkpoint_signature(cp):
            rejected.append(f"checkpoint at {cp.position}: signature invalid (forged or altered)")
        elif trusted.get(cp.key_id) != base64.b64decode(cp.public_key):
            rejected.append(f"checkpoint at {cp.position}: signed by unknown key {cp.key_id}")
        else:
            accepted.append(cp)
    accepted.sort(key=lambda cp: cp.position)
    return accepted, rejected


def _merged(
    rows: Iterator[Notification], entries: Iterator[ChainEntry]
) -> Iterator[tuple[int, Notification | None, ChainEntry | None]]:
    """Log rows and chain entries side by side, by position (either may be absent)."""
    row, entry = next(rows, None), next(entries, None)
    while row is not None or entry is not None:
        present = [row.id] if row is not None else []
        present += [entry.position] if entry is not None else []
        position = min(present)
        here_row = row if row is not None and row.id == position else None
        here_entry = entry if entry is not None and entry.position == position else None
        yield position, here_row, here_entry
        if here_row is not None:
            row = next(rows, None)
        if here_entry is not None:
            entry = next(entries, None)


def verify(
    app: ServiceApplication,
    checkpoints: Iterable[Checkpoint] = (),
    *,
    trusted: Mapping[str, bytes] | None = None,
    page_size: int = PAGE_SIZE,
) -> VerificationReport:
    """Recompute the chain over the rows as stored now; compare with the chain
    table and the checkpoints (see the module docstring for the rules)."""
    service = app.name
    if trusted is None:
        trusted = trusted_keys(app.env.get, service)
    anchors, rejected = _accepted(service, checkpoints, trusted)
    wanted = {cp.position for cp in anchors}
    table = ChainTable.for_recorder(app.recorder)
    head = table.head()
    chained = head.position if head is not None else 0
    # A trusted checkpoint says its position was chained, whatever the table says now.
    chained_until = max([chained, *wanted])

    at_anchor: dict[int, tuple[bytes | None, bytes | None]] = {}
    current = genesis(service)
    row_break: tuple[int, str] | None = None
    rows = entries = unchained = 0
    for position, row, entry in _merged(log_rows(app, page_size), table.all_entries(page_size)):
        if row is not None:
            current = link(current, row)
            rows += 1
        if entry is not None:
            entries += 1
        if position in wanted:
            at_anchor[position] = (
                current if row is not None else None,
                entry.hash if entry is not None else None,
            )
        if row is not None and entry is None and position > chained_until:
            unchained += 1
        elif row_break is None:
            if row is None:
                row_break = (position, f"row {position} missing: chained, no longer in the log")
            elif entry is None:
                row_break = (position, f"row {position} is not in the chain: added after chaining")
            elif entry.hash != current:
                row_break = (position, f"row {position} changed (or its chain entry did)")

    checkpoint_break, last_good, compared = _check_anchors(
        anchors, at_anchor, row_break, lambda after: _first_position_after(app, table, after)
    )
    found = [b for b in (checkpoint_break, row_break) if b is not None]
    first = min(found, key=lambda b: b[0]) if found else None
    reason = first[1] if first else (rejected[0] if rejected else "")
    return VerificationReport(
        service=service,
        ok=first is None and not rejected,
        first_broken_position=first[0] if first else None,
        reason=reason,
        rows=rows,
        chained=chained,
        chain_entries=entries,
        unchained=unchained,
        checkpoints=compared,
        last_verified_checkpoint=last_good,
        rejected=tuple(rejected),
    )


def _check_anchors(
    anchors: Sequence[Checkpoint],
    at_anchor: Mapping[int, tuple[bytes | None, bytes | None]],
    row_break: tuple[int, str] | None,
    first_after: Callable[[int], int],
) -> tuple[tuple[int, str] | None, int, int]:
    """(break found through a checkpoint, last matching checkpoint, checkpoints compared)."""
    last_good = 0
    for compared, cp in enumerate(anchors, start=1):
        recomputed, stored = at_anchor.get(cp.position, (None, None))
        if recomputed == cp.hash_bytes:
            last_good = cp.position
            continue
        if stored == cp.hash_bytes and row_break is not None and row_break[0] <= cp.position:
            # The chain table still holds the signed hash: the row-level finding is exact.
            return None, last_good, compared
        position = first_after(last_good)
        if recomputed is None:
            reason = (
                f"row {cp.position} missing: the checkpoint at {cp.position} has no row; "
                f"nothing after the checkpoint at {last_good} can be trusted"
            )
        else:
            reason = (
                f"chain table rewritten: checkpoint at {cp.position} does not match; "
                f"nothing after the checkpoint at {last_good} can be trusted"
            )
        return (position, reason), last_good, compared
    return None, last_good, len(anchors)


def _first_position_after(app: ServiceApplication, table: ChainTable, after: int) -> int:
    """The first position after ``after`` in the log or the chain table (else after + 1)."""
    candidates = [n.id for n in app.notifications(after, 1)]
    candidates += [e.position for e in table.entries(after, 1)]
    return min(candidates, default=after + 1)


# -- publishing and reading checkpoints ----------------------------------------------------------
def audit_subject(service: str) -> str:
    return f"{AUDIT_SUBJECT_PREFIX}.{service}"


def checkpoint_msg_id(service: str, position: int) -> str:
    return f"audit:{service}:{position}"


class CheckpointPublisher:
    """Chains new rows and publishes a checkpoint when the chain moved.

    Keeps one NATS connection. Safe with replicas: a position is published
    once (message id), and positions on the subject only grow (expected last
    subject sequence).
    """

    def __init__(
        self,
        app: ServiceApplication,
        nats_url: str,
        *,
        key: SigningKey | None = None,
        chainer: Chainer | None = None,
        timeout: float = 5.0,
    ):
        self.app = app
        self.nats_url = nats_url
        self.timeout = timeout
        self._key = key
        self._chainer = chainer
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None

    @property
    def chainer(self) -> Chainer:
        if self._chainer is None:
            self._chainer = Chainer(self.app)
        return self._chainer

    @property
    def key(self) -> SigningKey:
        if self._key is None:
            self._key = load_signing_key(self.app.env.get, self.app.name)
        return self._key

    async def publish_once(self) -> Checkpoint | None:
        """Chain, then publish a checkpoint at the head if the stream is behind it."""
        await asyncio.to_thread(self.chainer.chain)
        head = await asyncio.to_thread(self.chainer.head)
        if head is None:
            return None
        key = self.key
        js = await self._jetstream()
        for _ in range(5):
            last_seq, last_position = await self.last_checkpoint(js)
            if head.position <= last_position:
                return None
            checkpoint = sign_checkpoint(key, self.app.name, head.position, head.hash)
            headers = {
                MSG_ID_HEADER: checkpoint_msg_id(self.app.name, head.position),
                EXPECTED_LAST_SUBJECT_SEQ_HEADER: str(last_seq),
                "content-type": "application/json",
            }
            try:
                ack = await js.publish(
                    audit_subject(self.app.name),
                    checkpoint.to_json(),
                    headers=headers,
                    timeout=self.timeout,
                )
            except APIError as error:
                if error.err_code == WRONG_LAST_SEQUENCE:
                    continue  # another replica published meanwhile: look again
                raise
            return None if ack.duplicate else checkpoint
        return None

    async def last_checkpoint(self, js: JetStreamContext) -> tuple[int, int]:
        """(stream sequence, position) of this service's last checkpoint; (0, 0) if none."""
        try:
            message = await js.get_last_msg(AUDIT_STREAM, audit_subject(self.app.name))
        except NotFoundError:
            return 0, 0
        try:
            position = Checkpoint.from_json(message.data or b"").position
        except ValueError:
            position = 0  # not a checkpoint: the next one still goes after it
        return int(message.seq or 0), position

    async def _jetstream(self) -> JetStreamContext:
        if self._nc is None or self._nc.is_closed or self._js is None:
            self._nc = await nats.connect(
                self.nats_url,
                connect_timeout=2,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                name=f"{self.app.name}-audit",
                **nats_connect_options(self.app.name),
            )
            self._js = self._nc.jetstream(timeout=self.timeout)
            try:
                await _ensure_stream(self._js, audit_stream_config())
            except Exception as error:  # noqa: BLE001 - the admin declares it with NATS auth
                log.info("could not declare %s (%s); expecting it to exist", AUDIT_STREAM, error)
        return self._js

    async def close(self) -> None:
        if self._nc is not None:
            with contextlib.suppress(Exception):
                await self._nc.drain()
        self._nc, self._js = None, None


def checkpoint_job(app: ServiceApplication, nats_url: str, every_seconds: float = 60.0) -> Job:
    """Every ``every_seconds`` (first pass at once): chain new rows, publish a
    checkpoint if the chain moved. Failures (NATS down, no key) are logged and
    retried next time; the service keeps serving."""

    async def run(stop: asyncio.Event) -> None:
        publisher = CheckpointPublisher(app, nats_url)
        try:
            while not stop.is_set():
                try:
                    checkpoint = await publisher.publish_once()
                    if checkpoint is not None:
                        log.info("%s: audit checkpoint at %d", app.name, checkpoint.position)
                except Exception as error:  # noqa: BLE001 - retried at the next pass
                    log.warning("%s: audit checkpoint failed: %s", app.name, error)
                    await publisher.close()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), every_seconds)
        finally:
            await publisher.close()

    return run


async def read_checkpoints(
    nats_url: str,
    service: str,
    *,
    connect_options: Mapping[str, Any] | None = None,
    timeout: float = 5.0,
) -> list[Checkpoint]:
    """Every checkpoint of ``service`` on the audit stream, from the start.

    Reads with direct message gets (``$JS.API.STREAM.MSG.GET``), so a read-only
    user such as the integrator can run it. A message that is not a checkpoint
    is logged and skipped (only the service may publish on its subject).
    """
    options = dict(nats_connect_options() if connect_options is None else connect_options)
    # One attempt: nats-py otherwise retries an initial connection ~60 times,
    # so a reader would hang for minutes on a NATS that is down.
    options.setdefault("max_reconnect_attempts", 1)
    options.setdefault("reconnect_time_wait", 0.2)
    nc = await nats.connect(nats_url, connect_timeout=2, allow_reconnect=False, **options)
    try:
        js = nc.jetstream(timeout=timeout)
        found: list[Checkpoint] = []
        seq = 1
        while True:
            try:
                message = await js.get_msg(
                    AUDIT_STREAM, seq, subject=audit_subject(service), next=True
                )
            except NotFoundError:
                return found
            try:
                found.append(Checkpoint.from_json(message.data or b""))
            except ValueError as error:
                log.warning("%s #%s is not a checkpoint: %s", AUDIT_STREAM, message.seq, error)
            seq = int(message.seq or seq) + 1
    finally:
        with contextlib.suppress(Exception):
            await nc.close()
