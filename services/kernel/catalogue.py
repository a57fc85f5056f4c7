"""The integrators' event catalogue: an AsyncAPI 3.0 document generated from code.

Everything in ``docs/asyncapi.yaml`` comes from the code that publishes the
events, so the catalogue cannot drift from what is on the wire:

- which events each service publishes: the event names its
  ``revmentor.<service>.integration.TRANSLATIONS`` can produce (string
  constants of each translation that name a message of its
  ``revmentor.events.v1.<service>_pb2`` module; event name == message name);
- the payload schemas: the generated protobuf descriptors, under the proto3
  JSON mapping the relay uses (``cloudevents.encode``); each field's
  ``(revmentor.options.v1.data_class)`` and its comments in
  ``proto/revmentor/events/v1/*.proto`` (read through ``protoc
  --include_source_info``, which the generated code does not keep);
- subjects, CloudEvents headers, streams, retention, dead letters, the audit
  stream (mentioned only: checkpoints are JSON, not CloudEvents) and the
  integrator user: ``kernel.cloudevents``, ``kernel.streams``,
  ``kernel.consumer`` and ``kernel.natsauth``.

Each message carries one example, generated deterministically and normalised
through the protobuf message exactly as the relay serialises it (fields at
their default value are omitted).

``python -m revmentor.kernel.catalogue`` rewrites ``docs/asyncapi.yaml``;
``--check`` exits 1 when the committed file is out of date
(``tests/kernel/test_event_catalogue.py`` runs the same comparison).
Regenerating needs the dev extras (PyYAML, grpcio-tools).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import os
import re
import sys
import tempfile
import textwrap
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import CodeType, FunctionType, ModuleType
from typing import Any

from google.protobuf import descriptor_pb2, json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message_factory import GetMessageClass

from revmentor.kernel import consumer
from revmentor.kernel.cloudevents import (
    CONTENT_TYPE,
    MSG_ID_HEADER,
    SPEC_VERSION,
    event_type,
    stream_name,
    subject,
)
from revmentor.kernel.natsauth import (
    INTEGRATOR,
    inbox_prefix,
    integrator_publish,
    password_variable,
)
from revmentor.kernel.relay import EXPECTED_LAST_HEADER
from revmentor.kernel.streams import (
    AUDIT_STREAM,
    AUDIT_SUBJECT_PREFIX,
    DLQ_STREAM,
    DLQ_SUBJECT_PREFIX,
    SERVICES,
    audit_stream_config,
    dlq_stream_config,
    service_stream_config,
)
from revmentor.options.v1 import options_pb2

ROOT = Path(__file__).resolve().parents[2]
PROTO_ROOT = ROOT / "proto"
OUTPUT = ROOT / "docs" / "asyncapi.yaml"

ASYNCAPI_VERSION = "3.0.0"
#: The catalogue's own version: events v1. Bump the minor version when events
#: or fields are added, the major one never within v1.
CATALOGUE_VERSION = "1.0.0"
EVENTS_PACKAGE = "revmentor.events.v1"
SERVER = "nats"
SERVER_HOST = "localhost:4222"
PARAMETER = "programmeId"
HEADERS_SCHEMA = "CloudEventHeaders"
SECURITY_SCHEME = "integrator"
CORRELATION = "correlation"

#: Settings whose value depends on the environment: documented with their defaults.
STREAM_ENVIRONMENT = (
    "NATS_STREAM_MAX_AGE_SECONDS",
    "NATS_DUPLICATE_WINDOW_SECONDS",
    "NATS_STREAM_REPLICAS",
)

_TRACEPARENT = r"^([0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2})?$"
_ALTERNATIVES = re.compile(r'^"[^"]+"(\s*\|\s*"[^"]+")*$')


class CatalogueError(RuntimeError):
    """The catalogue cannot be built from the code as it is."""


# -- what each service publishes --------------------------------------------------


def events_module(service: str) -> ModuleType:
    return importlib.import_module(f"revmentor.events.v1.{service}_pb2")


def _strings(function: Callable[..., Any], seen: set[int] | None = None) -> set[str]:
    """String constants a translation (and the module helpers it calls) may use."""
    seen = set() if seen is None else seen
    if not isinstance(function, FunctionType) or id(function) in seen:
        return set()
    seen.add(id(function))
    found: set[str] = set()
    codes: list[CodeType] = [function.__code__]
    while codes:
        code = codes.pop()
        for const in code.co_consts:
            if isinstance(const, str):
                found.add(const)
            elif isinstance(const, CodeType):
                codes.append(const)
        for name in code.co_names:
            value = function.__globals__.get(name)
            if isinstance(value, str):
                found.add(value)
            elif isinstance(value, FunctionType) and value.__module__ == function.__module__:
                found |= _strings(value, seen)
    for cell in function.__closure__ or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, FunctionType):
            found |= _strings(value, seen)
    return found


def published_events(service: str) -> dict[str, list[str]]:
    """Event name -> the domain events (qualified names) whose translation publishes it."""
    translations = importlib.import_module(f"revmentor.{service}.integration").TRANSLATIONS
    messages = set(events_module(service).DESCRIPTOR.message_types_by_name)
    published: dict[str, set[str]] = {}
    for domain_event, translation in translations.items():
        names = {s for s in _strings(translation) if s in messages}
        if not names:
            raise CatalogueError(
                f"{service}: the translation of {domain_event} names no message of "
                f"{EVENTS_PACKAGE}.{service}_pb2 (the event name must be the message name)"
            )
        for name in names:
            published.setdefault(name, set()).add(domain_event)
    return {name: sorted(published[name]) for name in sorted(published)}


# -- comments from the .proto files -------------------------------------------------


@dataclass
class ProtoComments:
    """Leading and trailing comments by full name (``pkg.Message``, ``pkg.Message.field``)."""

    leading: dict[str, str] = field(default_factory=dict)
    trailing: dict[str, str] = field(default_factory=dict)
    #: The comment on a file's ``package`` statement, by file name.
    files: dict[str, str] = field(default_factory=dict)

    def text(self, name: str) -> str:
        return "\n\n".join(p for p in (self.leading.get(name), self.trailing.get(name)) if p)


def _tidy(comment: str) -> str:
    """A proto comment as markdown: lines of a paragraph joined, paragraphs kept."""
    paragraphs: list[list[str]] = [[]]
    for line in comment.strip("\n").splitlines():
        line = line.strip()
        if line:
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def _walk_messages(
    prefix: str, messages: Sequence[descriptor_pb2.DescriptorProto], path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], str]]:
    for i, message in enumerate(messages):
        name, here = f"{prefix}.{message.name}", (*path, i)
        yield here, name
        for j, item in enumerate(message.field):
            yield (*here, 2, j), f"{name}.{item.name}"
        yield from _walk_messages(name, message.nested_type, (*here, 3))
        yield from _walk_enums(name, message.enum_type, (*here, 4))


def _walk_enums(
    prefix: str, enums: Sequence[descriptor_pb2.EnumDescriptorProto], path: tuple[int, ...]
) -> Iterator[tuple[tuple[int, ...], str]]:
    for i, enum in enumerate(enums):
        name, here = f"{prefix}.{enum.name}", (*path, i)
        yield here, name
        for j, value in enumerate(enum.value):
            yield (*here, 2, j), f"{name}.{value.name}"


def load_comments(proto_root: Path = PROTO_ROOT) -> ProtoComments:
    """Run ``protoc --include_source_info`` (grpcio-tools) over the event protos."""
    try:
        from grpc_tools import protoc
    except ImportError as error:  # pragma: no cover - a dev dependency
        raise CatalogueError("the catalogue needs grpcio-tools (pip install -e .[dev])") from error
    files = sorted(
        p.relative_to(proto_root).as_posix()
        for p in (proto_root / "revmentor" / "events" / "v1").glob("*.proto")
    )
    if not files:
        raise CatalogueError(f"no event protos under {proto_root}")
    files.append("revmentor/options/v1/options.proto")
    include = resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "events.binpb"
        arguments = [
            "protoc",
            f"-I{proto_root}",
            f"-I{include}",
            "--include_source_info",
            f"--descriptor_set_out={out}",
            *files,
        ]
        if protoc.main(arguments) != 0:
            raise CatalogueError(f"protoc failed on {', '.join(files)}")
        descriptor_set = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    comments = ProtoComments()
    for file in descriptor_set.file:
        names = dict(_walk_messages(file.package, file.message_type, (4,)))
        names.update(_walk_enums(file.package, file.enum_type, (5,)))
        for location in file.source_code_info.location:
            path = tuple(location.path)
            if path == (2,) and location.leading_comments:
                comments.files[file.name] = _tidy(location.leading_comments)
            elif path in names:
                if location.leading_comments:
                    comments.leading[names[path]] = _tidy(location.leading_comments)
                if location.trailing_comments:
                    comments.trailing[names[path]] = _tidy(location.trailing_comments)
    return comments


# -- payload schemas -----------------------------------------------------------------

_INT32 = {"type": "integer", "minimum": -(2**31), "maximum": 2**31 - 1}
_UINT32 = {"type": "integer", "minimum": 0, "maximum": 2**32 - 1}
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    # proto3 JSON writes 64-bit integers as decimal strings
    FieldDescriptor.TYPE_INT64: {"type": "string", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SINT64: {"type": "string", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_SFIXED64: {"type": "string", "pattern": "^-?[0-9]+$"},
    FieldDescriptor.TYPE_UINT64: {"type": "string", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_FIXED64: {"type": "string", "pattern": "^[0-9]+$"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "contentEncoding": "base64"},
}
_FLOATING: dict[str, Any] = {
    "anyOf": [{"type": "number"}, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]
}
#: Well-known types have their own JSON form.
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.Duration": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {"type": "string"},
    "google.protobuf.Empty": {"type": "object", "additionalProperties": False},
    "google.protobuf.Struct": {"type": "object"},
    "google.protobuf.Value": {},
    "google.protobuf.ListValue": {"type": "array"},
    "google.protobuf.StringValue": {"type": "string"},
    "google.protobuf.BoolValue": {"type": "boolean"},
    "google.protobuf.Int32Value": _INT32,
    "google.protobuf.UInt32Value": _UINT32,
    "google.protobuf.Int64Value": {"type": "string", "pattern": "^-?[0-9]+$"},
    "google.protobuf.UInt64Value": {"type": "string", "pattern": "^[0-9]+$"},
    "google.protobuf.DoubleValue": _FLOATING,
    "google.protobuf.FloatValue": _FLOATING,
    "google.protobuf.BytesValue": {"type": "string", "contentEncoding": "base64"},
}


def schema_name(descriptor: Descriptor) -> str:
    """The component name of a message: its name inside the events package."""
    prefix = EVENTS_PACKAGE + "."
    name: str = descriptor.full_name
    return name[len(prefix) :] if name.startswith(prefix) else name


def _ref(descriptor: Descriptor) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema_name(descriptor)}"}


def data_class_of(item: FieldDescriptor) -> int:
    """The field's ``(revmentor.options.v1.data_class)`` option."""
    extensions: Any = item.GetOptions().Extensions  # typed stubs miss custom options
    return int(extensions[options_pb2.data_class])


