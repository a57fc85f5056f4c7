"""Tamper evidence: the hash chain, its table, signed checkpoints, the audit stream.

What must hold (DESIGN 6, issue 8): a clean history verifies on SQLite and
PostgreSQL; every edit, deletion, reordering or insertion of stored rows (and
every edit of the chain table) is detected at the right position - over a
hundred seeded random mutations per store; a chain table rewritten to match
edited rows is caught by the signed checkpoints; erasing a subject (destroying
its key) breaks nothing; checkpoints reach a stream that refuses purges and
deletions, once per position, and forged ones are reported; replicas chaining
the same store produce one chain.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import secrets
import sqlite3
import stat
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import nats
import pytest
from eventsourcing.domain import Aggregate, event
from support import eventually, pg_connect

from revmentor.kernel import natsauth
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.audit import (
    AuditKeyUnavailable,
    Chainer,
    ChainTable,
    Checkpoint,
    CheckpointPublisher,
    SigningKey,
    audit_subject,
    checkpoint_job,
    ensure_dev_signing_key,
    genesis,
    link,
    load_signing_key,
    log_rows,
    read_checkpoints,
    sign_checkpoint,
    trusted_keys,
    verify,
    verify_checkpoint_signature,
)
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.streams import AUDIT_STREAM, audit_stream_config, declare_streams

SEED = 20260806
MUTATIONS = 110  # per store
CHECKPOINT_EVERY = 15  # chain entries between the harness's signed checkpoints


# -- a small service -------------------------------------------------------------------------
class Account(Aggregate):
    class Opened(Aggregate.Created):
        personal_fields = ("holder",)
        holder: str
        team: str

    @event(Opened)
    def __init__(self, holder: str, team: str):
        self.holder = holder
        self.team = team
        self.balance = 0

    @event("Credited")
    def credit(self, amount: int) -> None:
        self.balance += amount


class Scratch(Aggregate):
    """Rows deleted before chaining: the id gaps a PostgreSQL sequence leaves."""

    @event("Scribbled")
    def __init__(self, n: int):
        self.n = n


class Ledger(ServiceApplication):
    name = "ledger"


def new_kek() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Development keys go under this test's own var dir."""
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "var"))
    for name in ("REVMENTOR_AUDIT_SIGNING_KEY_FILE", "REVMENTOR_AUDIT_TRUSTED_KEYS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def kek() -> str:
    return new_kek()


@pytest.fixture
def app(store: dict[str, str], kek: str) -> Iterator[Ledger]:
    ledger = Ledger(env={**store, "REVMENTOR_KEK": kek})
    yield ledger
    ledger.close()


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def sqlite_env(tmp_path: Path, name: str = "ledger.sqlite") -> dict[str, str]:
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / name)}


def write_history(app: ServiceApplication, accounts: int = 20, credits: int = 4) -> list[Account]:
    """accounts * (1 + credits) rows, with scratch rows in between."""
    written = []
    for i in range(accounts):
        account = Account(holder=f"Holder {i}", team=f"team-{i % 3}")
        for amount in range(credits):
            account.credit(amount + i)
        app.save(account)
        written.append(account)
        if i % 4 == 1:
            app.save(Scratch(n=i))
    return written


