"""Stamp every stored event with who and why, and seal its personal fields.

The mapper is the one place where a domain event becomes stored bytes, so it
is where the envelope (actor, correlation id, causation id, traceparent) is
added from the current request context, and where it is taken off again when
events are read back. Aggregates never see it; the relay and auditors read it
with :meth:`EnvelopeMapper.decode`.

It is also where personal data is encrypted at rest (DESIGN section 4), so no
service can forget to: an event class lists its personal attributes in
``personal_fields`` (dotted paths reach into dict attributes, e.g.
``"profile.email"``); the mapper moves them into one AES-GCM blob sealed with
the subject's data key (:class:`~revmentor.kernel.crypto.SubjectKeys`). The
subject is the event's aggregate (``originator_id``) unless the class names a
fixed service subject in ``personal_subject``, or a clear field naming the
participant whose words they are in ``personal_subject_field`` (two members'
answers in one aggregate, each erasable alone). The blob is bound to the event's
topic, aggregate and version, so it cannot be moved to another event.

Once the subject's key is destroyed (erasure), those fields decode to
:data:`ERASED` instead of failing, so histories still replay; tampering or a
wrong KEK still fails loudly.
"""

from __future__ import annotations

import base64
from collections.abc import Hashable, Iterable, Sequence
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, NamedTuple, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    Mapper,
    StoredEvent,
    Transcoder,
    find_id_convertor,
)
from eventsourcing.utils import get_topic, resolve_topic

from revmentor.kernel import context
from revmentor.kernel.crypto import CryptoError, KeyDestroyed, SubjectKeys

ENVELOPE_KEY = "_envelope"
#: The envelope field holding the instant of the save an event was stored by
#: (RFC 3339 UTC, microseconds): the same for every event of one save, so a
#: point-in-time replay keeps or leaves out a save whole (kernel/replay.py).
SAVED_AT = "saved_at"
#: Set by the application around one save (``ServiceApplication._record``).
saved_at: ContextVar[str | None] = ContextVar("revmentor_saved_at", default=None)
PERSONAL_KEY = "_personal"

#: What a personal field reads as once its subject has been erased.
ERASED = "[erased]"
#: What a personal field reads as when decoded without keys (``personal=False``).
WITHHELD = "[withheld]"

#: The envelope key under which ``decode(keep_sealed=True)`` hands over the
#: event's personal values still sealed (a :class:`Sealed`).
SEALED = "sealed"

_MISSING = object()


class Sealed(NamedTuple):
    """One event's personal values, still sealed, and what opens them.

    A read model that keeps these instead of the values themselves is built
    without a key or a decryption (a rebuild reads at the speed of the log),
    holds no personal data in clear, and shows an erased person as erased the
    moment the key is destroyed; a query opens what it returns
    (:meth:`EnvelopeMapper.open`). A tuple: a rebuild makes one per event.
    """

    topic: str
    originator_id: str
    originator_version: int
    subject: str
    blob: str


def personal_fields(event_class: type) -> tuple[str, ...]:
    """The personal attribute paths an event class declares (none by default)."""
    return tuple(getattr(event_class, "personal_fields", ()))