def _data_class(item: FieldDescriptor) -> str:
    value = data_class_of(item)
    name: str = options_pb2.DataClass.Name(value)
    if value in (options_pb2.DATA_CLASS_UNSPECIFIED, options_pb2.DATA_CLASS_PERSONAL):
        raise CatalogueError(f"{item.full_name} is {name}: it cannot be published")
    return name


@dataclass
class SchemaBuilder:
    """Turns message descriptors into JSON Schemas (draft-07) of their proto3 JSON form."""

    comments: ProtoComments
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)

    def message(self, descriptor: Descriptor) -> dict[str, Any]:
        """Add ``descriptor`` (and every message it uses) to the components; its $ref."""
        if descriptor.full_name in _WELL_KNOWN:
            return dict(_WELL_KNOWN[descriptor.full_name])
        name = schema_name(descriptor)
        if name not in self.schemas:
            self.schemas[name] = {}  # placeholder: recursive messages
            properties = {f.json_name: self.field(f) for f in descriptor.fields}
            source = f"`{descriptor.full_name}` ({descriptor.file.name})"
            schema: dict[str, Any] = {
                "title": name,
                "type": "object",
                "description": _paragraphs(
                    self.comments.text(descriptor.full_name), f"Proto3 JSON of {source}."
                ),
                "properties": properties,
            }
            self.schemas[name] = schema
        return _ref(descriptor)

    def field(self, item: FieldDescriptor) -> dict[str, Any]:
        data_class = _data_class(item)
        notes = [f"Data class: {data_class.removeprefix('DATA_CLASS_')}."]
        oneof = item.containing_oneof
        if oneof is not None and list(oneof.fields) == [item] and oneof.name == f"_{item.name}":
            notes.append("Optional: absent when not set, present (even when 0) when set.")
        elif oneof is not None:
            others = ", ".join(f"`{f.json_name}`" for f in oneof.fields if f is not item)
            notes.append(f"One of `{oneof.name}`: absent when {others} is set.")
        description = _paragraphs(self.comments.text(item.full_name), " ".join(notes))
        entry = _map_entry(item)
        if entry is not None:  # proto3 JSON: an object, keys as strings
            value = self._value(entry.fields_by_name["value"])
            schema: dict[str, Any] = {"type": "object", "additionalProperties": value}
        elif item.is_repeated:
            schema = {"type": "array", "items": self._value(item)}
        else:
            schema = self._value(item)
        if "$ref" in schema:
            schema = {"allOf": [schema]}  # draft-07 ignores siblings of $ref
        return {**schema, "description": description, "x-revmentor-data-class": data_class}

    def _value(self, item: FieldDescriptor) -> dict[str, Any]:
        """The schema of one value of ``item`` (an element, for a repeated field)."""
        if item.message_type is not None:
            return self.message(item.message_type)
        if item.enum_type is not None:
            return {"type": "string", "enum": [v.name for v in item.enum_type.values]}
        if item.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
            return {"anyOf": [dict(s) for s in _FLOATING["anyOf"]]}
        if item.type in _SCALARS:
            return dict(_SCALARS[item.type])
        raise CatalogueError(f"{item.full_name}: no JSON mapping for type {item.type}")


