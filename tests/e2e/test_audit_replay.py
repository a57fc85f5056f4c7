"""``revmentor audit replay`` across the five services as real processes.

A programme is scripted step by step (match confirmed and mentorship opened,
baseline surveys answered, a session held and rated by one member, then by the
other). After each step, once the platform is quiet, the live state of every
service is recorded with ``audit replay`` at now (which must equal the events'
replay) and an instant is taken. At the end, replaying at each instant gives
exactly the state recorded then, in every service; nothing personal is shown.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from support import eventually, tick
from test_feedback_e2e import (
    MENTEE_ANSWERS,
    MENTOR_ANSWERS,
    PEOPLE,
    Platform,
    answer_baseline_surveys,
    confirmed_pair,
    log_past_session,
    platform,
    submit,
)

from revmentor.cli.main import main
from revmentor.kernel.natsserver import LocalNatsServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SERVICES = ("enrolment", "training", "matching", "scheduling", "feedback")


def point_at(p: Platform, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SERVICES:
        monkeypatch.setenv(f"REVMENTOR_{name.upper()}_ADDR", getattr(p, name).address)


async def replay(
    capsys: pytest.CaptureFixture[str], token: str, *args: str
) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", "replay", "--json", "--token", token, *args])
    out = capsys.readouterr().out
    return code, json.loads(out)


def states(document: dict[str, Any]) -> dict[str, Any]:
    return {s["service"]: s["state"] for s in document["services"]}


async def quiet_state(
    capsys: pytest.CaptureFixture[str], token: str, programme: str
) -> tuple[dict[str, Any], Any]:
    """The live state once two readings a second apart agree (consumers are done),
    and an instant after it."""
    readings: list[dict[str, Any]] = []

    async def settled() -> bool:
        code, document = await replay(capsys, token, "--programme", programme)
        assert code == 0, document  # at now, every service equals its events
        assert all(s["live_digest"] == s["digest"] for s in document["services"])
        readings.append(document)
        return (
            len(readings) > 1 and readings[-1]["platform_digest"] == readings[-2]["platform_digest"]
        )

    await eventually(settled, timeout=60, interval=1.0, what="a quiet platform")
    return states(readings[-1]), tick()


async def test_replay_at_each_instant_equals_the_state_recorded_then(
    tmp_path: Path,
    nats_server: LocalNatsServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with platform(tmp_path, nats_server) as p:
        point_at(p, monkeypatch)
        auditor = p.feedback.issuer.token("auditor", sub="auditor-1")
        before = tick()
        pair = await confirmed_pair(p)
        pid = pair.programme_id
        recorded = [await quiet_state(capsys, auditor, pid)]
        await answer_baseline_surveys(p, pair)
        recorded.append(await quiet_state(capsys, auditor, pid))
        held = await log_past_session(p, pair, days_ago=1)
        await eventually(
            lambda: _asked(capsys, auditor, pid), timeout=30, what="feedback asked for"
        )
        await submit(p, pair.mentee_token, held.session_id, pair.mentee, MENTEE_ANSWERS)
        recorded.append(await quiet_state(capsys, auditor, pid))
        await submit(p, pair.mentor_token, held.session_id, pair.mentor, MENTOR_ANSWERS)
        recorded.append(await quiet_state(capsys, auditor, pid))

        code, empty = await replay(capsys, auditor, "--programme", pid, "--at", before.isoformat())
        assert code == 0 and not any(v for s in states(empty).values() for v in s.values())
        documents = []
        for state, at in recorded:
            code, document = await replay(
                capsys, auditor, "--programme", pid, "--at", at.isoformat()
            )
            assert code == 0
            assert states(document) == state
            documents.append(document)

    digests = [d["platform_digest"] for d in documents]
    assert len(set(digests)) == len(digests), "every step changed the programme"
    first, *_, last = (states(d) for d in documents)
    assert (
        first["matching"]["matches"]
        and not first["scheduling"]["mentorships"][pair.mentorship_id]["sessions"]
    )
    assert last["feedback"]["sessions"][held.session_id]["answered"] == ["mentee", "mentor"]
    text = json.dumps([d for d in documents])
    for person in PEOPLE:
        assert person.name not in text and person.employee_id not in text


async def _asked(capsys: pytest.CaptureFixture[str], token: str, programme: str) -> bool:
    _, document = await replay(capsys, token, "--programme", programme, "--service", "feedback")
    return bool(states(document)["feedback"].get("sessions"))


async def test_replay_refuses_bad_flags_before_asking_anyone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["audit", "replay", "--programme", "P-1"]) == 1
    assert "--programme 'P-1' must be a programme id" in capsys.readouterr().err
    programme = "8c6f2d2e-8a38-4f55-9d55-6a3c6c7b1f00"
    assert main(["audit", "replay", "--programme", programme, "--at", "noon"]) == 1
    assert "--at 'noon' must be an RFC 3339 time" in capsys.readouterr().err
