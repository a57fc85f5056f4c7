"""A cohort as numpy columns, built once per round for the vectorised path.

Comparing every mentee with every mentor one pair at a time in Python does not
scale (10,000 x 5,000 is 50M pairs). Encoding each person once as small
integer codes, language bitmasks and a per-minute availability bitmap lets the
cheap hard constraints and the score run as array operations on whole blocks
of pairs. Only the sparse, tree-shaped constraints (reporting line, declined
pairs) are resolved by walking the data, and they yield index pairs to mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.availability import (
    BITMAP_WORDS,
    Float32Array,
    minute_bitmap,
    segment_cover,
    utc_intervals,
)
from revmentor.matching.domain.candidates import (
    MEETING_PREFERENCES,
    MenteeCandidate,
    MentorCandidate,
    Window,
)
from revmentor.matching.domain.scoring import PRIORITY_WEIGHT

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
FloatArray = npt.NDArray[np.float64]
WordArray = npt.NDArray[np.uint64]
Person = MenteeCandidate | MentorCandidate


@dataclass(frozen=True)
class People:
    """Per-person columns of one side; codes are shared by both sides."""

    birth_year: IntArray
    department: IntArray
    site: IntArray
    preference: IntArray  # index into MEETING_PREFERENCES
    languages: WordArray  # (n, words): bit k set = speaks language k
    profile: IntArray  # row of ``Cohort.bitmaps``: same windows and zone, same row


@dataclass(frozen=True)
class Cohort:
    """Everything the vectorised feasibility and scoring read.

    Mentor columns hold only the eligible (active, certified) mentors, in
    canonical order; ``eligible`` maps them back to the full mentor list.
    ``blocked`` lists (mentee, eligible column) pairs excluded by the sparse
    constraints, per code.
    """

    mentees: People
    mentors: People
    active: BoolArray
    eligible: IntArray
    bitmaps: WordArray
    #: per profile: covered segment lengths, and 0/1 cover (see ``segment_cover``)
    segments: tuple[Float32Array, Float32Array] | None
    blocked: dict[str, tuple[IntArray, IntArray]]
    need_topic: IntArray  # (n_mentees, k): topic index, padding = n_topics
    need_weight: FloatArray  # (n_mentees, k): priority weight, padding = 0.0
    need_total: FloatArray  # per mentee, summed in need order as ``coverage`` does
    mentor_level: IntArray  # (n_eligible, n_topics + 1): best level, 0 = not offered


class _Codes(dict[object, int]):
    """Dense integer codes assigned in first-seen order."""

    def code(self, key: object) -> int:
        return self.setdefault(key, len(self))


def _people(group: Sequence[Person], codes: dict[str, _Codes]) -> People:
    langs = codes["language"]
    bits = [sum(1 << langs.code(x) for x in set(p.languages)) for p in group]
    words = max(1, -(-len(langs) // 64))
    return People(
        birth_year=np.array([p.birth_year for p in group], dtype=np.int64),
        department=np.array([codes["department"].code(p.department) for p in group], np.int64),
        site=np.array([codes["site"].code(p.site) for p in group], dtype=np.int64),
        preference=np.array(
            [MEETING_PREFERENCES.index(p.meeting_preference) for p in group], dtype=np.int64
        ),
        languages=np.array(
            [[(b >> (64 * w)) & (2**64 - 1) for w in range(words)] for b in bits], dtype=np.uint64
        ).reshape(len(group), words),
        profile=np.array(
            [codes["profile"].code((p.availability, p.time_zone)) for p in group], np.int64
        ),
    )


def _availability(
    profiles: _Codes, ctx: c.PairContext
) -> tuple[WordArray, tuple[Float32Array, Float32Array] | None]:
    keys = cast(list[tuple[tuple[Window, ...], str]], list(profiles))
    intervals = [utc_intervals(w, z, ctx.week_of) for w, z in keys]
    rows = [minute_bitmap(i) for i in intervals]
    # the width named: an empty cohort (nobody waiting, no eligible mentor) has no rows
    bitmaps = np.array(rows, dtype=np.uint64).reshape(len(rows), BITMAP_WORDS)
    return bitmaps, segment_cover(intervals)


def _pairs(found: list[tuple[int, int]]) -> tuple[IntArray, IntArray]:
    ordered = sorted(set(found))
    rows = np.array([i for i, _ in ordered], dtype=np.int64)
    cols = np.array([j for _, j in ordered], dtype=np.int64)
    return rows, cols


def _reporting_line(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> list[tuple[int, int]]:
    """Pairs ``check_reporting_line`` excludes: same employee, mentor above the
    mentee, or mentee above the mentor; found by indexing the manager paths
    instead of testing every pair."""
    by_employee: dict[str, list[int]] = {}
    below: dict[str, list[int]] = {}
    for j, m in enumerate(mentors):
        by_employee.setdefault(m.employee_id, []).append(j)
        for boss in ctx.chain.path_up(m.employee_id, m.manager_employee_id):
            below.setdefault(boss, []).append(j)
    found = []
    for i, e in enumerate(mentees):
        up = ctx.chain.path_up(e.employee_id, e.manager_employee_id)
        for employee in (e.employee_id, *up):
            found += [(i, j) for j in by_employee.get(employee, ())]
        found += [(i, j) for j in below.get(e.employee_id, ())]
    return found


def _needs(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate]
) -> tuple[IntArray, FloatArray, FloatArray, IntArray]:
    topics = _Codes()
    for e in mentees:
        for need in e.learning_needs:
            topics.code(need.topic)
    width = max((len(e.learning_needs) for e in mentees), default=0)
    topic = np.full((len(mentees), width), len(topics), dtype=np.int64)
    weight = np.zeros((len(mentees), width), dtype=np.float64)
    total = np.zeros(len(mentees), dtype=np.float64)
    for i, e in enumerate(mentees):
        running = 0.0
        for k, need in enumerate(e.learning_needs):
            topic[i, k] = topics[need.topic]
            weight[i, k] = PRIORITY_WEIGHT[need.priority]
            running += PRIORITY_WEIGHT[need.priority]
        total[i] = running
    level = np.zeros((len(mentors), len(topics) + 1), dtype=np.int64)
    for j, m in enumerate(mentors):
        for skill in m.skills_offered:
            if skill.topic in topics:
                k = topics[skill.topic]
                level[j, k] = max(level[j, k], skill.level)
    return topic, weight, total, level


def encode(
    mentees: Sequence[MenteeCandidate], mentors: Sequence[MentorCandidate], ctx: c.PairContext
) -> Cohort:
    """Columns of a canonically ordered cohort (see ``Cohort``)."""
    eligible = np.array(
        [j for j, m in enumerate(mentors) if not c.mentor_eligibility(m)], dtype=np.int64
    )
    chosen = [mentors[j] for j in eligible.tolist()]
    codes = {k: _Codes() for k in ("department", "site", "language", "profile")}
    for person in (*mentees, *chosen):  # code every language first: same mask width
        for language in person.languages:
            codes["language"].code(language)
    mentee_cols, mentor_cols = _people(mentees, codes), _people(chosen, codes)
    mentee_ids = {e.participant_id: i for i, e in enumerate(mentees)}
    mentor_ids = {m.participant_id: j for j, m in enumerate(chosen)}
    declined = [
        (mentee_ids[a], mentor_ids[b])
        for a, b in ctx.declined
        if a in mentee_ids and b in mentor_ids
    ]
    topic, weight, total, level = _needs(mentees, chosen)
    bitmaps, segments = _availability(codes["profile"], ctx)
    return Cohort(
        mentees=mentee_cols,
        mentors=mentor_cols,
        active=np.array([e.active for e in mentees], dtype=np.bool_),
        eligible=eligible,
        bitmaps=bitmaps,
        segments=segments,
        blocked={
            c.DECLINED: _pairs(declined),
            c.REPORTING_LINE: _pairs(_reporting_line(mentees, chosen, ctx)),
        },
        need_topic=topic,
        need_weight=weight,
        need_total=total,
        mentor_level=level,
    )
