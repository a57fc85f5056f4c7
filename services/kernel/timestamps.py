"""Instants as the services write them: RFC 3339 in UTC with a Z, to the second.

One format everywhere (stored events, integration events, APIs), so stamps
compare correctly as strings and read the same in every service's history.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def stamp(instant: datetime) -> str:
    """RFC 3339 UTC with a Z, to the second."""
    return instant.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse(text: str) -> datetime:
    """A stamp (or any RFC 3339 time with an offset) as an aware UTC datetime.

    Raises ValueError for anything else: callers name the field in their own error.
    """
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError(f"{text!r} carries no UTC offset")
    return value.astimezone(UTC)


def instant(moment: datetime) -> str:
    """RFC 3339 UTC with a Z, to the microsecond (always six digits): exact
    instants for replays, saves and point-in-time questions."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch (exact integer arithmetic, no float)."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)
