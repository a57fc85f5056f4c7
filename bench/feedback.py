"""Feedback benchmark: a generated programme through the feedback application.

A programme of P pairs (``--pairs``, default 1,000 x ``--scale``) on SQLite in
a temporary directory: 2P participants enrolled, P mentors certified, P
matches confirmed (2P baseline surveys asked), P mentorships opened and four
sessions held per pair (4P feedback requests). Ids are derived from counters
and the answers from a seeded generator, so every run does the same work;
about one pair in ten rates its sessions low (flagged at risk on submission).

- Consumption: each upstream fact goes through the application's consumer
  method, as the subscription handler calls it (proto parsing aside), inside
  the request context the consumer opens, after the consumer's "already
  applied?" check (``tracked_position``); what it returns is saved with
  ``record_processed(upstream, position, *objs)``, positions increasing per
  upstream. Against a raw eventsourcing ``Application`` saving as many
  one-field aggregates (one per transaction, SQLite) in the same run; the same
  raw per-save rate is the baseline of the next two figures.
- Member commands: every member submits feedback on every session
  (``submit_feedback``, ratings, topics, a practice for mentees and a
  confidential note, sealed at rest), then both members of every pair answer
  their baseline survey (``submit_survey``).
- Window close job: the clock moves past the due time, the read model is
  caught up (not timed: the job's own catch-up would otherwise be the whole
  log's) and ``close_due_windows(now)`` is timed, per closed window, twice:
  on the 4P answered windows of the sessions above, then on a fresh set (two
  more sessions per pair, held after them) where one mentor in five and one
  mentee in ten never answered - two closed sessions in a row without their
  feedback flag the pair. The table's row is the fresh set.
- Report: the mentorships complete (end surveys asked, then answered; not
  timed) and ``outcomes_report`` is timed on the filled programme (median of
  5, read model caught up first), then ``rebuild_read_model`` (a full replay)
  against a raw read of every notification (``notifications(after, 500)``
  paging, nothing decoded).
- Peak RSS: ``getrusage(RUSAGE_SELF).ru_maxrss`` of this process at the end
  (under ``bench.run``, which runs other benchmarks first, it is the whole
  run's peak).

Run alone with ``python -m bench.feedback [--pairs N | --scale S]``; ``bench.run``
includes it.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from bench.workloads import Note, Raw, sqlite_env
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.ratings import MENTEE, MENTOR, SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.survey import BASELINE, END, survey_key
from revmentor.kernel.application import Saveable
from revmentor.kernel.context import RequestContext, acting_as
from revmentor.kernel.timestamps import stamp

SEED = 20270201
DEFAULT_PAIRS = 1_000
MIN_PAIRS = 20
SESSIONS = 4
FRESH_SESSIONS = 2
REPORT_RUNS = 5
PAGE = 500
#: The clock at the start of consumption (sessions were held in the weeks before).
START = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)
CATALOGUE = ("generative-ai", "social-media", "data-literacy", "cybersecurity", "video-calls")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True)
class PairIds:
    mentee: str
    mentor: str
    match: str
    mentorship: str


def _id(*parts: object) -> str:
    return str(uuid5(NAMESPACE_URL, "revmentor:bench:feedback:" + ":".join(map(str, parts))))


class Upstream:
    """Applies upstream facts the way ``UpstreamSubscription.apply`` does: the
    "already applied?" check, the consumer's request context, the handler's
    application call, and ``record_processed`` with the returned aggregates."""

    def __init__(self, app: FeedbackApplication) -> None:
        self.app = app
        self.positions: dict[str, int] = {}
        self.applied = 0

    def send(self, upstream: str, cause: Callable[[], Sequence[Saveable]]) -> bool:
        position = self.positions.get(upstream, 0) + 1
        self.positions[upstream] = position
        if position <= self.app.tracked_position(upstream):
            return False
        event_id = f"{upstream}:{position}"
        with acting_as(RequestContext(f"service:{self.app.name}", event_id, event_id)):
            done = self.app.record_processed(upstream, position, *cause())
        self.applied += done
        return done


# -- the generated programme -----------------------------------------------------------
class Programme:
    def __init__(self, app: FeedbackApplication, clock: Clock, pairs: int, seed: int) -> None:
        self.app, self.clock, self.rng = app, clock, random.Random(f"{seed}:{pairs}")
        self.upstream = Upstream(app)
        self.programme_id = UUID(_id("programme", seed))
        self.pairs = [
            PairIds(_id("mentee", n), _id("mentor", n), _id("match", n), _id("mentorship", n))
            for n in range(pairs)
        ]
        #: one pair in ten rates its sessions low (flagged at risk on submission)
        self.low = {p.mentorship for p in self.pairs if self.rng.random() < 0.1}
        #: session ids per mentorship, in the order held
        self.sessions: dict[str, list[str]] = {p.mentorship: [] for p in self.pairs}

    # upstream facts ------------------------------------------------------------
    def consume(self) -> int:
        """The programme's facts as the four upstreams deliver them; how many."""
        app, send, pid = self.app, self.upstream.send, self.programme_id
        count = int(send("enrolment", partial(app.record_catalogue, pid, list(CATALOGUE))))
        enrolled = START - timedelta(days=60)
        for n, pair in enumerate(self.pairs):
            at = stamp(enrolled + timedelta(minutes=n))
            for participant, role in ((pair.mentee, MENTEE), (pair.mentor, MENTOR)):
                count += send(
                    "enrolment", partial(app.record_enrolment, pid, participant, role, at)
                )
        certified = stamp(START - timedelta(days=40))
        for pair in self.pairs:
            count += send(
                "training", partial(app.record_certification, pid, pair.mentor, certified)
            )
        for pair in self.pairs:
            members = {MENTEE: pair.mentee, MENTOR: pair.mentor}
            count += send(
                "matching", partial(app.request_surveys, pid, pair.match, members, BASELINE)
            )
        for pair in self.pairs:
            opening = partial(
                app.open_pair, pid, pair.mentorship, pair.match, pair.mentee, pair.mentor
            )
            count += send("scheduling", opening)
        count += self.hold(SESSIONS, START - timedelta(days=7 * SESSIONS))
        return count

    def hold(self, sessions: int, first: datetime) -> int:
        """``sessions`` more sessions per pair, a week apart from ``first``, round by round."""
        count = 0
        for week in range(sessions):
            held_at = first + timedelta(days=7 * week)
            for n, pair in enumerate(self.pairs):
                held = self.sessions[pair.mentorship]
                session_id = _id("session", pair.mentorship, len(held))
                held.append(session_id)
                at = stamp(held_at + timedelta(minutes=n % 480))
                request = partial(
                    self.app.request_feedback,
                    self.programme_id,
                    session_id,
                    pair.mentorship,
                    pair.mentee,
                    pair.mentor,
                    at,
                )
                count += self.upstream.send("scheduling", request)
        return count

    def complete(self) -> int:
        """Every mentorship completes (end surveys asked of both)."""
        return sum(
            self.upstream.send(
                "scheduling", partial(self.app.close_pair, p.mentorship, "completed")
            )
            for p in self.pairs
        )

    # member commands ------------------------------------------------------------
    def answers(self, pair: PairIds, side: str) -> SessionAnswers:
        rng = self.rng
        usefulness = rng.choice((1, 2, 2)) if pair.mentorship in self.low else rng.randint(3, 5)
        topics = tuple(rng.sample(CATALOGUE, rng.randint(1, 2)))
        note = f"{side} note {rng.randrange(10**6)}: " + "x" * rng.randint(20, 200)
        if side == MENTEE:
            return SessionAnswers(
                usefulness=usefulness,
                topics=topics,
                practices=(f"practice {rng.randrange(100)}",),
                confidence=rng.randint(1, 5),
                note=note,
            )
        return SessionAnswers(
            usefulness=usefulness, topics=topics, pedagogy=rng.randint(1, 5), note=note
        )

    def survey(self, side: str) -> SurveyAnswers:
        rng = self.rng
        if side == MENTEE:
            return SurveyAnswers(
                understanding=rng.randint(1, 5),
                recommend=rng.randint(0, 10),
                skills={t: rng.randint(1, 5) for t in CATALOGUE},
            )
        return SurveyAnswers(
            understanding=rng.randint(1, 5),
            recommend=rng.randint(0, 10),
            coaching_confidence=rng.randint(1, 5),
            pedagogy=rng.randint(1, 5),
        )

    def submit_sessions(self, first: int, skip: Callable[[int, str], bool]) -> int:
        """Both members' feedback on sessions ``first:`` of every pair, round by
        round, unless ``skip(pair number, side)``."""
        count = 0
        rounds = len(self.sessions[self.pairs[0].mentorship])
        for index in range(first, rounds):
            for n, pair in enumerate(self.pairs):
                session_id = self.sessions[pair.mentorship][index]
                for side, member in ((MENTEE, pair.mentee), (MENTOR, pair.mentor)):
                    if not skip(n, side):
                        self.app.submit_feedback(session_id, member, self.answers(pair, side))
                        count += 1
        return count

    def submit_surveys(self, kind: str) -> int:
        count = 0
        for pair in self.pairs:
            for side, member in ((MENTEE, pair.mentee), (MENTOR, pair.mentor)):
                survey_id = str(survey_key(pair.match, member, kind))
                self.app.submit_survey(survey_id, self.survey(side))
                count += 1
        return count


