"""Ids as clients send them: strings that must be UUIDs."""

from __future__ import annotations

from uuid import UUID

from revmentor.kernel.errors import FieldViolation, ValidationFailed, shown


def parse_id(field: str, value: str) -> UUID:
    """The UUID in ``value``, or INVALID_ARGUMENT naming ``field``."""
    try:
        return UUID(value)
    except (ValueError, TypeError, AttributeError):
        got = shown(value) if value else "nothing"
        raise ValidationFailed([FieldViolation(field, f"must be a UUID (got {got})")]) from None
