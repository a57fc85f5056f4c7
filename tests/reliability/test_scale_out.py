"""Scale-out: three replicas of every service on PostgreSQL and a 3-node NATS cluster.

The same scripted programme (a programme, eight people enrolled, the four mentors
certified, a matching round, every proposal accepted by both members, the
mentorships opened, a session booked for each) runs on ``revmentor up``
with one process per service, then with ``--replicas 3 --postgres DSN
--nats-cluster 3``, then again in that shape while one NATS node and the
leading replica of every service are killed (-9) mid-run and restarted by
``up``. Each service's final state (``audit replay`` at now, equal to live)
must be the one-replica run's, ids and instants aside; no stream may hold a
``Nats-Msg-Id`` twice and no message may be dead-lettered.
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
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
from journeys import Person, certify, create_programme, enrol, wait_for_mentorships, wait_for_pool
from support import (
    PG_HOST,
    PG_PASSWORD,
    PG_PORT,
    PG_USER,
    authed_channel,
    eventually,
    pg_connect,
    read_stream,
)

from revmentor.cli.devkeys import load as load_dev_key
from revmentor.kernel.settings import nats_servers
from revmentor.kernel.streams import AUDIT_STREAM, DLQ_STREAM, SERVICES
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2 as spb
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(420)]

#: One language per pair, so the best assignment is unique (ties would be broken
#: by the participants' random ids, which differ from run to run).
LANGUAGES = ("fr", "de", "es", "it")
MENTORS = [
    Person(f"E-SO-MR{i}", True, f"Mentor {i}", 1996 + i, "Data", (lang, "en"))
    for i, lang in enumerate(LANGUAGES)
]
MENTEES = [
    Person(f"E-SO-ME{i}", False, f"Mentee {i}", 1962 + i, "Sales", (lang,))
    for i, lang in enumerate(LANGUAGES)
]
READY_TIMEOUT = 180.0
STOP_TIMEOUT = 30.0
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?")
_DIGEST = re.compile(r"\b[0-9a-f]{64}\b")


# -- the platform, as `revmentor up` starts it ---------------------------------------------------
@dataclass
class Up:
    process: subprocess.Popen[bytes]
    var: Path
    output: Path

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def endpoints(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads((self.var / "run" / "endpoints.json").read_text())
        return found

    def pids(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads((self.var / "run" / "processes.json").read_text())
        return found

    def target(self, service: str) -> str:
        """Every replica of ``service`` as one round-robin gRPC target."""
        addresses = self.endpoints()["replicas"][service]
        return addresses[0] if len(addresses) == 1 else "ipv4:" + ",".join(addresses)

    def token(self, role: str, sub: str = "tester", **claims: Any) -> str:
        return load_dev_key(self.var).mint(sub, [role], 3600, **claims)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Endpoint:
    """What the journeys helpers need of a service: an address and tokens."""

    up: Up
    service: str

    @property
    def address(self) -> str:
        return self.up.target(self.service)

    def channel(self, role: str = "admin", **claims: Any) -> grpc.aio.Channel:
        return authed_channel(self.address, self.up.token(role, **claims))


@contextlib.contextmanager
def platform(tmp_path: Path, name: str, *args: str) -> Iterator[Up]:
    var = tmp_path / name
    output = tmp_path / f"{name}.out"
    env = {
        k: v
        for k, v in os.environ.items()
        if k != "NATS_URL" and not k.startswith("REVMENTOR_") and not k.endswith("_GRPC_PORT")
    }
    ports = {f"{s.upper()}_GRPC_PORT": "0" for s in SERVICES}
    env.update(REVMENTOR_VAR_DIR=str(var), AUDIT_CHECKPOINT_SECONDS="1", **ports)
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "revmentor.cli", "up", "--var", str(var), "--no-seed", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    up = Up(process, var, output)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (var / "run" / "endpoints.json").exists():
            assert process.poll() is None, f"revmentor up exited:\n{up.text()[-4000:]}"
            assert time.monotonic() < deadline, f"not ready:\n{up.text()[-4000:]}"
            time.sleep(0.5)
        yield up
    finally:
        up.stop()


@pytest.fixture
def database() -> Iterator[Callable[[], str]]:
    """Fresh PostgreSQL databases (DSNs), dropped at the end."""
    made: list[str] = []

    def make() -> str:
        name = f"revmentor_scale_{os.getpid()}_{len(made)}_{int(time.time())}"
        with pg_connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        password = f":{PG_PASSWORD}" if PG_PASSWORD else ""
        return f"postgresql://{PG_USER}{password}@{PG_HOST}:{PG_PORT}/{name}"

    yield make
    with pg_connect() as conn:
        for name in made:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# -- the script ----------------------------------------------------------------------------------
async def script(up: Up, mid_run: Callable[[], None] = lambda: None) -> str:
    """The scripted programme; ``mid_run`` is called once its enrolments are in flight."""
    enrolment, training = Endpoint(up, "enrolment"), Endpoint(up, "training")
    # Starting tomorrow: no timer (training deadlines, reminders, stalls) is due
    # during the script, so no run depends on when a leader's timer ticked.
    today = datetime.now(UTC).date()
    start, end = (today + timedelta(days=1)).isoformat(), (today + timedelta(days=90)).isoformat()
    pid = await create_programme(enrolment, "Scale-out", start, end)  # type: ignore[arg-type]
    ids = await enrol(enrolment, pid, MENTORS + MENTEES)  # type: ignore[arg-type]
    mid_run()
    for mentor in MENTORS:
        await certify(training, ids[mentor.employee_id])  # type: ignore[arg-type]
    admin = up.token("admin", sub="admin-1")
    async with authed_channel(up.target("matching"), admin) as channel:
        stub = mpb_grpc.MatchingServiceStub(channel)
        await wait_for_pool(stub, pid, mentees=4, certified=4)
        round_ = await stub.RunRound(mpb.RunRoundRequest(programme_id=pid), timeout=60)
    assert len(round_.proposals) == 4, round_
    employee = {participant: e for e, participant in ids.items()}
    for proposal in round_.proposals:
        for participant, role in ((proposal.mentee_id, "mentee"), (proposal.mentor_id, "mentor")):
            token = up.token(role, sub=f"u-{participant}", employee_id=employee[participant])
            async with authed_channel(up.target("matching"), token) as channel:
                await mpb_grpc.MatchingServiceStub(channel).RespondToProposal(
                    mpb.RespondToProposalRequest(
                        match_id=proposal.match_id,
                        participant_id=participant,
                        decision=mpb.DECISION_ACCEPT,
                    ),
                    timeout=30,
                )
    day = (today + timedelta(days=30)).isoformat()  # beyond any reminder's lead
    async with authed_channel(up.target("scheduling"), admin) as channel:
        stub = spb_grpc.SchedulingServiceStub(channel)
        for mentorship in await wait_for_mentorships(stub, pid, 4, timeout=90):
            await stub.ScheduleSession(
                spb.ScheduleSessionRequest(
                    mentorship_id=mentorship.mentorship_id,
                    local_start=f"{day}T10:00",
                    time_zone="Europe/Paris",
                    duration_minutes=60,
                    mode=spb.MODE_IN_PERSON,
                    location="Room 2",
                ),
                timeout=30,
            )
    return pid


# -- the comparison ------------------------------------------------------------------------------
def replay_now(up: Up, programme: str) -> dict[str, Any]:
    """`revmentor audit replay --json` at now against ``up`` (every service equal to live)."""
    env = {**os.environ, "REVMENTOR_VAR_DIR": str(up.var)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "revmentor.cli",
            "audit",
            "replay",
            "--programme",
            programme,
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def shape_of(value: Any) -> Any:
    """A state with its ids, instants and digests masked, and collections keyed
    by id turned into sorted lists: what two runs of the script share."""
    if isinstance(value, dict):
        if value and all(_UUID.fullmatch(str(k)) for k in value):
            return sorted((shape_of(v) for v in value.values()), key=_canonical)
        return {k: shape_of(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return sorted((shape_of(v) for v in value), key=_canonical)
    if isinstance(value, str):
        return _DIGEST.sub("<digest>", _INSTANT.sub("<t>", _UUID.sub("<id>", value)))
    return value


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def differences(left: Any, right: Any, path: str = "") -> list[str]:
    """Where two masked states differ, as readable paths (for the failure message)."""
    if isinstance(left, dict) and isinstance(right, dict):
        found = []
        for key in sorted(set(left) | set(right)):
            found += differences(left.get(key), right.get(key), f"{path}.{key}")
        return found
    if isinstance(left, list) and isinstance(right, list) and len(left) != len(right):
        return [f"{path}: {len(left)} items != {len(right)}"]
    if isinstance(left, list) and isinstance(right, list):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in differences(a, b, f"{path}[{i}]")
        ]
    return [] if left == right else [f"{path}: {left!r} != {right!r}"]


async def consumers_idle(up: Up) -> bool:
    """Every durable consumer has nothing pending and nothing unacknowledged (a
    message pulled by a killed replica is only handed out again after ack_wait)."""
    nc = await nats.connect(nats_servers(up.endpoints()["nats"]))
    try:
        js = nc.jetstream()
        for stream in [f"REVMENTOR_{s.upper()}" for s in SERVICES]:
            for consumer in await js.consumers_info(stream):
                if consumer.num_pending or consumer.num_ack_pending:
                    return False
        return True
    except (nats.errors.TimeoutError, nats.errors.NoRespondersError):
        return False  # the cluster's API is still electing leaders after the kill: ask again
    finally:
        await nc.close()


async def settled_states(up: Up, programme: str) -> dict[str, Any]:
    """Each service's masked state once every consumer is idle and two readings
    a second apart agree."""
    readings: list[dict[str, Any]] = []

    async def settled() -> bool:
        if not await consumers_idle(up):
            return False
        document = await asyncio.to_thread(replay_now, up, programme)
        readings.append(document)
        return len(readings) > 1 and readings[-2]["platform_digest"] == document["platform_digest"]

    await eventually(settled, timeout=120, interval=1.0, what="a quiet platform")
    return {s["service"]: shape_of(s["state"]) for s in readings[-1]["services"]}


async def streams_hold_each_message_once(up: Up) -> None:
    url = up.endpoints()["nats"]
    for stream in [f"REVMENTOR_{s.upper()}" for s in SERVICES] + [AUDIT_STREAM]:
        ids = Counter(m.headers.get("Nats-Msg-Id") for m in await read_stream(url, stream))
        twice = {msg_id: n for msg_id, n in ids.items() if n > 1}
        assert not twice, f"{stream} holds messages twice: {twice}"
    assert await read_stream(url, DLQ_STREAM) == [], "something was dead-lettered"


@pytest.fixture(scope="module")
def baseline(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The script on one process per service (SQLite, one NATS node)."""
    with platform(tmp_path_factory.mktemp("one"), "one") as up:
        programme = asyncio.run(script(up))
        return asyncio.run(settled_states(up, programme))


