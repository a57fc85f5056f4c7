"""Integration events never carry personal data: every field says what it is.

Each field of every message in ``proto/revmentor/events`` must be annotated
with ``(revmentor.options.v1.data_class)``, and none may be PERSONAL. A field
added without an annotation, or marked personal, fails the build here.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor

import revmentor.events.v1 as events_package
from revmentor.options.v1 import options_pb2

#: Field names that would suggest personal data even if mis-annotated.
SUSPICIOUS = (
    "name",
    "email",
    "employee",
    "birth",
    "manager",
    "phone",
    "address",
    "note",
    "comment",
    "text",
    "site",
    "department",
    "time_zone",
    "language",
)


#: Reviewed exceptions to the name check, each with the reason it is not personal.
REVIEWED = {
    "revmentor.events.v1.ProgrammeRulesFacts.same_department_allowed": "a programme rule",
}


def event_modules() -> list[object]:
    return [
        importlib.import_module(f"{events_package.__name__}.{m.name}")
        for m in pkgutil.iter_modules(events_package.__path__)
        if m.name.endswith("_pb2")
    ]


def fields(descriptor: Descriptor) -> Iterator[tuple[str, FieldDescriptor]]:
    for field in descriptor.fields:
        yield f"{descriptor.full_name}.{field.name}", field
    for nested in descriptor.nested_types:
        yield from fields(nested)


def all_event_fields() -> list[tuple[str, FieldDescriptor]]:
    found = []
    for module in event_modules():
        for message in module.DESCRIPTOR.message_types_by_name.values():  # type: ignore[attr-defined]
            found += list(fields(message))
    return found


def test_there_are_event_schemas_to_check() -> None:
    assert len(all_event_fields()) > 20


@pytest.mark.parametrize("name,field", all_event_fields(), ids=lambda v: getattr(v, "name", v))
def test_every_event_field_is_classified_and_not_personal(
    name: str, field: FieldDescriptor
) -> None:
    data_class = field.GetOptions().Extensions[options_pb2.data_class]
    assert data_class != options_pb2.DATA_CLASS_UNSPECIFIED, (
        f"{name} has no (revmentor.options.v1.data_class) annotation"
    )
    assert data_class != options_pb2.DATA_CLASS_PERSONAL, f"{name} carries personal data"
    if field.name.endswith("_id"):
        assert data_class == options_pb2.DATA_CLASS_OPAQUE_ID, f"{name} should be an opaque id"


@pytest.mark.parametrize("name,field", all_event_fields(), ids=lambda v: getattr(v, "name", v))
def test_no_event_field_is_named_like_personal_data(name: str, field: FieldDescriptor) -> None:
    if name in REVIEWED:
        return
    words = field.name.split("_")
    assert not any(word in SUSPICIOUS for word in words), f"{name}: review it, then list it"
    assert "time_zone" not in field.name, name
