"""``revmentor audit verify`` against a whole platform started by ``revmentor up``.

What must hold: with checkpoints every second, a freshly seeded platform
verifies ok in every service (exit 0); with the platform stopped the command
says to start it (exit 2); after one stored row of one service is edited in
its SQLite file and the platform restarted, the command names that service and
the position (exit 1) while the others stay ok.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_up import STOP_TIMEOUT, Up, revmentor, up_env

from revmentor.cli.up import available_services
from revmentor.kernel.natsserver import free_port

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

TAMPERED = "matching"


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Any]:
    """Starts `revmentor up` on ``tmp_path/var`` with free ports and checkpoints every second."""
    started: list[Up] = []
    var = tmp_path / "var"
    ports = {f"{s.upper()}_GRPC_PORT": "0" for s in available_services()}  # 0: any free port

    def start() -> Up:
        output = tmp_path / f"up-{len(started)}.out"
        with open(output, "wb") as out:
            process = subprocess.Popen(
                [*revmentor(), "up", "--var", str(var), "--nats-port", str(free_port())],
                env=up_env(var, AUDIT_CHECKPOINT_SECONDS="1", **ports),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        up = Up(process, var, output)
        started.append(up)
        return up

    yield start
    for up in started:  # a failed test must not leave a platform running
        if up.process.poll() is None:
            up.process.send_signal(signal.SIGTERM)
            try:
                up.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                up.process.kill()
                up.process.wait()


def audit_verify(var: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*revmentor(), "audit", "verify", *args],
        env=up_env(var, **env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def report(var: Path) -> tuple[int, dict[str, Any]]:
    done = audit_verify(var, "--json")
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


def all_checkpointed(var: Path, deadline: float) -> dict[str, Any]:
    """Poll until every service verifies ok with every row under a signed checkpoint."""
    last: Any = None
    while time.monotonic() < deadline:
        code, document = report(var)
        last = document
        services = document["services"]
        if code == 0 and all(
            s.get("rows", 0) > 0
            and s.get("unchained") == 0
            and s.get("checkpoints_checked", 0) >= 1
            and s.get("last_checkpoint_position") == s.get("chain_head_position")
            for s in services
        ):
            return document
        time.sleep(0.5)
    pytest.fail(f"the services were not all checkpointed in time: {last}")


def tamper(path: Path) -> int:
    """Change one digit of a stored event's timestamp (still a valid event); its position."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as db:
        rows = db.execute("SELECT rowid, state FROM stored_events ORDER BY rowid").fetchall()
        position, state = rows[len(rows) // 2]
        stamp = re.search(rb"\.(\d{6})\+00:00", state)
        assert stamp is not None, state[:200]
        end = stamp.end(1)
        other = b"1" if state[end - 1 : end] != b"1" else b"2"
        edited = state[: end - 1] + other + state[end:]
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, position))
    return int(position)


def test_verify_is_ok_then_names_the_tampered_service_and_position(platform: Any) -> None:
    deadline = time.monotonic() + 80
    up = platform()
    up.wait_ready()
    var = up.var
    document = all_checkpointed(var, deadline)
    assert [s["service"] for s in document["services"]] == available_services()
    assert document["ok"] is True
    text = audit_verify(var)
    assert text.returncode == 0, text.stdout + text.stderr
    ok_line = r"^\w+ +ok  rows \d+, chained \d+, \d+ checkpoints? checked, last at \d+"
    for line in text.stdout.splitlines():
        assert re.match(ok_line, line), line

    assert up.stop() == 0, up.text()
    nowhere = {
        f"REVMENTOR_{s.upper()}_ADDR": f"127.0.0.1:{free_port()}" for s in available_services()
    }
    stopped = audit_verify(var, **nowhere)
    assert stopped.returncode == 2, stopped.stdout + stopped.stderr
    assert "UNREACHABLE" in stopped.stdout and "revmentor up" in stopped.stdout

    position = tamper(var / f"{TAMPERED}.sqlite")
    up = platform()
    up.wait_ready()
    code, document = report(var)
    assert code == 1 and document["ok"] is False, document
    by_service = {s["service"]: s for s in document["services"]}
    broken = by_service.pop(TAMPERED)
    assert broken["status"] == "broken" and broken["first_broken_position"] == position
    assert f"row {position} changed" in broken["reason"]
    assert all(s["status"] == "ok" for s in by_service.values()), by_service
    text = audit_verify(var)
    assert text.returncode == 1
    (line,) = [line for line in text.stdout.splitlines() if line.startswith(TAMPERED)]
    assert f"BROKEN at position {position}: row {position} changed" in line, text.stdout