# -- raw access to the stored rows (the tamperer's view) -------------------------------------
class Raw:
    """SQL straight on the service's tables, from a connection of its own."""

    def __init__(self, app: ServiceApplication, store: dict[str, str]):
        self.postgres = store["PERSISTENCE_MODULE"] == "eventsourcing.postgres"
        recorder: Any = app.recorder
        name = recorder.events_table_name
        if self.postgres:
            schema = store["POSTGRES_SCHEMA"]
            self.events, self.chain = f'"{schema}"."{name}"', f'"{schema}".revmentor_audit_chain'
            self.id = "notification_id"
            self.conn: Any = pg_connect(store["POSTGRES_DBNAME"])
        else:
            self.events, self.chain, self.id = name, "revmentor_audit_chain", "rowid"
            self.conn = sqlite3.connect(store["SQLITE_DBNAME"], isolation_level=None, timeout=10)

    def sql(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            statement = statement.replace("?", "%s")
        cursor = self.conn.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []

    def rows(self) -> list[tuple[Any, ...]]:
        """(id, originator_id, originator_version, topic, state) in id order."""
        return self.sql(
            f"SELECT {self.id}, originator_id, originator_version, topic, state"
            f" FROM {self.events} ORDER BY {self.id}"
        )

    def row(self, position: int) -> tuple[Any, ...]:
        return next(r for r in self.rows() if r[0] == position)

    def entries(self) -> list[tuple[int, bytes, str]]:
        return [
            (int(p), bytes(h), c)
            for p, h, c in self.sql(
                f"SELECT position, hash, created_at FROM {self.chain} ORDER BY position"
            )
        ]

    def present(self) -> list[int]:
        return sorted({r[0] for r in self.rows()} | {e[0] for e in self.entries()})

    def insert_row(
        self, position: int, originator: Any, version: int, topic: str, state: bytes
    ) -> None:
        if self.postgres:
            self.sql(
                f"INSERT INTO {self.events} (originator_id, originator_version, topic, state,"
                " notification_id) VALUES (?, ?, ?, ?, ?)",
                (originator, version, topic, state, position),
            )
        else:
            self.sql(
                f"INSERT INTO {self.events}"
                " (rowid, originator_id, originator_version, topic, state)"
                " VALUES (?, ?, ?, ?, ?)",
                (position, originator, version, topic, state),
            )

    def snapshot(self) -> tuple[list[tuple[Any, ...]], list[tuple[int, bytes, str]]]:
        return self.rows(), self.entries()

    def restore(self, snapshot: tuple[list[tuple[Any, ...]], list[tuple[int, bytes, str]]]) -> None:
        rows, entries = snapshot
        self.sql("BEGIN")
        try:
            self.sql(f"DELETE FROM {self.events}")
            self.sql(f"DELETE FROM {self.chain}")
            for row in rows:
                self.insert_row(*row)
            for entry in entries:
                self.sql(
                    f"INSERT INTO {self.chain} (position, hash, created_at) VALUES (?, ?, ?)", entry
                )
        except BaseException:
            self.sql("ROLLBACK")
            raise
        self.sql("COMMIT")

    def close(self) -> None:
        self.conn.close()


# -- helpers -----------------------------------------------------------------------------------
def sign_every(app: ServiceApplication, key: SigningKey, every: int) -> list[Checkpoint]:
    """Checkpoints at every ``every``-th chain entry and at the head."""
    entries = list(ChainTable.for_recorder(app.recorder).all_entries())
    chosen = entries[every - 1 :: every]
    if entries and entries[-1] not in chosen:
        chosen.append(entries[-1])
    return [sign_checkpoint(key, app.name, e.position, e.hash) for e in chosen]


def trust(key: SigningKey) -> dict[str, bytes]:
    return {key.id: key.public_key}


def assert_clean(app: ServiceApplication, checkpoints: list[Checkpoint], key: SigningKey) -> None:
    report = verify(app, checkpoints, trusted=trust(key))
    assert report.ok, report.describe()
    assert report.first_broken_position is None and report.rejected == ()


# -- the chain on both stores ------------------------------------------------------------------
def test_a_clean_history_passes(app: Ledger, store: dict[str, str], key: SigningKey) -> None:
    write_history(app)
    raw = Raw(app, store)
    try:
        scratch = [r[0] for r in raw.rows() if r[3].endswith("Scratch.Scribbled")]
        raw.sql(
            f"DELETE FROM {raw.events} WHERE {raw.id} IN ({', '.join('?' * len(scratch))})",
            tuple(scratch),
        )
    finally:
        raw.close()
    chainer = Chainer(app, page_size=7)  # several pages
    rows = len(list(log_rows(app)))
    assert chainer.chain() == rows == 100
    assert chainer.chain() == 0  # idempotent
    checkpoints = sign_every(app, key, CHECKPOINT_EVERY)
    report = verify(app, checkpoints, trusted=trust(key), page_size=9)
    assert report.ok, report.describe()
    assert (report.rows, report.chain_entries, report.unchained) == (rows, rows, 0)
    assert (
        report.checkpoints == len(checkpoints) and report.last_verified_checkpoint == report.chained
    )

    # The chain is a function of the rows: recomputing it by hand gives the table.
    current = genesis("ledger")
    for row, entry in zip(log_rows(app), chainer.table.all_entries(), strict=True):
        current = link(current, row)
        assert (row.id, current) == entry

    # Rows written after the last chaining are simply not chained yet.
    write_history(app, accounts=2, credits=1)
    report = verify(app, checkpoints, trusted=trust(key))
    assert report.ok and report.unchained == 5, report.describe()
    assert chainer.chain() == 5
    assert verify(app, checkpoints, trusted=trust(key)).unchained == 0


def test_each_service_has_its_own_genesis() -> None:
    """The genesis names the service: the same rows chain differently elsewhere."""
    assert genesis("ledger") != genesis("other")


# -- the tamper harness ------------------------------------------------------------------------
@dataclass
class Case:
    raw: Raw
    app: Ledger
    rng: random.Random
    positions: list[int]  # chained ids, with gaps
    gaps: list[int]  # ids inside the chained range with no row
    checkpoints: list[Checkpoint]

    def pick(self, limit: int | None = None) -> int:
        candidates = [p for p in self.positions if limit is None or p <= limit]
        return self.rng.choice(candidates)

    def last_checkpoint_before(self, position: int) -> int:
        return max((cp.position for cp in self.checkpoints if cp.position < position), default=0)


def _first_after(present: list[int], after: int) -> int:
    return next((p for p in present if p > after), after + 1)


def edit_state(case: Case) -> int:
    p = case.pick()
    state = bytearray(case.raw.row(p)[4])
    index = case.rng.randrange(len(state))
    state[index] ^= 1 << case.rng.randrange(8)
    case.raw.sql(
        f"UPDATE {case.raw.events} SET state = ? WHERE {case.raw.id} = ?", (bytes(state), p)
    )
    return p


def edit_topic(case: Case) -> int:
    p = case.pick()
    topic = case.raw.row(p)[3]
    case.raw.sql(
        f"UPDATE {case.raw.events} SET topic = ? WHERE {case.raw.id} = ?", (topic + "x", p)
    )
    return p


def edit_version(case: Case) -> int:
    p = case.pick()
    case.raw.sql(
        f"UPDATE {case.raw.events} SET originator_version = originator_version + 1000"
        f" WHERE {case.raw.id} = ?",
        (p,),
    )
    return p


def edit_originator(case: Case) -> int:
    p = case.pick()
    other = uuid.uuid4()
    value = other if case.raw.postgres else other.hex
    case.raw.sql(
        f"UPDATE {case.raw.events} SET originator_id = ? WHERE {case.raw.id} = ?", (value, p)
    )
    return p


def delete_row(case: Case) -> int:
    p = case.pick()
    case.raw.sql(f"DELETE FROM {case.raw.events} WHERE {case.raw.id} = ?", (p,))
    return p


def swap_states(case: Case) -> int:
    """Reorder contents: two rows exchange their stored state."""
    while True:
        a, b = case.rng.sample(case.positions, 2)
        state_a, state_b = case.raw.row(a)[4], case.raw.row(b)[4]
        if bytes(state_a) != bytes(state_b):
            break
    for position, state in ((a, state_b), (b, state_a)):
        case.raw.sql(
            f"UPDATE {case.raw.events} SET state = ? WHERE {case.raw.id} = ?", (state, position)
        )
    return min(a, b)


def swap_positions(case: Case) -> int:
    """Reorder rows: two rows exchange their notification ids."""
    a, b = case.rng.sample(case.positions, 2)
    table, column = case.raw.events, case.raw.id
    case.raw.sql("BEGIN")
    case.raw.sql(f"UPDATE {table} SET {column} = -1 WHERE {column} = ?", (a,))
    case.raw.sql(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (a, b))
    case.raw.sql(f"UPDATE {table} SET {column} = ? WHERE {column} = -1", (b,))
    case.raw.sql("COMMIT")
    return min(a, b)


def insert_forged(case: Case) -> int:
    """A forged row slipped into a gap of the chained range."""
    g = case.rng.choice(case.gaps)
    _, _, _, topic, state = case.raw.row(case.pick())
    originator = uuid.uuid4()
    case.raw.insert_row(g, originator if case.raw.postgres else originator.hex, 1, topic, state)
    return g


def delete_chain_entry(case: Case) -> int:
    p = case.pick()
    case.raw.sql(f"DELETE FROM {case.raw.chain} WHERE position = ?", (p,))
    return p


def edit_chain_entry(case: Case) -> int:
    p = case.pick()
    case.raw.sql(
        f"UPDATE {case.raw.chain} SET hash = ? WHERE position = ?", (secrets.token_bytes(32), p)
    )
    return p


def rewrite_chain(case: Case) -> int:
    """Edit a row, then rewrite the chain table to match: only a checkpoint can tell.

    By design the break is then reported at the first position after the last
    checkpoint that still matches (the checkpoint cannot say which row changed).
    """
    p = case.pick(limit=case.checkpoints[-1].position)
    edit = bytearray(case.raw.row(p)[4])
    edit[0] ^= 0xFF
    case.raw.sql(
        f"UPDATE {case.raw.events} SET state = ? WHERE {case.raw.id} = ?", (bytes(edit), p)
    )
    current = genesis(case.app.name)
    for row in log_rows(case.app):
        current = link(current, row)
        if row.id >= p:
            case.raw.sql(
                f"UPDATE {case.raw.chain} SET hash = ? WHERE position = ?", (current, row.id)
            )
    return _first_after(case.raw.present(), case.last_checkpoint_before(p))


def truncate(case: Case) -> int:
    """Delete the newest rows and their chain entries: the checkpoints still hold them."""
    t = case.pick(limit=case.checkpoints[-1].position)
    case.raw.sql(f"DELETE FROM {case.raw.events} WHERE {case.raw.id} >= ?", (t,))
    case.raw.sql(f"DELETE FROM {case.raw.chain} WHERE position >= ?", (t,))
    return _first_after(case.raw.present(), case.last_checkpoint_before(t))


MUTATORS: list[Callable[[Case], int]] = [
    edit_state,
    edit_topic,
    edit_version,
    edit_originator,
    delete_row,
    swap_states,
    swap_positions,
    insert_forged,
    delete_chain_entry,
    edit_chain_entry,
    rewrite_chain,
    truncate,
]


def test_every_random_mutation_is_detected_at_its_position(
    app: Ledger, store: dict[str, str], key: SigningKey
) -> None:
    write_history(app, accounts=24, credits=4)
    raw = Raw(app, store)
    try:
        scratch = [r[0] for r in raw.rows() if r[3].endswith("Scratch.Scribbled")]
        for position in scratch:  # ids that never made it: gaps in the chained range
            raw.sql(f"DELETE FROM {raw.events} WHERE {raw.id} = ?", (position,))
        Chainer(app).chain()
        checkpoints = sign_every(app, key, CHECKPOINT_EVERY)
        assert_clean(app, checkpoints, key)
        clean = raw.snapshot()
        positions = [r[0] for r in clean[0]]
        case = Case(raw, app, random.Random(SEED), positions, scratch, checkpoints)
        assert len(positions) == 120 and scratch and max(scratch) < max(positions)
        seen: dict[str, int] = {}
        for n in range(MUTATIONS):
            mutate = MUTATORS[n % len(MUTATORS)]
            expected = mutate(case)
            report = verify(app, checkpoints, trusted=trust(key))
            what = f"mutation {n} ({mutate.__name__}, seed {SEED}): {report.describe()}"
            assert not report.ok, what
            assert report.first_broken_position == expected, what
            seen[mutate.__name__] = seen.get(mutate.__name__, 0) + 1
            raw.restore(clean)
            if n % 10 == 9:
                assert_clean(app, checkpoints, key)
        assert set(seen) == {m.__name__ for m in MUTATORS}
        assert sum(seen.values()) >= 100
        assert_clean(app, checkpoints, key)
    finally:
        raw.close()


def test_reasons_name_what_happened(app: Ledger, store: dict[str, str], key: SigningKey) -> None:
    write_history(app, accounts=6, credits=3)
    Chainer(app).chain()
    checkpoints = sign_every(app, key, 5)
    raw = Raw(app, store)
    try:
        clean = raw.snapshot()
        positions = [r[0] for r in clean[0]]
        case = Case(raw, app, random.Random(1), positions, [], checkpoints)

        def reason_after(mutate: Callable[[Case], int]) -> str:
            mutate(case)
            report = verify(app, checkpoints, trusted=trust(key))
            raw.restore(clean)
            return report.reason

        assert "changed" in reason_after(edit_state)
        assert "missing" in reason_after(delete_row)
        assert "not in the chain" in reason_after(delete_chain_entry)
        assert "chain table rewritten: checkpoint at" in reason_after(rewrite_chain)
        # Without checkpoints the consistent rewrite goes unseen: that is what they are for.
        rewrite_chain(case)
        assert verify(app, [], trusted=trust(key)).ok
        raw.restore(clean)
    finally:
        raw.close()


# -- erasure, replicas -------------------------------------------------------------------------
def test_erasure_does_not_break_the_chain(app: Ledger, key: SigningKey) -> None:
    accounts = write_history(app, accounts=5, credits=2)
    Chainer(app).chain()
    checkpoints = sign_every(app, key, 4)
    for account in accounts[:2]:
        app.keys.destroy(str(account.id))  # crypto-shredding: rows untouched
    assert_clean(app, checkpoints, key)
    assert app.repository.get(accounts[0].id).holder == ERASED
    assert app.repository.get(accounts[2].id).holder == "Holder 2"


def test_two_chainers_on_one_store_produce_one_chain(
    store: dict[str, str], kek: str, key: SigningKey
) -> None:
    first, second = (Ledger(env={**store, "REVMENTOR_KEK": kek}) for _ in range(2))
    try:
        chainers = [Chainer(first, page_size=3), Chainer(second, page_size=3)]
        done = threading.Event()
        errors: list[BaseException] = []

        def keep_chaining(chainer: Chainer) -> None:
            try:
                while not done.is_set():
                    chainer.chain()
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=keep_chaining, args=(c,)) for c in chainers]
        for thread in threads:
            thread.start()
        try:
            for i in range(15):
                (first if i % 2 else second).save(Account(holder=f"h{i}", team="t"))
        finally:
            done.set()
            for thread in threads:
                thread.join(30)
        assert not errors, errors
        for chainer in chainers:
            chainer.chain()
        rows = [n.id for n in log_rows(first)]
        entries = list(ChainTable.for_recorder(first.recorder).all_entries())
        assert [e.position for e in entries] == rows
        assert_clean(first, sign_every(first, key, 4), key)
        assert_clean(second, sign_every(second, key, 4), key)
    finally:
        first.close()
        second.close()