def _map_entry(item: FieldDescriptor) -> Descriptor | None:
    """The key/value message of a map field, None for any other field."""
    message = item.message_type
    if item.is_repeated and message is not None and message.GetOptions().map_entry:
        return message
    return None


def _paragraphs(*parts: str) -> str:
    """Markdown paragraphs, each wrapped at 88 columns (lists and tables as they are)."""
    paragraphs = [p.strip() for part in parts if part for p in part.split("\n\n") if p.strip()]
    return "\n\n".join(
        p
        if p.startswith(("- ", "|"))
        else textwrap.fill(p, 88, break_long_words=False, break_on_hyphens=False)
        for p in paragraphs
    )


# -- examples --------------------------------------------------------------------------

_EXAMPLES = uuid.uuid5(uuid.NAMESPACE_URL, "https://revmentor.invalid/asyncapi/examples")

#: Example values by proto field name (ids are UUIDs named after the field).
_STRING_EXAMPLES: dict[str, Any] = {
    "start_date": "2025-03-03",
    "end_date": "2025-08-29",
    "deadline": "2025-03-03",
    "start": "2025-03-10T09:00:00Z",
    "end": "2025-03-10T10:00:00Z",
    "due_at": "2025-03-17T10:00:00Z",
    "expires_at": "2025-03-12T09:00:00Z",
    "confirmed_at": "2025-03-06T14:30:00Z",
    "ended_at": "2025-08-29T17:00:00Z",
    "since": "2025-04-14T10:00:00Z",
    "inputs_digest": hashlib.sha256(b"revmentor example matching round").hexdigest(),
    "algorithm_version": "revmentor-matching/2 lexicographic-lapjvsp",
    "module": "active-listening",
    "topic": "generative-ai",
    "outcome": "dissolved",
    "meeting_preference": "virtual",
    "topic_codes": ["generative-ai", "data-literacy", "social-media"],
    "skills_offered": ["generative-ai", "social-media"],
    "topics": ["generative-ai"],
    "required_modules": ["mentoring-foundations", "active-listening", "feedback"],
    "changed_fields": ["skills_offered", "learning_needs"],
    "overridden": ["same_department"],
    "reasons": ["stalled"],
}
_NUMBER_EXAMPLES: dict[str, Any] = {
    "min_age_gap_years": 10,
    "mentor_capacity": 2,
    "planned_sessions": 6,
    "session_minutes": 60,
    "priority": 1,
    "usefulness": 4,
    "confidence": 4,
    "round_number": 1,
    "mentees_considered": 12,
    "proposed": 10,
    "unmatched": 2,
    "score": 0.87,
    "duration_minutes": 60,
    "held_count": 3,
    "held_sessions": 6,
    "cancelled_sessions": 2,
    "sequence": 1,
    "curriculum_version": 1,
    "attempt": 1,
    "from_version": 1,
    "to_version": 2,
    "version": 2,
}
_BOOL_EXAMPLES = {"same_department_allowed": False, "edit": False, "rescheduled": True}
#: Opaque ids that are another id under a different name.
_ID_ALIASES = {"declined_by": "mentee_id", "disputed_by": "mentor_id"}
_WELL_KNOWN_EXAMPLES: dict[str, Any] = {
    "google.protobuf.Timestamp": "2025-03-06T14:30:00Z",
    "google.protobuf.Duration": "3600s",
    "google.protobuf.StringValue": "example",
    "google.protobuf.BoolValue": True,
    "google.protobuf.Int32Value": 1,
    "google.protobuf.Int64Value": "1",
    "google.protobuf.DoubleValue": 0.5,
}
#: Fields left out of the example as they would be on the wire (mentees give no pedagogy).
_LEFT_OUT = {"revmentor.events.v1.FeedbackSubmitted.pedagogy"}