class EnvelopeMapper(Mapper[UUID]):
    """A mapper whose stored state carries the request envelope and sealed personal data."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        keys: SubjectKeys | None = None,
    ):
        super().__init__(transcoder, compressor, cipher)
        self.keys = keys

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        topic = get_topic(type(domain_event))
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        paths = personal_fields(type(domain_event))
        if paths:
            aad = _aad(topic, originator_id, originator_version)
            subject = _subject(type(domain_event), originator_id, state)
            state[PERSONAL_KEY] = self._seal(subject, paths, state, aad)
        state[ENVELOPE_KEY] = context.current().as_metadata()
        saved = saved_at.get()
        if saved:
            state[ENVELOPE_KEY][SAVED_AT] = saved
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self.decode(stored_event)[0]

    def decode(
        self, stored_event: StoredEvent, personal: bool = True, keep_sealed: bool = False
    ) -> tuple[DomainEventProtocol[UUID], dict[str, Any]]:
        """The domain event and its envelope (empty for events stored without one).

        With ``personal=False`` the personal fields are :data:`WITHHELD` and no
        key is touched: the relay decodes this way, so nothing it publishes can
        be built from decrypted personal data (and it does no crypto work).
        With ``keep_sealed`` as well, the envelope also holds the event's
        sealed values under :data:`SEALED`, for a read model to keep.
        """
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        event_state: dict[str, Any] = self.transcoder.decode(state)
        envelope = event_state.pop(ENVELOPE_KEY, None) or {}
        cls = resolve_topic(stored_event.topic)
        sealed = event_state.pop(PERSONAL_KEY, None)
        if sealed is not None and personal:
            self._open(cls, stored_event, sealed, event_state)
        elif sealed is not None:
            if keep_sealed:
                envelope[SEALED] = self._sealed(cls, stored_event, sealed, event_state)
            _withhold(event_state, stored_event.topic)
        to_id = find_id_convertor(cls, cast(Hashable, type(stored_event.originator_id)))
        event_state["originator_id"] = to_id(stored_event.originator_id)
        event_state["originator_version"] = stored_event.originator_version
        class_version = getattr(cls, "class_version", 1)
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event, envelope

    def prefetch(self, stored_events: Sequence[StoredEvent]) -> None:
        """Fetch, in one batch, the keys a page of events will need to decode."""
        if self.keys is None:
            return
        subjects = set()
        for stored in stored_events:
            sealed_for_own = _sealed_for_own_subject(stored.topic)
            if sealed_for_own is not None:
                subjects.add(sealed_for_own or str(stored.originator_id))
        self.keys.prefetch(subjects)

    # -- personal data -------------------------------------------------------------
    def subjects_of(self, events: Iterable[DomainEventProtocol[UUID]]) -> list[str]:
        """Whose keys sealing ``events`` will need (events without personal fields: none)."""
        return [
            _subject(type(e), e.originator_id, vars(e)) for e in events if personal_fields(type(e))
        ]

    def new_subjects_of(self, events: Iterable[DomainEventProtocol[UUID]]) -> set[str]:
        """The subjects among ``subjects_of(events)`` that are aggregates being
        created by these very events: no key can be stored for them yet (were
        one, the save fails on it and is sealed again - see ``NewKeys``), so
        looking their keys up would be a read for nothing."""
        return {
            str(e.originator_id)
            for e in events
            if e.originator_version == 1
            and personal_fields(type(e))
            and _subject(type(e), e.originator_id, vars(e)) == str(e.originator_id)
        }

    def _subject_keys(self) -> SubjectKeys:
        if self.keys is None:
            raise CryptoError("this event has personal fields but no key store is configured")
        return self.keys

    def _seal(self, subject: str, paths: tuple[str, ...], state: dict[str, Any], aad: bytes) -> str:
        """Move the personal values out of ``state`` into one sealed blob (base64)."""
        secret = {}
        for path in paths:
            value = _take(state, path)
            if value is not _MISSING:
                secret[path] = value
        plaintext = self.transcoder.encode(secret)
        sealed = self._subject_keys().encrypt(subject, plaintext, aad)
        return base64.b64encode(sealed).decode()

    def _open(self, cls: type, stored: StoredEvent, sealed: str, state: dict[str, Any]) -> None:
        """Put the personal values back, or :data:`ERASED` if the key is gone."""
        for path, value in self.open(self._sealed(cls, stored, sealed, state), cls).items():
            _put(state, path, value)

    def open(self, sealed: Sealed, cls: type | None = None) -> dict[str, Any]:
        """The sealed values by path, or :data:`ERASED` for each once the key is gone."""
        aad = _aad(sealed.topic, sealed.originator_id, sealed.originator_version)
        try:
            plaintext = self._subject_keys().decrypt(
                sealed.subject, base64.b64decode(sealed.blob), aad
            )
        except KeyDestroyed:
            return dict.fromkeys(personal_fields(cls or resolve_topic(sealed.topic)), ERASED)
        return cast(dict[str, Any], self.transcoder.decode(plaintext))

    def open_many(self, sealed: Sequence[Sealed]) -> list[dict[str, Any]]:
        """:meth:`open` each, in chunks the key cache holds, the keys of each
        chunk fetched in one batch first (a list filtered on a personal value
        opens a whole programme)."""
        step = self.keys.cache_size if self.keys is not None else len(sealed)
        opened: list[dict[str, Any]] = []
        for start in range(0, len(sealed), max(step, 1)):
            chunk = sealed[start : start + step]
            if self.keys is not None:
                self.keys.prefetch({s.subject for s in chunk})
            opened.extend(self.open(s) for s in chunk)
        return opened

    @staticmethod
    def _sealed(cls: type, stored: StoredEvent, blob: str, state: dict[str, Any]) -> Sealed:
        originator_id = str(stored.originator_id)
        own = _sealed_for_own_subject(stored.topic)  # once per topic, not per event
        subject = _subject(cls, originator_id, state) if own is None else own or originator_id
        return Sealed(stored.topic, originator_id, stored.originator_version, subject, blob)


@lru_cache(maxsize=1024)
def _sealed_for_own_subject(topic: str) -> str | None:
    """Whose key a topic's events are sealed with, once per topic (prefetches,
    kept sealed values): None if they seal nothing or seal for a participant
    named in their state; else their fixed subject, or "" when each is sealed
    for its own aggregate."""
    cls: type = resolve_topic(topic)
    named_in_state = str(getattr(cls, "personal_subject_field", ""))
    if not personal_fields(cls) or named_in_state:
        return None
    return str(getattr(cls, "personal_subject", "") or "")


def _subject(cls: type, originator_id: Any, state: dict[str, Any]) -> str:
    """Whose key seals the event's personal fields: a fixed service subject, the
    participant named in one of its (clear) fields, or else its aggregate."""
    field = getattr(cls, "personal_subject_field", "")
    if field:
        if field in personal_fields(cls):
            raise TypeError(f"{cls.__qualname__}: the subject field {field!r} cannot be sealed")
        return str(state[field])
    return str(getattr(cls, "personal_subject", "") or originator_id)


def _aad(topic: str, originator_id: Any, originator_version: int) -> bytes:
    return f"{topic}|{originator_id}|{originator_version}".encode()


@lru_cache(maxsize=4096)
def _split(path: str) -> tuple[tuple[str, ...], str]:
    """A dotted path's parents and leaf (once per path: a replay puts millions)."""
    *parents, leaf = path.split(".")
    return tuple(parents), leaf


