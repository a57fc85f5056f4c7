"""``make bench``: revmentor's hot paths against raw baselines, same machine, same run.

- relay: our outbox relay (read log, CloudEvent encode, chained publish, store
  position) vs raw nats-py ``publish_async`` of the same messages;
- store: an enrolment command (validate, index, two aggregates, envelope) vs a
  raw eventsourcing save of a one-field aggregate;
- grpc: EnrolParticipant and GetParticipant at 50 in flight vs the gRPC health
  check on the same server (a trivial grpc.aio unary call);
- replay: rebuilding the enrolment read model vs raw notification reads;
- consumer: training applying enrolment's events (one at a time, in order,
  tracked in the same transaction) vs a raw nats-py pull consumer that only
  fetches and acks the same messages;
- matching (``bench/matching.py``): on generated cohorts, a round's matched
  count and total score vs the exact dense solver on the same feasible pairs
  (must be equal) and vs a greedy first-come baseline; then the round's time
  and peak memory for growing cohorts against the 10,000 x 5,000 target;
- feedback (``bench/feedback.py``): a generated programme of 1,000 pairs on
  SQLite: consuming its upstream facts, member commands (session feedback,
  surveys) and the window close job, each vs a raw eventsourcing save of a
  one-field aggregate; rebuilding the read model vs raw notification reads;
  the outcomes report's time and the peak RSS;
- audit (``bench/audit.py``): point-in-time replay (``kernel.replay``) of the
  enrolment log vs raw notification reads and vs ``rebuild_read_model``, at
  an instant mid-history, with and without its progress callback; and its
  traced memory at three log sizes (N, 2N, 4N participants), paged vs reading
  every notification at once: peak minus the rebuilt model must stay flat.

Figures are printed as a table and written to ``bench/results/<time>.json``.
Speed is never asserted in tests; this is where it is measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import audit, feedback, matching, workloads

RESULTS = Path(__file__).parent / "results"


def measure(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


async def timed(work: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    started = time.perf_counter()
    count = await work()
    return count, time.perf_counter() - started


async def run(scale: float) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="revmentor-bench-") as tmp:
        work = Path(tmp)
        async for name, ours, raw, unit in workloads.suite(work, scale):
            print(f"  {name} ...", file=sys.stderr, flush=True)
            raw_count, raw_seconds = await timed(raw)
            our_count, our_seconds = await timed(ours)
            raw_rate, our_rate = measure(raw_count, raw_seconds), measure(our_count, our_seconds)
            rows.append(
                {
                    "benchmark": name,
                    "unit": unit,
                    "ours_per_s": round(our_rate, 1),
                    "raw_per_s": round(raw_rate, 1),
                    "ratio": round(our_rate / raw_rate, 3) if raw_rate else None,
                    "ours_count": our_count,
                    "raw_count": raw_count,
                }
            )
    return rows


def print_table(rows: list[dict[str, Any]]) -> None:
    """Throughput rows (``ours_per_s``/``raw_per_s``) and, below them, rows of
    other units (``ours``/``raw``, e.g. the matching quality and targets)."""
    rates = [row for row in rows if "ours_per_s" in row]
    others = [row for row in rows if "ours_per_s" not in row]
    width = max([34, *(len(row["benchmark"]) + 2 for row in rows)])
    if rates:
        print(f"{'benchmark':<{width}}{'ours/s':>12}{'raw/s':>12}{'ours/raw':>10}")
    for row in rates:
        print(
            f"{row['benchmark']:<{width}}{row['ours_per_s']:>12,.0f}{row['raw_per_s']:>12,.0f}"
            f"{row['ratio']:>10.2f}"
        )
    if others:
        first = "" if rates else "benchmark"
        print(f"{first:<{width}}{'ours':>12}{'raw':>12}{'ours/raw':>10}  unit")
    for row in others:
        if row["ours"] is None:
            print(
                f"{row['benchmark']:<{width}}{'-':>12}{row['raw']:>12,.2f}{'-':>10}  {row['note']}"
            )
            continue
        print(
            f"{row['benchmark']:<{width}}{_figure(row['ours'])}{_figure(row['raw'])}"
            f"{row['ratio']:>10.3f}  {row['unit']}"
        )


def _figure(value: float) -> str:
    return f"{value:>12,}" if isinstance(value, int) else f"{value:>12,.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="multiply every workload size (0.1 for a quick look)",
    )
    parser.add_argument(
        "--only",
        choices=("all", "platform", "matching", "feedback", "audit"),
        default="all",
        help="run only the platform, matching, feedback or audit benchmarks (default: all)",
    )
    args = parser.parse_args()
    print(
        f"revmentor benchmarks (scale {args.scale}); each against its raw baseline", file=sys.stderr
    )
    rows = asyncio.run(run(args.scale)) if args.only in ("all", "platform") else []
    document: dict[str, Any] = {"scale": args.scale}
    if args.only in ("all", "matching"):
        matching_rows, document["matching"] = matching.run(args.scale)
        rows += matching_rows
    if args.only in ("all", "feedback"):
        feedback_rows, document["feedback"] = feedback.run(args.scale)
        rows += feedback_rows
    if args.only in ("all", "audit"):
        audit_rows, document["audit"] = audit.run(args.scale)
        rows += audit_rows
    print_table(rows)
    if "matching" in document:
        matching.print_section(document["matching"])
    if "feedback" in document:
        feedback.print_section(document["feedback"])
    if "audit" in document:
        audit.print_section(document["audit"])
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"{stamp}.json"
    document = {"when": stamp, **document, "results": rows}
    out.write_text(json.dumps(document, indent=2))
    print(f"\nwritten to {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
