"""The rules a session must keep, each refused with its own message.

Input shape (fields, lengths, links) is INVALID_ARGUMENT naming the field;
scheduling rules that depend on the calendar (the past, the programme's dates,
the pair's minimum gap) are FAILED_PRECONDITION with a sentence saying which
rule and what would satisfy it. Double bookings are checked by the diaries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from revmentor.kernel.errors import IllegalTransition, ValidationFailed, Violations
from revmentor.scheduling.domain import times

IN_PERSON = "in_person"
VIRTUAL = "virtual"
MODES = (IN_PERSON, VIRTUAL)
AGENDA_MAX = 2000
LOCATION_MAX = 200
LINK_MAX = 500
REASON_LENGTH = (3, 1000)


@dataclass(frozen=True)
class Slot:
    """A validated booking: the UTC interval and how it was asked for."""

    start: datetime
    end: datetime
    local_start: str
    time_zone: str

    @property
    def minutes(self) -> int:
        return int((self.end - self.start).total_seconds() // 60)


def check_when(
    v: Violations,
    local_start: str,
    time_zone: str,
    duration_minutes: int,
    bounds: tuple[int, int],
) -> Slot | None:
    """Shape of the time fields, each checked on its own so every bad one is
    named; the slot if they are all sound (else None, violations added)."""
    low, high = bounds
    fine = v.check(
        low <= duration_minutes <= high,
        "duration_minutes",
        f"must be {low}-{high} minutes (programme rule)",
    )
    tz = local = None
    try:
        tz = times.zone(time_zone)
    except ValidationFailed as error:
        v.items += error.violations
    try:
        local = times.parse_local(local_start)
    except ValidationFailed as error:
        v.items += error.violations
    if tz is None or local is None:
        return None
    try:
        start = times.to_utc(local, tz)
    except ValidationFailed as error:
        v.items += error.violations
        return None
    if not fine:
        return None
    return Slot(start, start + timedelta(minutes=duration_minutes), local_start, tz.key)


def check_place(v: Violations, mode: str, location: str, meeting_link: str) -> None:
    if not v.check(mode in MODES, "mode", "must be in_person or virtual"):
        return
    if mode == IN_PERSON:
        v.check(bool(location.strip()), "location", "is required for an in-person session")
        v.check(not meeting_link, "meeting_link", "only for a virtual session")
    else:
        v.check(not location, "location", "only for an in-person session")
        parsed = urlparse(meeting_link)
        v.check(
            parsed.scheme == "https" and bool(parsed.netloc) and _plain(meeting_link, False),
            "meeting_link",
            "is required for a virtual session: an https:// URL without spaces",
        )
    v.check(_plain(location, True), "location", "must not contain control characters")
    v.check(len(location) <= LOCATION_MAX, "location", f"must be at most {LOCATION_MAX} characters")
    v.check(len(meeting_link) <= LINK_MAX, "meeting_link", f"must be at most {LINK_MAX} characters")


def _plain(text: str, spaces: bool) -> bool:
    """No control characters (they would break calendar files), no whitespace in links."""
    return all(ch.isprintable() and (spaces or not ch.isspace()) for ch in text)


def check_agenda(v: Violations, agenda: str) -> None:
    v.check(len(agenda) <= AGENDA_MAX, "agenda", f"must be at most {AGENDA_MAX} characters")
    v.check(
        all(ch.isprintable() or ch in "\n\t" for ch in agenda),
        "agenda",
        "must not contain control characters",
    )


def check_reason(v: Violations, reason: str, field: str = "reason") -> None:
    low, high = REASON_LENGTH
    v.check(low <= len(reason.strip()) <= high, field, f"must be {low}-{high} characters")


def require_future(slot: Slot, now: datetime) -> None:
    if slot.start <= now:
        raise IllegalTransition(
            f"the session would start in the past ({times.stamp(slot.start)} <= "
            f"{times.stamp(now)}): choose a later time"
        )


def require_past(slot: Slot, now: datetime) -> None:
    if slot.start > now:
        raise IllegalTransition(
            f"the session starts in the future ({times.stamp(slot.start)}): schedule it instead"
        )


def require_within(slot: Slot, start_date: str, end_date: str) -> None:
    """The session's local dates lie within the programme's dates (when known)."""
    if not start_date or not end_date:
        return
    tz = ZoneInfo(slot.time_zone)
    first = slot.start.astimezone(tz).date()
    last = (slot.end - timedelta(microseconds=1)).astimezone(tz).date()
    if first < date.fromisoformat(start_date) or last > date.fromisoformat(end_date):
        raise IllegalTransition(
            f"the session ({first.isoformat()}) is outside the programme's dates "
            f"{start_date} to {end_date}"
        )


def require_gap(slot: Slot, others: list[tuple[datetime, datetime]], min_gap_days: int) -> None:
    """At least ``min_gap_days`` between this session and any other of the pair."""
    gap = timedelta(days=min_gap_days)
    for start, end in others:
        apart = slot.start - end if slot.start >= end else start - slot.end
        if apart < gap:
            raise IllegalTransition(
                f"the pair already meets {times.stamp(start)}; sessions of one pair must be "
                f"at least {min_gap_days} days apart (programme rule)"
            )
