"""GDPR end to end: a real enrolment process, the CLI, and every byte on disk.

Personal values (unique markers) go in through the API; `revmentor participant
export` returns them; `revmentor participant erase` destroys them; afterwards
no marker is readable anywhere: not through the API, not in any file under the
service's var dir (SQLite store and WAL, logs), not in the JetStream store.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from support import ServiceProcess, eventually, read_stream

from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import LocalNatsServer

pytestmark = pytest.mark.slow

MARKERS = {
    "display_name": "Zebulon Quixmarker",
    "email": "quix.marker7@markers.example",
    "department": "Quixdept Markerology",
    "site": "Quixsite Markerville",
    "manager_employee_id": "QUIXMGR-9",
}
EMPLOYEE_ID = "QUIXEMP-42"
TRAINING: dict[str, ServiceProcess] = {}  # enrolment address -> its training process
MATCHING: dict[str, ServiceProcess] = {}  # enrolment address -> its matching process
SCHEDULING: dict[str, ServiceProcess] = {}  # enrolment address -> its scheduling process
FEEDBACK: dict[str, ServiceProcess] = {}  # enrolment address -> its feedback process


def cli(service: ServiceProcess, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REVMENTOR_ENROLMENT_ADDR": service.address,
        "REVMENTOR_TRAINING_ADDR": TRAINING[service.address].address,
        "REVMENTOR_MATCHING_ADDR": MATCHING[service.address].address,
        "REVMENTOR_SCHEDULING_ADDR": SCHEDULING[service.address].address,
        "REVMENTOR_FEEDBACK_ADDR": FEEDBACK[service.address].address,
        "REVMENTOR_TOKEN": service.issuer.token("admin", sub="dpo@example"),
    }
    return subprocess.run(
        [sys.executable, "-m", "revmentor.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n!r}" for n in needles if n in data]
    return found


async def test_export_then_erase_leaves_nothing_readable(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    service = ServiceProcess("enrolment", tmp_path / "var", nats_server.url).start()
    training = ServiceProcess(
        "training",
        tmp_path / "var",
        nats_server.url,
        {"REVMENTOR_ENROLMENT_ADDR": service.address},
        issuer=service.issuer,
    ).start()
    TRAINING[service.address] = training
    token_file = tmp_path / "matching.token"
    token_file.write_text(service.issuer.token("service", sub="svc", service="matching"))
    matching = ServiceProcess(
        "matching",
        tmp_path / "var",
        nats_server.url,
        {
            "REVMENTOR_ENROLMENT_ADDR": service.address,
            "REVMENTOR_MATCHING_TOKEN_FILE": str(token_file),
        },
        issuer=service.issuer,
    ).start()
    MATCHING[service.address] = matching
    scheduling_token = tmp_path / "scheduling.token"
    scheduling_token.write_text(service.issuer.token("service", sub="svc", service="scheduling"))
    scheduling = ServiceProcess(
        "scheduling",
        tmp_path / "var",
        nats_server.url,
        {
            "REVMENTOR_ENROLMENT_ADDR": service.address,
            "REVMENTOR_SCHEDULING_TOKEN_FILE": str(scheduling_token),
        },
        issuer=service.issuer,
    ).start()
    SCHEDULING[service.address] = scheduling
    feedback = ServiceProcess(
        "feedback",
        tmp_path / "var",
        nats_server.url,
        {"REVMENTOR_ENROLMENT_ADDR": service.address},
        issuer=service.issuer,
    ).start()
    FEEDBACK[service.address] = feedback
    async with service.channel() as channel:
        stub = pb_grpc.EnrolmentServiceStub(channel)
        programme = await stub.CreateProgramme(
            pb.CreateProgrammeRequest(
                name="Privacy cohort",
                start_date="2027-01-01",
                end_date="2027-12-31",
                topics=[pb.Topic(code="generative-ai", title="Generative AI")],
            )
        )
        await stub.OpenEnrolment(pb.ProgrammeCommand(programme_id=programme.programme_id))
        mentee = await stub.EnrolParticipant(
            pb.EnrolParticipantRequest(
                programme_id=programme.programme_id,
                employee_id=EMPLOYEE_ID,
                role=pb.ROLE_MENTEE,
                profile=pb.Profile(
                    birth_year=1968,
                    time_zone="Europe/Paris",
                    languages=["fr"],
                    learning_needs=[pb.LearningNeed(topic="generative-ai", priority=1)],
                    availability=[
                        pb.AvailabilityWindow(weekday=1, start_time="09:00", end_time="11:00")
                    ],
                    meeting_preference=pb.MEETING_PREFERENCE_VIRTUAL,
                    **MARKERS,
                ),
                consent=pb.Consent(given=True, notice_version="2027-01"),
            )
        )
    pid = mentee.participant_id

    before = tmp_path / "export-before.json"

    async def training_and_feedback_have_the_record() -> bool:
        result = cli(service, "participant", "export", pid, "--output", str(before))
        assert result.returncode == 0, result.stderr
        services = json.loads(before.read_text())["services"]
        return "history" in services["training"] and "programmes" in services["feedback"]

    await eventually(
        training_and_feedback_have_the_record, what="training's and feedback's records"
    )
    assert stat.S_IMODE(before.stat().st_mode) == 0o600
    parts = json.loads(before.read_text())["services"]
    assert set(parts) == {"enrolment", "training", "matching", "scheduling", "feedback"}
    exported = parts["enrolment"]
    assert MARKERS["email"] in json.dumps(exported) and EMPLOYEE_ID in json.dumps(exported)
    assert parts["matching"] == {"held": "nothing"}  # never proposed: matching holds nothing
    assert parts["scheduling"] == {"held": "nothing"}  # never matched: no mentorship
    opened = parts["training"]["history"][0]
    assert opened["type"] == "TrainingRecord.Opened" and opened["envelope"]["causation_id"]
    # feedback: enrolled (the funnel's record), no session, survey or pair yet
    [funnel] = parts["feedback"]["programmes"]
    assert (funnel["programme_id"], funnel["role"], funnel["certified"]) == (
        programme.programme_id,
        "mentee",
        False,
    )
    assert funnel["enrolled_at"]
    assert (parts["feedback"]["session_feedback"], parts["feedback"]["surveys"]) == ([], [])
    assert parts["feedback"]["pairs"] == []

    result = cli(service, "participant", "erase", pid, "--reason", "GDPR request 2027-0042")
    assert result.returncode == 0, result.stderr
    assert cli(service, "participant", "erase", pid, "--reason", "again").returncode == 1

    after = cli(service, "participant", "export", pid)
    assert after.returncode == 0, after.stderr
    assert not any(v in after.stdout for v in [*MARKERS.values(), EMPLOYEE_ID])
    assert json.loads(after.stdout)["services"]["enrolment"]["status"] == "erased"

    async def erasure_published() -> bool:
        messages = await read_stream(nats_server.url, "REVMENTOR_ENROLMENT")
        return any(m.headers["ce-type"].endswith("ParticipantErased") for m in messages)

    await eventually(erasure_published, what="ParticipantErased on the stream")
    assert training.stop() == 0, training.log()[-2000:]
    assert matching.stop() == 0, matching.log()[-2000:]
    assert scheduling.stop() == 0, scheduling.log()[-2000:]
    assert feedback.stop() == 0, feedback.log()[-2000:]
    assert service.stop() == 0, service.log()[-2000:]
    await asyncio.sleep(0)  # (files are closed: the process has exited)
    needles = [v.encode() for v in [*MARKERS.values(), EMPLOYEE_ID]]
    assert files_containing(tmp_path / "var", needles) == []
    assert files_containing(nats_server.store_dir, needles) == []