# -- checkpoints and keys ----------------------------------------------------------------------
def test_forged_altered_and_unknown_checkpoints_are_rejected(
    tmp_path: Path, key: SigningKey
) -> None:
    app = Ledger(env={**sqlite_env(tmp_path), "REVMENTOR_KEK": new_kek()})
    try:
        write_history(app, accounts=3, credits=1)
        Chainer(app).chain()
        [good] = sign_every(app, key, 100)
        assert verify_checkpoint_signature(good)
        assert Checkpoint.from_json(good.to_json()) == good
        forged = replace(good, signature=base64.b64encode(bytes(64)).decode())
        moved = replace(good, position=good.position - 1)  # altered after signing
        stranger = sign_checkpoint(SigningKey.generate(), "ledger", good.position, good.hash_bytes)
        elsewhere = sign_checkpoint(key, "other", good.position, good.hash_bytes)
        assert not verify_checkpoint_signature(forged) and not verify_checkpoint_signature(moved)
        assert verify_checkpoint_signature(stranger)
        report = verify(app, [good, forged, moved, stranger, elsewhere], trusted=trust(key))
        assert not report.ok and report.first_broken_position is None
        assert report.checkpoints == 1 and report.last_verified_checkpoint == good.position
        assert len(report.rejected) == 4
        assert (
            "signature invalid" in report.rejected[0] and "signature invalid" in report.rejected[1]
        )
        assert f"unknown key {stranger.key_id}" in report.rejected[2]
        assert "for service 'other'" in report.rejected[3]
        with pytest.raises(ValueError):
            Checkpoint.from_json(json.dumps({**good.document(), "hash": "zz"}))
        with pytest.raises(ValueError):
            Checkpoint.from_json(b"not json")
    finally:
        app.close()


