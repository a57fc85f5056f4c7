"""``revmentor calendar``: the participant's feed as an .ics file from the CLI,
run as a real subprocess against a real in-process scheduling server."""

from __future__ import annotations

import asyncio
import os
import stat
import subprocess
import sys
from pathlib import Path

from icalendar import Calendar
from support import DevIssuer

from revmentor.scheduling.application import SchedulingApplication


def cli(port: int, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "REVMENTOR_SCHEDULING_ADDR": f"127.0.0.1:{port}",
        "REVMENTOR_TOKEN": token,
    }
    return subprocess.run(
        [sys.executable, "-m", "revmentor.cli", "calendar", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_calendar_file_round_trips_through_icalendar(
    grpc_port: int,
    scheduling_app: SchedulingApplication,
    seed,
    issuer: DevIssuer,
    tmp_path: Path,
) -> None:
    programme = seed.programme()
    pair = seed.pair(programme)
    _, first = scheduling_app.schedule_session(
        pair.mentorship_id,
        "2027-03-22T10:00",
        "Europe/Paris",
        60,
        "virtual",
        meeting_link="https://meet.example/abc",
        agenda="GenAI basics",
    )
    _, second = scheduling_app.schedule_session(
        pair.mentorship_id,
        "2027-03-29T10:00",
        "Europe/Paris",
        90,
        "in_person",
        location="Paris HQ, room 4.2",
    )
    scheduling_app.cancel_session(
        pair.mentorship_id, second, "travelling", pair.mentor_id, "mentor"
    )
    output = tmp_path / "sessions.ics"
    token = issuer.token("admin", sub="hr-admin")
    done = await asyncio.to_thread(cli, grpc_port, token, pair.mentee_id, "--output", str(output))
    assert done.returncode == 0, done.stderr
    assert "wrote 2 session(s)" in done.stderr
    assert stat.S_IMODE(output.stat().st_mode) == 0o600
    events = {str(e["uid"]): e for e in Calendar.from_ical(output.read_bytes()).walk("VEVENT")}
    held, cancelled = events[f"{first}@revmentor"], events[f"{second}@revmentor"]
    assert held["dtstart"].dt.tzinfo.key == "Europe/Paris"
    assert (held["dtstart"].dt.hour, held["dtstart"].dt.minute) == (10, 0)
    assert str(held["status"]) == "CONFIRMED" and int(held["sequence"]) == 0
    assert str(held["url"]) == "https://meet.example/abc"
    assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) == 1
    assert (cancelled["dtend"].dt - cancelled["dtstart"].dt).total_seconds() == 90 * 60

    unknown = await asyncio.to_thread(cli, grpc_port, token, "00000000-0000-4000-8000-000000000000")
    assert unknown.returncode == 1 and "scheduling knows no participant" in unknown.stderr
    refused = await asyncio.to_thread(cli, grpc_port, "not-a-token", pair.mentee_id)
    assert refused.returncode == 1 and "UNAUTHENTICATED" in refused.stderr
