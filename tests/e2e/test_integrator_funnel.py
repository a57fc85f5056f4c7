"""An integrator rebuilds the programme funnel from the events alone.

``revmentor up --secure`` runs the whole platform (its own nats-server with one
user per service) and seeds the demo programme. Then, connected as the
read-only ``integrator`` NATS user with the password `up` wrote to
var/secrets/nats-credentials.json, the test reads every stream from its first
event through durable pull consumers named ``integrator`` (the only ones that
user may create), and counts per role: enrolled (ParticipantEnrolled),
certified mentors (MentorCertified), matched (MatchConfirmed), met
(SessionHeld) and completed (MentorshipCompleted, members from
MentorshipOpened). The counts must equal what `up` printed while seeding and
the funnel of the feedback service's outcomes report (its non-suppressed
figures); ``revmentor events tail`` as the integrator yields the same events.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from nats.errors import TimeoutError as NoMessage

from revmentor.cli import devkeys
from revmentor.cli.main import main
from revmentor.feedback.v1 import feedback_pb2 as fpb
from revmentor.feedback.v1 import feedback_pb2_grpc as fpb_grpc
from revmentor.kernel import natsauth
from revmentor.kernel.cloudevents import ReceivedEvent, decode, stream_name
from revmentor.kernel.natsserver import free_port
from revmentor.kernel.streams import SERVICES

pytestmark = pytest.mark.slow

SEED_TIMEOUT = 75.0  # `up` ready and the demo seeded
EVENTS_TIMEOUT = 20.0  # the relays have published what the seed did
STOP_TIMEOUT = 15.0
ROLES = ("mentee", "mentor")
STAGES = ("enrolled", "certified", "matched", "met", "completed")


# -- the platform ------------------------------------------------------------------------
@dataclass
class Platform:
    process: subprocess.Popen[bytes]
    var: Path
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def wait_seeded(self) -> str:
        """The seed summary line, once `up` printed it (fails if `up` stops first)."""
        deadline = time.monotonic() + SEED_TIMEOUT
        while time.monotonic() < deadline:
            found = re.search(r"^up +\| (seeded demo programme .*)$", self.text(), re.M)
            if found:
                return found.group(1)
            if self.process.poll() is not None:
                pytest.fail(f"revmentor up exited with {self.process.returncode}:\n{self.text()}")
            time.sleep(0.2)
        pytest.fail(f"no demo seeded within {SEED_TIMEOUT} s:\n{self.text()}")

    def endpoints(self) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        path = self.var / "run" / "endpoints.json"
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                data: dict[str, Any] = json.loads(path.read_text())
                return data
            time.sleep(0.1)
        pytest.fail(f"no {path}:\n{self.text()}")


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    var = tmp_path / "var"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NATS_", "REVMENTOR_")) and not k.endswith("_GRPC_PORT")
    }
    env["REVMENTOR_VAR_DIR"] = str(var)
    for service in SERVICES:  # away from a `make run` that may be going on
        env[f"{service.upper()}_GRPC_PORT"] = str(free_port())
    script = Path(sys.executable).parent / "revmentor"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "revmentor.cli"]
    output = tmp_path / "up.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [*command, "up", "--secure", "--var", str(var), "--nats-port", str(free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield Platform(process, var, output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- the integrator's funnel -------------------------------------------------------------
@dataclass
class Funnel:
    """People per role and stage, rebuilt from events (each applied once, by ce-id)."""

    programme: str
    seen: set[str] = field(default_factory=set)
    reached: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    members: dict[str, tuple[str, str]] = field(default_factory=dict)  # mentorship -> pair
    completed: set[str] = field(default_factory=set)  # mentorships
    sessions_held: int = 0

    def add(self, role: str, stage: str, participant: str) -> None:
        self.reached.setdefault((role, stage), set()).add(participant)

    def apply(self, event: ReceivedEvent) -> None:
        if event.id in self.seen or event.subject != self.programme:
            return  # at-least-once: dedupe on ce-id
        self.seen.add(event.id)
        data = event.data
        if event.name == "ParticipantEnrolled":
            self.add(data["role"], "enrolled", data["participantId"])
        elif event.name == "MentorCertified":
            self.add("mentor", "certified", data["participantId"])
        elif event.name == "MatchConfirmed":
            self.add("mentee", "matched", data["menteeId"])
            self.add("mentor", "matched", data["mentorId"])
        elif event.name == "SessionHeld":
            self.sessions_held += 1
            self.add("mentee", "met", data["menteeId"])
            self.add("mentor", "met", data["mentorId"])
        elif event.name == "MentorshipOpened":
            self.members[data["mentorshipId"]] = (data["menteeId"], data["mentorId"])
        elif event.name == "MentorshipCompleted":
            self.completed.add(data["mentorshipId"])

    def counts(self) -> dict[tuple[str, str], int]:
        done = [self.members[m] for m in self.completed if m in self.members]
        out = {(r, s): len(self.reached.get((r, s), ())) for r in ROLES for s in STAGES}
        out["mentee", "completed"] = len({mentee for mentee, _ in done})
        out["mentor", "completed"] = len({mentor for _, mentor in done})
        del out["mentee", "certified"]
        return out


async def read_as_integrator(url: str, password: str, funnel: Funnel, expected: Any) -> None:
    """Durable pull consumers named `integrator`, one per stream, from the first event,
    until the funnel is ``expected`` (or the time is up)."""
    nc = await nats.connect(
        url, user="integrator", password=password, inbox_prefix="_INBOX_integrator"
    )
    try:
        js = nc.jetstream()
        subscriptions = [
            await js.pull_subscribe(
                f"revmentor.{service}.>", durable="integrator", stream=stream_name(service)
            )
            for service in SERVICES
        ]
        deadline = time.monotonic() + EVENTS_TIMEOUT
        while funnel.counts() != expected and time.monotonic() < deadline:
            for subscription in subscriptions:
                while True:
                    try:
                        messages = await subscription.fetch(batch=100, timeout=0.3)
                    except NoMessage:
                        break
                    for msg in messages:
                        funnel.apply(decode(dict(msg.headers or {}), msg.data))
                        await msg.ack()
    finally:
        await nc.close()


def printed_funnel(seed_line: str) -> tuple[str, dict[tuple[str, str], int], int]:
    """The programme id, the funnel and the sessions held, from `up`'s seed summary."""
    found = {
        "programme": re.search(r"seeded demo programme '[^']+' \(([^)]+)\)", seed_line),
        "enrolled": re.search(r"enrolled \((\d+) mentors, (\d+) mentees\)", seed_line),
        "certified": re.search(r"training: (\d+) of \d+ mentors trained and certified", seed_line),
        "confirmed": re.search(r"matching: round \d+ proposed .*?, (\d+) confirmed", seed_line),
        "held": re.search(
            r"scheduling: \d+ mentorships opened, (\d+) sessions held, (\d+) mentorships completed",
            seed_line,
        ),
    }
    missing = [name for name, match in found.items() if match is None]
    assert not missing, f"{missing} not in the seed line: {seed_line}"
    group = {name: match.groups() for name, match in found.items() if match}
    mentors, mentees = (int(n) for n in group["enrolled"])
    pairs, held, completed = int(group["confirmed"][0]), *(int(n) for n in group["held"])
    expected = {
        ("mentee", "enrolled"): mentees,
        ("mentor", "enrolled"): mentors,
        ("mentor", "certified"): int(group["certified"][0]),
        ("mentee", "matched"): pairs,  # the demo pairs distinct people
        ("mentor", "matched"): pairs,
        ("mentee", "met"): pairs,  # every demo pair held at least one session
        ("mentor", "met"): pairs,
        ("mentee", "completed"): completed,  # the demo pairs distinct people
        ("mentor", "completed"): completed,
    }
    return group["programme"][0], expected, held


