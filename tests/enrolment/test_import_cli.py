"""``revmentor enrol import`` against a real enrolment service process and NATS.

What must hold: every bad row is reported with its line number, employee id
and the column at fault - whether the CLI caught it (syntax, duplicates) or
the service did (programme rules) - while the good rows are enrolled; the
exit status says whether anything was rejected; re-running the same file
changes nothing; a changed row updates exactly that participant.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from support import authed_sync_channel

from revmentor.cli import devkeys
from revmentor.cli.common import CliError
from revmentor.cli.endpoints import wait_healthy
from revmentor.cli.rows import COLUMNS, column_problem, parse_text
from revmentor.enrolment.v1 import enrolment_pb2 as pb
from revmentor.enrolment.v1 import enrolment_pb2_grpc as pb_grpc
from revmentor.kernel.natsserver import LocalNatsServer, free_port

TOPICS = ("generative-ai", "social-media", "data-literacy", "collaboration-tools")


def revmentor() -> list[str]:
    script = Path(sys.executable).parent / "revmentor"
    return [str(script)] if script.exists() else [sys.executable, "-m", "revmentor.cli"]


def person(eid: str, role: str, **changes: str) -> dict[str, str]:
    row = {
        "employee_id": eid,
        "role": role,
        "display_name": f"Person {eid}",
        "email": f"{eid.lower()}@example.com",
        "birth_year": "2000" if role == "mentor" else "1968",
        "department": "Marketing" if role == "mentor" else "Finance",
        "manager_employee_id": "E0001",
        "site": "London",
        "time_zone": "Europe/London",
        "languages": "en;fr",
        "skills": "generative-ai;social-media" if role == "mentor" else "",
        "needs": "" if role == "mentor" else "generative-ai:1;data-literacy:2",
        "availability": "Mon 09:00-11:00;Wed 14:00-16:00",
        "meeting_preference": "either",
        "consent": "yes",
        "notice_version": "privacy-2026-03",
    }
    row.update(changes)
    return row


GOOD = [
    person("E100", "mentor"),
    person(
        "E101",
        "mentor",
        site="Paris",
        time_zone="Europe/Paris",
        meeting_preference="virtual",
        skills="generative-ai:3;social-media",  # a level on one skill
    ),
    person("E102", "mentor", skills="data-literacy"),
    person("E200", "mentee"),
    person("E201", "mentee", needs="social-media:1", availability="tue 9:30-11:00"),
]
# (row, the column that must be reported)
BAD = [
    (person("E300", "mentee", birth_year="19x5"), "birth_year"),  # caught by the CLI
    (person("E301", "mentor", skills="generative-ai;quantum-computing"), "skills"),  # service
    (person("E302", "mentee", time_zone="Europe/Atlantis"), "time_zone"),  # service
    (person("E303", "mentor", availability="Mon 9-11"), "availability"),  # CLI
    (person("E100", "mentee", site="Berlin"), "employee_id"),  # duplicate in the file
    (person("E304", "mentee", birth_year="1890"), "birth_year"),  # service: out of range
    (person("E305", "mentor", skills="generative-ai:5"), "skills"),  # CLI: level 1-3
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    """The header on line 1, then row ``i`` on line ``i + 2``."""
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


def interleaved() -> list[dict[str, str]]:
    """Good and bad rows mixed, so line numbers are not simply in two blocks."""
    rows: list[dict[str, str]] = []
    for i in range(max(len(GOOD), len(BAD))):
        if i < len(GOOD):
            rows.append(GOOD[i])
        if i < len(BAD):
            rows.append(BAD[i][0])
    return rows


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_import(csv_file: Path, programme_id: str, target: str, var: Path) -> Result:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVMENTOR_")}
    env["REVMENTOR_VAR_DIR"] = str(var)
    args = ["enrol", "import", str(csv_file), "--programme", programme_id, "--target", target]
    done = subprocess.run(
        [*revmentor(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Result(done.returncode, done.stdout, done.stderr)


# -- a real enrolment service ----------------------------------------------------------------------
@pytest.fixture
def enrolment_address(nats_server: LocalNatsServer, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "enrolment.log"
    env = {**os.environ, "REVMENTOR_VAR_DIR": str(tmp_path / "var"), "NATS_URL": nats_server.url}
    env.update(devkeys.service_env(tmp_path))  # the CLI runs with --var tmp_path: same key
    env["ENROLMENT_GRPC_PORT"] = str(port)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "revmentor.enrolment.main"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    address = f"127.0.0.1:{port}"
    try:
        if not wait_healthy(address, 60, lambda: process.poll() is None):
            pytest.fail(f"enrolment did not become healthy:\n{log.read_text()}")
        yield address
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def client(enrolment_address: str, tmp_path: Path) -> Iterator[Any]:
    token = devkeys.load(tmp_path).mint("import-test", roles=["admin"])
    with authed_sync_channel(enrolment_address, token) as channel:
        yield pb_grpc.EnrolmentServiceStub(channel)


@pytest.fixture
def programme_id(client: Any) -> str:
    programme = client.CreateProgramme(
        pb.CreateProgrammeRequest(
            name="Import test",
            start_date="2027-01-11",
            end_date="2027-06-25",
            topics=[pb.Topic(code=code, title=code.replace("-", " ")) for code in TOPICS],
        ),
        timeout=10,
    )
    client.OpenEnrolment(pb.ProgrammeCommand(programme_id=programme.programme_id), timeout=10)
    return str(programme.programme_id)


def participants(client: Any, programme_id: str) -> dict[str, pb.Participant]:
    reply = client.ListParticipants(
        pb.ListParticipantsRequest(programme_id=programme_id, page_size=500), timeout=10
    )
    assert not reply.next_page_token
    return {p.employee_id: p for p in reply.participants}


# -- end to end ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_import_reports_bad_rows_enrols_good_ones_and_is_idempotent(
    client: Any, programme_id: str, enrolment_address: str, tmp_path: Path
) -> None:
    rows = interleaved()
    csv_file = tmp_path / "hr-export.csv"
    write_csv(csv_file, rows)

    first = run_import(csv_file, programme_id, enrolment_address, tmp_path)
    assert first.code == 1, first
    assert "Traceback" not in first.out + first.err
    reported = [line for line in first.out.splitlines() if line.startswith("line ")]
    assert len(reported) == len(BAD), first.out
    for bad, column in BAD:
        line = rows.index(bad) + 2
        expected = f"line {line} (employee {bad['employee_id']}): "
        match = [r for r in reported if r.startswith(expected)]
        assert match, f"{expected!r} not reported:\n{first.out}"
        assert f"{column}: " in match[0].removeprefix(expected), match[0]
    assert "5 enrolled, 0 updated, 0 unchanged, 7 rejected" in first.out
    assert "fix the rows above and re-run" in first.out

    enrolled = participants(client, programme_id)
    assert sorted(enrolled) == sorted(g["employee_id"] for g in GOOD)
    assert enrolled["E100"].role == pb.ROLE_MENTOR  # the duplicate row did not win
    assert enrolled["E100"].profile.site == "London"
    assert [w.start_time for w in enrolled["E201"].profile.availability] == ["09:30"]
    assert list(enrolled["E101"].profile.skills_offered) == ["generative-ai", "social-media"]
    assert dict(enrolled["E101"].profile.skill_levels) == {"generative-ai": 3}
    versions = {eid: p.version for eid, p in enrolled.items()}

    again = run_import(csv_file, programme_id, enrolment_address, tmp_path)
    assert again.code == 1, again
    assert "0 enrolled, 0 updated, 5 unchanged, 7 rejected" in again.out
    assert {eid: p.version for eid, p in participants(client, programme_id).items()} == versions

    rows[rows.index(GOOD[3])] = {**GOOD[3], "site": "Manchester"}  # E200 moved
    write_csv(csv_file, rows)
    changed = run_import(csv_file, programme_id, enrolment_address, tmp_path)
    assert changed.code == 1, changed
    assert "0 enrolled, 1 updated, 4 unchanged, 7 rejected" in changed.out
    after = participants(client, programme_id)
    assert after["E200"].profile.site == "Manchester"
    assert after["E200"].version > versions["E200"]
    assert {eid: p.version for eid, p in after.items() if eid != "E200"} == {
        eid: v for eid, v in versions.items() if eid != "E200"
    }

    only_good = tmp_path / "fixed.csv"
    write_csv(only_good, [r for r in rows if r not in [b for b, _ in BAD]])
    clean = run_import(only_good, programme_id, enrolment_address, tmp_path)
    assert clean.code == 0, clean
    assert "0 enrolled, 0 updated, 5 unchanged, 0 rejected" in clean.out


@pytest.mark.slow
def test_unknown_programme_is_explained(enrolment_address: str, tmp_path: Path) -> None:
    csv_file = tmp_path / "hr-export.csv"
    write_csv(csv_file, GOOD)
    result = run_import(
        csv_file, "5b0c1c52-2f4e-4f0b-9d55-8a3c3b0f6e11", enrolment_address, tmp_path
    )
    assert result.code == 1
    assert "not found" in result.err and "enrol programmes" in result.err
    assert "Traceback" not in result.err


# -- no service needed -----------------------------------------------------------------------------
def test_unreachable_target_exits_2_and_says_how_to_start_it(tmp_path: Path) -> None:
    csv_file = tmp_path / "hr-export.csv"
    write_csv(csv_file, GOOD)
    started = time.monotonic()
    result = run_import(csv_file, "any", f"127.0.0.1:{free_port()}", tmp_path)
    assert result.code == 2, result
    assert "make run" in result.err
    assert "Traceback" not in result.err
    assert time.monotonic() - started < 30


def test_default_target_comes_from_the_endpoints_file(tmp_path: Path) -> None:
    csv_file = tmp_path / "hr-export.csv"
    write_csv(csv_file, GOOD)
    port = free_port()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "endpoints.json").write_text(
        f'{{"nats": "nats://127.0.0.1:1", "services": {{"enrolment": "127.0.0.1:{port}"}}}}'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVMENTOR_")}
    env["REVMENTOR_VAR_DIR"] = str(tmp_path)
    done = subprocess.run(
        [*revmentor(), "enrol", "import", str(csv_file), "--programme", "x"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert f"127.0.0.1:{port}" in done.stderr and "endpoints.json" in done.stderr


def test_a_header_without_a_column_is_refused_with_the_expected_header(tmp_path: Path) -> None:
    csv_file = tmp_path / "hr-export.csv"
    csv_file.write_text("employee_id,role,display_name\nE1,mentor,Ann\n")
    result = run_import(csv_file, "any", f"127.0.0.1:{free_port()}", tmp_path)
    assert result.code == 1
    assert "lacks column(s) email, birth_year" in result.err
    assert ",".join(COLUMNS) in result.err


def test_rows_are_parsed_into_requests() -> None:
    text = "\ufeff" + ",".join(COLUMNS) + "\n"
    text += "E1,Mentor,Ann,ann@example.com,1999,IT,,Paris,Europe/Paris,fr; en,generative-ai,"
    text += ",Monday 9:00-10:30;Thu 14:00 - 15:00,In person,Yes,v1\n"
    text += "\n"  # blank lines are skipped, line numbers still count them
    text += "E2,mentee,Bob,b@example.com,1960,Ops,E9,Paris,Europe/Paris,fr,,data-literacy:x,"
    text += "Mon 09:00-10:00,virtual,maybe,v1,surplus\n"
    text += 'E3,mentee,"Multi\nline",b@example.com\n'
    first, second, third = parse_text(text, "p1")
    assert first.problems == [] and first.request is not None
    request = first.request
    assert request.role == pb.ROLE_MENTOR and request.programme_id == "p1"
    assert list(request.profile.languages) == ["fr", "en"]
    assert [(w.weekday, w.start_time, w.end_time) for w in request.profile.availability] == [
        (1, "09:00", "10:30"),
        (4, "14:00", "15:00"),
    ]
    assert request.profile.meeting_preference == pb.MEETING_PREFERENCE_IN_PERSON
    assert request.consent.given and request.consent.notice_version == "v1"

    assert second.line == 4 and second.request is None
    assert {column for column, _ in second.problems} == {"row", "needs", "consent"}
    assert second.report().startswith("line 4 (employee E2): ")

    assert third.line == 5
    assert {column for column, _ in third.problems} >= {"birth_year", "availability", "consent"}


def test_skills_take_an_optional_level_1_to_3() -> None:
    text = ",".join(COLUMNS) + "\n"
    mentor = "{eid},mentor,Ann,a@example.com,1999,IT,,Paris,Europe/Paris,en,{skills},"
    mentor += ",Mon 09:00-10:30,virtual,yes,v1\n"
    good = "generative-ai:3; social-media ;data-literacy : 1"
    text += mentor.format(eid="E1", skills=good)
    text += mentor.format(eid="E2", skills="generative-ai:4;social-media:expert;:2;a:1:2")
    first, second = parse_text(text, "p1")
    assert first.problems == [] and first.request is not None
    profile = first.request.profile
    assert list(profile.skills_offered) == ["generative-ai", "social-media", "data-literacy"]
    assert dict(profile.skill_levels) == {"generative-ai": 3, "data-literacy": 1}

    assert second.request is None
    assert [column for column, _ in second.problems] == ["skills"] * 4
    assert "'generative-ai:4' must be a topic code with an optional level 1-3" in second.report()
    assert "'social-media:expert'" in second.report()


def test_service_fields_are_named_after_csv_columns() -> None:
    assert column_problem("profile.birth_year", "too old") == ("birth_year", "too old")
    assert column_problem("profile.skills_offered[1]", "unknown") == ("skills", "item 2: unknown")
    assert column_problem("profile.skill_levels[generative-ai]", "must be 1 (basics) - 3") == (
        "skills",
        "generative-ai: must be 1 (basics) - 3",
    )
    assert column_problem("profile.skill_levels", "mentees do not") == ("skills", "mentees do not")
    assert column_problem("profile.learning_needs[0].topic", "x") == ("needs", "item 1 topic: x")
    assert column_problem("consent.given", "must consent") == ("consent", "must consent")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(CliError, match="empty"):
        parse_text("", "p1")
