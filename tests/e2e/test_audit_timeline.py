"""``revmentor audit timeline`` against the five services as real processes.

A small programme runs through enrolment (two mentors, two mentees), training
(one mentor certified), matching (a round, both sides accept) and on into
scheduling (the mentorship) and feedback; then the command reads every
service's audit log. What must hold: the programme's timeline starts with its
creation, is in time order, has an actor and a correlation on every step,
links consumer steps to the upstream step that caused them (matching's
confirmation -> scheduling's mentorship), and is the same in text, JSON and a
self-contained HTML page; a mentee's timeline holds their enrolment and their
match from proposal to confirmation and nothing of the unmatched mentee; a
mentor's holds their certification; an unknown programme is an empty timeline
(exit 0, said on stderr); a bad id is refused naming the flag, and a mentee's token
is refused (exit 1, nothing printed); an unreachable service still yields the
others' timeline, with a warning (exit 2).
"""

from __future__ import annotations

import json
import uuid
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from journeys import (
    Person,
    certify,
    create_programme,
    enrol,
    start_feedback,
    start_platform,
    start_scheduling,
    wait_for_mentorships,
    wait_for_pool,
)
from support import ServiceProcess, authed_channel, mentions

from revmentor.cli.main import main
from revmentor.kernel.natsserver import LocalNatsServer, free_port
from revmentor.matching.v1 import matching_pb2 as mpb
from revmentor.matching.v1 import matching_pb2_grpc as mpb_grpc
from revmentor.scheduling.v1 import scheduling_pb2_grpc as spb_grpc

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

PEOPLE = [
    Person("E-MENTOR-1", True, "Chloé Tremblay", 2001, "Data"),
    Person("E-MENTOR-2", True, "Noah Dubois", 2000, "Sales Ops"),
    Person("E-MENTEE-1", False, "Jean-Pierre Lefèvre", 1966, "Sales", ("fr",)),
    Person("E-MENTEE-2", False, "Margaret Hughes", 1968, "Operations", ("en",)),
]