def test_signing_keys_dev_file_and_trust(tmp_path: Path) -> None:
    var = tmp_path / "keys"
    dev = ensure_dev_signing_key(var, "ledger")
    path = var / "secrets" / "audit-ledger.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_dev_signing_key(var, "ledger").id == dev.id  # created once
    assert len(dev.id) == 16

    env: dict[str, str] = {}
    assert load_signing_key(env.get, "ledger", lambda: var).id == dev.id
    with pytest.raises(AuditKeyUnavailable):
        load_signing_key({"REVMENTOR_REQUIRE_AUDIT_SIGNING_KEY": "1"}.get, "ledger", lambda: var)
    production = SigningKey.generate()
    key_file = tmp_path / "audit.pem"
    key_file.write_bytes(production.pem())
    env = {"REVMENTOR_AUDIT_SIGNING_KEY_FILE": str(key_file)}
    assert load_signing_key(env.get, "ledger", lambda: var).id == production.id

    retired = SigningKey.generate()
    env["REVMENTOR_AUDIT_TRUSTED_KEYS"] = base64.b64encode(retired.public_key).decode()
    assert trusted_keys(env.get, "ledger", lambda: var) == {
        production.id: production.public_key,
        retired.id: retired.public_key,
    }
    # A verifier never creates a key: nothing configured, nothing trusted.
    nothing: dict[str, str] = {}
    assert trusted_keys(nothing.get, "ledger", lambda: tmp_path / "empty") == {}
    assert not (tmp_path / "empty").exists()


