"""Per-subject encryption at rest: AES-GCM data keys wrapped by a key-encryption key.

Why per subject: erasing a person (GDPR art. 17) must not rewrite an
append-only, hash-chained history. Every personal value of one participant is
encrypted with that participant's own data key, so destroying the key
(crypto-shredding) makes all of it unreadable at once while the events keep
their shape and stay replayable.

Why wrapped: data keys live in the service's own database (:mod:`keystore`)
next to the events, so a copy of the database alone must reveal nothing. Each
data key is stored encrypted (AES-GCM) under the key-encryption key (KEK),
which only ever comes from the environment or a mounted secret:

- ``REVMENTOR_KEK``: base64 of 32 random bytes (or ``REVMENTOR_KEK_FILE``, a
  file holding it, as a Kubernetes Secret is mounted);
- ``REVMENTOR_KEK_ID``: the name of that KEK, stored with every wrapped key so
  a rotation knows what to rewrap (default ``default``);
- ``REVMENTOR_KEK_PREVIOUS``: ``id=base64,...`` retired KEKs still accepted for
  unwrapping while :meth:`SubjectKeys.rotate` rewraps everything;
- ``REVMENTOR_REQUIRE_KEK=1`` refuses to start without a KEK (production);
  otherwise a development KEK is generated once under ``var/secrets``.

Each variable may be prefixed with the service name (``ENROLMENT_REVMENTOR_KEK``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
DEV_KEK_ID = "dev"
#: Subject of keys that belong to the service itself (e.g. the registration index secret).
SERVICE_SUBJECT_PREFIX = "service:"


class CryptoError(RuntimeError):
    """Something that must never be silently ignored (wrong KEK, tampering)."""


class DecryptionRefused(CryptoError):
    """The ciphertext or its context was altered, or the key is not the right one."""


class KekUnavailable(CryptoError):
    """No key-encryption key is configured (and a development one is not allowed)."""


class KeyDestroyed(LookupError):
    """The subject's data key was destroyed: its personal data is erased for good."""


class KeyMissing(CryptoError):
    """No key was ever stored for this subject: the key store is not the right one."""


# -- AES-GCM ---------------------------------------------------------------------
def seal(key: bytes | AESGCM, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || AES-GCM(plaintext); ``aad`` binds it to its context (who, where).
    ``key`` may be a ready AESGCM (a replay opens thousands with one key)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + _aead(key).encrypt(nonce, plaintext, aad)


def unseal(key: bytes | AESGCM, sealed: bytes, aad: bytes) -> bytes:
    """The plaintext, or :class:`DecryptionRefused` if anything does not match."""
    try:
        return _aead(key).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError) as error:
        raise DecryptionRefused("ciphertext refused: tampered, or not this key") from error


def _aead(key: bytes | AESGCM) -> AESGCM:
    return key if isinstance(key, AESGCM) else AESGCM(key)


# -- the key-encryption key ------------------------------------------------------
@dataclass(frozen=True)
class Kek:
    """One key-encryption key and its id."""

    id: str
    key: bytes = field(repr=False)

    def wrap(self, subject: str, data_key: bytes) -> bytes:
        return seal(self.key, data_key, _wrap_aad(self.id, subject))

    def unwrap(self, subject: str, wrapped: bytes) -> bytes:
        return unseal(self.key, wrapped, _wrap_aad(self.id, subject))


def _wrap_aad(kek_id: str, subject: str) -> bytes:
    """A wrapped key only unwraps for its own subject (rows cannot be swapped)."""
    return f"revmentor:kek:{kek_id}:subject:{subject}".encode()


@dataclass(frozen=True)
class KeyRing:
    """The current KEK (wraps new keys) and retired ones (unwrap only)."""

    current: Kek
    previous: tuple[Kek, ...] = ()

    def by_id(self, kek_id: str) -> Kek:
        for kek in (self.current, *self.previous):
            if kek.id == kek_id:
                return kek
        raise DecryptionRefused(f"key wrapped by KEK {kek_id!r}, which is not configured")