def example_id(name: str) -> str:
    """A stable UUID for the id field ``name`` (the same in every example)."""
    return str(uuid.uuid5(_EXAMPLES, _ID_ALIASES.get(name, name)))


def _example_value(item: FieldDescriptor, comments: ProtoComments) -> Any:
    name = item.name
    entry = _map_entry(item)
    if entry is not None:
        key = _example_value(entry.fields_by_name["key"], comments)
        return {str(key): _example_value(entry.fields_by_name["value"], comments)}
    if item.message_type is not None and item.message_type.full_name in _WELL_KNOWN:
        if item.message_type.full_name not in _WELL_KNOWN_EXAMPLES:
            raise CatalogueError(f"{item.full_name}: no example for {item.message_type.full_name}")
        value = _WELL_KNOWN_EXAMPLES[item.message_type.full_name]
        return [value] if item.is_repeated else value
    if item.message_type is not None:
        value = example_payload(item.message_type, comments)
        return [value] if item.is_repeated else value
    if item.enum_type is not None:
        names = [v.name for v in item.enum_type.values]
        chosen = names[1] if len(names) > 1 else names[0]
        return [chosen] if item.is_repeated else chosen
    if item.type == FieldDescriptor.TYPE_BOOL:
        return _BOOL_EXAMPLES.get(name, True)
    if item.type != FieldDescriptor.TYPE_STRING:
        number = _NUMBER_EXAMPLES.get(name, 1)
        return [number] if item.is_repeated else number
    if data_class_of(item) == options_pb2.DATA_CLASS_OPAQUE_ID:
        return [example_id(name)] if item.is_repeated else example_id(name)
    for comment in (comments.trailing.get(item.full_name), comments.leading.get(item.full_name)):
        if comment and _ALTERNATIVES.match(comment):  # '"a" | "b"': the values it takes
            first = comment.split("|")[0].strip().strip('"')
            return [first] if item.is_repeated else first
    value = _STRING_EXAMPLES.get(name, name.replace("_", "-"))
    if item.is_repeated and not isinstance(value, list):
        return [value]
    return value


