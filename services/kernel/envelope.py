"""Stamp every stored event with who and why, without touching domain code.

The mapper is the one place where a domain event becomes stored bytes, so it
is where the envelope (actor, correlation id, causation id, traceparent) is
added from the current request context, and where it is taken off again when
events are read back. Aggregates never see it; the relay and auditors read it
with :meth:`EnvelopeMapper.decode`.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, find_id_convertor
from eventsourcing.utils import get_topic, resolve_topic

from revmentor.kernel import context

ENVELOPE_KEY = "_envelope"


class EnvelopeMapper(Mapper[UUID]):
    """A mapper whose stored state carries the request envelope."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        state = dict(vars(domain_event))
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        state[ENVELOPE_KEY] = context.current().as_metadata()
        stored = self.transcoder.encode(state)
        if self.compressor:
            stored = self.compressor.compress(stored)
        if self.cipher:
            stored = self.cipher.encrypt(stored)
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=get_topic(type(domain_event)),
            state=stored,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self.decode(stored_event)[0]

    def decode(self, stored_event: StoredEvent) -> tuple[DomainEventProtocol[UUID], dict[str, Any]]:
        """The domain event and its envelope (empty for events stored without one)."""
        state = stored_event.state
        if self.cipher:
            state = self.cipher.decrypt(state)
        if self.compressor:
            state = self.compressor.decompress(state)
        event_state: dict[str, Any] = self.transcoder.decode(state)
        envelope = event_state.pop(ENVELOPE_KEY, None) or {}
        cls = resolve_topic(stored_event.topic)
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
