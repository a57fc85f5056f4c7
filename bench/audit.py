"""Audit benchmark: point-in-time replay (``revmentor.kernel.replay``) on enrolment.

Three stores are filled on SQLite in a temporary directory, through a real
``EnrolmentApplication`` with a throwaway KEK (personal fields sealed at rest,
as in production): N, 2N and 4N participants (``--participants``, default
1,000 x ``--scale``), spread over four programmes (one in five a mentor), each
enrolled (the participant and its registration index: two events) and then
given three profile updates, round by round over everyone - five events per
participant, so the log is twice and four times as long with the same events
per aggregate. Ids, names and updates come from counters: every run does the
same work.

- Throughput, on the 4N store: ``replay.replay(app)`` (``at=None``: a fresh
  read model fed the whole log, page by page, personal fields kept sealed as
  enrolment's read model keeps them) against two baselines in the same run: a raw read of every
  notification (``app.notifications(after, 500)`` paging, nothing decoded) and
  ``app.rebuild_read_model()`` (the service's own full rebuild). Each is timed
  3 times, interleaved; the figure is the median, in events per second.
- Mid-history: ``replay.replay(app, at)`` with ``at`` the timestamp of the
  middle event of the log: it still reads the whole log, applies the events
  recorded at or before ``at`` and leaves the rest out; timed the same way and
  against the same raw read (events read per second). With one writer log
  order is time order, so its model must equal ``replay(app, upto=middle)``'s
  (compared by digest).
- Progress callback: ``on_page`` counting its calls vs no callback, 5 runs
  each interleaved, ratio of the median rates (1.0 = free).
- Memory ("replays read in pages, memory stays flat"): with ``tracemalloc``
  tracing (Python allocations only: SQLite's own page cache is not counted),
  on each store after a ``gc.collect()``: *peak* is the traced peak during
  the call minus the traced size just before it; *retained* is the traced
  size after it, with its result alive, minus before; *model* is what freeing
  the result gives back; *working* = peak - retained, the memory of reading
  itself. Retained minus model is what the call left elsewhere: the key
  cache's refills (bounded at 4,096 keys, about 1 MB; tracemalloc counts the
  new entries but not the frees of those cached before tracing began, so it
  shows once the log has more subjects than the cache holds). Paged replay
  should hold about one page (500 stored events plus their decoding) whatever
  the log's length; the contrast is the same replay reading every
  notification at once (``app.notifications(0, total)``, then decode and
  apply each), whose working set grows with the log. The flatness is the
  ratio of the working sets at 4N and N (1.0 = flat, 4.0 = proportional to
  the log). One page of raw notifications (``notifications(0, 500)``, kept)
  is measured too, for scale.
- Check: on the 4N store, every programme's ``replay.live_state`` (the live
  model, caught up) equals a replay up to the live position (``upto``).

Timings run without tracing (tracemalloc slows Python code several times);
the memory runs come after them. Run alone with
``python -m bench.audit [--participants N | --scale S]``; ``bench.run`` includes it.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import gc
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from bench.workloads import mentee_profile, sqlite_env
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import Consent, Profile
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.kernel import replay
from revmentor.kernel.readmodel import ReadModel

DEFAULT_PARTICIPANTS = 1_000
#: The smallest log then spans three pages, so paging already shows at --scale 0.1.
MIN_PARTICIPANTS = 300
PROGRAMMES = 4
MENTOR_EVERY = 5
UPDATES = 3
#: Stored events per participant: enrolled, its registration, the updates.
EVENTS_EACH = 2 + UPDATES
#: The three stores, as multiples of N.
SIZES = (1, 2, 4)
REPEATS = 3
CALLBACK_REPEATS = 5
#: The raw read's page, the same as the replay's.
PAGE = replay.PAGE_SIZE
MB = 1024 * 1024
TOPICS = [Topic("generative-ai", "Generative AI"), Topic("social-media", "Social media")]


# -- the stores --------------------------------------------------------------------------
@dataclass
class Store:
    app: EnrolmentApplication
    participants: int
    programmes: list[str]
    events: int
    seconds: float


def profile(n: int, mentor: bool) -> Profile:
    base = mentee_profile(n)
    if not mentor:
        return base
    return dataclasses.replace(base, learning_needs=(), skills_offered=("generative-ai",))


def build(path: Path, participants: int) -> Store:
    """A store of ``participants`` participants, ``EVENTS_EACH`` events each."""
    started = time.perf_counter()
    env = {
        **sqlite_env(path),
        "REVMENTOR_KEK": base64.b64encode(os.urandom(32)).decode(),
        "REVMENTOR_KEK_ID": "bench",
    }
    app = EnrolmentApplication(env=env)
    programmes = []
    for p in range(PROGRAMMES):
        programme = app.create_programme(
            f"Audit bench {p}", "", "2027-01-01", "2027-12-31", TOPICS, ProgrammeRules()
        )
        app.open_enrolment(str(programme.id))
        programmes.append(str(programme.id))
    ids = []
    for n in range(participants):
        mentor = n % MENTOR_EVERY == 0
        enrolled = app.enrol(
            programmes[n % PROGRAMMES],
            f"E{n}",
            "mentor" if mentor else "mentee",
            profile(n, mentor),
            Consent(True, "v1"),
        )
        ids.append(str(enrolled.id))
    for k in range(UPDATES):
        for n, participant_id in enumerate(ids):
            changed = dataclasses.replace(
                profile(n, n % MENTOR_EVERY == 0), department=f"Department {k + 1}"
            )
            app.update_profile(participant_id, changed)
    events = replay.last_position(app)
    expected = PROGRAMMES * 2 + participants * EVENTS_EACH
    assert events == expected, (events, expected)
    return Store(app, participants, programmes, events, time.perf_counter() - started)


# -- the work measured -------------------------------------------------------------------
def raw_read(app: EnrolmentApplication) -> int:
    """Every notification, page by page, nothing decoded."""
    after, seen = 0, 0
    while page := app.notifications(after, PAGE):
        after, seen = page[-1].id, seen + len(page)
    return seen


def read_all_at_once(app: EnrolmentApplication) -> ReadModel:
    """The replay's work with the whole log read in one go (the contrast)."""
    model = app.construct_read_model()
    everything = list(app.notifications(0, replay.last_position(app)))
    app.envelope_mapper.prefetch(everything)
    for notification in everything:
        event, envelope = app.envelope_mapper.decode(notification, True)
        model.apply_notification(notification.id, event, envelope)
    return model


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    out = work()
    return out, time.perf_counter() - started


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds else float("inf")


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def interleaved(works: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    """The median seconds of each work, run ``repeats`` times in turn."""
    times: dict[str, list[float]] = {name: [] for name in works}
    for _ in range(repeats):
        for name, work in works.items():
            times[name].append(_timed(work)[1])
    return {name: statistics.median(seconds) for name, seconds in times.items()}


def throughput(store: Store) -> dict[str, Any]:
    app, total = store.app, store.events
    _progress(f"audit: replay vs raw read vs rebuild ({total:,} events) x{REPEATS} ...")
    full = interleaved(
        {
            "raw": lambda: raw_read(app),
            "replay": lambda: replay.replay(app),
            "rebuild": app.rebuild_read_model,
        },
        REPEATS,
    )
    whole = replay.replay(app)
    same_as_rebuild = whole.model.digest() == app.rebuild_read_model().digest()
    del whole

    middle = total // 2
    stored = app.notifications(middle - 1, 1)[0]
    at = replay.recorded_at(*app.envelope_mapper.decode(stored, False))
    _progress(f"audit: replay at mid-history (at = event {middle:,}) x{REPEATS} ...")
    mid_seconds = interleaved({"at": lambda: replay.replay(app, at)}, REPEATS)["at"]
    at_mid = replay.replay(app, at)
    equal_upto = at_mid.model.digest() == replay.replay(app, upto=middle).model.digest()

    _progress(f"audit: on_page callback vs none x{CALLBACK_REPEATS} ...")
    calls = [0]

    def count(progress: replay.Replay) -> None:
        calls[0] += 1

    callback = interleaved(
        {
            "none": lambda: replay.replay(app),
            "on_page": lambda: replay.replay(app, on_page=count),
        },
        CALLBACK_REPEATS,
    )
    raw_rate = _rate(total, full["raw"])
    replay_rate = _rate(total, full["replay"])
    rebuild_rate = _rate(total, full["rebuild"])
    mid_rate = _rate(total, mid_seconds)
    none_rate, on_page_rate = _rate(total, callback["none"]), _rate(total, callback["on_page"])
    return {
        "events": total,
        "raw_read": {"seconds": round(full["raw"], 4), "per_s": round(raw_rate, 1)},
        "rebuild": {"seconds": round(full["rebuild"], 4), "per_s": round(rebuild_rate, 1)},
        "replay": {
            "seconds": round(full["replay"], 4),
            "per_s": round(replay_rate, 1),
            "ratio_vs_raw_read": round(replay_rate / raw_rate, 4),
            "ratio_vs_rebuild": round(replay_rate / rebuild_rate, 4),
            "same_digest_as_rebuild": same_as_rebuild,
        },
        "mid_history": {
            "at": at.isoformat(),
            "middle_position": middle,
            "seconds": round(mid_seconds, 4),
            "per_s": round(mid_rate, 1),
            "ratio_vs_raw_read": round(mid_rate / raw_rate, 4),
            "ratio_vs_full_replay": round(mid_rate / replay_rate, 4),
            "applied": at_mid.applied,
            "left_out": at_mid.left_out,
            "equal_to_upto_middle": equal_upto,
        },
        "on_page": {
            "calls_per_replay": calls[0] // CALLBACK_REPEATS,
            "seconds_without": round(callback["none"], 4),
            "seconds_with": round(callback["on_page"], 4),
            "per_s_without": round(none_rate, 1),
            "per_s_with": round(on_page_rate, 1),
            "ratio": round(on_page_rate / none_rate, 4),
        },
    }


def traced(work: Callable[[], Any]) -> dict[str, int]:
    """Traced bytes of one call: peak, retained (result alive), model (given back
    when the result is freed) and working (peak - retained)."""
    gc.collect()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    result = work()
    peak = tracemalloc.get_traced_memory()[1]
    gc.collect()
    alive = tracemalloc.get_traced_memory()[0]
    del result
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    return {
        "peak": peak - before,
        "retained": alive - before,
        "model": alive - after,
        "working": (peak - before) - (alive - before),
    }


def memory(stores: list[Store]) -> dict[str, Any]:
    tracemalloc.start()
    try:
        rows: list[dict[str, Any]] = []
        for store in stores:
            app = store.app
            _progress(f"audit: traced memory, {store.events:,} events (paged, all at once) ...")
            rows.append(
                {
                    "participants": store.participants,
                    "events": store.events,
                    "paged": traced(partial(replay.replay, app)),
                    "all_at_once": traced(partial(read_all_at_once, app)),
                }
            )
        page = traced(lambda: list(stores[-1].app.notifications(0, PAGE)))
    finally:
        tracemalloc.stop()
    first, last = rows[0], rows[-1]

    def growth(kind: str, figure: str) -> float:
        return round(last[kind][figure] / first[kind][figure], 3)

    return {
        "sizes": rows,
        "raw_page_bytes": page["retained"],
        "log_growth": round(last["events"] / first["events"], 3),
        "paged_working_growth": growth("paged", "working"),
        "all_at_once_working_growth": growth("all_at_once", "working"),
        "model_growth": growth("paged", "model"),
    }


def check_live(store: Store) -> bool:
    """Every programme: the live model's state equals a replay up to its position."""
    replays: dict[int, replay.Replay] = {}
    for programme_id in store.programmes:
        position, live = replay.live_state(store.app, programme_id)
        if position not in replays:
            replays[position] = replay.replay(store.app, upto=position)
        if replay.digest(replays[position].state_of(programme_id)) != replay.digest(live):
            return False
    return True


def measure(participants: int) -> dict[str, Any]:
    """Every figure of the benchmark, N = ``participants``."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="revmentor-bench-audit-") as tmp:
        stores = []
        for size in SIZES:
            count = size * participants
            _progress(f"audit: filling a store, {count:,} participants x {EVENTS_EACH} events ...")
            stores.append(build(Path(tmp) / f"enrolment-{size}n.sqlite", count))
        largest = stores[-1]
        speed = throughput(largest)
        used = memory(stores)
        _progress("audit: live state vs replay up to the live position ...")
        live_equal = check_live(largest)
        for store in stores:
            store.app.close()
    return {
        "participants": participants,
        "programmes": PROGRAMMES,
        "events_each": EVENTS_EACH,
        "store": "SQLite (temporary file)",
        "page_size": PAGE,
        "fill_seconds": [round(s.seconds, 2) for s in stores],
        "throughput": speed,
        "memory": used,
        "live_equals_replay": live_equal,
        "seconds": round(time.perf_counter() - started, 1),
    }


# -- the benchmark -----------------------------------------------------------------------
def participants_for(scale: float) -> int:
    return max(round(DEFAULT_PARTICIPANTS * scale), MIN_PARTICIPANTS)


def run(
    scale: float = 1.0, participants: int | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``audit`` section."""
    section = measure(participants or participants_for(scale))
    return table_rows(section), section


def table_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    speed, used = section["throughput"], section["memory"]
    events = speed["events"]
    raw, rebuild, full = speed["raw_read"], speed["rebuild"], speed["replay"]
    mid, callback = speed["mid_history"], speed["on_page"]

    def rate(name: str, ours: float, base: float, ratio: float) -> dict[str, Any]:
        return {
            "benchmark": f"audit {name}",
            "unit": "events",
            "ours_per_s": ours,
            "raw_per_s": base,
            "ratio": ratio,
            "ours_count": events,
            "raw_count": events,
        }

    last = used["sizes"][-1]
    factor = round(used["log_growth"])
    return [
        rate("replay vs raw read", full["per_s"], raw["per_s"], full["ratio_vs_raw_read"]),
        rate(
            "replay vs rebuild_read_model",
            full["per_s"],
            rebuild["per_s"],
            full["ratio_vs_rebuild"],
        ),
        rate(
            "replay at mid-history vs raw read",
            mid["per_s"],
            raw["per_s"],
            mid["ratio_vs_raw_read"],
        ),
        rate(
            "replay with on_page vs without",
            callback["per_s_with"],
            callback["per_s_without"],
            callback["ratio"],
        ),
        {
            "benchmark": f"audit replay working set {factor}N/N: paged vs all at once",
            "unit": "x growth of peak - retained",
            "ours": used["paged_working_growth"],
            "raw": used["all_at_once_working_growth"],
            "ratio": round(used["paged_working_growth"] / used["all_at_once_working_growth"], 3),
        },
        {
            "benchmark": f"audit replay working set at {factor}N: paged vs all at once",
            "unit": "MB traced, peak - retained",
            "ours": round(last["paged"]["working"] / MB, 2),
            "raw": round(last["all_at_once"]["working"] / MB, 2),
            "ratio": round(last["paged"]["working"] / last["all_at_once"]["working"], 3),
        },
    ]


def _mb(value: int) -> str:
    return f"{value / MB:>9.2f}"


def print_section(section: dict[str, Any]) -> None:
    speed, used = section["throughput"], section["memory"]
    n = section["participants"]
    print(
        f"\naudit replay (enrolment; N = {n:,} participants in {section['programmes']} programmes,"
        f" {section['events_each']} events each; {section['store']}; stores filled in"
        f" {sum(section['fill_seconds']):.1f} s, {section['seconds']:.1f} s in all)"
    )
    events = speed["events"]
    print(f"{'phase (largest store)':<46}{'events':>9}{'seconds':>10}{'per s':>10}  {'ratio':<24}")

    def line(name: str, seconds: float, per_s: float, ratio: str) -> None:
        print(f"{name:<46}{events:>9,}{seconds:>10.3f}{per_s:>10,.0f}  {ratio:<24}")

    raw, rebuild, full = speed["raw_read"], speed["rebuild"], speed["replay"]
    mid, callback = speed["mid_history"], speed["on_page"]
    line(f"raw notification read ({section['page_size']}/page)", raw["seconds"], raw["per_s"], "")
    line("rebuild_read_model", rebuild["seconds"], rebuild["per_s"], "")
    line(
        "replay (at=None)",
        full["seconds"],
        full["per_s"],
        f"{full['ratio_vs_raw_read']:.3f} raw, {full['ratio_vs_rebuild']:.3f} rebuild",
    )
    line(
        "replay at mid-history",
        mid["seconds"],
        mid["per_s"],
        f"{mid['ratio_vs_raw_read']:.3f} raw, {mid['ratio_vs_full_replay']:.3f} full",
    )
    line(
        f"replay with on_page ({callback['calls_per_replay']} calls)",
        callback["seconds_with"],
        callback["per_s_with"],
        f"{callback['ratio']:.3f} without",
    )
    print(
        f"mid-history: at = {mid['at']} (event {mid['middle_position']:,}):"
        f" {mid['applied']:,} applied, {mid['left_out']:,} left out;"
        f" equals replay up to it: {'yes' if mid['equal_to_upto_middle'] else 'NO'};"
        f" full replay equals rebuild: {'yes' if full['same_digest_as_rebuild'] else 'NO'}"
    )
    print("\ntraced memory, MB (tracemalloc; working = peak - retained)")
    print(
        f"{'':<18}{'paged replay':>36}{'all notifications at once':>36}\n"
        f"{'participants':>12}{'events':>8}"
        + f"{'peak':>9}{'retained':>9}{'model':>9}{'working':>9}"
        * 2
    )
    for row in used["sizes"]:
        cells = "".join(
            _mb(row[kind][figure])
            for kind in ("paged", "all_at_once")
            for figure in ("peak", "retained", "model", "working")
        )
        print(f"{row['participants']:>12,}{row['events']:>8,}  {cells}")
    page_mb = used["raw_page_bytes"] / MB
    print(
        f"log x{used['log_growth']:.0f}: working set x{used['paged_working_growth']:.2f} paged,"
        f" x{used['all_at_once_working_growth']:.2f} all at once"
        f" (model x{used['model_growth']:.2f});"
        f" one raw page of {section['page_size']} notifications = {page_mb:.2f} MB"
    )
    print(
        "live state equals a replay up to the live position (every programme): "
        + ("yes" if section["live_equals_replay"] else "NO")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--participants", type=int, help=f"N (default {DEFAULT_PARTICIPANTS:,} x --scale)"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the default size")
    args = parser.parse_args()
    participants = args.participants or participants_for(args.scale)
    print(f"revmentor audit replay benchmark (N = {participants:,})", file=sys.stderr)
    started = time.perf_counter()
    section = measure(participants)
    print_section(section)
    print(f"(wall time {time.perf_counter() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