def example_payload(descriptor: Descriptor, comments: ProtoComments) -> dict[str, Any]:
    """A realistic payload, normalised as the relay writes it (defaults omitted)."""
    values: dict[str, Any] = {}
    oneofs: set[str] = set()
    for item in descriptor.fields:
        oneof = item.containing_oneof
        if item.full_name in _LEFT_OUT or (oneof is not None and oneof.name in oneofs):
            continue  # one field per oneof
        if oneof is not None:
            oneofs.add(oneof.name)
        values[item.name] = _example_value(item, comments)
    message = json_format.ParseDict(values, GetMessageClass(descriptor)())
    payload: dict[str, Any] = json_format.MessageToDict(message, preserving_proto_field_name=False)
    return payload


def example_headers(service: str, event: str) -> dict[str, str]:
    """The headers the relay puts on the example message."""
    position = 100 + zlib.crc32(f"{service}.{event}".encode()) % 9000
    trace = uuid.uuid5(_EXAMPLES, f"trace {service}.{event}").hex
    span = uuid.uuid5(_EXAMPLES, f"span {service}.{event}").hex[:16]
    correlation = str(uuid.uuid5(_EXAMPLES, f"correlation {service}.{event}"))
    return {
        MSG_ID_HEADER: f"{service}:{position}",
        EXPECTED_LAST_HEADER: f"{service}:{position - 1}",
        "ce-specversion": SPEC_VERSION,
        "ce-id": f"{service}:{position}",
        "ce-source": f"/revmentor/{service}",
        "ce-type": event_type(service, event),
        "ce-time": "2025-03-06T14:30:05.123456Z",
        "ce-subject": example_id("programme_id"),
        "ce-sequence": str(position),
        "ce-actor": f"service:{service}",
        "ce-correlationid": correlation,
        "ce-causationid": correlation,
        "content-type": CONTENT_TYPE,
        "traceparent": f"00-{trace}-{span}-01",
    }


# -- headers ---------------------------------------------------------------------------


def headers_schema() -> dict[str, Any]:
    """The CloudEvents binary-mode headers every integration event carries."""
    msg_id = "^[a-z]+:[1-9][0-9]*$"

    def text(description: str, **more: Any) -> dict[str, Any]:
        return {"type": "string", "description": description, **more}

    properties = {
        MSG_ID_HEADER: text(
            "Equals `ce-id`; JetStream drops a re-publication with the same id "
            "inside the stream's duplicate window.",
            pattern=msg_id,
        ),
        EXPECTED_LAST_HEADER: text(
            "The `ce-id` of the previous message on the stream when the relay "
            "published this one (it chains publications so the stream holds no gap or "
            "reordering); absent on the first message a relay sends after it starts.",
            pattern=msg_id,
        ),
        "ce-specversion": text("CloudEvents version.", const=SPEC_VERSION),
        "ce-id": text(
            "`<service>:<notification id>`: unique per event, stable across "
            "re-deliveries; deduplicate on it.",
            pattern=msg_id,
        ),
        "ce-source": text("`/revmentor/<service>`.", pattern="^/revmentor/[a-z]+$"),
        "ce-type": text(
            "`revmentor.<service>.v1.<EventName>`.",
            pattern=r"^revmentor\.[a-z]+\.v1\.[A-Z][A-Za-z0-9]*$",
        ),
        "ce-time": text("When the event happened (RFC 3339, UTC).", format="date-time"),
        "ce-subject": text(
            "The routing key, the last token of the subject: the programme id "
            "(`_` for an event without one)."
        ),
        "ce-sequence": text(
            "The notification id in the service's log: increases along the stream, "
            "with gaps where events stay private.",
            pattern="^[1-9][0-9]*$",
        ),
        "ce-actor": text(
            "Who caused the event: the authenticated caller's subject (an opaque id "
            "from the identity provider), `service:<name>` for a service or a consumer, "
            "`system` for scheduled work."
        ),
        "ce-correlationid": text("The id shared by every event of one business flow."),
        "ce-causationid": text(
            "The id of what caused this event: the request, or the `ce-id` of the "
            "upstream event a consumer applied."
        ),
        "content-type": text("The data is JSON.", const=CONTENT_TYPE),
        "traceparent": text(
            "W3C trace context of the publication (may be empty).", pattern=_TRACEPARENT
        ),
    }
    required = [
        MSG_ID_HEADER,
        "ce-specversion",
        "ce-id",
        "ce-source",
        "ce-type",
        "ce-time",
        "ce-subject",
        "ce-sequence",
        "ce-actor",
        "ce-correlationid",
        "ce-causationid",
        "content-type",
    ]
    return {
        "title": HEADERS_SCHEMA,
        "type": "object",
        "description": "CloudEvents 1.0 in binary mode: the attributes travel as NATS headers.",
        "properties": properties,
        "required": sorted(required),
    }


