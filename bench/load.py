"""Load scenario: a whole programme lifecycle through the public gRPC APIs, as its users drive it.

    .venv/bin/python -m bench.load [--participants N] [--concurrency C]
                                   [--platform-var DIR | --start]

Against a running platform (``revmentor up`` / ``make run``: addresses from
``<var>/run/endpoints.json``, tokens minted from the development key in
``<var>/secrets``), or, with ``--start``, one it starts itself
(``revmentor up --no-seed`` on a temporary var directory and free ports) and
stops at the end. Phases, in order (see :mod:`bench.load_phases`):

1. an administrator creates and opens a programme;
2. N participants (half mentors, half mentees, generated profiles) are
   enrolled, C requests in flight;
3. an LMS (role ``service``, claim ``service: lms``) waits for each mentor's
   training record - opened by training from enrolment's events - and passes
   every required module (row: enrol -> training record propagation);
4. the programme manager waits for matching's pool to count everyone, then
   runs rounds until one proposes nobody new; after each, every proposal is
   accepted by its mentee and its mentor, each with their own token;
5. the manager waits for scheduling's mentorships (row: match confirmed ->
   mentorship opened, from the two services' own timestamps), and each mentee
   books a first session 7-13 days ahead;
6. the manager fetches feedback's outcomes report until its funnel counts
   every matched mentee.

Each phase reports count, errors by gRPC code, wall time, throughput and
latency p50/p95/p99/max (every call, errors included), and the CPU used by
each platform process and by this driver over the phase (the busiest is the
likely bottleneck). The table is printed; ``bench/results/load-<time>.json``
keeps it with the machine.

Why not locust: it is not installed, and it models independent users
hammering endpoints in a loop. This scenario is a dependency chain (each phase
needs the ids and the downstream state the previous one made) over gRPC,
which locust supports only through custom clients and gevent - a poor fit for
grpc.aio. An asyncio driver (grpc.aio, C workers each with their own channel,
``perf_counter`` around each awaited call, nearest-rank percentiles) is the
equivalent, in one process. That process shares the machine with the
platform: its own CPU share is reported so its cost is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import load_phases as phases
from bench.load_phases import Context, CpuProbe, Run, say
from revmentor.cli import devkeys
from revmentor.cli.common import CliError
from revmentor.cli.endpoints import read_endpoints
from revmentor.kernel.settings import var_dir

SERVICES = ("enrolment", "training", "matching", "scheduling", "feedback")
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
RESULTS = Path(__file__).parent / "results"
TOKEN_TTL = 4 * 3600

NOT_RUNNING = (
    "no running platform: {path} is missing (it exists while `revmentor up` runs).\n"
    "Start one with `make run` (or `.venv/bin/revmentor up`) in another terminal and leave it "
    "running, pass --platform-var DIR if it runs on another var directory, or pass --start "
    "to let this scenario start (and stop) its own."
)


# -- the platform --------------------------------------------------------------------------
def targets_of(endpoints: dict[str, Any]) -> dict[str, str]:
    """Service -> gRPC target (every replica, round robin, when there are several)."""
    replicas = endpoints.get("replicas") or {}
    found = {}
    for service in SERVICES:
        addresses = replicas.get(service) or [endpoints.get("services", {}).get(service)]
        addresses = [a for a in addresses if a]
        if not addresses:
            raise CliError(f"the platform has no {service} service (endpoints: {endpoints})")
        found[service] = addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)
    return found


def pids_of(var: Path) -> dict[str, int]:
    """Process name -> pid, from ``var/run/processes.json`` (empty when not local)."""
    data = read_endpoints(var / "run" / "processes.json") or {}
    pids = {name: int(pid) for name, pid in (data.get("services") or {}).items()}
    for n, pid in enumerate(data.get("nats") or []):
        pids[f"nats-{n}" if n else "nats"] = int(pid)
    return pids


def revmentor_command() -> list[str]:
    script = Path(sys.executable).parent / "revmentor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "revmentor.cli"]


@contextlib.contextmanager
def started_platform() -> Iterator[Path]:
    """``revmentor up --no-seed`` on a temporary var directory and free ports; its var."""
    with tempfile.TemporaryDirectory(prefix="revmentor-load-") as tmp:
        var = Path(tmp) / "var"
        output = Path(tmp) / "up.out"
        env = {
            k: v
            for k, v in os.environ.items()
            if k != "NATS_URL" and not k.startswith("REVMENTOR_") and not k.endswith("_GRPC_PORT")
        }
        env.update({f"{s.upper()}_GRPC_PORT": "0" for s in SERVICES}, REVMENTOR_VAR_DIR=str(var))
        with open(output, "wb") as out:
            process = subprocess.Popen(
                [*revmentor_command(), "up", "--no-seed", "--var", str(var)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            wait_ready(process, var, output)
            yield var
        finally:
            stop(process, output)


def wait_ready(process: subprocess.Popen[bytes], var: Path, output: Path) -> None:
    """Until ``endpoints.json`` appears; CliError with the output if ``up`` exits or stalls."""
    say(f"starting the platform: revmentor up --no-seed --var {var}")
    deadline = time.monotonic() + READY_TIMEOUT
    while read_endpoints(var / "run" / "endpoints.json") is None:
        if process.poll() is not None or time.monotonic() > deadline:
            tail = output.read_text(errors="replace")[-3000:]
            why = f"exited with {process.returncode}" if process.poll() is not None else "stalled"
            raise CliError(f"revmentor up {why} before it was ready; its output:\n{tail}")
        time.sleep(0.2)


def stop(process: subprocess.Popen[bytes], output: Path) -> None:
    if process.poll() is not None:
        return
    say("stopping the platform")
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        say(f"revmentor up did not stop within {STOP_TIMEOUT:.0f} s; killed")


def platform_of(var: Path) -> tuple[dict[str, str], devkeys.DevKey]:
    """The targets and the dev key of the platform running on ``var``."""
    path = var / "run" / "endpoints.json"
    endpoints = read_endpoints(path)
    if endpoints is None:
        raise CliError(NOT_RUNNING.format(path=path))
    return targets_of(endpoints), devkeys.load(var)


# -- the scenario --------------------------------------------------------------------------
async def scenario(ctx: Context, participants: int) -> dict[str, Any]:
    """Every phase in order; the outcomes report's funnel at the end."""
    steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
        ("programme", lambda: phases.create_programme(ctx)),
        (f"enrolling {participants}", lambda: phases.enrol(ctx, participants)),
        ("certifying mentors", lambda: phases.certify(ctx)),
        ("waiting for matching's pool", lambda: phases.wait_for_pool(ctx)),
        ("matching rounds and answers", lambda: phases.match_and_accept(ctx)),
        ("waiting for scheduling", lambda: phases.wait_for_mentorships(ctx)),
        ("booking sessions", lambda: phases.book(ctx)),
    ]
    for label, step in steps:
        say(f"{label} ...")
        await step()
    say("outcomes report ...")
    return await phases.outcomes_report(ctx)


