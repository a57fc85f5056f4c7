"""Domain errors shared by every service, each with one meaning for clients.

The gRPC layer maps each class to exactly one status code (see
``revmentor.kernel.grpc_server``); domain code raises these and never knows
about gRPC.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Longest piece of client input echoed back in an error (gRPC trailers are small).
MAX_ECHO = 40
#: Most violations listed in one error; the rest are counted.
MAX_VIOLATIONS = 50


def shown(value: object) -> str:
    """A client value as an error may quote it: repr, cut to MAX_ECHO characters."""
    text = repr(value)
    return text if len(text) <= MAX_ECHO else text[: MAX_ECHO - 3] + "..."


class DomainError(Exception):
    """Base class: an expected refusal, safe to show to the caller."""


@dataclass(frozen=True)
class FieldViolation:
    """One broken rule on one field, e.g. ``birth_year``: 'must be between ...'."""

    field: str
    description: str


class ValidationFailed(DomainError):
    """The input breaks one or more rules; every violation is listed."""

    def __init__(self, violations: list[FieldViolation]):
        self.violations = list(violations)[:MAX_VIOLATIONS]
        summary = "; ".join(f"{v.field}: {v.description}" for v in self.violations)
        more = len(violations) - len(self.violations)
        if more:
            summary += f"; and {more} more"
        super().__init__(f"invalid input: {summary}")


class NotFound(DomainError):
    """The object does not exist (or the caller may not know that it does)."""


class IllegalTransition(DomainError):
    """The object exists but is in a state where this command is not allowed."""


class AlreadyExists(DomainError):
    """Creating the object would duplicate one that exists."""


class ConcurrencyConflict(DomainError):
    """Another command changed the same object first; retry with fresh state."""


class Violations:
    """Collects violations so a command reports every bad field at once."""

    def __init__(self) -> None:
        self.items: list[FieldViolation] = []

    def add(self, field: str, description: str) -> None:
        self.items.append(FieldViolation(field, description))

    def check(self, ok: bool, field: str, description: str) -> bool:
        """Record a violation unless ``ok``; return ``ok`` for chaining."""
        if not ok:
            self.add(field, description)
        return ok

    def raise_if_any(self) -> None:
        if self.items:
            raise ValidationFailed(self.items)
