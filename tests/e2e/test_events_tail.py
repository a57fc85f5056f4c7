"""``revmentor events tail`` and the integrator quickstart, on a real nats-server.

Events are published the way a relay does (``cloudevents.encode`` of real
``events/v1`` messages) on several streams; the command runs in-process and
its printed lines are checked: merge by event time, subject filters, start
positions, JSON, dead letters, audit checkpoints (left out unless asked for),
following, and its errors. The quickstart of
docs/integrators.md runs as a subprocess, as the read-only integrator user of
a secured server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from google.protobuf.message import Message
from support import tick

from revmentor.cli import events
from revmentor.cli.main import main
from revmentor.events.v1 import enrolment_pb2 as epb
from revmentor.events.v1 import matching_pb2 as mpb
from revmentor.kernel import natsauth
from revmentor.kernel.audit import (
    Checkpoint,
    SigningKey,
    audit_subject,
    checkpoint_msg_id,
    sign_checkpoint,
    verify_checkpoint_signature,
)
from revmentor.kernel.cloudevents import MSG_ID_HEADER, IntegrationEvent, encode
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.kernel.streams import AUDIT_STREAM, DLQ_STREAM, declare_streams

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "integrators.md"
PROGRAMME = "prog-1"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


# -- publishing as a relay does ----------------------------------------------------------
@dataclass(frozen=True)
class Published:
    service: str
    position: int
    name: str
    message: Message
    at: datetime

    @property
    def ce_id(self) -> str:
        return f"{self.service}:{self.position}"


def enrolled(position: int, participant: str, role: str, minutes: int) -> Published:
    message = epb.ParticipantEnrolled(
        participant_id=participant, programme_id=PROGRAMME, role=role, meeting_preference="either"
    )
    return Published("enrolment", position, "ParticipantEnrolled", message, at(minutes))


def confirmed(position: int, match: str, mentee: str, mentor: str, minutes: int) -> Published:
    message = mpb.MatchConfirmed(
        match_id=match,
        programme_id=PROGRAMME,
        mentee_id=mentee,
        mentor_id=mentor,
        confirmed_at=at(minutes).isoformat(),
    )
    return Published("matching", position, "MatchConfirmed", message, at(minutes))


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


#: Published enrolment first, then matching; in event time they interleave.
HISTORY = [
    enrolled(1, "mentee-1", "mentee", 0),
    enrolled(2, "mentor-1", "mentor", 2),
    enrolled(4, "mentee-2", "mentee", 4),  # position 3 was a private event: a gap
    confirmed(7, "match-1", "mentee-1", "mentor-1", 3),
    confirmed(9, "match-2", "mentee-2", "mentor-1", 5),
]


async def publish(url: str, items: list[Published], **connect: Any) -> None:
    nc = await nats.connect(url, **connect)
    try:
        js = nc.jetstream()
        for item in items:
            envelope = {"actor": f"service:{item.service}", "correlation_id": "corr-1"}
            event = IntegrationEvent(item.name, PROGRAMME, item.message)
            out = encode(item.service, item.position, event, item.at, envelope)
            await js.publish(out.subject, out.data, headers=out.headers)
    finally:
        await nc.close()


async def dead_letter(url: str, original: Published) -> None:
    """What a consumer gives up on: the original headers plus why."""
    event = IntegrationEvent(original.name, PROGRAMME, original.message)
    out = encode(original.service, original.position, event, original.at, {})
    headers = {
        **{k: v for k, v in out.headers.items() if not k.startswith("Nats-")},
        "x-revmentor-error": "IllegalTransition: boom",
        "x-revmentor-deliveries": "1",
        "x-revmentor-consumer": "feedback-from-matching",
        "x-revmentor-subject": out.subject,
        "Nats-Msg-Id": f"dlq:feedback:{original.ce_id}",
    }
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(
            "revmentor.dlq.feedback.matching", out.data, headers=headers, stream=DLQ_STREAM
        )
    finally:
        await nc.close()


async def publish_checkpoint(url: str, service: str, position: int) -> Checkpoint:
    """What a service's checkpoint job publishes: signed JSON, not a CloudEvent."""
    chain_hash = hashlib.sha256(f"{service}:{position}".encode()).digest()
    checkpoint = sign_checkpoint(SigningKey.generate(), service, position, chain_hash, at(6))
    nc = await nats.connect(url)
    try:
        await nc.jetstream().publish(
            audit_subject(service),
            checkpoint.to_json(),
            headers={
                MSG_ID_HEADER: checkpoint_msg_id(service, position),
                "content-type": "application/json",
            },
            stream=AUDIT_STREAM,
        )
    finally:
        await nc.close()
    return checkpoint


