"""Integration events as CloudEvents 1.0 in binary mode over NATS.

Binary mode: the event's attributes travel as ``ce-*`` NATS headers and the
data is the proto3 JSON mapping of the event message, so integrators can read
events without generated code (DESIGN 3). ``Nats-Msg-Id`` equals ``ce-id``
(``<service>:<notification id>``) so JetStream dedupes re-publication.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"
MSG_ID_HEADER = "Nats-Msg-Id"


def stream_name(service: str) -> str:
    return f"REVMENTOR_{service.upper()}"


def event_type(service: str, name: str) -> str:
    """``revmentor.<service>.v1.<EventName>``: the versioned CloudEvents type."""
    return f"revmentor.{service}.v1.{name}"


def subject(service: str, name: str, key: str) -> str:
    """``revmentor.<service>.v1.<EventName>.<key>``; the key is usually the programme id."""
    return f"revmentor.{service}.v1.{name}.{key or '_'}"


@dataclass(frozen=True)
class IntegrationEvent:
    """What a service publishes for one domain event: a name, a routing key, a message."""

    name: str
    key: str
    message: Message


def translator(
    translations: Mapping[str, Callable[[Any], IntegrationEvent | None]],
) -> Callable[[Any], IntegrationEvent | None]:
    """A service's ``translate``: the integration event for a domain event
    (keyed by the event class's qualified name), or None if it stays private
    (a translation may also keep one private by returning None)."""

    def translate(event: Any) -> IntegrationEvent | None:
        found = translations.get(type(event).__qualname__)
        return found(event) if found else None

    # What it may publish, so the relay skips decoding the events it never does.
    translate.published = frozenset(translations)  # type: ignore[attr-defined]
    return translate


@dataclass(frozen=True)
class OutgoingMessage:
    subject: str
    headers: dict[str, str]
    data: bytes


def encode(
    service: str,
    position: int,
    event: IntegrationEvent,
    occurred_at: datetime,
    envelope: dict[str, Any],
) -> OutgoingMessage:
    """Build the NATS message for the integration event at log ``position``."""
    ce_id = f"{service}:{position}"
    headers = {
        MSG_ID_HEADER: ce_id,
        "ce-specversion": SPEC_VERSION,
        "ce-id": ce_id,
        "ce-source": f"/revmentor/{service}",
        "ce-type": event_type(service, event.name),
        "ce-time": occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "ce-subject": event.key,
        "ce-sequence": str(position),
        "ce-actor": str(envelope.get("actor", "")),
        "ce-correlationid": str(envelope.get("correlation_id", "")),
        "ce-causationid": str(envelope.get("causation_id", "")),
        "content-type": CONTENT_TYPE,
    }
    if envelope.get("traceparent"):
        headers["traceparent"] = str(envelope["traceparent"])
    data = json_format.MessageToJson(
        event.message, preserving_proto_field_name=False, indent=None, sort_keys=True
    ).encode()
    return OutgoingMessage(subject(service, event.name, event.key), headers, data)


@dataclass(frozen=True)
class ReceivedEvent:
    """An integration event as a consumer sees it."""

    id: str
    source: str
    type: str
    time: str
    subject: str
    sequence: int
    actor: str
    correlation_id: str
    causation_id: str
    traceparent: str
    data: dict[str, Any]

    @property
    def service(self) -> str:
        return self.source.rsplit("/", 1)[-1]

    @property
    def name(self) -> str:
        return self.type.rsplit(".", 1)[-1]

    def parse(self, message_class: builtins.type[Message]) -> Any:
        """The data as the generated message class (unknown fields ignored)."""
        return json_format.ParseDict(self.data, message_class(), ignore_unknown_fields=True)


class MalformedEvent(ValueError):
    """A message that is not a revmentor CloudEvent; retrying cannot help."""


def decode(headers: dict[str, str] | None, data: bytes) -> ReceivedEvent:
    headers = headers or {}
    missing = [h for h in ("ce-id", "ce-source", "ce-type", "ce-sequence") if not headers.get(h)]
    if missing or headers.get("ce-specversion") != SPEC_VERSION:
        raise MalformedEvent(f"not a revmentor CloudEvent (missing {missing or 'specversion'})")
    try:
        payload = json.loads(data or b"{}")
        sequence = int(headers["ce-sequence"])
    except (ValueError, TypeError) as error:
        raise MalformedEvent(f"unreadable event {headers['ce-id']}: {error}") from error
    return ReceivedEvent(
        id=headers["ce-id"],
        source=headers["ce-source"],
        type=headers["ce-type"],
        time=headers.get("ce-time", ""),
        subject=headers.get("ce-subject", ""),
        sequence=sequence,
        actor=headers.get("ce-actor", ""),
        correlation_id=headers.get("ce-correlationid", ""),
        causation_id=headers.get("ce-causationid", ""),
        traceparent=headers.get("traceparent", ""),
        data=payload,
    )