class Page(HTMLParser):
    """Checks the page nests its elements and loads nothing from outside."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.rows = 0
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("link", "img", "iframe", "object", "embed") or (
            tag == "script" and any(k == "src" for k, _ in attrs)
        ):
            self.problems.append(f"<{tag}> loads a resource")
        for key, value in attrs:
            if key in ("src", "href") and not (value or "").startswith("#"):
                self.problems.append(f"{tag} {key}={value}")
        if tag == "tr" and any(k == "id" and (v or "").startswith("step-") for k, v in attrs):
            self.rows += 1
        if tag not in self.VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.open[-1] if self.open else None}>")
        else:
            self.open.pop()


def timeline(capsys: pytest.CaptureFixture[str], token: str, *args: str) -> tuple[int, str, str]:
    code = main(["audit", "timeline", *args, "--token", token])
    out, err = capsys.readouterr()
    return code, out, err


def as_json(capsys: Any, token: str, *args: str) -> dict[str, Any]:
    code, out, err = timeline(capsys, token, *args, "--format", "json")
    assert code == 0, err
    return dict(json.loads(out))


async def run_programme(
    tmp_path: Path, nats_url: str
) -> tuple[Any, list[ServiceProcess], str, dict[str, str], mpb.Proposal]:
    """Enrol, certify, match and confirm; returns once scheduling holds the mentorship."""
    issuer, processes = start_platform(tmp_path, nats_url)
    enrolment, training, matching = processes
    processes.append(start_scheduling(tmp_path, nats_url, issuer, enrolment))
    processes.append(start_feedback(tmp_path, nats_url, issuer, enrolment))
    pid = await create_programme(enrolment, "Timeline E2E")
    ids = await enrol(enrolment, pid, PEOPLE)
    await certify(training, ids["E-MENTOR-1"])
    manager = issuer.token("programme_manager", sub="pm-1", programmes=[pid])
    async with authed_channel(matching.address, manager) as channel:
        stub = mpb_grpc.MatchingServiceStub(channel)
        await wait_for_pool(stub, pid, mentees=2, certified=1)
        [proposal] = (
            await stub.RunRound(mpb.RunRoundRequest(programme_id=pid), timeout=30)
        ).proposals
    mentee = next(e for e, p in ids.items() if p == proposal.mentee_id)
    for participant_id, employee in (
        (proposal.mentee_id, mentee),
        (proposal.mentor_id, "E-MENTOR-1"),
    ):
        role = "mentee" if participant_id == proposal.mentee_id else "mentor"
        async with authed_channel(matching.address, issuer.token(role, employee_id=employee)) as ch:
            await mpb_grpc.MatchingServiceStub(ch).RespondToProposal(
                mpb.RespondToProposalRequest(
                    match_id=proposal.match_id,
                    participant_id=participant_id,
                    decision=mpb.DECISION_ACCEPT,
                ),
                timeout=10,
            )
    async with authed_channel(processes[3].address, manager) as channel:
        await wait_for_mentorships(spb_grpc.SchedulingServiceStub(channel), pid, 1)
    return issuer, processes, pid, ids, proposal


def check_programme(doc: dict[str, Any], pid: str) -> None:
    steps = doc["steps"]
    assert set(doc["services"].values()) == {"ok"}, doc["services"]
    assert doc["subject"] == {"kind": "programme", "id": pid}
    assert [s["step"] for s in steps] == list(range(1, len(steps) + 1))
    assert (steps[0]["type"], steps[0]["aggregate_id"]) == ("Programme.Created", pid)
    times = [s["time"] for s in steps]
    assert times == sorted(times), "steps are in time order"
    assert all(s["actor"] and s["correlation_id"] and s["causation_id"] for s in steps)
    assert {"enrolment", "training", "matching", "scheduling"} <= {s["service"] for s in steps}
    by_number = {s["step"]: s for s in steps}
    for step in steps:
        if step["caused_by"]:
            assert by_number[step["caused_by"]]["id"] == step["causation_id"], step
    [opened] = [s for s in steps if s["type"] == "Mentorship.Opened"]
    cause = by_number[opened["caused_by"]]
    assert (cause["service"], cause["type"]) == ("matching", "Match.Confirmed")
    assert opened["correlation_id"] == cause["correlation_id"]
    published = json.dumps(doc, ensure_ascii=False)
    for person in PEOPLE:
        for personal in (person.employee_id, person.name, person.department):
            assert not mentions(published, personal), personal


def check_formats(capsys: Any, token: str, tmp_path: Path, pid: str, count: int) -> None:
    code, text, _ = timeline(capsys, token, "--programme", pid)
    assert code == 0
    head, titles, *lines = text.splitlines()
    assert head.startswith(f"timeline of programme {pid}: {count} steps"), head
    assert titles.split()[:3] == ["#", "time", "service"]
    assert [line.split()[0] for line in lines] == [str(n) for n in range(1, count + 1)]
    page_file = tmp_path / "timeline.html"
    code, _, err = timeline(
        capsys, token, "--programme", pid, "--format", "html", "--output", str(page_file)
    )
    assert code == 0 and f"{count} steps written to" in err
    page = page_file.read_text(encoding="utf-8")
    parser = Page()
    parser.feed(page)
    parser.close()
    assert not parser.problems and not parser.open, parser.problems
    assert parser.rows == count and f"{count} steps" in page
    assert "http:" not in page and "https:" not in page
    assert "<script" not in page and "url(" not in page


def check_participants(capsys: Any, token: str, ids: dict[str, str], proposal: Any) -> None:
    mentee = proposal.mentee_id
    [other] = [p for e, p in ids.items() if e.startswith("E-MENTEE") and p != mentee]
    steps = as_json(capsys, token, "--participant", mentee)["steps"]
    kinds = {(s["type"], s["aggregate_id"]) for s in steps}
    assert ("Participant.Enrolled", mentee) in kinds
    types = [s["type"] for s in steps]
    for expected in ("Match.Proposed", "Match.Accepted", "Match.Confirmed", "Mentorship.Opened"):
        assert expected in types, types
    assert types.count("Match.Accepted") == 2
    assert not any(s["aggregate_id"] == other for s in steps), "the other mentee's enrolment"
    assert not any(other in (s["state"] or {}).get("participant_id", "") for s in steps)
    assert all(s["actor"] and s["correlation_id"] for s in steps)
    mentor_steps = as_json(capsys, token, "--participant", proposal.mentor_id)["steps"]
    assert "TrainingRecord.Certified" in [s["type"] for s in mentor_steps]
    assert not any(s["aggregate_id"] == ids["E-MENTOR-2"] for s in mentor_steps)


def check_refusals(
    capsys: Any, token: str, mentee_token: str, monkeypatch: pytest.MonkeyPatch, pid: str
) -> None:
    code, out, err = timeline(capsys, mentee_token, "--programme", pid)
    assert code == 1 and not out and "PERMISSION_DENIED" in err and "auditor token" in err
    nobody = str(uuid.uuid4())
    code, out, err = timeline(capsys, token, "--programme", nobody, "--format", "json")
    assert code == 0 and json.loads(out)["steps"] == [] and "no events of programme" in err
    with monkeypatch.context() as nowhere:  # bad input is refused before any service is asked
        for service in ("enrolment", "training", "matching", "scheduling", "feedback"):
            nowhere.setenv(f"REVMENTOR_{service.upper()}_ADDR", f"127.0.0.1:{free_port()}")
        code, out, err = timeline(capsys, token, "--programme", "not-a-uuid")
        assert code == 1 and not out and "--programme must be" in err and "UUID" in err
        code, out, err = timeline(capsys, token, "--participant", pid, "--output", "/no/x.html")
        assert code == 1 and not out and "does not exist" in err and "cannot reach" not in err
        code, out, err = timeline(capsys, token, "--programme", pid)
        assert code == 2 and not out and "no service could be read" in err
    monkeypatch.setenv("REVMENTOR_FEEDBACK_ADDR", f"127.0.0.1:{free_port()}")
    code, out, err = timeline(capsys, token, "--programme", pid, "--format", "json")
    doc = json.loads(out)
    assert code == 2 and doc["services"]["feedback"].startswith("unreachable: cannot reach")
    assert doc["steps"] and "feedback NOT READ" in err
    assert {s["service"] for s in doc["steps"]} == {
        "enrolment",
        "training",
        "matching",
        "scheduling",
    }


async def test_timeline_of_a_programme_and_its_participants(
    tmp_path: Path,
    nats_server: LocalNatsServer,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    processes: list[ServiceProcess] = []
    try:
        issuer, processes, pid, ids, proposal = await run_programme(tmp_path, nats_server.url)
        monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "cli-var"))
        for process in processes:
            monkeypatch.setenv(f"REVMENTOR_{process.service.upper()}_ADDR", process.address)
        token = issuer.token("auditor", sub="auditor-1")
        doc = as_json(capsys, token, "--programme", pid)
        check_programme(doc, pid)
        check_formats(capsys, token, tmp_path, pid, len(doc["steps"]))
        check_participants(capsys, token, ids, proposal)
        mentee_token = issuer.token("mentee", employee_id="E-MENTEE-1")
        check_refusals(capsys, token, mentee_token, monkeypatch, pid)
    finally:
        for process in reversed(processes):
            process.kill()
