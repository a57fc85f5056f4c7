"""Ids as clients send them: strings that must be UUIDs."""

from __future__ import annotations

from uuid import UUID

from revmentor.kernel.errors import FieldViolation, ValidationFailed


def parse_id(field: str, value: str) -> UUID:
    """The UUID in ``value``, or INVALID_ARGUMENT naming ``field``."""
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        shown = value if value else "empty"
        raise ValidationFailed([FieldViolation(field, f"must be a UUID (got {shown!r})")]) from None
