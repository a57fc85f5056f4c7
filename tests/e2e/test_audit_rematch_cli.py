"""``revmentor audit rematch`` against enrolment, training and matching processes.

A round is run, then a mentee's profile changes so that today's attributes
would exclude a recorded pair; the command (the installed script, as an
auditor) re-runs the round from history and finds it identical (exit 0), in
text and in JSON. An unknown round exits 1.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from uuid import uuid4

import pytest
from journeys import (
    Person,
    certify,
    create_programme,
    enrol,
    enrol_request,
    start_platform,
    wait_for_pool,
)
from test_up import revmentor

from revmentor.enrolment.v1 import enrolment_pb2 as epb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as epb_grpc
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.matching.v1 import matching_pb2 as pb
from revmentor.matching.v1 import matching_pb2_grpc as pb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

PEOPLE = [
    Person("E-MENTOR-1", True, "Chloé Tremblay", 2001, "Data"),
    Person("E-MENTOR-2", True, "Noah Dubois", 2000, "Sales Ops"),
    Person("E-MENTEE-1", False, "Jean-Pierre Lefèvre", 1966, "Sales"),
    Person("E-MENTEE-2", False, "Margaret Hughes", 1968, "Operations"),
]


def rematch(
    address: str, token: str, round_id: str, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REVMENTOR_TOKEN"}
    env["REVMENTOR_MATCHING_ADDR"] = address
    return subprocess.run(
        [*revmentor(), "audit", "rematch", "--round", round_id, "--token", token, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_a_recorded_round_rematches_after_profiles_changed(
    tmp_path: Path, nats_server: LocalNatsServer
) -> None:
    issuer, (enrolment, training, matching) = start_platform(tmp_path, nats_server.url)
    try:
        pid = await create_programme(enrolment, "Rematch E2E")
        ids = await enrol(enrolment, pid, PEOPLE)
        for mentor in ("E-MENTOR-1", "E-MENTOR-2"):
            await certify(training, ids[mentor])
        async with matching.channel() as channel:
            stub = pb_grpc.MatchingServiceStub(channel)
            await wait_for_pool(stub, pid, mentees=2, certified=2)
            ran = await stub.RunRound(pb.RunRoundRequest(programme_id=pid), timeout=30)
        assert ran.proposed == 2
        employee = {v: k for k, v in ids.items()}
        proposal = ran.proposals[0]
        mentee = next(p for p in PEOPLE if p.employee_id == employee[proposal.mentee_id])
        mentor = next(p for p in PEOPLE if p.employee_id == employee[proposal.mentor_id])
        profile = enrol_request(pid, mentee).profile
        profile.department = mentor.department  # today: same department, excluded
        async with enrolment.channel() as channel:
            await epb_grpc.EnrolmentServiceStub(channel).UpdateProfile(
                epb.UpdateProfileRequest(participant_id=proposal.mentee_id, profile=profile),
                timeout=10,
            )

        auditor = issuer.token("auditor", sub="auditor-1")
        done = rematch(matching.address, auditor, ran.round_id)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "identical: the round re-runs to the same 2 pairs" in done.stdout
        assert ran.inputs_digest in done.stdout
        as_json = rematch(matching.address, auditor, ran.round_id, "--json")
        document = json.loads(as_json.stdout)
        assert as_json.returncode == 0 and document["identical"] is True
        assert document["replayed_inputs_digest"] == ran.inputs_digest
        unknown = rematch(matching.address, auditor, str(uuid4()))
        assert unknown.returncode == 1 and "NOT_FOUND" in unknown.stderr
    finally:
        for process in (matching, training, enrolment):
            process.kill()
        print(matching.log()[-3000:])