def _message_headers(service: str, event: str) -> dict[str, Any]:
    msg_id = f"^{service}:[1-9][0-9]*$"
    return {
        "type": "object",
        "allOf": [
            {"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"},
            {
                "type": "object",
                "properties": {
                    MSG_ID_HEADER: {"type": "string", "pattern": msg_id},
                    "ce-id": {"type": "string", "pattern": msg_id},
                    "ce-source": {"type": "string", "const": f"/revmentor/{service}"},
                    "ce-type": {"type": "string", "const": event_type(service, event)},
                },
            },
        ],
    }


# -- the document ------------------------------------------------------------------


@contextmanager
def _default_environment(names: Sequence[str]) -> Iterator[None]:
    """Hide ``names`` from the environment, so settings take their defaults."""
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def _title(name: str) -> str:
    words = re.findall(r"[A-Z][a-z0-9]*", name)
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def _seconds(value: float | None) -> str:
    if not value:
        return "unlimited"
    return f"{value:g} s"


def _data_classes(comments: ProtoComments) -> str:
    enum = options_pb2.DataClass.DESCRIPTOR
    return "\n".join(
        f"- `{v.name}`: {comments.leading.get(f'{enum.full_name}.{v.name}', '')}"
        for v in enum.values
        if v.number != options_pb2.DATA_CLASS_UNSPECIFIED
    )


