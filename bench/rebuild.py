"""Replay at scale: rebuilding enrolment's read model from a long log.

The issue's figure is 1,000,000 events; the default run uses ``EVENTS``
(100,000) x ``--scale`` (``--scale 10`` reaches 1,000,000). One SQLite store
in the run's temporary directory is filled through the application
(``bench.fill``: the enrol command's events, sealed under a throwaway KEK,
``BATCH`` participants per transaction, no fsync while filling): four
programmes, one participant in five a mentor, each participant enrolled (the
participant and its registration index) and given three profile updates -
five events per participant, as in ``bench.audit``.

- Throughput, interleaved ``REPEATS`` times, best of each (the machine may be
  shared: the fastest run is the one least disturbed): ``app.rebuild_read_model()``
  (the service's own rebuild: a fresh read model fed the whole log page by
  page; enrolment's model keeps personal fields sealed, so no key is fetched
  and nothing is decrypted - its queries open what they show) against the raw
  baseline on the same store: reading every notification page by page
  (``app.notifications(after, 500)``) and decoding each with eventsourcing's
  own ``Mapper.to_domain_event`` (decompress/transcode, the event object
  built; no envelope handling, no decryption, nothing applied). A raw read
  without decoding (``bench.audit.raw_read``) is timed too, for scale. The
  ratio is events per second, rebuild over read + decode (target: 0.7).
- Memory ("memory flat"), after the timings, with ``tracemalloc``
  (``bench.audit.traced``: Python allocations only, SQLite's page cache not
  counted): the rebuild up to a quarter of the log (``replay(app, upto=E/4)``)
  and the whole rebuild. *Working* = traced peak - what the call retained (its
  model, and the key cache's refills); the model is what freeing the result
  gives back. Flat memory means the working set does not grow with the log:
  the figure is working(E) / working(E/4) (1.0 flat, 4.0 proportional).
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from eventsourcing.persistence import Mapper

from bench import fill
from bench.audit import interleaved, raw_read, traced
from bench.workloads import sqlite_env
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.kernel import replay

EVENTS = 100_000
MIN_EVENTS = 10_000
EVENTS_EACH = 5
PROGRAMMES = 4
REPEATS = 2
PAGE = replay.PAGE_SIZE
MB = 1024 * 1024
TARGET = 0.7


def read_and_decode(app: EnrolmentApplication) -> int:
    """The raw baseline: every notification read page by page and decoded by
    eventsourcing's ``Mapper.to_domain_event`` (no envelope, no decryption)."""
    after, seen = 0, 0
    while page := app.notifications(after, PAGE):
        for notification in page:
            Mapper.to_domain_event(app.mapper, notification)
        after, seen = page[-1].id, seen + len(page)
    return seen