def _take(state: dict[str, Any], path: str) -> Any:
    """Pop the value at ``path``, copying the dicts on the way (the event is not touched)."""
    *parents, leaf = path.split(".")
    container = state
    for name in parents:
        inner = container.get(name)
        if not isinstance(inner, dict):
            return _MISSING
        container[name] = dict(inner)
        container = container[name]
    return container.pop(leaf, _MISSING)


def _withhold(state: dict[str, Any], topic: str) -> None:
    """Mark every personal path of the topic's events :data:`WITHHELD`."""
    for parents, leaves in _personal_groups(topic):
        container = _parent(state, parents)
        if container is not None:
            for leaf in leaves:
                container[leaf] = WITHHELD


@lru_cache(maxsize=1024)
def _personal_groups(topic: str) -> tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]:
    """The topic's personal paths grouped by their parent dict (a profile's
    nine fields are one group): each parent is then reached once per event."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for path in personal_fields(resolve_topic(topic)):
        parents, leaf = _split(path)
        groups.setdefault(parents, []).append(leaf)
    return tuple((parents, tuple(leaves)) for parents, leaves in groups.items())


def put_values(state: dict[str, Any], values: dict[str, Any]) -> None:
    """Write opened values (by dotted path) into ``state``, in place."""
    for path, value in values.items():
        _put(state, path, value)


def _put(state: dict[str, Any], path: str, value: Any) -> None:
    parents, leaf = _split(path)
    container = _parent(state, parents)
    if container is not None:
        container[leaf] = value


def _parent(state: dict[str, Any], parents: tuple[str, ...]) -> dict[str, Any] | None:
    """The dict reached through ``parents`` (None if one of them is not a dict)."""
    container = state
    for name in parents:
        inner = container.get(name)
        if not isinstance(inner, dict):
            return None
        container = inner
    return container