# -- the audit stream --------------------------------------------------------------------------
async def test_the_audit_stream_refuses_purges_and_deletions(nats_server: LocalNatsServer) -> None:
    nc = await nats.connect(nats_server.url)
    try:
        js = nc.jetstream(timeout=5)
        await declare_streams(js)
        info = await js.stream_info(AUDIT_STREAM)
        assert info.config.deny_purge and info.config.deny_delete and not info.config.max_age
        await js.publish(audit_subject("ledger"), b"{}")
        with pytest.raises(nats.js.errors.APIError, match="purge not permitted"):
            await js.purge_stream(AUDIT_STREAM)
        with pytest.raises(nats.js.errors.APIError, match="purge not permitted"):
            await js.purge_stream(AUDIT_STREAM, subject=audit_subject("ledger"))
        with pytest.raises(nats.js.errors.APIError, match="delete not permitted"):
            await js.delete_msg(AUDIT_STREAM, 1)
        lifted = replace(audit_stream_config(), deny_delete=False, deny_purge=False)
        with pytest.raises(nats.js.errors.APIError, match="can not cancel"):
            await js.update_stream(lifted)
        await declare_streams(js)  # idempotent
        assert (await js.stream_info(AUDIT_STREAM)).state.messages == 1
    finally:
        await nc.close()