def decode_kek(text: str, what: str = "REVMENTOR_KEK") -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise KekUnavailable(f"{what} is not valid base64") from error
    if len(key) != KEY_BYTES:
        raise KekUnavailable(f"{what} must be base64 of {KEY_BYTES} bytes (got {len(key)})")
    return key


def ensure_dev_kek(var_dir: Path | str) -> str:
    """A development KEK (base64) under ``var_dir/secrets``, created once.

    ``revmentor up`` exports it as ``REVMENTOR_KEK`` so every local service
    process shares it. Created atomically (link of a private temporary file),
    so processes starting together agree on one key. Never for production.
    """
    directory = Path(var_dir) / "secrets"
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / "kek"
    if not path.exists():
        temp = directory / f".kek-{os.getpid()}-{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode() + "\n")
        try:
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(temp, path)
        finally:
            temp.unlink()
    text = path.read_text().strip()
    decode_kek(text, str(path))
    return text


EnvGet = Callable[[str], "str | None"]


def load_keyring(get: EnvGet, var_dir: Callable[[], Path]) -> KeyRing:
    """The KEKs from the environment (see the module docstring)."""
    kek_id = get("REVMENTOR_KEK_ID") or "default"
    text = get("REVMENTOR_KEK") or _read_kek_file(get("REVMENTOR_KEK_FILE"))
    if not text:
        if get("REVMENTOR_REQUIRE_KEK") == "1":
            raise KekUnavailable("REVMENTOR_REQUIRE_KEK=1 but no REVMENTOR_KEK is set")
        directory = var_dir()
        log.warning("no REVMENTOR_KEK set: using the development KEK under %s", directory)
        text, kek_id = ensure_dev_kek(directory), get("REVMENTOR_KEK_ID") or DEV_KEK_ID
    current = Kek(kek_id, decode_kek(text))
    return KeyRing(current, _previous_keks(get("REVMENTOR_KEK_PREVIOUS") or ""))


def _read_kek_file(path: str | None) -> str:
    return Path(path).read_text().strip() if path else ""


def _previous_keks(spec: str) -> tuple[Kek, ...]:
    keks = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kek_id, sep, text = item.partition("=")
        if not sep:
            raise KekUnavailable("REVMENTOR_KEK_PREVIOUS entries must be id=base64")
        keks.append(Kek(kek_id, decode_kek(text, f"REVMENTOR_KEK_PREVIOUS[{kek_id}]")))
    return tuple(keks)


# -- per-subject data keys -------------------------------------------------------
@dataclass(frozen=True)
class StoredKey:
    """A key store row: the wrapped data key, or None once destroyed."""

    kek_id: str
    wrapped: bytes | None


class KeyStoreProtocol(Protocol):
    def get(self, subject: str) -> StoredKey | None: ...
    def get_many(self, subjects: list[str]) -> dict[str, StoredKey]: ...
    def insert_if_absent(self, subject: str, kek_id: str, wrapped: bytes) -> None: ...
    def insert_many_if_absent(self, keys: list[tuple[str, str, bytes]]) -> None: ...
    def destroy(self, subject: str) -> None: ...
    def wrapped_by_other_keks(self, kek_id: str) -> list[tuple[str, StoredKey]]: ...
    def rewrap(self, subject: str, old_kek_id: str, kek_id: str, wrapped: bytes) -> None: ...


@dataclass(frozen=True)
class NewKeys:
    """Data keys one save makes for subjects that have none yet, not stored yet.

    The recorder inserts them in the events' own transaction (plain INSERTs: a
    replica that made a key for the same subject first makes the save fail, and
    it is sealed again with the winner's key), so a command commits once.
    """

    kek_id: str = ""
    keys: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)  # subject -> key, wrapped

    def __bool__(self) -> bool:
        return bool(self.keys)

    def rows(self) -> list[tuple[str, str, bytes]]:
        """(subject, KEK id, wrapped key) rows, as the key store inserts them."""
        return [(subject, self.kek_id, wrapped) for subject, (_, wrapped) in self.keys.items()]


