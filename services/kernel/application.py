"""The eventsourcing ``Application`` every service builds on.

It wires the store from the environment (SQLite by default, PostgreSQL in
production), records tracking positions in the same transaction as events
(process recorder), stamps envelopes on every event, and turns the store's
conflict errors into :class:`ConcurrencyConflict` so that racing commands
surface as ``ABORTED`` and never half-apply. It also opens the service's key
store (``app.keys``) so every event's personal fields are sealed per subject,
and a consumer erases a participant with ``app.keys.destroy(participant_id)``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import (
    IntegrityError,
    Notification,
    ProcessRecorder,
    Recording,
    Tracking,
)
from eventsourcing.utils import get_topic
from opentelemetry import trace

from revmentor.kernel.crypto import NewKeys, SubjectKeys, load_keyring
from revmentor.kernel.envelope import EnvelopeMapper, Sealed, saved_at
from revmentor.kernel.errors import ConcurrencyConflict, Violations
from revmentor.kernel.keystore import KEYED_RECORDERS, KeyStore
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.replay import collector_paused, replay
from revmentor.kernel.schema import schema_lock
from revmentor.kernel.settings import store_env, var_dir
from revmentor.kernel.timestamps import instant

T = TypeVar("T")
Saveable = MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None

#: How many times :meth:`ServiceApplication.unless_pinned` runs a command that
#: keeps losing races before it answers ABORTED.
COMMAND_ATTEMPTS = 3

#: Tracking name under which the outbox relay stores its published position.
RELAY_TRACKING = "__relay__"

_tracer = trace.get_tracer("revmentor.kernel.store")


class ServiceApplication(Application[UUID]):
    """Base application: one per service, named after the service."""

    name = "service"
    page_size = 500
    #: Whether the read model is built from decrypted personal fields. A service
    #: whose read model keeps none sets False: catch-up and rebuilds then touch
    #: no key (faster, and nothing personal is decrypted for nothing).
    read_model_reads_personal = True
    #: With ``read_model_reads_personal = False``: whether the read model is also
    #: handed each event's personal values still sealed (the envelope's
    #: ``SEALED``), to keep and have opened by the queries that show them
    #: (:meth:`open_sealed`). Rebuilds then cost what reading the log costs.
    read_model_keeps_sealed = False

    def __init__(self, env: dict[str, str] | None = None) -> None:
        merged = store_env(self.name)
        merged.update(env or {})
        keyed = KEYED_RECORDERS.get(merged.get("PERSISTENCE_MODULE", ""))
        if keyed is not None:
            merged.setdefault("PROCESS_RECORDER_TOPIC", get_topic(keyed))
        super().__init__(merged)
        self._catch_up_lock = threading.RLock()
        # One append at a time per process: the store serialises writers anyway
        # (SQLite's file lock, PostgreSQL's table lock), and waiting here is far
        # cheaper than SQLite's sleep-and-retry busy handler.
        self._append_lock = threading.Lock()
        self.save_listeners: list[Callable[[], None]] = []
        self.keys = self.construct_keys()
        self.envelope_mapper.keys = self.keys
        self.read_model = self.construct_read_model()
        for kind in self.snapshotting_intervals or {}:
            if holds_personal_data(kind):
                raise TypeError(
                    f"{kind.__name__} has events with personal fields: a snapshot would store "
                    "them in clear, beyond the reach of erasure; do not snapshot it"
                )

    # -- wiring -------------------------------------------------------------
    def construct_mapper(self) -> EnvelopeMapper:  # type: ignore[override]
        return EnvelopeMapper(
            transcoder=self.construct_transcoder(),
            compressor=self.factory.compressor(),
            cipher=self.factory.cipher(),
        )

    def construct_keys(self) -> SubjectKeys:
        """Per-subject data keys in this service's own database, wrapped by the KEK."""
        return SubjectKeys(
            KeyStore.for_recorder(self.recorder),
            load_keyring(self.env.get, var_dir),
            cache_seconds=float(self.env.get("REVMENTOR_KEY_CACHE_SECONDS", "300")),
        )

    def construct_recorder(self) -> ProcessRecorder:
        """The store, its tables made under the schema lock (replicas start together)."""
        with schema_lock(self.env.get):
            return self.factory.process_recorder()

    def construct_read_model(self) -> ReadModel:
        """The service's queryable projection, rebuilt from its own log."""
        return ReadModel()

    @property
    def process_recorder(self) -> ProcessRecorder:
        assert isinstance(self.recorder, ProcessRecorder)
        return self.recorder

    @property
    def envelope_mapper(self) -> EnvelopeMapper:
        assert isinstance(self.mapper, EnvelopeMapper)
        return self.mapper

    # -- writing ------------------------------------------------------------
    def save(self, *objs: Saveable, **kwargs: Any) -> list[Recording[UUID]]:
        """Save atomically; a lost race becomes :class:`ConcurrencyConflict`."""
        try:
            return super().save(*objs, **kwargs)
        except IntegrityError as error:
            raise ConcurrencyConflict(
                "another change to the same object was recorded first; read it again and retry"
            ) from error

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        """After a commit: wake whoever follows the log (the relay)."""
        super()._notify(recordings)
        for listener in list(self.save_listeners):
            listener()

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Append a save's events; the data keys it makes go in the same
        transaction, so a command commits once (each commit is an fsync)."""
        with _tracer.start_as_current_span(f"{self.name}.store.append") as span:
            span.set_attribute("revmentor.events", len(processing_event.events))
            subjects = self.envelope_mapper.subjects_of(processing_event.events)
            if not getattr(self.recorder, "inserts_new_keys", False):
                self.keys.ensure(subjects)
            events = processing_event.events
            made = self.keys.prepare(subjects, self.envelope_mapper.new_subjects_of(events))
            with self._append_lock:
                token = saved_at.set(instant(datetime.now(UTC)))
                try:
                    recordings = self._append(processing_event, made, subjects)
                finally:
                    saved_at.reset(token)
            self.keys.committed(made)
            return recordings

    def _append(
        self, processing_event: ProcessingEvent[UUID], made: NewKeys, subjects: list[str]
    ) -> list[Recording[UUID]]:
        """One transaction; if another process stored a key for one of this
        save's new subjects first, seal again with the stored keys."""
        try:
            with self.keys.sealing(made):
                return super()._record(processing_event)
        except IntegrityError:
            if not self.keys.taken_meanwhile(made):
                raise
        self.keys.ensure(subjects)
        return super()._record(processing_event)

    def unless_pinned(self, expected_version: int, command: Callable[[], T]) -> T:
        """Run ``command``; a race it lost to another writer (a consumer applying
        an upstream event to the same aggregate, another replica) is run again on
        the fresh state, up to :data:`COMMAND_ATTEMPTS` times - unless the caller
        pinned ``expected_version``: then the conflict is theirs to see (ABORTED).
        Safe: a lost race wrote nothing."""
        for attempt in range(1, COMMAND_ATTEMPTS + 1):
            try:
                return command()
            except ConcurrencyConflict:
                if expected_version or attempt == COMMAND_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def record_processed(self, upstream: str, position: int, *objs: Saveable) -> bool:
        """Record the events caused by upstream ``position`` with its tracking.

        Returns False (and writes nothing) when that position was already
        processed: redelivery never applies twice.
        """
        if self.process_recorder.has_tracking_id(upstream, position):
            return False
        processing = ProcessingEvent[UUID](Tracking(upstream, position))
        processing.collect_events(*objs)
        try:
            recordings = self._record(processing)
        except IntegrityError as error:
            if self.process_recorder.has_tracking_id(upstream, position):
                return False
            raise ConcurrencyConflict(f"conflict while applying {upstream}#{position}") from error
        # As ``save`` does: snapshot aggregates past their interval (consumers
        # write most events of a big programme's pool) and wake the relay.
        self._take_snapshots(processing)
        self._notify(recordings)
        return True

    def tracked_position(self, upstream: str) -> int:
        return self.process_recorder.max_tracking_id(upstream) or 0

    # -- reading the log ----------------------------------------------------
    def notifications(self, after: int, limit: int) -> Sequence[Notification]:
        return self.recorder.select_notifications(
            start=after, limit=limit, inclusive_of_start=False
        )

    def catch_up(self) -> int:
        """Bring the read model up to the end of the log (all replicas' writes)."""
        with self._catch_up_lock, collector_paused():  # a start-up catch-up is a rebuild
            while True:
                page = self.notifications(self.read_model.position, self.page_size)
                personal = self.read_model_reads_personal
                if personal:
                    self.envelope_mapper.prefetch(page)
                sealed = self.read_model_keeps_sealed
                for notification in page:
                    event, envelope = self.envelope_mapper.decode(notification, personal, sealed)
                    self.read_model.apply_notification(notification.id, event, envelope)
                if len(page) < self.page_size:
                    return self.read_model.position

    def open_sealed(self, sealed: Sequence[Sealed]) -> list[dict[str, Any]]:
        """The values of each sealed blob (by path; erased markers once a key is
        gone), their keys fetched in batches first."""
        return self.envelope_mapper.open_many(sealed)

    def rebuild_read_model(self) -> ReadModel:
        """A fresh read model built from position zero (replay equals live)."""
        return replay(self).model

    def get_as(self, aggregate_id: UUID, kind: type[Any]) -> Any:
        """The aggregate if it exists and is a ``kind``, else None (ids are not typed)."""
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None

    def event_history(self, aggregate_id: UUID) -> list[dict[str, Any]]:
        """An aggregate's stored events, decrypted, with envelopes (exports, audits)."""
        history = []
        for stored in self.recorder.select_events(aggregate_id):
            event, envelope = self.envelope_mapper.decode(stored)
            state = dict(vars(event))
            for name in ("originator_id", "originator_version", "timestamp"):
                state.pop(name, None)
            timestamp = getattr(event, "timestamp", None)
            history.append(
                {
                    "type": type(event).__qualname__,
                    "version": stored.originator_version,
                    "timestamp": timestamp.isoformat() if timestamp else None,
                    "state": state,
                    "envelope": envelope,
                }
            )
        return jsonable(history)

    def query(self, read: Callable[[Any], T]) -> T:
        """Run ``read`` on the caught-up read model, with no catch-up running meanwhile."""
        with self._catch_up_lock:
            self.catch_up()
            return read(self.read_model)


def holds_personal_data(aggregate_class: type) -> bool:
    """True if any of the aggregate's event classes declares personal fields
    (its state then holds them decrypted: never snapshot it)."""
    return any(
        isinstance(member, type) and getattr(member, "personal_fields", ())
        for member in (getattr(aggregate_class, name) for name in dir(aggregate_class))
    )


def jsonable(document: Any) -> Any:
    """UUIDs, datetimes and tuples as JSON has them (str, str, list)."""
    return json.loads(json.dumps(document, default=str))


def expect_version(aggregate: Any, expected_version: int, what: str = "") -> None:
    """Optimistic concurrency for clients: 0 means any version, else it must match."""
    v = Violations()
    v.check(expected_version >= 0, "expected_version", "must be 0 (any version) or positive")
    v.raise_if_any()
    if expected_version and aggregate.version != expected_version:
        name = what or type(aggregate).__name__.lower()
        raise ConcurrencyConflict(
            f"{name} {aggregate.id} is at version {aggregate.version}, "
            f"not {expected_version}: read it again and retry"
        )