def _info_description(
    events: Mapping[str, Mapping[str, list[str]]], comments: ProtoComments
) -> str:
    with _default_environment(STREAM_ENVIRONMENT):
        configs = {service: service_stream_config(service) for service in events}
        dlq = dlq_stream_config()
        audit = audit_stream_config()
    rows = "\n".join(
        f"| `{c.name}` | `{', '.join(c.subjects or [])}` | {len(events[s])} | the {s} relay |"
        for s, c in configs.items()
    )
    any_config = next(iter(configs.values()))
    retention = getattr(any_config.retention, "value", any_config.retention)
    storage = getattr(any_config.storage, "value", any_config.storage)
    discard = getattr(any_config.discard, "value", any_config.discard)
    example_subject = subject("enrolment", "ParticipantEnrolled", "<programme id>")
    return _paragraphs(f"""\
The integration events of revmentor's services, for systems that read them
(HRIS, analytics, calendars, chat tools). Generated by `python -m
revmentor.kernel.catalogue` from the code that publishes the events; do not
edit by hand.

## Streams

Every event is a NATS JetStream message. Each service writes one stream (its
relay is the only writer), revmentor's consumers share one dead-letter
stream, and the services' signed audit checkpoints have a stream of their own:

| stream | subjects | events | written by |
| --- | --- | --- | --- |
{rows}
| `{dlq.name}` | `{", ".join(dlq.subjects or [])}` | - | consumers giving up on a message |
| `{audit.name}` | `{", ".join(audit.subjects or [])}` | - | each service's audit checkpoint job |

**Retention.** Storage `{storage}`, retention `{retention}` (reading does not
remove a message), discard `{discard}`, maximum age
{_seconds(any_config.max_age)} by default (`NATS_STREAM_MAX_AGE_SECONDS`), so a
programme can be replayed from its beginning; replicas: {any_config.num_replicas}
by default (`NATS_STREAM_REPLICAS`).

## Subjects

`revmentor.<service>.v1.<EventName>.<programme id>`, e.g.
`{example_subject}`. Filter by event
(`revmentor.enrolment.v1.ParticipantEnrolled.*`), by programme
(`revmentor.enrolment.v1.*.<programme id>`), or take a whole stream
(`revmentor.enrolment.>`). Each channel below is one (service, event) pair;
its `{{{PARAMETER}}}` parameter is the programme id, also in the `ce-subject` header.

## Messages

CloudEvents 1.0 in binary mode: the attributes are NATS headers (`ce-id`,
`ce-type`, `ce-time`, ...; see `{HEADERS_SCHEMA}`) and the data is the proto3 JSON
mapping of the message of the same name in `proto/revmentor/events/v1/`:
lowerCamelCase field names, 64-bit integers as strings, fields at their default
value (empty string, 0, false, empty list) omitted - so no field is required.
Fields may be added within v1: ignore unknown fields (`ParseDict(...,
ignore_unknown_fields=True)`). A breaking change would be a new version (`v2`) on
new subjects.

Events carry opaque ids and business facts only, never personal data: every
field says which in `x-revmentor-data-class` (`revmentor.options.v1.data_class`
in the proto), and a field classified personal cannot be published:

{_data_classes(comments)}

Fetch personal attributes over the services' gRPC APIs where you are allowed to.

## Delivery guarantees

**Deduplication.** `Nats-Msg-Id` equals `ce-id` (`<service>:<notification
id>`): JetStream drops a re-publication of the same event inside the
duplicate window ({_seconds(any_config.duplicate_window)} by default,
`NATS_DUPLICATE_WINDOW_SECONDS`), and a relay restarting after a crash adopts
the stream's position instead of re-sending. Your consumer may still see a message
again (no ack in time): make it idempotent on `ce-id`.

**Ordering.** Within one stream, messages are in the order of the service's
log, without gaps or reorderings (each publication expects the previous
`ce-id`); `ce-sequence` (the notification id) increases along the stream but
skips the events that stay private. There is no order across streams: an
event may arrive before the other service's event that caused it, so correlate
by ids (and `ce-causationid`), not by arrival.

**Dead letters.** `{DLQ_STREAM}` (`{DLQ_SUBJECT_PREFIX}.<consumer>.<upstream>`)
holds the messages one of revmentor's own consumers gave up on, with the
original headers (minus `Nats-*`) and data plus `{consumer.ERROR_HEADER}`,
`{consumer.DELIVERIES_HEADER}`, `{consumer.CONSUMER_HEADER}`,
`{consumer.SUBJECT_HEADER}` and `{consumer.STREAM_SEQUENCE_HEADER}`. It is for
operators; the events themselves stay on their stream.

**Audit checkpoints.** `{AUDIT_STREAM}` (`{AUDIT_SUBJECT_PREFIX}.<service>`) holds
no events: each message is a JSON document (not a CloudEvent), `service`,
`position`, `hash`, `at`, `key_id`, `public_key` and an Ed25519 `signature`,
stating that the service's hash chain over its stored events is `hash` at
notification id `position`. The stream refuses purges and message deletions. It
is for auditors (verification recomputes the chain) and no channel below covers
it: whatever reads `revmentor.>` as a whole should skip subjects under
`{AUDIT_SUBJECT_PREFIX}.` (and `{DLQ_SUBJECT_PREFIX}.`).

## Consuming

Connect as the read-only `{INTEGRATOR}` user (server `{SERVER}`) and read through a
JetStream pull consumer with the durable name `{INTEGRATOR}` on the stream you
need, with a filter subject taken from a channel address (`{{{PARAMETER}}}` as
`*` or a programme id), explicit acks and, to replay from the start, deliver
policy `all`. Operations below are therefore all `receive`.
""")


def _server_description() -> str:
    subjects = "\n".join(f"- `{s}`" for s in integrator_publish((INTEGRATOR,)))
    return _paragraphs(f"""\
NATS with JetStream (`revmentor up` locally; `deploy/nats/secure.conf` in
production). Integrators connect as the user `{INTEGRATOR}` (password from
`{password_variable(INTEGRATOR)}` on the server; `revmentor up --secure` writes it
to `var/nats-credentials.json`) with the inbox prefix `{inbox_prefix(INTEGRATOR)}`
(`NATS_INBOX_PREFIX`): pulled messages and API replies arrive only there. The
user is read-only: it may publish nothing on `revmentor.>` and manage no stream;
it may use only these JetStream API subjects (its own durables, named
`{INTEGRATOR}`, on any stream):

{subjects}
""")