# -- measuring ---------------------------------------------------------------------------
def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = work()
    return out, time.perf_counter() - started


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def raw_saves(path: Path, count: int) -> float:
    """Seconds for a raw eventsourcing application to save ``count`` one-field
    aggregates, one per transaction."""
    raw = Raw(env=sqlite_env(path))

    def save_many() -> None:
        for n in range(count):
            raw.save(Note(text=f"note {n}"))

    _, seconds = _timed(save_many)
    raw.close()
    return seconds


def raw_read(app: FeedbackApplication) -> int:
    after, seen = 0, 0
    while page := app.notifications(after, PAGE):
        after, seen = page[-1].id, seen + len(page)
    return seen


def measure(pairs: int, seed: int = SEED) -> dict[str, Any]:
    """Every figure of the benchmark for a programme of ``pairs`` pairs."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="revmentor-bench-feedback-") as tmp:
        work = Path(tmp)
        clock = Clock(START)
        env = {
            **sqlite_env(work / "feedback.sqlite"),
            "REVMENTOR_KEK": base64.b64encode(os.urandom(32)).decode(),
            "REVMENTOR_KEK_ID": "bench",
        }
        app = FeedbackApplication(env=env, clock=clock)
        programme = Programme(app, clock, pairs, seed)
        facts = 1 + 2 * pairs + pairs + pairs + pairs + SESSIONS * pairs

        _progress(f"feedback: raw baseline, {facts:,} one-field saves ...")
        raw_seconds = raw_saves(work / "raw.sqlite", facts)
        raw_rate = _rate(facts, raw_seconds)

        _progress(f"feedback: consuming {facts:,} upstream facts ({pairs:,} pairs) ...")
        consumed, consume_seconds = _timed(programme.consume)
        assert consumed == facts, (consumed, facts)
        events_after_consume = app.recorder.max_notification_id() or 0

        _progress("feedback: member commands (session feedback, baseline surveys) ...")
        clock.now = START + timedelta(days=1)

        def commands() -> int:
            return programme.submit_sessions(0, lambda n, side: False) + programme.submit_surveys(
                BASELINE
            )

        commanded, command_seconds = _timed(commands)

        _progress("feedback: window close job (answered windows) ...")
        clock.now = START + timedelta(days=7, hours=1)
        _, catch_up_seconds = _timed(lambda: app.query(lambda model: None))
        closed_answered, close_answered_seconds = _timed(lambda: app.close_due_windows(clock()))

        _progress("feedback: window close job (fresh windows, partly unanswered) ...")
        clock.now = START + timedelta(days=14)
        programme.hold(FRESH_SESSIONS, START)
        silent_mentors = {n for n in range(pairs) if n % 5 == 0}
        silent_mentees = {n for n in range(pairs) if n % 10 == 3}

        def skip(n: int, side: str) -> bool:
            return n in (silent_mentors if side == MENTOR else silent_mentees)

        programme.submit_sessions(SESSIONS, skip)
        clock.now = START + timedelta(days=21, hours=1)
        app.query(lambda model: None)
        closed_fresh, close_fresh_seconds = _timed(lambda: app.close_due_windows(clock()))
        flagged = len(app.pairs_at_risk(str(programme.programme_id)))

        _progress("feedback: completing the mentorships and end surveys (not timed) ...")
        clock.now = START + timedelta(days=22)
        programme.complete()
        clock.now = START + timedelta(days=23)
        programme.submit_surveys(END)
        app.query(lambda model: None)  # the read model caught up before timing the report

        _progress(f"feedback: outcomes report x{REPORT_RUNS} ...")
        pid = str(programme.programme_id)
        report_times = [_timed(lambda: app.outcomes_report(pid))[1] for _ in range(REPORT_RUNS)]
        report = app.outcomes_report(pid)

        _progress("feedback: replay vs raw read ...")
        notifications = app.recorder.max_notification_id() or 0
        read_count, read_seconds = _timed(lambda: raw_read(app))
        model, replay_seconds = _timed(app.rebuild_read_model)
        same_as_live = model.digest() == app.query(lambda m: m.digest())
        app.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "pairs": pairs,
        "participants": 2 * pairs,
        "seed": seed,
        "store": "SQLite (temporary file)",
        "raw_baseline": {
            "saves": facts,
            "seconds": round(raw_seconds, 3),
            "per_s": round(raw_rate, 1),
        },
        "consumption": {
            "facts": consumed,
            "events_written": events_after_consume,
            "seconds": round(consume_seconds, 3),
            "per_s": round(_rate(consumed, consume_seconds), 1),
            "ratio_vs_raw": round(_rate(consumed, consume_seconds) / raw_rate, 3),
        },
        "commands": {
            "session_feedback": SESSIONS * pairs * 2,
            "surveys": 2 * pairs,
            "count": commanded,
            "seconds": round(command_seconds, 3),
            "per_s": round(_rate(commanded, command_seconds), 1),
            "ratio_vs_raw": round(_rate(commanded, command_seconds) / raw_rate, 3),
        },
        "close_answered": {
            **_close_figures(closed_answered, close_answered_seconds, raw_rate),
            "read_model_catch_up_seconds_before": round(catch_up_seconds, 3),
        },
        "close_fresh": {
            **_close_figures(closed_fresh, close_fresh_seconds, raw_rate),
            "pairs_at_risk_after": flagged,
        },
        "report": {
            "runs": REPORT_RUNS,
            "median_ms": round(statistics.median(report_times) * 1000, 2),
            "min_ms": round(min(report_times) * 1000, 2),
            "max_ms": round(max(report_times) * 1000, 2),
            "sessions_held": report["sessions_held"]["value"],
            "nps": report["nps"]["value"],
            "average_usefulness": report["average_usefulness"]["value"],
        },
        "replay": {
            "notifications": notifications,
            "seconds": round(replay_seconds, 3),
            "per_s": round(_rate(notifications, replay_seconds), 1),
            "raw_read_count": read_count,
            "raw_read_seconds": round(read_seconds, 3),
            "raw_read_per_s": round(_rate(read_count, read_seconds), 1),
            "ratio_vs_raw": round(
                _rate(notifications, replay_seconds) / _rate(read_count, read_seconds), 4
            ),
            "same_digest_as_live": same_as_live,
        },
        "peak_rss_mb": round(peak, 1),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _close_figures(closed: int, seconds: float, raw_rate: float) -> dict[str, Any]:
    return {
        "windows": closed,
        "seconds": round(seconds, 3),
        "ms_per_window": round(1000 * seconds / closed, 3) if closed else None,
        "per_s": round(_rate(closed, seconds), 1),
        "ratio_vs_raw": round(_rate(closed, seconds) / raw_rate, 3),
    }


# -- the benchmark -----------------------------------------------------------------------
def pairs_for(scale: float) -> int:
    return max(round(DEFAULT_PAIRS * scale), MIN_PAIRS)


def run(
    scale: float = 1.0, pairs: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``feedback`` section."""
    section = measure(pairs or pairs_for(scale))
    return table_rows(section), section