async def test_three_replicas_on_a_nats_cluster_end_where_one_replica_does(
    tmp_path: Path, database: Callable[[], str], baseline: dict[str, Any]
) -> None:
    shape = ("--replicas", "3", "--postgres", database(), "--nats-cluster", "3")
    with platform(tmp_path, "three", *shape) as up:
        assert len(up.endpoints()["replicas"]["matching"]) == 3
        assert len(up.endpoints()["nats"].split(",")) == 3
        programme = await script(up)
        states = await settled_states(up, programme)
        await streams_hold_each_message_once(up)
        leads = Counter(re.findall(r"(\w+)-\d \| .* this process leads", up.text()))
    assert states == baseline, differences(states, baseline)
    assert leads == {service: 1 for service in SERVICES}, "one leader per service"


async def test_killing_a_nats_node_and_every_leader_mid_run_loses_nothing(
    tmp_path: Path, database: Callable[[], str], baseline: dict[str, Any]
) -> None:
    shape = ("--replicas", "3", "--postgres", database(), "--nats-cluster", "3")
    with platform(tmp_path, "faults", *shape) as up:
        pids = up.pids()
        victims = [pids["nats"][1]] + [pids["services"][f"{s}-1"] for s in SERVICES]

        def kill_mid_run() -> None:
            for pid in victims:
                os.kill(pid, signal.SIGKILL)

        programme = await script(up, kill_mid_run)
        states = await settled_states(up, programme)
        await streams_hold_each_message_once(up)
        restarted = up.pids()
        output = up.text()
    assert states == baseline, differences(states, baseline)
    assert all(f"{s}-1 died" in output for s in SERVICES), output[-3000:]
    assert "NATS node n2 died; restarting it" in output
    assert not set(victims) & {*restarted["services"].values(), *restarted["nats"]}
