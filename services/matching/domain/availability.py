"""Weekly availability overlap, computed in UTC.

Each side states windows in local time and an IANA zone. The windows are
placed on one fixed reference week (the ISO week containing ``week_of``) and
converted to UTC minutes since that week's Monday 00:00 UTC, wrapping around
the week. A fixed week makes the result deterministic: the same inputs give
the same overlap whatever day the round runs, DST switches included (the
reference week decides which offset applies).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from revmentor.matching.domain.candidates import Window, parse_minutes

WEEK_MINUTES = 7 * 24 * 60

#: Default reference week: 2024-01-15 is a Monday far from any DST switch in
#: the northern hemisphere, so offsets are the "standard" ones there.
DEFAULT_WEEK_OF = date(2024, 1, 15)

Intervals = tuple[tuple[int, int], ...]


def reference_monday(week_of: date) -> date:
    """Monday of the ISO week containing ``week_of``."""
    return week_of - timedelta(days=week_of.isoweekday() - 1)


@lru_cache(maxsize=65536)
def utc_intervals(
    windows: tuple[Window, ...], time_zone: str, week_of: date = DEFAULT_WEEK_OF
) -> Intervals:
    """The windows as sorted, disjoint [start, end) minutes of the UTC week.

    Cached per (windows, zone, week): a round compares each person with many
    others, and the conversion is the expensive part.
    """
    zone = ZoneInfo(time_zone)
    monday = reference_monday(week_of)
    utc_monday = datetime.combine(monday, time(0), tzinfo=UTC)
    pieces: list[tuple[int, int]] = []
    for window in windows:
        start_min, end_min = parse_minutes(window.start), parse_minutes(window.end)
        length = (end_min - start_min) % (24 * 60) or (0 if start_min == end_min else 24 * 60)
        if length == 0:
            continue
        local_day = monday + timedelta(days=window.weekday - 1)
        local_start = datetime.combine(local_day, time(0), tzinfo=zone) + timedelta(
            minutes=start_min
        )
        # Wall-clock arithmetic then normalise through UTC: a window spanning a
        # DST switch keeps its real (UTC) duration.
        local_end = local_start + timedelta(minutes=length)
        start = _minutes_since(local_start, utc_monday)
        end = _minutes_since(local_end, utc_monday)
        if end <= start:
            continue
        pieces.extend(_wrap(start, end))
    return _union(pieces)


def _minutes_since(moment: datetime, utc_monday: datetime) -> int:
    return int((moment.astimezone(UTC) - utc_monday).total_seconds() // 60)


def _wrap(start: int, end: int) -> list[tuple[int, int]]:
    """Split [start, end) at the week boundaries, folded into [0, WEEK)."""
    out: list[tuple[int, int]] = []
    while start < end:
        base = (start // WEEK_MINUTES) * WEEK_MINUTES
        stop = min(end, base + WEEK_MINUTES)
        out.append((start - base, stop - base))
        start = stop
    return out


def _union(pieces: list[tuple[int, int]]) -> Intervals:
    """Merge overlapping pieces so shared time is never counted twice."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(pieces):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)


def intervals_overlap(a: Intervals, b: Intervals) -> int:
    """Minutes shared by two sorted, disjoint interval lists (two pointers)."""
    i = j = total = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if end > start:
            total += end - start
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return total


def weekly_overlap_minutes(
    windows_a: tuple[Window, ...],
    zone_a: str,
    windows_b: tuple[Window, ...],
    zone_b: str,
    week_of: date = DEFAULT_WEEK_OF,
) -> int:
    """Minutes per week both people are available, compared in UTC."""
    return intervals_overlap(
        utc_intervals(windows_a, zone_a, week_of), utc_intervals(windows_b, zone_b, week_of)
    )


#: 64-bit words of a one-bit-per-minute bitmap of the UTC week.
BITMAP_WORDS = -(-WEEK_MINUTES // 64)


def minute_bitmap(intervals: Intervals) -> npt.NDArray[np.uint64]:
    """The intervals as one bit per minute of the week.

    Minutes, not coarser slots: windows and zone offsets may fall on any minute,
    and the popcount of two bitmaps' AND must equal ``intervals_overlap`` exactly.
    """
    minutes = np.zeros(BITMAP_WORDS * 64, dtype=np.uint8)
    for start, end in intervals:
        minutes[start:end] = 1
    return np.packbits(minutes, bitorder="little").view(np.uint64)


def bitmap_overlap(a: npt.NDArray[np.uint64], b: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    """Shared minutes of row-aligned bitmaps (``a[k]`` with ``b[k]``); broadcasts."""
    return np.bitwise_count(a & b).sum(axis=-1, dtype=np.int64)


#: Above this many elementary segments the segment matrices would outweigh the
#: bitmaps (odd zone offsets and windows on every minute): use the bitmaps.
MAX_SEGMENTS = 1024

Float32Array = npt.NDArray[np.float32]


def segment_cover(profiles: list[Intervals]) -> tuple[Float32Array, Float32Array] | None:
    """Each profile as coverage of the week's elementary segments.

    Cutting the UTC week at every start and end of every profile gives
    segments that each profile covers wholly or not at all, so the overlap of
    two profiles is ``sum(length[s] for s covered by both)``: one row of
    ``weighted`` (lengths where covered) dotted with one row of ``cover``
    (1 where covered). A block of pairs is then one matrix product. Exact in
    float32: every partial sum is an integer below 2**24 (minutes in a week).
    Returns None when there are more than :data:`MAX_SEGMENTS` segments.
    """
    cuts = {0, WEEK_MINUTES}
    for intervals in profiles:
        for start, end in intervals:
            cuts.update((start, end))
    boundaries = np.array(sorted(cuts), dtype=np.int64)
    if len(boundaries) - 1 > MAX_SEGMENTS:
        return None
    lengths = np.diff(boundaries).astype(np.float32)
    cover = np.zeros((len(profiles), len(lengths)), dtype=np.float32)
    for row, intervals in enumerate(profiles):
        for start, end in intervals:
            first, last = np.searchsorted(boundaries, (start, end))
            cover[row, first:last] = 1.0
    return cover * lengths, cover