def table_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    raw = section["raw_baseline"]
    replay = section["replay"]

    def row(name: str, unit: str, ours: dict[str, Any], count: int) -> dict[str, Any]:
        return {
            "benchmark": f"feedback {name}",
            "unit": unit,
            "ours_per_s": ours["per_s"],
            "raw_per_s": raw["per_s"],
            "ratio": ours["ratio_vs_raw"],
            "ours_count": count,
            "raw_count": raw["saves"],
        }

    consumption, commands = section["consumption"], section["commands"]
    fresh = section["close_fresh"]
    return [
        row("consume upstream vs raw save", "events", consumption, consumption["facts"]),
        row("member commands vs raw save", "commands", commands, commands["count"]),
        row("close windows vs raw save", "windows", fresh, fresh["windows"]),
        {
            "benchmark": "feedback replay read model vs raw read",
            "unit": "events",
            "ours_per_s": replay["per_s"],
            "raw_per_s": replay["raw_read_per_s"],
            "ratio": replay["ratio_vs_raw"],
            "ours_count": replay["notifications"],
            "raw_count": replay["raw_read_count"],
        },
    ]


def print_section(section: dict[str, Any]) -> None:
    pairs = section["pairs"]
    raw = section["raw_baseline"]
    print(
        f"\nfeedback ({pairs:,} pairs, {section['participants']:,} participants,"
        f" {SESSIONS} sessions each; {section['store']}; {section['seconds']:.1f} s in all)"
    )
    print(f"{'phase':<46}{'count':>9}{'seconds':>10}{'per s':>10}{'raw/s':>10}{'ours/raw':>10}")

    def line(
        name: str, count: int, seconds: float, per_s: float, raw_s: float, ratio: float
    ) -> None:
        print(f"{name:<46}{count:>9,}{seconds:>10.2f}{per_s:>10,.0f}{raw_s:>10,.0f}{ratio:>10.3f}")

    print(
        f"{'raw save (one-field aggregate, 1 per txn)':<46}{raw['saves']:>9,}"
        f"{raw['seconds']:>10.2f}{raw['per_s']:>10,.0f}"
    )
    c = section["consumption"]
    line(
        "consume upstream facts (record_processed)",
        c["facts"],
        c["seconds"],
        c["per_s"],
        raw["per_s"],
        c["ratio_vs_raw"],
    )
    m = section["commands"]
    line(
        "member commands (feedback + baseline surveys)",
        m["count"],
        m["seconds"],
        m["per_s"],
        raw["per_s"],
        m["ratio_vs_raw"],
    )
    for key, name in (
        ("close_answered", "close job: answered windows"),
        ("close_fresh", "close job: fresh, partly unanswered"),
    ):
        w = section[key]
        line(name, w["windows"], w["seconds"], w["per_s"], raw["per_s"], w["ratio_vs_raw"])
    r = section["replay"]
    line(
        "replay read model vs raw notification read",
        r["notifications"],
        r["seconds"],
        r["per_s"],
        r["raw_read_per_s"],
        r["ratio_vs_raw"],
    )
    rep = section["report"]
    answered, fresh = section["close_answered"], section["close_fresh"]
    print(
        f"close job per window: {answered['ms_per_window']:.2f} ms (answered),"
        f" {fresh['ms_per_window']:.2f} ms (fresh; {fresh['pairs_at_risk_after']:,} pairs"
        " at risk after it)"
    )
    print(
        f"outcomes report: median {rep['median_ms']:.1f} ms of {rep['runs']}"
        f" (min {rep['min_ms']:.1f}, max {rep['max_ms']:.1f});"
        f" {rep['sessions_held']:,} sessions held, usefulness {rep['average_usefulness']},"
        f" NPS {rep['nps']}"
    )
    print(
        f"replay equals live (digest): {'yes' if r['same_digest_as_live'] else 'NO'};"
        f" consumption wrote {c['events_written']:,} events;"
        f" peak RSS {section['peak_rss_mb']:.0f} MB (ru_maxrss)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pairs", type=int, help=f"pairs (default {DEFAULT_PAIRS:,} x --scale)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default size")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    pairs = args.pairs or pairs_for(args.scale)
    print(f"revmentor feedback benchmark ({pairs:,} pairs)", file=sys.stderr)
    started = time.perf_counter()
    section = measure(pairs, args.seed)
    print_section(section)
    print(f"(wall time {time.perf_counter() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