def run_scenario(var: Path, participants: int, concurrency: int) -> dict[str, Any]:
    """Drive the platform on ``var``; the JSON document of the run."""
    targets, key = platform_of(var)

    def mint(sub: str, roles: list[str], **claims: Any) -> str:
        return key.mint(sub, roles, ttl=TOKEN_TTL, **claims)

    run = Run(CpuProbe(pids_of(var)))
    wait = max(120.0, participants * 0.1)
    ctx = Context(run, targets, mint, concurrency, wait_timeout=wait)
    started = time.perf_counter()
    funnel = asyncio.run(scenario(ctx, participants))
    return {
        "benchmark": "load: programme lifecycle through the public gRPC APIs",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "participants": participants,
        "concurrency": concurrency,
        "programme_id": ctx.programme_id,
        "targets": targets,
        "total_wall_s": round(time.perf_counter() - started, 1),
        "outcome": {
            "enrolled": sum(1 for p in ctx.people if p.participant_id),
            "confirmed_matches": len(ctx.confirmed_at),
            "mentorships": len(ctx.mentorships),
            "funnel": funnel,
        },
        "phases": [phase.summary() for phase in run.phases],
    }


# -- reporting -----------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    """bench.machine's description when available, else the basics."""
    try:
        from bench.machine import describe
    except ImportError as error:
        return {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "os": platform.platform(),
            "note": f"bench.machine unavailable: {error}",
        }
    return describe()


def table(rows: list[dict[str, Any]]) -> str:
    """The phases as a markdown table (latencies in ms)."""
    head = "| phase | count | errors | wall s | ops/s | p50 | p95 | p99 | max | busiest CPU |"
    lines = [head, "|" + "---|" * 10]
    for row in rows:
        errors = ", ".join(f"{k} {v}" for k, v in row["errors"].items()) or "0"
        busiest = ", ".join(f"{k} {v:.0f}%" for k, v in list(row["cpu_percent"].items())[:2])

        def ms(key: str, row: dict[str, Any] = row) -> str:
            return "-" if row[key] is None else f"{row[key]:.1f}"

        ops = "-" if row["ops_per_s"] is None else f"{row['ops_per_s']:.1f}"
        wall = f"{row['wall_s']:.1f}" if row["kind"] == "calls" else "-"
        lines.append(
            f"| {row['phase']} | {row['count']} | {errors} | {wall} | {ops} | "
            f"{ms('p50_ms')} | {ms('p95_ms')} | {ms('p99_ms')} | {ms('max_ms')} | "
            f"{busiest or '-'} |"
        )
    return "\n".join(lines)


def save(document: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"load-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.load", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--participants", type=int, default=1000, help="N (default 1000)")
    parser.add_argument("--concurrency", type=int, default=50, help="requests in flight (50)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--platform-var", type=Path, help="var dir of a running `revmentor up`")
    where.add_argument("--start", action="store_true", help="start (and stop) a platform")
    args = parser.parse_args(argv)
    if args.participants < 2 or args.concurrency < 1:
        parser.error("--participants must be at least 2 and --concurrency at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    try:
        with contextlib.ExitStack() as stack:
            var = stack.enter_context(started_platform()) if args.start else None
            var = var or (args.platform_var or var_dir()).resolve()
            document = run_scenario(var, args.participants, args.concurrency)
    except (CliError, phases.ScenarioError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    document["started_platform"] = args.start
    document["machine"] = machine()
    print(table(document["phases"]))
    outcome = document["outcome"]
    print(
        f"\n{outcome['enrolled']} enrolled, {outcome['confirmed_matches']} matches confirmed, "
        f"{outcome['mentorships']} mentorships; whole lifecycle {document['total_wall_s']} s"
    )
    say(f"results in {save(document)}")
    errors = sum(sum(row["errors"].values()) for row in document["phases"])
    return 1 if errors or not outcome["confirmed_matches"] else 0


if __name__ == "__main__":
    sys.exit(main())