def build_document(proto_root: Path = PROTO_ROOT) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of every integration event, as a dict."""
    comments = load_comments(proto_root)
    builder = SchemaBuilder(comments)
    events = {service: published_events(service) for service in SERVICES}
    owner: dict[str, str] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    tags: dict[str, Any] = {}
    for service, published in events.items():
        module = events_module(service)
        stream = stream_name(service)
        tags[service] = {
            "name": service,
            "description": _paragraphs(
                f"Events of the {service} service, on the stream `{stream}`.",
                comments.files.get(module.DESCRIPTOR.name, ""),
            ),
        }
        for event, domain_events in published.items():
            if event in owner:
                raise CatalogueError(f"{event} is published by {owner[event]} and {service}")
            owner[event] = service
            descriptor = module.DESCRIPTOR.message_types_by_name[event]
            payload = builder.message(descriptor)
            channel_id = f"{service}.{event}"
            causes = ", ".join(f"`{d}`" for d in domain_events)
            comment = comments.leading.get(descriptor.full_name, "")
            summary = comment.split(". ")[0].rstrip(".") + "." if comment else ""
            messages[event] = {
                "name": event,
                "title": _title(event),
                "summary": summary or f"{_title(event)} (the {service} service).",
                "description": _paragraphs(
                    comment,
                    f"CloudEvents type `{event_type(service, event)}`, published by the "
                    f"{service} service on the stream `{stream}` when it records the domain "
                    f"event(s) {causes}. Data: the proto3 JSON of "
                    f"`{descriptor.full_name}`.",
                ),
                "contentType": CONTENT_TYPE,
                "headers": _message_headers(service, event),
                "payload": payload,
                "correlationId": {"$ref": f"#/components/correlationIds/{CORRELATION}"},
                "tags": [{"$ref": f"#/components/tags/{service}"}],
                "examples": [
                    {
                        "name": f"{event}Example",
                        "summary": f"A {_title(event).lower()} event as the relay publishes it.",
                        "headers": example_headers(service, event),
                        "payload": example_payload(descriptor, comments),
                    }
                ],
            }
            address = subject(service, event, f"{{{PARAMETER}}}")
            channels[channel_id] = {
                "address": address,
                "title": f"{service}: {_title(event).lower()}",
                "description": _paragraphs(
                    f"Stream `{stream}`. Filter subject for one programme: the address "
                    f"with its id; for every programme: `{subject(service, event, '*')}`."
                ),
                "messages": {event: {"$ref": f"#/components/messages/{event}"}},
                "parameters": {PARAMETER: {"$ref": f"#/components/parameters/{PARAMETER}"}},
                "servers": [{"$ref": f"#/servers/{SERVER}"}],
                "tags": [{"$ref": f"#/components/tags/{service}"}],
            }
            operations[f"receive{event}"] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{channel_id}"},
                "messages": [{"$ref": f"#/channels/{channel_id}/messages/{event}"}],
                "summary": f"Receive {event} from the stream {stream}.",
                "tags": [{"$ref": f"#/components/tags/{service}"}],
            }
    schemas = {HEADERS_SCHEMA: headers_schema(), **builder.schemas}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:revmentor:integration-events:v1",
        "defaultContentType": CONTENT_TYPE,
        "info": {
            "title": "revmentor integration events",
            "version": CATALOGUE_VERSION,
            "description": _info_description(events, comments),
            "license": {
                "name": "Apache-2.0",
                "url": "https://www.apache.org/licenses/LICENSE-2.0",
            },
            "tags": [{"$ref": f"#/components/tags/{s}"} for s in events],
        },
        "servers": {
            SERVER: {
                "host": SERVER_HOST,
                "protocol": "nats",
                "title": "NATS JetStream (local default)",
                "description": _server_description(),
                "security": [{"$ref": f"#/components/securitySchemes/{SECURITY_SCHEME}"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "messages": dict(sorted(messages.items())),
            "parameters": {
                PARAMETER: {
                    "description": "The programme id (a UUID), the last token of the subject.",
                    "examples": [example_id("programme_id")],
                    "location": "$message.header#/ce-subject",
                }
            },
            "correlationIds": {
                CORRELATION: {
                    "description": "Shared by every event of one business flow, across services.",
                    "location": "$message.header#/ce-correlationid",
                }
            },
            "securitySchemes": {
                SECURITY_SCHEME: {
                    "type": "userPassword",
                    "description": (
                        f"The read-only NATS user `{INTEGRATOR}`; its password is "
                        f"`{password_variable(INTEGRATOR)}` on the server."
                    ),
                }
            },
            "tags": tags,
        },
    }


# -- output ---------------------------------------------------------------------------


def render(document: Mapping[str, Any]) -> str:
    """YAML with sorted keys, no aliases, multi-line strings as literal blocks."""
    import yaml  # a dev dependency: only regenerating the file needs it

    class Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    def text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    header = (
        "# GENERATED by `python -m revmentor.kernel.catalogue` from the code and protos;\n"
        "# tests/kernel/test_event_catalogue.py fails when it is out of date.\n"
    )
    body = yaml.dump(
        dict(document),
        Dumper=Dumper,
        sort_keys=True,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
    return header + body


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m revmentor.kernel.catalogue",
        description="Write the AsyncAPI catalogue of integration events (docs/asyncapi.yaml).",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    text = render(build_document())
    output: Path = arguments.output
    if arguments.check:
        current = output.read_text(encoding="utf-8") if output.exists() else ""
        if current != text:
            print(
                f"{output} is out of date: run `python -m revmentor.kernel.catalogue`",
                file=sys.stderr,
            )
            return 1
        return 0
    output.write_text(text, encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
