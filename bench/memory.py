"""Memory: peak RSS of a service process with a large programme loaded.

The issue's figure is a 100,000-participant programme; the default run uses
``PARTICIPANTS`` (10,000) x ``--scale`` (``--scale 10`` reaches 100,000).

For each service measured (enrolment; training, which keeps a record per
participant), a SQLite store in the run's temporary directory is filled
through the application (enrolment: ``bench.fill``, the enrol command's two
events per participant in one programme, one in five a mentor; training: the
programme's registration and one ``TrainingRecord`` opened per participant,
as its enrolment subscription opens them), closed, and then the real service
process is started on it - ``python -m revmentor.<service>.main`` with the
environment ``revmentor up`` gives it (the store, a KEK, NATS at a fresh
nats-server of its own, a gRPC port, JWT settings for a throwaway key). The
process catches its read model up from the whole log, starts serving, and
its relay publishes the whole log to the fresh stream (a first start); once
it reports SERVING and its relay has caught up, its ``/proc/<pid>/status`` is
read: ``VmHWM`` (peak resident set since it started) and ``VmRSS`` (resident
now). Then SIGTERM.

The baseline is the same process on a store holding only the (empty)
programme: the service's own floor. The figures: peak RSS loaded, peak RSS
empty, and (loaded - empty) / participants, the bytes each participant costs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from bench import fill
from bench.workloads import KEK, sqlite_env
from revmentor.cli.devkeys import DevKey
from revmentor.cli.endpoints import wait_healthy
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.kernel.application import RELAY_TRACKING, ServiceApplication
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.curriculum import DEFAULT_VERSION, ProgrammeTraining, default_modules
from revmentor.training.domain.record import TrainingRecord

PARTICIPANTS = 10_000
MIN_PARTICIPANTS = 1_000
START_TIMEOUT = 600.0
MB = 1024 * 1024


# -- filling the stores ------------------------------------------------------------------
def fill_enrolment(path: Path, participants: int) -> int:
    """One programme and ``participants`` enrolments; returns the log's length."""
    app = EnrolmentApplication(env=sqlite_env(path))
    try:
        fill.unsynchronised(app)
        programme_ids = fill.programmes(app, 1)
        fill.enrol(app, programme_ids, participants)
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


def fill_training(path: Path, participants: int) -> int:
    """A programme's training and ``participants`` open records; the log's length."""
    app = TrainingApplication(env=sqlite_env(path))
    try:
        fill.unsynchronised(app)
        programme_id = UUID(int=1)
        app.save(ProgrammeTraining.register(programme_id, "2027-01-01"))
        modules = default_modules()
        for start in range(0, participants, fill.BATCH):
            records = [
                TrainingRecord.open(
                    UUID(int=1_000_000 + n),
                    programme_id,
                    "mentee" if n % fill.MENTOR_EVERY else "mentor",
                    DEFAULT_VERSION,
                    modules,
                )
                for n in range(start, min(start + fill.BATCH, participants))
            ]
            app.save(*records)
        return app.recorder.max_notification_id() or 0
    finally:
        app.close()


FILLERS: dict[str, tuple[Callable[[Path, int], int], type[ServiceApplication]]] = {
    "enrolment": (fill_enrolment, EnrolmentApplication),
    "training": (fill_training, TrainingApplication),
}


# -- the service process -----------------------------------------------------------------
def auth_env(work: Path) -> dict[str, str]:
    """JWT settings for a throwaway signing key (the process only needs to start)."""
    key = DevKey.generate(issuer="revmentor-bench")
    jwks = work / "memory-jwks.json"
    jwks.write_text(json.dumps(key.jwks()), encoding="utf-8")
    return {
        "REVMENTOR_JWT_ISSUER": key.issuer,
        "REVMENTOR_JWT_AUDIENCE": key.audience,
        "REVMENTOR_JWKS_FILE": str(jwks),
    }


def status(pid: int) -> dict[str, int]:
    """``VmHWM`` and ``VmRSS`` of a process, in bytes."""
    figures = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            figures[name] = int(value.split()[0]) * 1024
    return figures


