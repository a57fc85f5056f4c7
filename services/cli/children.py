"""The processes `revmentor up` runs: each child's output, named, and its fate.

Each service process (and each replica) is a :class:`Child`: its output is
copied line by line to the terminal with its name in front and to its log
file, and the last lines are kept for an error message. A replica that dies is
restarted unless it keeps dying (:func:`may_restart`). NATS warnings are shown
from its log file.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from revmentor.cli.common import emit
from revmentor.kernel.streams import SERVICES

LOG_TAIL = 30
#: A replica (or NATS node) that dies this many times within RESTART_WINDOW stops everything.
RESTART_LIMIT = 5
RESTART_WINDOW = 60.0
#: Names are padded to this (replicas' names, ``<service>-<n>``, may run over).
WIDTH = max(len(name) for name in (*SERVICES, "nats", "up"))


def say(text: str, name: str = "up") -> None:
    emit(f"{name:<{WIDTH}} | {text}")


@dataclass
class Child:
    """One service process and the tail of what it printed."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    log_file: Path
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_TAIL))
    reader: threading.Thread | None = None
    #: The service it runs (``name`` is ``<service>-<n>`` when there are replicas).
    service: str = ""
    env: dict[str, str] = field(default_factory=dict)
    #: When it was restarted after dying (a replica that keeps dying stops `up`).
    restarts: deque[float] = field(default_factory=lambda: deque(maxlen=RESTART_LIMIT))

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def running(self) -> bool:
        return self.process.poll() is None

    def last_lines(self) -> str:
        if self.reader is not None:
            self.reader.join(timeout=2)
        lines = list(self.tail) or ["(no output)"]
        shown = "\n".join(f"    {line}" for line in lines)
        return f"last lines of its output (all of it is in {self.log_file}):\n{shown}"


def pump(child: Child) -> None:
    """Copy a child's output to the terminal (named) and to its log file."""
    assert child.process.stdout is not None
    with open(child.log_file, "ab") as log:
        for raw in iter(child.process.stdout.readline, b""):
            log.write(raw)
            log.flush()
            line = raw.decode("utf-8", "replace").rstrip()
            child.tail.append(line)
            say(line, child.name)


def follow_nats_log(path: Path, start: int, stop: threading.Event) -> None:
    """Show NATS warnings and errors from its log file (the banner stays in the file)."""
    with contextlib.suppress(OSError), open(path, "rb") as log:
        log.seek(start)
        while True:
            raw = log.readline()
            if not raw:
                if stop.wait(0.2):
                    return
                continue
            line = raw.decode("utf-8", "replace").rstrip()
            if any(mark in line for mark in ("[WRN]", "[ERR]", "[FTL]", "Server is ready")):
                say(line, "nats")


def target(ports: list[int]) -> str:
    """One address, or every replica's as one round-robin gRPC target."""
    if len(ports) == 1:
        return f"127.0.0.1:{ports[0]}"
    return "ipv4:" + ",".join(f"127.0.0.1:{port}" for port in ports)


def may_restart(restarts: deque[float]) -> bool:
    """Record a restart now; False when the last RESTART_LIMIT ones were all recent."""
    now = time.monotonic()
    if len(restarts) == RESTART_LIMIT and now - restarts[0] < RESTART_WINDOW:
        return False
    restarts.append(now)
    return True