async def declare(url: str, **connect: Any) -> None:
    nc = await nats.connect(url, **connect)
    try:
        await declare_streams(nc.jetstream())
    finally:
        await nc.close()


@pytest.fixture
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No NATS settings from the outside; an empty var dir (no endpoints, no credentials)."""
    for name in list(os.environ):
        if name.startswith("NATS_") or name == "REVMENTOR_VAR_DIR":
            monkeypatch.delenv(name)
    var = tmp_path / "var"
    var.mkdir()
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(var))
    return var


@pytest.fixture
def history(nats_server: LocalNatsServer, quiet_env: Path) -> str:
    asyncio.run(declare(nats_server.url))
    asyncio.run(publish(nats_server.url, HISTORY))
    return nats_server.url


def tail(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    """Run ``revmentor events tail ARGS``; (exit code, stdout lines, stderr)."""
    code = main(["events", "tail", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def ids(lines: list[str]) -> list[str]:
    return [line.split()[3] for line in lines]


# -- replay -------------------------------------------------------------------------------
def test_replays_every_stream_merged_by_event_time(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, lines, err = tail(capsys, "--nats", history, "--limit", "5")
    assert code == 0, err
    # enrolment was published first, matching after: printed in the order things happened
    assert ids(lines) == [
        "enrolment:1",
        "enrolment:2",
        "matching:7",
        "enrolment:4",
        "matching:9",
    ]
    first = lines[2].split("  ")
    assert first[:5] == [
        "2026-03-01T09:03:00Z",
        "revmentor.matching.v1.MatchConfirmed",
        PROGRAMME,
        "matching:7",
        "actor=service:matching",
    ]
    assert first[5] == (
        "confirmedAt=2026-03-01T09:03:00+00:00 matchId=match-1 menteeId=mentee-1 "
        "mentorId=mentor-1 programmeId=prog-1"
    )
    assert "role=mentee" in lines[0] and "participantId=mentee-1" in lines[0]


def test_a_subject_filter_and_json(history: str, capsys: pytest.CaptureFixture[str]) -> None:
    subject = "revmentor.matching.v1.MatchConfirmed.*"
    code, lines, err = tail(capsys, subject, "--nats", history, "--json", "--until-idle", "0.3")
    assert code == 0, err
    documents = [json.loads(line) for line in lines]
    assert [d["id"] for d in documents] == ["matching:7", "matching:9"]
    first = documents[0]
    assert first == {
        "id": "matching:7",
        "type": "revmentor.matching.v1.MatchConfirmed",
        "source": "/revmentor/matching",
        "subject": PROGRAMME,
        "time": "2026-03-01T09:03:00Z",
        "sequence": 7,
        "actor": "service:matching",
        "correlationid": "corr-1",
        "causationid": "",
        "data": {
            "matchId": "match-1",
            "programmeId": PROGRAMME,
            "menteeId": "mentee-1",
            "mentorId": "mentor-1",
            "confirmedAt": "2026-03-01T09:03:00+00:00",
        },
        "stream": "REVMENTOR_MATCHING",
        "stream_sequence": 1,
        "nats_subject": f"revmentor.matching.v1.MatchConfirmed.{PROGRAMME}",
    }
    # by programme, several filters, every stream: the same five events
    code, lines, _ = tail(
        capsys,
        f"revmentor.enrolment.v1.*.{PROGRAMME}",
        "revmentor.matching.>",
        "--nats",
        history,
        "--until-idle",
        "0.3",
    )
    assert code == 0 and len(lines) == 5
    assert tail(capsys, "revmentor.*.v1.*.other", "--nats", history, "--until-idle", "0.2") == (
        0,
        [],
        "",
    )
    code, _, err = tail(capsys, "revmentor.nothing.>", "--nats", history)
    assert code == 1 and "no revmentor stream holds revmentor.nothing.>" in err


def test_from_sequence_and_since(history: str, capsys: pytest.CaptureFixture[str]) -> None:
    # stream sequence 2 of each stream: the second enrolment and the second match onwards
    code, lines, err = tail(capsys, "--nats", history, "--from-seq", "2", "--until-idle", "0.3")
    assert code == 0, err
    assert ids(lines) == ["enrolment:2", "enrolment:4", "matching:9"]

    # --since is about when the stream stored the event
    cut = tick()  # everything stored so far is earlier
    tick()  # everything published from here on later
    later = [enrolled(5, "mentee-3", "mentee", 1), confirmed(11, "match-3", "a", "b", 6)]
    asyncio.run(publish(history, later))
    code, lines, err = tail(
        capsys, "--nats", history, "--since", cut.isoformat(), "--until-idle", "0.3"
    )
    assert code == 0, err
    assert ids(lines) == ["enrolment:5", "matching:11"]
    code, lines, _ = tail(capsys, "--nats", history, "--since", "1h", "--until-idle", "0.3")
    assert len(lines) == 7
    future = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    code, lines, _ = tail(capsys, "--nats", history, "--since", future, "--until-idle", "0.2")
    assert code == 0 and lines == []


def test_the_dead_letters_only_when_asked(history: str, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(dead_letter(history, HISTORY[3]))
    _, lines, _ = tail(capsys, "--nats", history, "--until-idle", "0.3")
    assert len(lines) == 5 and not any("dead letter" in line for line in lines)
    code, lines, err = tail(capsys, "revmentor.dlq.>", "--nats", history, "--until-idle", "0.3")
    assert code == 0, err
    assert len(lines) == 1
    assert lines[0].startswith("2026-03-01T09:03:00Z  revmentor.matching.v1.MatchConfirmed")
    assert lines[0].endswith("[dead letter of feedback-from-matching: IllegalTransition: boom]")
    _, lines, _ = tail(capsys, "--dlq", "--nats", history, "--until-idle", "0.3", "--json")
    documents = [json.loads(line) for line in lines]
    assert len(documents) == 6
    dead = [d for d in documents if d["stream"] == DLQ_STREAM]
    assert dead[0]["id"] == "matching:7"
    assert dead[0]["deadletter"]["consumer"] == "feedback-from-matching"


def test_audit_checkpoints_stay_out_unless_a_subject_names_them(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    enrolment = asyncio.run(publish_checkpoint(history, "enrolment", 4))
    matching = asyncio.run(publish_checkpoint(history, "matching", 9))
    everything = ["enrolment:1", "enrolment:2", "matching:7", "enrolment:4", "matching:9"]
    # the default tail (revmentor.>) and wildcards over every service: the events only
    for args in ([], ["revmentor.*.>"], ["revmentor.>", "--dlq"], ["--since", "1h"]):
        code, lines, err = tail(capsys, *args, "--nats", history, "--until-idle", "0.3")
        assert code == 0, (args, err)
        assert ids(lines) == everything, args
        assert not any("audit" in line or "not a CloudEvent" in line for line in lines), args
    code, lines, err = tail(capsys, "--nats", history, "--json", "--until-idle", "0.3")
    assert code == 0, err
    documents = [json.loads(line) for line in lines]
    assert [d["id"] for d in documents] == everything
    assert AUDIT_STREAM not in {d["stream"] for d in documents}

    # named: each checkpoint as its JSON document, intact (its signature still checks)
    code, lines, err = tail(capsys, "revmentor.audit.>", "--nats", history, "--until-idle", "0.3")
    assert code == 0, err
    printed = [Checkpoint.from_json(line) for line in lines]
    assert printed == [enrolment, matching]
    assert all(verify_checkpoint_signature(checkpoint) for checkpoint in printed)
    code, lines, err = tail(
        capsys, "revmentor.audit.matching", "--json", "--nats", history, "--until-idle", "0.3"
    )
    assert code == 0, err
    assert [json.loads(line) for line in lines] == [
        {
            "checkpoint": matching.document(),
            "stream": AUDIT_STREAM,
            "stream_sequence": 2,
            "nats_subject": "revmentor.audit.matching",
        }
    ]


def test_new_follows_what_is_published_from_now_on(
    history: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "POLL_SECONDS", 0.05)
    result: list[int] = []
    runner = threading.Thread(
        target=lambda: result.append(
            main(["events", "tail", "--nats", history, "--new", "--limit", "2", "--json"])
        )
    )
    runner.start()
    position = 100
    deadline = time.monotonic() + 30
    while runner.is_alive() and time.monotonic() < deadline:
        position += 1
        fresh = enrolled(position, f"late-{position}", "mentor", 10)
        asyncio.run(publish(history, [fresh]))
        runner.join(0.2)
    assert not runner.is_alive(), "tail --new --limit 2 did not stop"
    assert result == [0]
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(printed) == 2
    # nothing from before it started; two consecutive new events
    assert all(d["sequence"] > 100 for d in printed)
    assert printed[1]["sequence"] == printed[0]["sequence"] + 1


# -- errors -------------------------------------------------------------------------------
def test_nats_unreachable_says_to_start_the_platform(
    quiet_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"nats://127.0.0.1:{free_port()}"
    code, lines, err = tail(capsys, "--nats", url, "--limit", "1")
    assert code == 2
    assert lines == []
    assert f"cannot reach NATS at {url} (from --nats)" in err
    assert "make run" in err and "--nats URL" in err
    assert "Traceback" not in err
    # from endpoints.json, as `revmentor up` writes it
    run = quiet_env / "run"
    run.mkdir()
    (run / "endpoints.json").write_text(json.dumps({"nats": url}))
    code, _, err = tail(capsys, "--limit", "1")
    assert code == 2 and f"from {run / 'endpoints.json'}" in err


def test_bad_arguments_are_refused_before_connecting(
    quiet_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, message in [
        (["--limit", "0"], "--limit must be a positive"),
        (["--until-idle", "-1"], "--until-idle must be a positive"),
        (["--from-seq", "0"], "--from-seq must be 1 or more"),
        (["--since", "last tuesday"], "give a time like 2026-03-01T09:30:00Z"),
        (["revmentor.>.x"], "is not a NATS subject filter"),
        (["--password", "p"], "--password goes with --user"),
        (["--user", "someone"], "--user someone needs --password P"),
    ]:
        code, _, err = tail(capsys, *args)
        assert code == 1, args
        assert message in err, (args, err)
    with pytest.raises(SystemExit):
        main(["events", "tail", "--new", "--from-seq", "3"])  # one start only


def test_parsing_helpers() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert events.parse_since("90s", now) == now - timedelta(seconds=90)
    assert events.parse_since("2h", now) == now - timedelta(hours=2)
    assert events.parse_since("7d", now) == now - timedelta(days=7)
    assert events.parse_since("2026-03-01", now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert events.parse_since("2026-03-01T10:00:00+01:00", now) == datetime(
        2026, 3, 1, 9, 0, tzinfo=UTC
    )
    overlap = events.subjects_overlap
    assert overlap("revmentor.>", "revmentor.matching.>")
    assert overlap("revmentor.*.v1.*.p1", "revmentor.matching.>")
    assert overlap("revmentor.matching.v1.MatchConfirmed.p1", "revmentor.matching.v1.*.*")
    assert not overlap("revmentor.matching.>", "revmentor.enrolment.>")
    assert not overlap("revmentor.matching.v1.X", "revmentor.matching.v1.X.p1")
    assert events.summary({"b": [1, 2], "a": "x" * 300}, width=20) == "a=" + "x" * 17 + "…"


# -- secured NATS: the integrator --------------------------------------------------------
@dataclass
class SecureNats:
    server: LocalNatsServer
    config: natsauth.SecureNatsConfig
    credentials: Path

    def options(self, user: str) -> dict[str, Any]:
        return self.config.users[user].connect_options()


@pytest.fixture
def secure(tmp_path: Path, quiet_env: Path) -> Iterator[SecureNats]:
    """nats-server with the generated users, as `revmentor up --secure` runs it:
    config and credentials under var/secrets, streams declared by the admin."""
    secrets = quiet_env / "secrets"
    config_file, config = natsauth.write_secure_config(secrets)
    server = LocalNatsServer(
        tmp_path / "nats", config_file=config_file, log_file=tmp_path / "nats.log"
    ).start()
    try:
        admin = config.users[natsauth.ADMIN].connect_options()
        asyncio.run(declare(server.url, **admin))
        asyncio.run(publish(server.url, HISTORY, **admin))
        yield SecureNats(server, config, secrets / natsauth.CREDENTIALS_FILE)
    finally:
        server.stop()


def test_as_the_integrator_from_var_secrets_and_endpoints(
    secure: SecureNats, quiet_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = quiet_env / "run"
    run.mkdir()
    (run / "endpoints.json").write_text(json.dumps({"nats": secure.server.url}))
    code, lines, err = tail(capsys, "--until-idle", "0.3")  # no flag: all found in var/
    assert code == 0, err
    assert ids(lines) == ["enrolment:1", "enrolment:2", "matching:7", "enrolment:4", "matching:9"]
    # the same with explicit credentials; and a wrong password is refused by name
    code, lines, err = tail(
        capsys,
        "--credentials",
        str(secure.credentials),
        "--limit",
        "1",
        "--nats",
        secure.server.url,
    )
    assert code == 0 and len(lines) == 1, err
    code, _, err = tail(capsys, "--user", "integrator", "--password", "wrong", "--limit", "1")
    assert code == 1
    assert "refused user 'integrator'" in err and "nats-credentials.json" in err
    (quiet_env / "secrets" / natsauth.CREDENTIALS_FILE).unlink()
    code, _, err = tail(capsys, "--limit", "1")  # anonymous on a secured server
    assert code == 1 and "refused an anonymous connection" in err


def test_a_user_without_read_access_is_told_what_the_integrator_may_do(
    secure: SecureNats, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(events, "REQUEST_SECONDS", 0.5)  # a refused request can only time out
    code, lines, err = tail(
        capsys, "--nats", secure.server.url, "--user", "enrolment", "--limit", "1"
    )  # the password comes from var/secrets/nats-credentials.json
    assert code == 1, err
    assert lines == []
    assert "NATS refused what NATS user 'enrolment' asked" in err
    assert "permissions violation" in err.lower()
    assert "read-only 'integrator' user" in err


# -- the quickstart of docs/integrators.md -------------------------------------------------
def quickstart() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    found = re.search(r"<!-- quickstart -->\s*```python\n(.*?)```", text, re.S)
    assert found, "docs/integrators.md has no ```python block after <!-- quickstart -->"
    return found.group(1)


def test_the_quickstart_is_under_30_lines() -> None:
    assert len(quickstart().splitlines()) < 30


def read_lines(process: subprocess.Popen[str], into: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.put(line.rstrip("\n"))


def test_the_quickstart_prints_confirmed_matches_as_the_integrator(
    secure: SecureNats, tmp_path: Path
) -> None:
    script = tmp_path / "quickstart.py"
    script.write_text(quickstart(), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("NATS_")},
        "NATS_URL": secure.server.url,
        "NATS_PASSWORD": secure.config.users[natsauth.INTEGRATOR].password,
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=read_lines, args=(process, lines), daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while len([s for s in seen if s.startswith("matching:")]) < 2:
            try:
                seen.append(lines.get(timeout=max(0.1, deadline - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"the quickstart printed only {seen} within 30 s")
        # a match confirmed while it runs arrives too
        asyncio.run(
            publish(
                secure.server.url,
                [confirmed(12, "match-3", "mentee-3", "mentor-2", 9)],
                **secure.options(natsauth.ADMIN),
            )
        )
        seen.append(lines.get(timeout=15))
    finally:
        process.terminate()
        process.wait(10)
    assert seen == [
        "matching:7 mentee mentee-1 mentor mentor-1",
        "matching:9 mentee mentee-2 mentor mentor-1",
        "matching:12 mentee mentee-3 mentor mentor-2",
    ]