def report_funnel(var: Path, address: str, programme: str) -> dict[tuple[str, str], int]:
    """The outcomes report's funnel figures that are not suppressed."""
    token = devkeys.load(var).mint("integrator-test", ["admin"], 300)
    with grpc.insecure_channel(address) as channel:
        report = fpb_grpc.FeedbackServiceStub(channel).GetOutcomesReport(
            fpb.GetOutcomesReportRequest(programme_id=programme),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=30,
        )
    return {
        (stage.role, stage.stage): int(stage.count.value)
        for stage in report.funnel
        if not stage.count.suppressed and stage.count.HasField("value")
    }


def test_the_integrator_rebuilds_the_funnel_from_events_alone(
    platform: Platform, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    started = time.monotonic()
    seed_line = platform.wait_seeded()
    programme, expected, held = printed_funnel(seed_line)
    assert expected[("mentee", "enrolled")] == expected[("mentor", "enrolled")] == 8
    assert (expected[("mentor", "certified")], held) == (7, 31)
    assert expected[("mentee", "completed")] == 5
    endpoints = platform.endpoints()
    secrets = platform.var / "secrets" / natsauth.CREDENTIALS_FILE
    password = json.loads(secrets.read_text())[natsauth.INTEGRATOR]
    seeded = time.monotonic()

    funnel = Funnel(programme)
    asyncio.run(read_as_integrator(endpoints["nats"], password, funnel, expected))
    assert funnel.counts() == expected, seed_line
    assert funnel.sessions_held == held

    # the feedback service's report says the same, for every figure it does not suppress
    shown = report_funnel(platform.var, endpoints["services"]["feedback"], programme)
    assert shown, "the outcomes report has no funnel figure"
    assert {key: funnel.counts()[key] for key in shown} == shown

    # `revmentor events tail` finds NATS and the integrator's password in var/ by itself
    for name in list(os.environ):
        if name.startswith("NATS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(platform.var))
    capsys.readouterr()
    assert main(["events", "tail", "--json", "--until-idle", "1"]) == 0
    tailed = Funnel(programme)
    lines = capsys.readouterr().out.splitlines()
    for line in lines:
        document = json.loads(line)
        headers = {
            "ce-specversion": "1.0",
            "ce-id": document["id"],
            "ce-source": document["source"],
            "ce-type": document["type"],
            "ce-subject": document["subject"],
            "ce-sequence": str(document["sequence"]),
        }
        tailed.apply(decode(headers, json.dumps(document["data"]).encode()))
    assert tailed.counts() == expected
    assert tailed.seen >= funnel.seen
    # each stream in its own order; merged by ce-time (sorted when every stream is)
    documents = [json.loads(line) for line in lines]
    in_order = True
    times = [datetime.fromisoformat(d["time"]) for d in documents]
    for service in SERVICES:
        own = [
            (d["stream_sequence"], t)
            for d, t in zip(documents, times, strict=True)
            if d["stream"] == stream_name(service)
        ]
        assert [seq for seq, _ in own] == sorted(seq for seq, _ in own)
        in_order &= [t for _, t in own] == sorted(t for _, t in own)
    if in_order:
        assert times == sorted(times), "events tail merges the streams by ce-time"
    print(
        f"seeded after {seeded - started:.1f} s; funnel rebuilt from {len(funnel.seen)} events "
        f"and checked in {time.monotonic() - seeded:.1f} s"
    )