async def test_checkpoints_are_published_once_per_position_and_verify(
    tmp_path: Path, nats_server: LocalNatsServer, key: SigningKey
) -> None:
    env = {**sqlite_env(tmp_path), "REVMENTOR_KEK": new_kek()}
    first, second = Ledger(env=env), Ledger(env=env)
    publishers = [
        CheckpointPublisher(first, nats_server.url, key=key),
        CheckpointPublisher(second, nats_server.url, key=key),
    ]
    try:
        assert await publishers[0].publish_once() is None  # nothing stored yet
        write_history(first, accounts=3, credits=1)
        published = await publishers[0].publish_once()
        assert published is not None and published.position == len(list(log_rows(first)))
        assert await publishers[0].publish_once() is None  # the chain did not move
        assert await publishers[1].publish_once() is None  # a replica sees it is published

        for round_ in range(3):  # replicas racing: each position once, positions only grow
            write_history(second if round_ % 2 else first, accounts=2, credits=1)
            await asyncio.gather(*(p.publish_once() for p in publishers))
        checkpoints = await read_checkpoints(nats_server.url, "ledger")
        positions = [cp.position for cp in checkpoints]
        assert positions == sorted(set(positions)) and len(positions) >= 4
        assert positions[-1] == max(n.id for n in log_rows(first))
        report = verify(first, checkpoints, trusted=trust(key))
        assert report.ok and report.checkpoints == len(checkpoints), report.describe()

        # A forged checkpoint on the stream is read back and reported.
        stranger = sign_checkpoint(SigningKey.generate(), "ledger", positions[-1], bytes(32))
        nc = await nats.connect(nats_server.url)
        await nc.jetstream().publish(audit_subject("ledger"), stranger.to_json())
        await nc.close()
        report = verify(
            first, await read_checkpoints(nats_server.url, "ledger"), trusted=trust(key)
        )
        assert not report.ok and "unknown key" in report.reason, report.describe()
    finally:
        for publisher in publishers:
            await publisher.close()
        first.close()
        second.close()