def build(path: Path, events: int) -> tuple[EnrolmentApplication, int, int, float]:
    """A store of about ``events`` events: the app, the events, the participants
    and the fill's seconds."""
    started = time.perf_counter()
    app = EnrolmentApplication(env=sqlite_env(path))
    fill.unsynchronised(app)
    programme_ids = fill.programmes(app, PROGRAMMES)
    participants = max(events // EVENTS_EACH, 1)
    step = max(participants // 10, fill.BATCH)

    def progress(done: int) -> None:
        if done % step < fill.BATCH or done == participants:
            _progress(f"replay at scale: filling, {done:,}/{participants:,} participants")

    fill.enrol(app, programme_ids, participants, updates=EVENTS_EACH - 2, progress=progress)
    total = replay.last_position(app)
    return app, total, participants, time.perf_counter() - started


def speed(app: EnrolmentApplication, total: int) -> dict[str, Any]:
    """Best seconds of the rebuild and the raw baselines, as rates."""
    _progress(f"replay at scale: rebuild vs raw read + decode ({total:,} events) x{REPEATS} ...")
    works: dict[str, Callable[[], Any]] = {
        "raw_read": partial(raw_read, app),
        "raw_read_decode": partial(read_and_decode, app),
        "rebuild": app.rebuild_read_model,
    }
    seconds = {name: float("inf") for name in works}
    for _ in range(REPEATS):
        for name, spent in interleaved(works, 1).items():  # one of each, in turn
            seconds[name] = min(seconds[name], spent)
    rates = {name: total / s for name, s in seconds.items()}
    return {
        name: {"seconds": round(seconds[name], 3), "per_s": round(rates[name], 1)}
        for name in seconds
    } | {"ratio": round(rates["rebuild"] / rates["raw_read_decode"], 4)}


def memory(app: EnrolmentApplication, total: int) -> dict[str, Any]:
    """Traced bytes of the rebuild up to E/4 and of the whole rebuild."""
    quarter = total // 4
    tracemalloc.start()
    try:
        _progress(f"replay at scale: traced memory, rebuild up to {quarter:,} events ...")
        part = traced(partial(replay.replay, app, upto=quarter))
        _progress(f"replay at scale: traced memory, rebuild of all {total:,} events ...")
        whole = traced(app.rebuild_read_model)
    finally:
        tracemalloc.stop()
    return {
        "quarter": {"events": quarter, **part},
        "whole": {"events": total, **whole},
        "log_growth": round(total / quarter, 3),
        "working_growth": round(whole["working"] / part["working"], 3),
        "peak_minus_model_growth": round(
            (whole["peak"] - whole["model"]) / (part["peak"] - part["model"]), 3
        ),
        "model_growth": round(whole["model"] / part["model"], 3),
    }


def measure(work: Path, scale: float) -> dict[str, Any]:
    events = max(round(EVENTS * scale), MIN_EVENTS)
    app, total, participants, fill_seconds = build(work / "rebuild.sqlite", events)
    try:
        rates = speed(app, total)
        used = memory(app, total)
    finally:
        app.close()
    return {
        "events": total,
        "participants": participants,
        "programmes": PROGRAMMES,
        "store": "SQLite (temporary file)",
        "fill_seconds": round(fill_seconds, 1),
        "throughput": rates,
        "memory": used,
        "target_ratio": TARGET,
    }


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def run(work: Path, scale: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``replay_at_scale`` section."""
    section = measure(work, scale)
    return table_rows(section), section


def table_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    speed, used, events = section["throughput"], section["memory"], section["events"]
    return [
        {
            "benchmark": f"replay {events:,} events: rebuild vs raw read+decode",
            "unit": "events",
            "ours_per_s": speed["rebuild"]["per_s"],
            "raw_per_s": speed["raw_read_decode"]["per_s"],
            "ratio": speed["ratio"],
            "ours_count": events,
            "raw_count": events,
            "target": TARGET,
        },
        {
            "benchmark": f"replay {events:,} events: working set growth vs log growth",
            "unit": "x, traced peak - retained, all vs first quarter (1.0 = flat)",
            "ours": used["working_growth"],
            "raw": used["log_growth"],
            "ratio": round(used["working_growth"] / used["log_growth"], 3),
        },
    ]


def print_section(section: dict[str, Any]) -> None:
    speed, used, events = section["throughput"], section["memory"], section["events"]
    print(
        f"\nreplay at scale: enrolment's read model from {events:,} events"
        f" ({section['participants']:,} participants, {section['programmes']} programmes,"
        f" {section['store']}, filled in {section['fill_seconds']:.0f} s)"
    )
    print(f"{'':<34}{'seconds':>10}{'events/s':>12}")
    for name, label in (
        ("raw_read", "raw read (no decode)"),
        ("raw_read_decode", "raw read + Mapper decode"),
        ("rebuild", "rebuild_read_model"),
    ):
        print(f"{label:<34}{speed[name]['seconds']:>10.2f}{speed[name]['per_s']:>12,.0f}")
    verdict = "met" if speed["ratio"] >= TARGET else "missed"
    print(f"rebuild / (read + decode) = {speed['ratio']:.3f} (target >= {TARGET}: {verdict})")
    print(f"traced memory, MB{'':<17}{'peak':>9}{'retained':>9}{'model':>9}{'working':>9}")
    for key in ("quarter", "whole"):
        row = used[key]
        cells = "".join(f"{row[f] / MB:>9.2f}" for f in ("peak", "retained", "model", "working"))
        print(f"rebuild of {row['events']:>10,} events{'':<6}{cells}")
    print(
        f"log x4: working set x{used['working_growth']:.2f}, peak - model"
        f" x{used['peak_minus_model_growth']:.2f}, model x{used['model_growth']:.2f}"
        f" ({'flat' if used['working_growth'] < 1.5 else 'NOT flat'})"
    )
