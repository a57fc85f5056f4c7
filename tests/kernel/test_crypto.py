"""Per-subject encryption at rest: AES-GCM, wrapped data keys, crypto-shredding.

What must hold (DESIGN section 4): a personal value is only readable with its
subject's data key, which only unwraps with the right KEK; tampering is refused,
never ignored; destroying a subject's key makes its data unreadable for good
while its events still decode (as erased). The key store runs on both stores.
"""

from __future__ import annotations

import base64
import os
import secrets
import stat
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.domain import Aggregate, event

from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.crypto import (
    DecryptionRefused,
    KekUnavailable,
    KeyDestroyed,
    NewKeys,
    ensure_dev_kek,
    load_keyring,
    seal,
    unseal,
)
from revmentor.kernel.envelope import ERASED, PERSONAL_KEY, SEALED, Sealed
from revmentor.kernel.errors import ConcurrencyConflict


def new_kek() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


class Person(Aggregate):
    class Joined(Aggregate.Created):
        personal_fields = ("name", "details.email")
        name: str
        team: str
        details: dict[str, str]

    @event(Joined)
    def __init__(self, name: str, team: str, details: dict[str, str]):
        self.name = name
        self.team = team
        self.details = details

    @event("Moved")
    def move(self, team: str) -> None:
        self.team = team


class Directory(ServiceApplication):
    name = "directory"


@pytest.fixture
def kek() -> str:
    return new_kek()


@pytest.fixture
def app(store: dict[str, str], kek: str) -> Iterator[Directory]:
    directory = Directory(env={**store, "REVMENTOR_KEK": kek, "REVMENTOR_KEK_ID": "k1"})
    yield directory
    directory.close()


def reopen(store: dict[str, str], **env: str) -> Directory:
    return Directory(env={**store, **env})


# -- AES-GCM ---------------------------------------------------------------------------------------
def test_aes_gcm_round_trip_and_fresh_nonces() -> None:
    key = secrets.token_bytes(32)
    first, second = seal(key, b"Ada Lovelace", b"ctx"), seal(key, b"Ada Lovelace", b"ctx")
    assert first != second  # a fresh nonce every time
    assert b"Ada" not in first
    assert unseal(key, first, b"ctx") == unseal(key, second, b"ctx") == b"Ada Lovelace"


def test_tampering_is_refused() -> None:
    key = secrets.token_bytes(32)
    sealed = bytearray(seal(key, b"Ada Lovelace", b"ctx"))
    for index in (0, 12, len(sealed) - 1):  # nonce, ciphertext, tag
        flipped = bytearray(sealed)
        flipped[index] ^= 0x01
        with pytest.raises(DecryptionRefused):
            unseal(key, bytes(flipped), b"ctx")
    with pytest.raises(DecryptionRefused):
        unseal(key, bytes(sealed), b"another context")
    with pytest.raises(DecryptionRefused):
        unseal(secrets.token_bytes(32), bytes(sealed), b"ctx")


# -- subject keys on each store --------------------------------------------------------------------
def test_each_subject_has_its_own_key(app: Directory) -> None:
    sealed = app.keys.encrypt("alice", b"alice's data")
    assert app.keys.decrypt("alice", sealed) == b"alice's data"
    app.keys.encrypt("bob", b"bob's data")
    with pytest.raises(DecryptionRefused):
        app.keys.decrypt("bob", sealed)
    assert app.keys._key("alice", create=True) != app.keys._key("bob", create=True)


def test_keys_survive_a_restart_with_the_same_kek(
    app: Directory, store: dict[str, str], kek: str
) -> None:
    sealed = app.keys.encrypt("alice", b"kept")
    again = reopen(store, REVMENTOR_KEK=kek, REVMENTOR_KEK_ID="k1")
    try:
        assert again.keys.decrypt("alice", sealed) == b"kept"
    finally:
        again.close()


def test_a_wrong_kek_is_refused(app: Directory, store: dict[str, str]) -> None:
    sealed = app.keys.encrypt("alice", b"secret")
    intruder = reopen(store, REVMENTOR_KEK=new_kek(), REVMENTOR_KEK_ID="k1")
    try:
        with pytest.raises(DecryptionRefused):
            intruder.keys.decrypt("alice", sealed)
    finally:
        intruder.close()


