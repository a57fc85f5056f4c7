"""Free slots for a pair: where both members' weekly availability overlaps,
away from everything either of them is booked into, within the programme's
dates and the pair's minimum gap.

Availability windows are local wall-clock times in each member's own zone;
they are turned into UTC per calendar date (not once per week), so a window
keeps its local hours across daylight-saving switches. Candidates start on a
15-minute grid at the start of each shared stretch; one slot per day at most,
so the suggestions spread over several days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from revmentor.scheduling.domain.times import NonexistentLocalTime, to_utc

GRID = timedelta(minutes=15)
#: How far ahead to look when the programme's end date is unknown.
HORIZON_DAYS = 120

Interval = tuple[datetime, datetime]


@dataclass(frozen=True)
class Window:
    """A weekly window: ISO weekday 1-7, local "HH:MM" start and end."""

    weekday: int
    start: str
    end: str


def _minutes(text: str) -> int:
    hours, _, minutes = text.partition(":")
    return int(hours) * 60 + int(minutes)


def windows_on(day: date, windows: Sequence[Window], tz: ZoneInfo) -> list[Interval]:
    """The UTC intervals of a person's windows on one local date (DST-correct).

    A window ending at or before its start runs past local midnight. Local
    times skipped by a DST switch are moved to the first valid minute.
    """
    out = []
    for w in windows:
        if w.weekday != day.isoweekday():
            continue
        start, end = _minutes(w.start), _minutes(w.end)
        length = (end - start) % (24 * 60) or 24 * 60
        local = datetime.combine(day, datetime.min.time()) + timedelta(minutes=start)
        out.append((_utc(local, tz), _utc(local + timedelta(minutes=length), tz)))
    return out


def _utc(local: datetime, tz: ZoneInfo) -> datetime:
    for shift in range(0, 121):
        try:
            return to_utc(local + timedelta(minutes=shift), tz)
        except NonexistentLocalTime:
            continue
    raise ValueError(f"no valid local time near {local} in {tz.key}")  # pragma: no cover


def _intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    out = []
    for s1, e1 in a:
        for s2, e2 in b:
            start, end = max(s1, s2), min(e1, e2)
            if start < end:
                out.append((start, end))
    return sorted(out)


def _subtract(free: list[Interval], busy: Sequence[Interval]) -> list[Interval]:
    for b_start, b_end in busy:
        next_free = []
        for start, end in free:
            if b_end <= start or end <= b_start:
                next_free.append((start, end))
                continue
            if start < b_start:
                next_free.append((start, b_start))
            if b_end < end:
                next_free.append((b_end, end))
        free = next_free
    return free


def _ceil(moment: datetime) -> datetime:
    epoch = datetime(2000, 1, 1, tzinfo=moment.tzinfo)
    steps = -(-(moment - epoch) // GRID)
    return epoch + steps * GRID


def suggest(
    mentee: tuple[Sequence[Window], ZoneInfo],
    mentor: tuple[Sequence[Window], ZoneInfo],
    busy: Sequence[Interval],
    pair_sessions: Sequence[Interval],
    duration: timedelta,
    min_gap: timedelta,
    not_before: datetime,
    last_day: date | None,
    count: int,
) -> list[Interval]:
    """Up to ``count`` free slots of ``duration``, earliest first, one per day.

    ``busy``: every booked interval of either member; ``pair_sessions``: the
    pair's own sessions, which also keep ``min_gap`` around them.
    """
    blocked = list(busy) + [(s - min_gap, e + min_gap) for s, e in pair_sessions]
    first_day = not_before.astimezone(mentee[1]).date() - timedelta(days=1)
    end_day = last_day or first_day + timedelta(days=HORIZON_DAYS)
    found: list[Interval] = []
    day = first_day
    seen_days: set[date] = set()
    while day <= end_day and len(found) < count:
        # The mentor's local dates around the mentee's: zones apart, a Monday
        # evening in Montreal is a Tuesday night in Paris.
        theirs = [w for d in (-1, 0, 1) for w in windows_on(day + timedelta(days=d), *mentor)]
        shared = _intersect(windows_on(day, *mentee), theirs)
        for start, end in _subtract(shared, sorted(blocked)):
            begin = _ceil(max(start, not_before + timedelta(minutes=1)))  # strictly ahead
            local_day = begin.astimezone(mentee[1]).date()
            if begin + duration > end or local_day in seen_days:
                continue
            if last_day is not None and local_day > last_day:
                continue
            found.append((begin, begin + duration))
            seen_days.add(local_day)
            break
        day += timedelta(days=1)
    return sorted(found)[:count]
