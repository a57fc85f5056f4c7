"""Wall-clock times in IANA zones <-> UTC, with daylight saving done right.

A session is booked as "10:00 in Europe/Paris on 2027-03-29": the UTC instant
is computed with the offset in force *on that date*, so a weekly 10:00 Paris
session stays 10:00 Paris across the March and October switches. A local time
that does not exist (clocks jump forward) is refused with its own message; an
ambiguous one (clocks fall back) means its first occurrence, as calendar
programs do.
"""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

from revmentor.kernel.errors import FieldViolation, ValidationFailed
from revmentor.kernel.timestamps import stamp as stamp  # re-exported: one format everywhere

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"


#: Years a session may fall in: far enough for any programme, and inside what
#: date arithmetic in every zone can represent.
YEARS = (2000, 2100)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - {"Factory", "posixrules", "localtime"}


def zone(name: str, field: str = "time_zone") -> ZoneInfo:
    """An IANA zone by its canonical or link name; nothing else (no file paths)."""
    if name not in _zones():
        raise ValidationFailed(
            [FieldViolation(field, "must be an IANA time zone, e.g. Europe/Paris")]
        )
    return ZoneInfo(name)


def parse_local(text: str, field: str = "local_start") -> datetime:
    """A naive wall-clock time from ``YYYY-MM-DDTHH:MM``."""
    try:
        value = datetime.strptime(text, LOCAL_FORMAT)
    except (TypeError, ValueError):
        raise ValidationFailed(
            [FieldViolation(field, "must be a local time YYYY-MM-DDTHH:MM, e.g. 2027-03-29T10:00")]
        ) from None
    _require_years(value, field)
    return value


def _require_years(value: datetime, field: str) -> None:
    low, high = YEARS
    if not low <= value.year <= high:
        raise ValidationFailed([FieldViolation(field, f"must be in the years {low}-{high}")])


class NonexistentLocalTime(ValidationFailed):
    """The wall-clock time is skipped by a daylight-saving switch in that zone."""


def to_utc(local: datetime, tz: ZoneInfo, field: str = "local_start") -> datetime:
    """The UTC instant of a naive wall-clock time in ``tz``.

    Nonexistent times (the hour skipped in spring) are refused; ambiguous ones
    (the hour repeated in autumn) are taken as their first occurrence (fold=0).
    """
    aware = local.replace(tzinfo=tz, fold=0)
    instant = aware.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != local:
        raise NonexistentLocalTime(
            [
                FieldViolation(
                    field,
                    f"{local.strftime(LOCAL_FORMAT)} does not exist in {tz.key}: the clocks "
                    "jump forward at that time (daylight saving); choose another time",
                )
            ]
        )
    return instant


def local_text(instant: datetime, tz: ZoneInfo) -> str:
    return instant.astimezone(tz).strftime(LOCAL_FORMAT)


def parse_stamp(text: str, field: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except (TypeError, ValueError):
        raise ValidationFailed(
            [FieldViolation(field, "must be an RFC 3339 time, e.g. 2027-03-29T08:00:00Z")]
        ) from None
    if value.tzinfo is None:
        raise ValidationFailed([FieldViolation(field, "must carry a UTC offset or Z")])
    _require_years(value, field)
    return value.astimezone(UTC)


def days(start: date, end: date) -> list[date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]