def test_destroy_makes_decryption_impossible_for_good(
    app: Directory, store: dict[str, str], kek: str
) -> None:
    sealed = app.keys.encrypt("alice", b"forget me")
    kept = app.keys.encrypt("bob", b"keep me")
    app.keys.destroy("alice")
    app.keys.destroy("alice")  # idempotent
    assert app.keys.is_destroyed("alice")
    with pytest.raises(KeyDestroyed):
        app.keys.decrypt("alice", sealed)
    with pytest.raises(KeyDestroyed):
        app.keys.encrypt("alice", b"nothing new about an erased person")
    fresh = reopen(store, REVMENTOR_KEK=kek, REVMENTOR_KEK_ID="k1")  # no cached key
    try:
        with pytest.raises(KeyDestroyed):
            fresh.keys.decrypt("alice", sealed)
        assert fresh.keys.decrypt("bob", kept) == b"keep me"
    finally:
        fresh.close()


def test_a_save_writes_its_subjects_new_keys_with_its_events(
    app: Directory, store: dict[str, str], kek: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people's personal fields in one save: their keys are inserted in the
    events' own transaction (no separate key commit), and each person's data
    opens with their own key in a process that has nothing cached."""
    separate: list[object] = []
    monkeypatch.setattr(app.keys.store, "insert_many_if_absent", separate.append)
    monkeypatch.setattr(app.keys.store, "insert_if_absent", separate.append)
    alice = Person(name="Alice", team="a", details={"email": "a@x"})
    bob = Person(name="Bob", team="b", details={"email": "b@x"})
    app.save(alice, bob)
    app.save(Person(name="Carol", team="c", details={"email": "c@x"}), alice)
    assert separate == [], "no key was committed on its own"
    assert all(app.keys.store.get(str(p.id)) is not None for p in (alice, bob))
    assert names_seen_afresh(store, kek) == ["Alice", "Bob", "Carol"]


def test_a_failed_save_leaves_no_key_behind(
    app: Directory, store: dict[str, str], kek: str
) -> None:
    """A save that loses a race on its events writes none of the keys it made,
    and keeps none in memory: sealing with a key that was never stored would
    make the person's data unreadable in every other process."""
    alice = Person(name="Alice", team="a", details={"email": "a@x"})
    app.save(alice)
    first, second = app.repository.get(alice.id), app.repository.get(alice.id)
    first.move("b")
    app.save(first)
    second.move("c")
    carol = Person(name="Carol", team="c", details={"email": "c@x"})
    with pytest.raises(ConcurrencyConflict):
        app.save(carol, second)
    assert app.keys.store.get(str(carol.id)) is None
    assert str(carol.id) in app.keys.prepare([str(carol.id)]).keys, "not cached either"
    dave = Person(name="Dave", team="d", details={"email": "d@x"})
    app.save(dave)
    assert names_seen_afresh(store, kek) == ["Alice", "Dave"]


def test_a_key_stored_meanwhile_by_another_replica_wins(
    app: Directory, store: dict[str, str], kek: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process stores a key for the same new subject between this
    save's key making and its commit: the save is sealed again with the stored
    key, so the subject has one key and the data opens everywhere."""
    other = reopen(store, REVMENTOR_KEK=kek, REVMENTOR_KEK_ID="k1")
    prepare = app.keys.prepare

    def another_replica_wins(subjects: Iterable[str], new: Collection[str] = ()) -> NewKeys:
        made = prepare(subjects, new)
        for subject in made.keys:
            other.keys.encrypt(subject, b"first")
        return made

    monkeypatch.setattr(app.keys, "prepare", another_replica_wins)
    try:
        carol = Person(name="Carol", team="c", details={"email": "c@x"})
        app.save(carol)
        assert names_seen_afresh(store, kek) == ["Carol"]
        assert other.keys.decrypt(str(carol.id), other.keys.encrypt(str(carol.id), b"x")) == b"x"
    finally:
        other.close()


def test_a_new_aggregate_whose_id_already_has_a_key_is_sealed_with_it(
    app: Directory, store: dict[str, str], kek: str
) -> None:
    """Keys of aggregates a save creates are not looked up first; a key stored
    for that id all the same (a failed save of an older release) is found when
    the insert fails, and the save is sealed with it. A tombstone refuses."""
    carol = Person(name="Carol", team="c", details={"email": "c@x"})
    app.keys.encrypt(str(carol.id), b"stored before the aggregate")
    app.save(carol)
    assert names_seen_afresh(store, kek) == ["Carol"]
    erased = Person(name="Eve", team="e", details={"email": "e@x"})
    app.keys.destroy(str(erased.id))
    with pytest.raises(KeyDestroyed):
        app.save(erased)
    assert names_seen_afresh(store, kek) == ["Carol"]


def names_seen_afresh(store: dict[str, str], kek: str) -> list[str]:
    """The names in the log, read by a new process (no key cached)."""
    fresh = reopen(store, REVMENTOR_KEK=kek, REVMENTOR_KEK_ID="k1")
    try:
        events = [fresh.envelope_mapper.decode(n)[0] for n in fresh.notifications(0, 100)]
        return [e.name for e in events if hasattr(e, "name")]
    finally:
        fresh.close()


def test_ensuring_the_key_of_an_erased_subject_makes_none(app: Directory) -> None:
    app.keys.destroy("alice")
    app.keys.ensure(["alice", "bob"])
    assert app.keys.is_destroyed("alice")
    with pytest.raises(KeyDestroyed):
        app.keys.encrypt("alice", b"nothing new about an erased person")
    assert app.keys.decrypt("bob", app.keys.encrypt("bob", b"ok")) == b"ok"


def test_destroying_an_unknown_subject_leaves_a_tombstone(app: Directory) -> None:
    """A consumer destroys on ParticipantErased even if it never held a key for them."""
    app.keys.destroy("never-seen")
    with pytest.raises(KeyDestroyed):
        app.keys.encrypt("never-seen", b"late event")


def test_kek_rotation_rewraps_every_key(app: Directory, store: dict[str, str], kek: str) -> None:
    sealed = app.keys.encrypt("alice", b"rotated")
    app.keys.destroy("bob")
    k2 = new_kek()
    rotating = reopen(
        store, REVMENTOR_KEK=k2, REVMENTOR_KEK_ID="k2", REVMENTOR_KEK_PREVIOUS=f"k1={kek}"
    )
    try:
        assert rotating.keys.decrypt("alice", sealed) == b"rotated"
        assert rotating.keys.rotate() >= 1
        assert rotating.keys.rotate() == 0
    finally:
        rotating.close()
    only_new = reopen(store, REVMENTOR_KEK=k2, REVMENTOR_KEK_ID="k2")
    try:
        assert only_new.keys.decrypt("alice", sealed) == b"rotated"
        assert only_new.keys.is_destroyed("bob")
    finally:
        only_new.close()


# -- the mapper ------------------------------------------------------------------------------------
def test_personal_fields_are_sealed_in_the_stored_event(app: Directory) -> None:
    person = Person(name="Ada Marker", team="blue", details={"email": "ada@x.io", "desk": "7"})
    app.save(person)
    (stored,) = app.recorder.select_events(person.id)
    assert b"Ada Marker" not in stored.state and b"ada@x.io" not in stored.state
    assert b"blue" in stored.state and b'"desk"' in stored.state  # the rest stays readable
    assert PERSONAL_KEY.encode() in stored.state
    copy = app.repository.get(person.id)
    assert (copy.name, copy.team, copy.details) == (
        "Ada Marker",
        "blue",
        {"email": "ada@x.io", "desk": "7"},
    )
    assert person.details == {"email": "ada@x.io", "desk": "7"}  # the event was not touched


def test_an_erased_subject_decodes_as_erased(app: Directory) -> None:
    person = Person(name="Ada Marker", team="blue", details={"email": "ada@x.io"})
    app.save(person)
    app.keys.destroy(str(person.id))
    copy = app.repository.get(person.id)
    assert (copy.name, copy.team, copy.details) == (ERASED, "blue", {"email": ERASED})


def test_a_sealed_blob_cannot_be_moved_to_another_event(app: Directory) -> None:
    one = Person(name="One", team="a", details={"email": "one@x.io"})
    two = Person(name="Two", team="a", details={"email": "two@x.io"})
    app.save(one, two)
    (first,) = app.recorder.select_events(one.id)
    (second,) = app.recorder.select_events(two.id)
    swapped = type(first)(
        originator_id=second.originator_id,
        originator_version=second.originator_version,
        topic=second.topic,
        state=first.state,
    )
    with pytest.raises(DecryptionRefused):
        app.envelope_mapper.decode(swapped)


# -- KEK configuration -----------------------------------------------------------------------------
def test_dev_kek_is_created_once_and_private(tmp_path: Path) -> None:
    first = ensure_dev_kek(tmp_path)
    assert ensure_dev_kek(tmp_path) == first
    assert len(base64.b64decode(first)) == 32
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets" / "kek").st_mode)
    assert mode == 0o600


def test_a_kek_is_required_when_asked(tmp_path: Path) -> None:
    env = {"REVMENTOR_REQUIRE_KEK": "1"}
    with pytest.raises(KekUnavailable):
        load_keyring(env.get, lambda: tmp_path)
    with pytest.raises(KekUnavailable, match="32 bytes"):
        load_keyring({"REVMENTOR_KEK": base64.b64encode(b"short").decode()}.get, lambda: tmp_path)
    ring = load_keyring({"REVMENTOR_KEK": new_kek(), "REVMENTOR_KEK_ID": str(uuid4())}.get, Path)
    assert len(ring.current.key) == 32
    assert "key=" not in repr(ring.current)  # never printed


def test_a_destroyed_key_is_overwritten_in_the_sqlite_files(tmp_path: Path, kek: str) -> None:
    """secure_delete and a WAL truncation: the old wrapped key is not left in free pages."""
    db = tmp_path / "shred.sqlite"
    directory = Directory(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(db)}
        | {"REVMENTOR_KEK": kek}
    )
    try:
        for n in range(20):
            directory.keys.encrypt(f"subject-{n}", b"x")
        stored = directory.keys.store.get("subject-7")
        assert stored is not None and stored.wrapped is not None

        def raw() -> bytes:
            wal = Path(f"{db}-wal")
            return db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")

        assert stored.wrapped in raw()
        directory.keys.destroy("subject-7")
        assert stored.wrapped not in raw()
    finally:
        directory.close()


class Thread(Aggregate):
    """Two authors' words in one aggregate, each sealed with its author's key."""

    class Opened(Aggregate.Created):
        topic: str

    @event(Opened)
    def __init__(self, topic: str):
        self.topic = topic
        self.posts: dict[str, str] = {}

    class Posted(Aggregate.Event):
        personal_fields = ("text",)
        personal_subject_field = "author"
        author: str
        text: str

    @event(Posted)
    def post(self, author: str, text: str) -> None:
        self.posts[author] = text


def test_a_subject_field_seals_each_author_with_their_own_key(app: Directory) -> None:
    thread = Thread(topic="prompts")
    thread.post(author="alice", text="alice's words")
    thread.post(author="bob", text="bob's words")
    app.save(thread)
    stored = app.recorder.select_events(thread.id)
    assert all(b"words" not in s.state for s in stored)
    app.keys.destroy("alice")  # erasing one author shreds their words only
    copy = app.repository.get(thread.id)
    assert copy.posts == {"alice": ERASED, "bob": "bob's words"}
    # the relay's way (no keys touched) withholds both
    decoded = [app.envelope_mapper.decode(s, personal=False)[0] for s in stored[1:]]
    assert {e.author: e.text for e in decoded} == {"alice": "[withheld]", "bob": "[withheld]"}


def test_an_aggregate_with_personal_events_cannot_be_snapshotted(store: dict[str, str]) -> None:
    class Careless(ServiceApplication):
        name = "careless"
        snapshotting_intervals = {Person: 10}

    with pytest.raises(TypeError, match="Person has events with personal fields"):
        Careless(env={**store, "REVMENTOR_KEK": new_kek()})


def test_kept_sealed_values_open_later_and_read_erased_once_the_key_is_gone(
    app: Directory,
) -> None:
    person = Person(name="Ada Marker", team="blue", details={"email": "ada@x.io", "desk": "7"})
    thread = Thread(topic="prompts")
    thread.post(author="alice", text="alice's words")
    app.save(person, thread)
    joined = app.recorder.select_events(person.id)[0]
    event, envelope = app.envelope_mapper.decode(joined, personal=False, keep_sealed=True)
    assert (event.name, event.details) == ("[withheld]", {"email": "[withheld]", "desk": "7"})
    sealed = envelope[SEALED]
    assert isinstance(sealed, Sealed) and sealed.subject == str(person.id)
    assert "Ada Marker" not in repr(sealed), "kept sealed: nothing in clear"
    posted = app.recorder.select_events(thread.id)[1]
    by_author = app.envelope_mapper.decode(posted, personal=False, keep_sealed=True)[1][SEALED]
    assert by_author.subject == "alice", "sealed for the author named in the event"
    assert app.open_sealed([sealed, by_author]) == [
        {"name": "Ada Marker", "details.email": "ada@x.io"},
        {"text": "alice's words"},
    ]
    app.keys.destroy(str(person.id))
    assert app.open_sealed([sealed]) == [{"name": ERASED, "details.email": ERASED}]
    plain = app.envelope_mapper.decode(joined, personal=False)[1]
    assert SEALED not in plain, "only handed over when asked for"