def measure_process(service: str, store: Path, work: Path, events: int) -> dict[str, Any]:
    """Start the service on ``store``; its peak and current RSS once settled."""
    port = free_port()
    nats = LocalNatsServer(store_dir=work / f"nats-{store.stem}").start()
    env = {
        **os.environ,
        **sqlite_env(store),
        **KEK,
        **auth_env(work),
        "NATS_URL": nats.url,
        "REVMENTOR_VAR_DIR": str(work / f"var-{store.stem}"),
        f"{service.upper()}_GRPC_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }
    log = (work / f"{store.stem}.log").open("wb")
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", f"revmentor.{service}.main"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def running() -> bool:
        return process.poll() is None

    try:
        if not wait_healthy(f"127.0.0.1:{port}", START_TIMEOUT, running):
            raise RuntimeError(f"{service} did not start; see {log.name}")
        serving = time.perf_counter() - started
        _settle(FILLERS[service][1], store, events, running)
        figures = status(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        nats.stop()
    return {
        "peak_rss": figures["VmHWM"],
        "rss": figures["VmRSS"],
        "serving_after_s": round(serving, 2),
        "settled_after_s": round(time.perf_counter() - started, 2),
    }


def _settle(
    kind: type[ServiceApplication], store: Path, events: int, running: Callable[[], bool]
) -> None:
    """Wait until the process's relay has published its whole log, then a moment."""
    reader = kind(env=sqlite_env(store))
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while reader.tracked_position(RELAY_TRACKING) < events and running():
            if time.monotonic() > deadline:
                raise TimeoutError("the relay did not catch up")
            time.sleep(0.2)
    finally:
        reader.close()
    time.sleep(1.0)


def measure_service(service: str, work: Path, participants: int) -> dict[str, Any]:
    filler = FILLERS[service][0]
    _progress(f"memory: {service}, filling {participants:,} participants ...")
    loaded_events = filler(work / f"{service}-loaded.sqlite", participants)
    empty_events = filler(work / f"{service}-empty.sqlite", 0)
    _progress(f"memory: {service} process, empty store, then loaded ({loaded_events:,} events)")
    empty = measure_process(service, work / f"{service}-empty.sqlite", work, empty_events)
    loaded = measure_process(service, work / f"{service}-loaded.sqlite", work, loaded_events)
    return {
        "service": service,
        "participants": participants,
        "events": loaded_events,
        "loaded": loaded,
        "empty": empty,
        "per_participant_bytes": round((loaded["peak_rss"] - empty["peak_rss"]) / participants),
    }


def measure(work: Path, scale: float) -> dict[str, Any]:
    participants = max(round(PARTICIPANTS * scale), MIN_PARTICIPANTS)
    return {
        "participants": participants,
        "store": "SQLite (temporary file)",
        "services": [measure_service(s, work, participants) for s in FILLERS],
    }


def _progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def run(work: Path, scale: float) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Table rows (shaped like ``bench.run``'s) and the JSON ``memory`` section."""
    section = measure(work, scale)
    return table_rows(section), section


def table_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "benchmark": f"memory {s['service']} peak RSS, {s['participants']:,} participants"
            " vs empty",
            "unit": "MB (VmHWM of the service process)",
            "ours": round(s["loaded"]["peak_rss"] / MB, 1),
            "raw": round(s["empty"]["peak_rss"] / MB, 1),
            "ratio": round(s["loaded"]["peak_rss"] / s["empty"]["peak_rss"], 3),
        }
        for s in section["services"]
    ]


def print_section(section: dict[str, Any]) -> None:
    print(
        f"\nmemory: service processes ({section['store']}), a programme of"
        f" {section['participants']:,} participants vs an empty one"
    )
    print(
        f"{'service':<12}{'events':>9}{'peak MB':>9}{'RSS MB':>8}{'empty peak':>12}"
        f"{'KB/participant':>16}{'serving after s':>17}"
    )
    for s in section["services"]:
        loaded, empty = s["loaded"], s["empty"]
        print(
            f"{s['service']:<12}{s['events']:>9,}{loaded['peak_rss'] / MB:>9.1f}"
            f"{loaded['rss'] / MB:>8.1f}{empty['peak_rss'] / MB:>12.1f}"
            f"{s['per_participant_bytes'] / 1024:>16.2f}{loaded['serving_after_s']:>17.1f}"
        )