#: The keys the save running in this context is making (see :class:`NewKeys`).
new_keys: ContextVar[NewKeys | None] = ContextVar("new_keys", default=None)


class SubjectKeys:
    """Encrypt and decrypt for a subject; destroy a subject's key (crypto-shredding).

    Unwrapped keys are cached briefly (``cache_seconds``) because every event
    read needs one; a destroy evicts at once in this process, and other
    replicas never serve the erased data anyway because the erasure event
    blanks every view and aggregate.
    """

    def __init__(
        self,
        store: KeyStoreProtocol,
        keyring: KeyRing,
        cache_seconds: float = 300.0,
        cache_size: int = 4096,
    ):
        self.store = store
        self.keyring = keyring
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[str, tuple[bytes, AESGCM, float]] = OrderedDict()
        self._lock = threading.Lock()

    # -- the API services use ------------------------------------------------------
    def encrypt(self, subject: str, plaintext: bytes, aad: bytes = b"") -> bytes:
        """Seal with the subject's key, creating it on first use.

        Raises :class:`KeyDestroyed` for an erased subject: nothing personal
        may be written about someone who asked to be forgotten.
        """
        return seal(self._cipher(subject, create=True), plaintext, _data_aad(subject, aad))

    def decrypt(self, subject: str, sealed: bytes, aad: bytes = b"") -> bytes:
        """The plaintext; :class:`KeyDestroyed` once erased, :class:`CryptoError` if wrong."""
        return unseal(self._cipher(subject, create=False), sealed, _data_aad(subject, aad))

    def destroy(self, subject: str) -> None:
        """Destroy the subject's key for good (idempotent; a tombstone stays).

        This is what a consuming service calls on ``ParticipantErased``.
        """
        self.store.destroy(subject)
        self._evict(subject)

    def is_destroyed(self, subject: str) -> bool:
        stored = self.store.get(subject)
        return stored is not None and stored.wrapped is None

    def service_secret(self, purpose: str) -> bytes:
        """A random secret of the service itself, kept wrapped in the key store.

        Stable across KEK rotations (it is rewrapped, not re-derived), so ids
        derived from it never change.
        """
        return self._key(SERVICE_SUBJECT_PREFIX + purpose, create=True)

    def rotate(self) -> int:
        """Rewrap every key wrapped by a retired KEK with the current one."""
        current, count = self.keyring.current, 0
        for subject, stored in self.store.wrapped_by_other_keks(current.id):
            assert stored.wrapped is not None
            data_key = self.keyring.by_id(stored.kek_id).unwrap(subject, stored.wrapped)
            self.store.rewrap(subject, stored.kek_id, current.id, current.wrap(subject, data_key))
            count += 1
        return count

    def ensure(self, subjects: Iterable[str]) -> None:
        """Keys for the subjects a save is about to seal data for, made in one
        transaction and cached: a command writing two subjects' personal fields
        commits its keys once, not once per key (each commit is an fsync).
        An erased subject is left alone: sealing for it still raises
        :class:`KeyDestroyed`."""
        wanted = sorted({s for s in subjects if self._cached(s) is None})
        if not wanted:
            return
        found = self.store.get_many(wanted)
        missing = [s for s in wanted if s not in found]
        if missing:
            kek = self.keyring.current
            self.store.insert_many_if_absent(
                [(s, kek.id, kek.wrap(s, _new_key())) for s in missing]
            )
            found.update(self.store.get_many(missing))  # another replica may have won
        for subject, stored in found.items():
            if stored.wrapped is not None:
                self._remember(
                    subject, self.keyring.by_id(stored.kek_id).unwrap(subject, stored.wrapped)
                )

    def prepare(self, subjects: Iterable[str], new: Collection[str] = ()) -> NewKeys:
        """The keys a save needs, with at most one read: stored ones unwrapped
        into the cache, missing ones made here but neither stored nor cached.
        ``new`` subjects (aggregates the save creates) are not looked up.
        Seal with them inside :meth:`sealing`; once the save has committed them
        with its events, :meth:`committed` caches them. A key whose save failed
        is dropped, so it never seals anything that outlives it."""
        wanted = sorted({s for s in subjects if self._cached(s) is None})
        if not wanted:
            return NewKeys()
        looked_up = [s for s in wanted if s not in new]
        found = self.store.get_many(looked_up) if looked_up else {}
        for subject, stored in found.items():
            if stored.wrapped is not None:
                key = self.keyring.by_id(stored.kek_id).unwrap(subject, stored.wrapped)
                self._remember(subject, key)
        kek = self.keyring.current
        made = {s: _new_key() for s in wanted if s not in found}
        return NewKeys(kek.id, {s: (key, kek.wrap(s, key)) for s, key in made.items()})

    @contextlib.contextmanager
    def sealing(self, made: NewKeys) -> Iterator[None]:
        """Seal with ``made`` (and let the recorder insert it) inside this block."""
        token = new_keys.set(made)
        try:
            yield
        finally:
            new_keys.reset(token)

    def committed(self, made: NewKeys) -> None:
        """The save holding ``made`` committed: its keys are the subjects' keys now."""
        for subject, (key, _) in made.keys.items():
            self._remember(subject, key)

    def taken_meanwhile(self, made: NewKeys) -> bool:
        """Whether another process stored a key for one of ``made``'s subjects
        (the save lost that race, not a race on its events)."""
        return bool(made) and bool(self.store.get_many(sorted(made.keys)))

    def prefetch(self, subjects: Iterable[str]) -> None:
        """Unwrap the keys of ``subjects`` in one batch (destroyed ones are skipped)."""
        missing = sorted({s for s in subjects if self._cached(s) is None})
        if not missing:
            return
        for subject, stored in self.store.get_many(missing[: self.cache_size]).items():
            if stored.wrapped is not None:
                key = self.keyring.by_id(stored.kek_id).unwrap(subject, stored.wrapped)
                self._remember(subject, key)

    # -- internals ---------------------------------------------------------------
    def _key(self, subject: str, create: bool) -> bytes:
        cached = self._cached(subject)
        if cached is not None:
            return cached
        made = new_keys.get()
        if made is not None and subject in made.keys:
            return made.keys[subject][0]
        stored = self.store.get(subject)
        if stored is None and create:
            kek = self.keyring.current
            self.store.insert_if_absent(subject, kek.id, kek.wrap(subject, _new_key()))
            stored = self.store.get(subject)  # another replica may have won the insert
        if stored is None:
            raise KeyMissing(f"no key for subject {subject}: is this the service's key store?")
        if stored.wrapped is None:
            raise KeyDestroyed(f"the key of subject {subject} was destroyed (erased)")
        key = self.keyring.by_id(stored.kek_id).unwrap(subject, stored.wrapped)
        self._remember(subject, key)
        return key

    def _cipher(self, subject: str, create: bool) -> AESGCM:
        """The subject's key, ready to seal and open (cached with the key)."""
        entry = self._entry(subject)
        if entry is not None:
            return entry[1]
        key = self._key(subject, create)
        entry = self._entry(subject)
        return entry[1] if entry is not None and entry[0] == key else AESGCM(key)

    def _cached(self, subject: str) -> bytes | None:
        entry = self._entry(subject)
        return entry[0] if entry is not None else None

    def _entry(self, subject: str) -> tuple[bytes, AESGCM, float] | None:
        with self._lock:
            entry = self._cache.get(subject)
            if entry is None or entry[2] < time.monotonic():
                self._cache.pop(subject, None)
                return None
            self._cache.move_to_end(subject)
            return entry

    def _remember(self, subject: str, key: bytes) -> None:
        with self._lock:
            self._cache[subject] = (key, AESGCM(key), time.monotonic() + self.cache_seconds)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _evict(self, subject: str) -> None:
        with self._lock:
            self._cache.pop(subject, None)


def _new_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _data_aad(subject: str, aad: bytes) -> bytes:
    """Data sealed for one subject never opens as another's."""
    return b"revmentor:subject:" + subject.encode() + b"|" + aad