async def test_the_checkpoint_job_chains_and_publishes_until_stopped(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    app = Ledger(env={**sqlite_env(tmp_path), "REVMENTOR_KEK": new_kek()})
    stop = asyncio.Event()
    task = asyncio.create_task(checkpoint_job(app, nats_server.url, every_seconds=0.05)(stop))
    try:
        write_history(app, accounts=2, credits=1)
        head = max(n.id for n in log_rows(app))

        async def published() -> bool:
            found = await read_checkpoints(nats_server.url, "ledger")
            return bool(found) and found[-1].position == head

        await eventually(published, timeout=10, what="a checkpoint at the head")
        # Signed with the development key, which the verifier trusts by default.
        report = verify(app, await read_checkpoints(nats_server.url, "ledger"))
        assert report.ok and report.checkpoints >= 1, report.describe()
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        app.close()


async def test_only_the_service_publishes_its_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: SigningKey
) -> None:
    config_file, config = natsauth.write_secure_config(tmp_path / "config")
    server = LocalNatsServer(tmp_path / "nats", config_file=config_file).start()
    try:
        admin = await nats.connect(server.url, **config.users[natsauth.ADMIN].connect_options())
        await declare_streams(admin.jetstream())
        for name, value in config.service_env("enrolment").items():
            monkeypatch.setenv(f"ENROLMENT_{name}", value)

        class Enrolment(ServiceApplication):
            name = "enrolment"

        app = Enrolment(env={**sqlite_env(tmp_path, "e.sqlite"), "REVMENTOR_KEK": new_kek()})
        publisher = CheckpointPublisher(app, server.url, key=key)
        try:
            write_history(app, accounts=2, credits=1)
            assert await publisher.publish_once() is not None
        finally:
            await publisher.close()
            app.close()

        errors: list[str] = []

        async def collect(error: Exception) -> None:
            errors.append(str(error))

        options = config.users["enrolment"].connect_options()
        nc = await nats.connect(server.url, error_cb=collect, allow_reconnect=False, **options)
        js = nc.jetstream(timeout=0.5)
        for refused in (
            js.publish(audit_subject("training"), b"{}", timeout=0.5),
            js.purge_stream(AUDIT_STREAM),
            js.delete_stream(AUDIT_STREAM),
            js.delete_msg(AUDIT_STREAM, 1),
        ):
            with pytest.raises(nats.errors.TimeoutError):
                await refused
        await nc.close()
        assert errors and all("permissions violation" in e.lower() for e in errors)

        integrator = config.users[natsauth.INTEGRATOR].connect_options()
        [checkpoint] = await read_checkpoints(server.url, "enrolment", connect_options=integrator)
        assert checkpoint.service == "enrolment" and verify_checkpoint_signature(checkpoint)
        with pytest.raises(nats.js.errors.APIError, match="purge not permitted"):
            await admin.jetstream().purge_stream(AUDIT_STREAM)  # not even the admin
        await admin.close()
    finally:
        server.stop()


def test_a_table_is_created_once_per_store(store: dict[str, str], kek: str) -> None:
    app = Ledger(env={**store, "REVMENTOR_KEK": kek})
    try:
        ChainTable.for_recorder(app.recorder)
        ChainTable.for_recorder(app.recorder)  # idempotent
        assert ChainTable.for_recorder(app.recorder).head() is None
    finally:
        app.close()
