"""``revmentor up`` as a user runs it: real processes, its own nats-server, real ports.

What must hold: with 4222 taken, NATS moves to a free port and says so; every
service becomes healthy; an empty platform is seeded once (the demo programme,
its participants, events on the enrolment stream, its training, matching and
scheduling steps, and an outcomes report with a figure in every section) and
never again; SIGTERM
stops everything with exit 0 and leaves no process behind; a service dying on
its own stops the rest with a non-zero exit; one var dir runs one platform.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from support import authed_sync_channel

from revmentor.cli.endpoints import SERVING, health
from revmentor.cli.up import available_services
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.streams import DLQ_STREAM, SERVICES

pytestmark = pytest.mark.slow

READY_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
DEMO = "Digital Leadership 2027"
#: The demo's story: pairs that completed, each after this many sessions.
COMPLETED_PAIRS = 5
PLANNED_SESSIONS = 6
DEFAULT_MIN_GROUP = 5
#: Label -> value pattern of the report's figures the demo must show as numbers.
SUMMARY_FIGURES = {
    "Average usefulness of sessions": r"\d\.\d\d / 5",
    "Net promoter score (-100 to +100)": r"[+-]\d+\.\d",
}
CHANGES = ("Mentors' pedagogy", "Mentors' coaching confidence", "Intergenerational understanding")


def revmentor() -> list[str]:
    """The installed console script (what `make run` calls), else the module."""
    script = Path(sys.executable).parent / "revmentor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "revmentor.cli"]


def eventually(
    check: Callable[[], Any],
    timeout: float,
    what: str | Callable[[], str],
    interval: float = 0.1,
) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    described = what() if callable(what) else what
    pytest.fail(f"timed out after {timeout} s waiting for {described} (last: {last!r})")


@contextlib.contextmanager
def port_taken(port: int) -> Iterator[None]:
    """Make sure ``port`` is in use for the duration (it may already be)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with contextlib.suppress(OSError):  # already taken by someone else: just as good
        sock.bind(("127.0.0.1", port))
        sock.listen()
    try:
        yield
    finally:
        sock.close()


def demo_report(output: str, programme_id: str) -> str:
    """The outcomes report the seeding printed, up to the line after it."""
    title = f"Outcomes report - programme {programme_id}"
    assert title in output, output
    report = output[output.index(title) :]
    return report[: report.index("\nup ")] if "\nup " in report else report


# -- processes -----------------------------------------------------------------------------
def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == pid:
                    found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def processes_using(var: Path) -> list[str]:
    """Any process whose command line or environment mentions ``var``."""
    needle = str(var).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes()
            environ = (entry / "environ").read_bytes()
            if needle in cmdline or needle in environ:
                command = cmdline.replace(b"\0", b" ").decode(errors="replace")
                found.append(f"{entry.name}: {command}")
    return found


@dataclass
class Up:
    """One `revmentor up` process and its output file."""

    process: subprocess.Popen[bytes]
    var: Path
    output: Path

    @property
    def endpoints_file(self) -> Path:
        return self.var / "run" / "endpoints.json"

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_ready(self) -> dict[str, Any]:
        def ready() -> dict[str, Any] | None:
            if self.process.poll() is not None:
                pytest.fail(f"revmentor up exited with {self.process.returncode}:\n{self.text()}")
            with contextlib.suppress(OSError, ValueError):
                data: dict[str, Any] = json.loads(self.endpoints_file.read_text())
                return data
            return None

        found: dict[str, Any] = eventually(
            ready, READY_TIMEOUT, lambda: f"{self.endpoints_file}; output so far:\n{self.text()}"
        )
        return found

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            pytest.fail(f"revmentor up did not exit within {STOP_TIMEOUT} s:\n{self.text()}")


def up_env(var: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "NATS_URL" and not k.startswith("REVMENTOR_") and not k.endswith("_GRPC_PORT")
    }
    env.update(REVMENTOR_VAR_DIR=str(var), **extra)
    return env


