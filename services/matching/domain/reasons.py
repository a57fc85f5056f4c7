"""Why nobody fits an unmatched mentee, aggregated per constraint.

A list of every excluded pair would be unreadable for a programme manager;
instead each constraint reports how many certified mentors it rules out, with
a sentence such as "no certified mentor shares a language with e3" when it
rules out all of them. Only participant ids appear in the sentences.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from revmentor.matching.domain import constraints as c
from revmentor.matching.domain.candidates import MenteeCandidate, MentorCandidate


@dataclass(frozen=True)
class Unmatched:
    """An unmatched mentee, the sentences explaining it, and per constraint
    code the number of mentors it excluded (for queries and dashboards)."""

    mentee_id: str
    reasons: tuple[str, ...]
    excluded_by: tuple[tuple[str, int], ...] = ()


def _sentences(code: str, e: str, k: int, n: int, ctx: c.PairContext) -> tuple[str, str]:
    """(sentence when all n certified mentors fail, sentence when k of n fail)."""
    rules = ctx.rules
    some = f"{k} of {n} certified mentors"
    table = {
        c.AGE_GAP: (
            f"no certified mentor is at least {rules.min_age_gap_years} years younger than {e}",
            f"{some} are less than {rules.min_age_gap_years} years younger than {e}",
        ),
        c.SAME_DEPARTMENT: (
            f"every certified mentor is in {e}'s department (not allowed in this programme)",
            f"{some} are in {e}'s department (not allowed in this programme)",
        ),
        c.LANGUAGE: (
            f"no certified mentor shares a language with {e}",
            f"{some} share no language with {e}",
        ),
        c.MEETING_MODE: (
            f"no certified mentor can meet {e} in a compatible way"
            " (in person only at the same site)",
            f"{some} cannot meet {e} in a compatible way",
        ),
        c.DECLINED: (
            f"every certified mentor was already proposed to {e} and declined",
            f"{some} were already proposed to {e} and declined",
        ),
        c.REPORTING_LINE: (
            f"every certified mentor is in {e}'s reporting line",
            f"{some} are in {e}'s reporting line",
        ),
        c.AVAILABILITY: (
            f"no certified mentor shares {rules.min_weekly_overlap_minutes} min"
            f" of weekly availability with {e}",
            f"{some} share less than {rules.min_weekly_overlap_minutes} min"
            f" of weekly availability with {e}",
        ),
    }
    return table[code]


#: Mentor ids named in a sentence at most: a round's record stays small however
#: many mentors fit (the count is in ``excluded_by``).
NAMED_AT_MOST = 3


def _some(ids: Sequence[str]) -> str:
    ordered = sorted(ids)
    shown = ", ".join(ordered[:NAMED_AT_MOST])
    more = len(ordered) - NAMED_AT_MOST
    return f"{shown} and {more} more" if more > 0 else shown


def explain_unmatched(
    mentee: MenteeCandidate,
    mentors: Sequence[MentorCandidate],
    feasible_mentor_ids: Sequence[str],
    ctx: c.PairContext,
) -> Unmatched:
    """Reasons for one unmatched mentee, checking every pair (reference path).

    ``feasible_mentor_ids`` are the mentors passing every per-pair constraint:
    if there are any, capacity was the only blocker.
    """
    mentor_counts: Counter[str] = Counter()
    eligible = []
    for mentor in mentors:
        outcome = c.mentor_eligibility(mentor)
        if isinstance(outcome, c.Exclusion):
            mentor_counts[outcome.code] += 1
        else:
            eligible.append(mentor)

    def pair_counts() -> Counter[str]:
        counts: Counter[str] = Counter()
        for mentor in eligible:
            for exclusion in c.all_exclusions(mentee, mentor, ctx):
                counts[exclusion.code] += 1
        return counts

    return explain_from_counts(
        mentee, len(mentors), feasible_mentor_ids, mentor_counts, len(eligible), pair_counts, ctx
    )


def explain_from_counts(
    mentee: MenteeCandidate,
    n_mentors: int,
    feasible_mentor_ids: Sequence[str],
    mentor_counts: Mapping[str, int],
    n_eligible: int,
    pair_counts: Callable[[], Mapping[str, int]],
    ctx: c.PairContext,
) -> Unmatched:
    """The sentences from aggregate counts, however they were computed.

    ``mentor_counts``: ineligible mentors per code; ``pair_counts`` (called
    only when needed): per pair-check code, how many of the ``n_eligible``
    eligible mentors it excludes (codes with zero omitted). Shared by the
    per-pair reference and the vectorised path so the wording cannot drift.
    """
    e = mentee.participant_id
    own = c.mentee_eligibility(mentee)
    if isinstance(own, c.Exclusion):
        return Unmatched(e, (own.explanation,), ((own.code, n_mentors),))
    if feasible_mentor_ids:
        return Unmatched(
            e,
            (
                f"every mentor who passes all constraints for {e} "
                f"({_some(feasible_mentor_ids)}) is already at capacity",
            ),
            ((c.CAPACITY, len(feasible_mentor_ids)),),
        )
    counts: Counter[str] = Counter(mentor_counts)
    if not n_eligible:
        detail = ", ".join(f"{code}: {counts[code]}" for code in sorted(counts))
        reason = f"no certified active mentor in the programme for {e}"
        return Unmatched(
            e, (f"{reason} ({detail})" if detail else reason,), tuple(sorted(counts.items()))
        )
    counts.update(pair_counts())
    n = n_eligible
    every: list[tuple[int, str]] = []
    partial: list[tuple[int, str]] = []
    for code, _ in c.PAIR_CHECKS:
        k = counts.get(code, 0)
        if k:
            none_sentence, some_sentence = _sentences(code, e, k, n, ctx)
            (every if k == n else partial).append((-k, some_sentence if k < n else none_sentence))
    reasons = [s for _, s in every]
    if not every:
        reasons.append(f"every certified mentor fails at least one constraint for {e}")
    reasons += [s for _, s in sorted(partial, key=lambda item: item[0])]
    return Unmatched(e, tuple(reasons), tuple(sorted(counts.items())))