@pytest.fixture
def start_up(tmp_path: Path) -> Iterator[Callable[..., Up]]:
    started: list[Up] = []

    def start(*args: str, var: Path | None = None, **env: str) -> Up:
        var = var or tmp_path / "var"
        output = tmp_path / f"up-{len(started)}.out"
        with open(output, "wb") as out:
            process = subprocess.Popen(
                [*revmentor(), "up", "--var", str(var), *args],
                env=up_env(var, **env),
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


# -- clients -------------------------------------------------------------------------------
def token_for(var: Path, *args: str) -> str:
    """A token from `revmentor token`, signed with the dev key `up` made in ``var``."""
    done = subprocess.run(
        [*revmentor(), "token", "--var", str(var), *args],
        env=up_env(var),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def enrolment(address: str, var: Path) -> Any:
    token = token_for(var, "--role", "admin", "--sub", "e2e-admin")
    return pb_grpc.EnrolmentServiceStub(authed_sync_channel(address, token))


def stream_messages(url: str, stream: str) -> int:
    async def count() -> int:
        nc = await nats.connect(
            url, connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=1
        )
        try:
            info = await nc.jetstream().stream_info(stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def assert_all_gone(up: Up, children: set[int]) -> None:
    left = [pid for pid in children if alive(pid)]
    assert not left, f"child processes still running: {left}\n{up.text()}"
    assert not processes_using(up.var), processes_using(up.var)
    assert not up.endpoints_file.exists(), "endpoints.json left behind after a clean stop"


# -- tests ---------------------------------------------------------------------------------
def test_up_starts_seeds_once_and_stops_cleanly(start_up: Callable[..., Up]) -> None:
    grpc_port = free_port()
    with port_taken(4222), port_taken(grpc_port):
        started = time.monotonic()
        up = start_up(ENROLMENT_GRPC_PORT=str(grpc_port))
        endpoints = up.wait_ready()
        ready_after = time.monotonic() - started
    print(f"revmentor up ready after {ready_after:.1f} s")

    # NATS and the service moved off their taken ports, and said so.
    nats_url = endpoints["nats"]
    address = endpoints["services"]["enrolment"]
    assert nats_url.startswith("nats://127.0.0.1:") and not nats_url.endswith(":4222")
    assert not address.endswith(f":{grpc_port}")
    output = up.text()
    assert f"port 4222 is taken; NATS on {nats_url.rsplit(':', 1)[1]} instead" in output
    assert f"port {grpc_port} is taken; enrolment on {address.rsplit(':', 1)[1]}" in output
    assert (up.var / "nats").is_dir() and (up.var / "log" / "nats.log").exists()
    assert (up.var / "log" / "enrolment.log").read_text().strip()
    assert re.search(r"^enrolment +\| .*serving gRPC", output, re.M)  # its own lines, named

    with grpc.insecure_channel(address) as channel:
        assert health(channel) == SERVING
    stub = enrolment(address, up.var)
    programmes = stub.ListProgrammes(pb.ListProgrammesRequest(), timeout=10)
    assert programmes.total_size == 1
    demo = programmes.programmes[0]
    assert demo.name == DEMO
    assert demo.status == pb.PROGRAMME_STATUS_ENROLMENT_OPEN
    assert demo.mentor_count >= 6 and demo.mentee_count >= 6
    assert len(demo.topics) >= 6
    participants = stub.ListParticipants(
        pb.ListParticipantsRequest(programme_id=demo.programme_id, page_size=500), timeout=10
    )
    assert participants.total_size == demo.mentor_count + demo.mentee_count
    assert f"seeded demo programme {DEMO!r}" in output
    assert "training: 7 of 8 mentors trained and certified" in output
    # dates relative to the day it is seeded: started 13 weeks ago, about six months long
    start = date.fromisoformat(demo.start_date)
    assert (datetime.now(UTC).date() - start).days in (90, 91, 92)  # a midnight may pass
    assert 160 <= (date.fromisoformat(demo.end_date) - start).days <= 190
    # five pairs held their six sessions and completed; the others met once and
    # booked their next session
    confirmed = re.search(r"matching: round 1 proposed \d+ pairs .*?, (\d+) confirmed", output)
    assert confirmed, output
    pairs = int(confirmed.group(1))
    assert pairs > COMPLETED_PAIRS
    started = pairs - COMPLETED_PAIRS
    held = COMPLETED_PAIRS * PLANNED_SESSIONS + started
    assert (
        f"scheduling: {pairs} mentorships opened, {held} sessions held, "
        f"{COMPLETED_PAIRS} mentorships completed, {started} booked for next week"
    ) in output
    # both members answered every session and their surveys, as themselves
    surveys = 2 * (pairs + COMPLETED_PAIRS)  # a baseline each; an end survey once completed
    assert f"feedback: {2 * held} session answers, {surveys} surveys (baseline and end)" in output
    # the demo ends with a report that has a figure in every section
    report = demo_report(output, demo.programme_id)
    assert "Participation funnel" in report and "suppressed so that nobody" in report
    assert f"Figures about fewer than {DEFAULT_MIN_GROUP} people" in report
    assert re.search(rf"^  Sessions held +{held} +{2 * pairs} people$", report, re.M), report
    for label, value in SUMMARY_FIGURES.items():
        assert re.search(rf"^  {re.escape(label)} +{value} +\d+ people$", report, re.M), label
    topics = re.findall(r"^  ([a-z-]+) +[+-]\d\.\d\d +(\d+) people", report, re.M)
    assert topics and all(int(people) >= DEFAULT_MIN_GROUP for _, people in topics), report
    for label in CHANGES:
        assert re.search(rf"^  {label} +[+-]\d\.\d\d +\d+ people", report, re.M), label
    # the demo's sessions are dated before its members were enrolled (as it seeds):
    # left out of the days to a first session, the one figure without data
    assert re.findall(r"^  (.+?) +no data yet$", report, re.M) == [
        "Days from enrolment to first session"
    ], report
    assert "suppressed (" not in report
    # the services trust the development key made under var/secrets, and nothing else
    key_file = up.var / "secrets" / "dev-signing-key.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600
    with grpc.insecure_channel(address) as channel:
        anonymous = pb_grpc.EnrolmentServiceStub(channel)
        with pytest.raises(grpc.RpcError) as refused:
            anonymous.ListProgrammes(pb.ListProgrammesRequest(), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]
        mentee = token_for(up.var, "--role", "mentee", "--sub", "u-1", "--employee-id", "E1201")
        with pytest.raises(grpc.RpcError) as denied:
            anonymous.ListParticipants(
                pb.ListParticipantsRequest(programme_id=demo.programme_id),
                timeout=10,
                metadata=(("authorization", f"Bearer {mentee}"),),
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    # the integration events reached JetStream (published asynchronously by the relay)
    eventually(
        lambda: stream_messages(nats_url, "REVMENTOR_ENROLMENT") >= participants.total_size,
        30,
        "the enrolment events on REVMENTOR_ENROLMENT",
    )

    # one var dir, one platform: a second `up` on it is refused at once
    second = start_up()
    assert second.process.wait(30) == 1
    assert "already running" in second.text()
    assert up.process.poll() is None
    assert json.loads(up.endpoints_file.read_text()) == endpoints  # left alone

    children = children_of(up.process.pid)
    assert len(children) == 1 + len(available_services()), children  # nats-server + services
    assert up.stop(signal.SIGTERM) == 0, up.text()
    assert "enrolment stopped (exit code 0)" in up.text()
    assert_all_gone(up, children)

    # a second start on the same var dir keeps the data and does not seed again
    again = start_up()
    endpoints = again.wait_ready()
    stub = enrolment(endpoints["services"]["enrolment"], again.var)
    programmes = stub.ListProgrammes(pb.ListProgrammesRequest(), timeout=10)
    assert programmes.total_size == 1
    assert programmes.programmes[0].programme_id == demo.programme_id
    assert "already there; not seeding" in again.text()
    children = children_of(again.process.pid)
    assert again.stop(signal.SIGINT) == 0, again.text()
    assert_all_gone(again, children)


def test_no_seed_and_a_crashed_service_stops_everything(
    start_up: Callable[..., Up], tmp_path: Path
) -> None:
    up = start_up("--no-seed", ENROLMENT_GRPC_PORT=str(free_port()))
    endpoints = up.wait_ready()
    stub = enrolment(endpoints["services"]["enrolment"], up.var)
    assert stub.ListProgrammes(pb.ListProgrammesRequest(), timeout=10).total_size == 0
    assert "seeding off" in up.text()

    children = children_of(up.process.pid)
    service = next(
        pid
        for pid in children
        if b"revmentor.enrolment.main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    os.kill(service, signal.SIGKILL)
    try:
        code = up.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"revmentor up kept running after its service died:\n{up.text()}")
    assert code == 1
    output = up.text()
    assert "enrolment stopped on its own" in output
    assert "nats-server stopped" in output
    assert_all_gone(up, children)


def test_with_nats_url_it_uses_that_nats_and_leaves_it_running(
    start_up: Callable[..., Up], nats_server: LocalNatsServer
) -> None:
    up = start_up("--no-seed", NATS_URL=nats_server.url, ENROLMENT_GRPC_PORT=str(free_port()))
    endpoints = up.wait_ready()
    assert endpoints["nats"] == nats_server.url
    assert f"using NATS at {nats_server.url} (from NATS_URL)" in up.text()
    for service in SERVICES:  # every stream is declared, not only those of running services
        assert stream_messages(nats_server.url, stream_name(service)) >= 0
    assert stream_messages(nats_server.url, DLQ_STREAM) == 0
    children = children_of(up.process.pid)
    assert len(children) == len(available_services()), children  # services only: no own NATS
    assert up.stop() == 0, up.text()
    assert_all_gone(up, children)
    assert nats_server.process is not None and nats_server.process.poll() is None


def test_a_service_that_cannot_start_is_named_with_its_last_lines(
    start_up: Callable[..., Up],
) -> None:
    up = start_up(
        ENROLMENT_GRPC_PORT=str(free_port()), ENROLMENT_PERSISTENCE_MODULE="no.such.store"
    )
    children = eventually(lambda: children_of(up.process.pid), 30, "the processes of up")
    try:
        code = up.process.wait(READY_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"revmentor up did not give up on a broken service:\n{up.text()}")
    assert code == 1
    output = up.text()
    assert "error: enrolment exited with code" in output
    assert "last lines of its output" in output and "no.such.store" in output
    assert not up.endpoints_file.exists()
    assert_all_gone(up, children)


def test_token_without_a_dev_key_says_to_run_up_first(tmp_path: Path) -> None:
    done = subprocess.run(
        [*revmentor(), "token", "--var", str(tmp_path), "--role", "admin", "--sub", "x"],
        env=up_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "revmentor up" in done.stderr and "Traceback" not in done.stderr


def test_secure_gives_each_service_its_own_nats_user(start_up: Callable[..., Up]) -> None:
    up = start_up("--secure", ENROLMENT_GRPC_PORT=str(free_port()))
    endpoints = up.wait_ready()
    credentials = json.loads((up.var / "secrets" / "nats-credentials.json").read_text())
    assert set(credentials) >= {"admin", "integrator", *SERVICES}
    with pytest.raises(Exception, match="Authorization Violation"):
        stream_messages(endpoints["nats"], stream_name("enrolment"))  # anonymous: refused

    async def published() -> int:
        nc = await nats.connect(
            endpoints["nats"],
            user="integrator",
            password=credentials["integrator"],
            inbox_prefix="_INBOX_integrator",
            allow_reconnect=False,
        )
        try:
            info = await nc.jetstream().stream_info(stream_name("enrolment"))
            return int(info.state.messages)
        finally:
            await nc.close()

    # the demo seed went through the enrolment relay, connected as the enrolment user
    eventually(lambda: asyncio.run(published()) >= 17 or None, READY_TIMEOUT, lambda: up.text())
    # training consumed enrolment's events as its own NATS user, and certified the demo
    assert "training: 7 of 8 mentors trained and certified" in up.text(), up.text()
    children = children_of(up.process.pid)
    assert up.stop() == 0, up.text()
    assert_all_gone(up, children)
