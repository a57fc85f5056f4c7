"""Personal data at rest, and erasure by crypto-shredding, on SQLite and PostgreSQL.

What must hold (DESIGN section 4, issue 3): participants enrolled with unique
marker strings never have those markers in plaintext in the store (SQLite file
and WAL, ``pg_dump``), the JetStream store or the logs. After
``erase_participant`` every read shows the participant as erased, no
application call gives the markers back, the history still replays to the same
read model, and the relay publishes ``ParticipantErased``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from support import PG_HOST, PG_PASSWORD, PG_PORT, PG_USER, eventually, read_stream

from revmentor.enrolment import mapping as m
from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.participant import Participant
from revmentor.enrolment.domain.profile import MENTEE, MENTOR, Consent
from revmentor.enrolment.domain.programme import ProgrammeRules
from revmentor.enrolment.integration import translate
from revmentor.kernel.cloudevents import stream_name
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import IllegalTransition, NotFound, ValidationFailed
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay


def marker_set(label: str) -> dict[str, str]:
    tag = f"{label}{secrets.token_hex(5)}"
    return {
        "name": f"Name{tag}",
        "email": f"mail{tag}@example.com",
        "employee": f"EMP{tag}",
        "manager": f"MGR{tag}",
        "site": f"Site{tag}",
        "new_site": f"Moved{tag}",
        "department": f"Dept{tag}",
        "note": f"Note{tag}",
    }


@pytest.fixture
def env(store: dict[str, str]) -> dict[str, str]:
    kek = base64.b64encode(secrets.token_bytes(32)).decode()
    return {**store, "REVMENTOR_KEK": kek, "REVMENTOR_KEK_ID": "test"}


@pytest.fixture
def app(env: dict[str, str]) -> Iterator[EnrolmentApplication]:
    enrolment = EnrolmentApplication(env=env)
    yield enrolment
    enrolment.close()


@pytest.fixture
def people(
    app: EnrolmentApplication, build: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> SimpleNamespace:
    """A programme with an erased mentor (A) and an enrolled mentee (B), logs captured."""
    caplog.set_level(logging.DEBUG)
    programme = app.create_programme(
        "Privacy", "", "2025-01-01", "2025-12-31", build.topics, ProgrammeRules()
    )
    pid = str(programme.id)
    app.open_enrolment(pid)
    a, b = marker_set("A"), marker_set("B")
    mentor = enrol(app, build, pid, MENTOR, a)
    mentee = enrol(app, build, pid, MENTEE, b)
    new_profile = build.profile(
        MENTOR,
        display_name=a["name"],
        email=a["email"],
        manager_employee_id=a["manager"],
        site=a["new_site"],
        department=a["department"],
        skill_levels=(("generative-ai", 3),),
    )
    app.update_profile(str(mentor.id), new_profile, this_year=2025)
    app.withdraw(str(mentor.id), "personal", a["note"])
    app.erase_participant(str(mentor.id), "GDPR request 2027-0042")
    return SimpleNamespace(programme_id=pid, a=a, b=b, mentor=mentor.id, mentee=mentee.id)


def enrol(
    app: EnrolmentApplication, build: SimpleNamespace, pid: str, role: str, mark: dict[str, str]
) -> Participant:
    profile = build.profile(
        role,
        display_name=mark["name"],
        email=mark["email"],
        manager_employee_id=mark["manager"],
        site=mark["site"],
        department=mark["department"],
    )
    return app.enrol(pid, mark["employee"], role, profile, Consent(True, "2025-01"), 2025)


def all_markers(people: SimpleNamespace) -> list[str]:
    return [*people.a.values(), *people.b.values()]


def assert_no_marker(blob: bytes, people: SimpleNamespace, where: str) -> None:
    """Neither the marker's bytes nor their hex (PostgreSQL bytea) appear."""
    lowered = blob.lower()
    for marker in all_markers(people):
        for form in (marker.encode(), marker.encode().hex().encode()):
            assert form.lower() not in lowered, f"{marker!r} found in plaintext in {where}"


# -- at rest ---------------------------------------------------------------------------------------
def store_bytes(env: dict[str, str]) -> bytes:
    """The raw database: SQLite file and WAL, or a pg_dump of the service's schema."""
    if env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite":
        path = Path(env["SQLITE_DBNAME"])
        wal = Path(f"{path}-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    command = ["pg_dump", "-h", PG_HOST, "-p", PG_PORT, "-U", PG_USER, "-n", env["POSTGRES_SCHEMA"]]
    dump = subprocess.run(
        [*command, env["POSTGRES_DBNAME"]],
        env={**os.environ, "PGPASSWORD": PG_PASSWORD} if PG_PASSWORD else None,
        capture_output=True,
        check=True,
        timeout=60,
    )
    return dump.stdout


def test_markers_never_appear_in_the_store(
    app: EnrolmentApplication, env: dict[str, str], people: SimpleNamespace
) -> None:
    raw = store_bytes(env)
    assert b"Participant.Enrolled" in raw, "the events are there (the search is meaningful)"
    assert b"revmentor_subject_keys" in raw
    assert_no_marker(raw, people, env["PERSISTENCE_MODULE"])


def test_markers_never_appear_in_logs(
    people: SimpleNamespace, caplog: pytest.LogCaptureFixture
) -> None:
    text = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    assert_no_marker(text.encode(), people, "the logs")


async def test_markers_never_reach_jetstream_and_erasure_is_published(
    app: EnrolmentApplication,
    people: SimpleNamespace,
    nats_server: LocalNatsServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    relay = Relay(app, translate, nats_server.url, idle_seconds=0.02)
    task = asyncio.create_task(relay.run(stop))
    stream = stream_name(app.name)

    async def erasure_published() -> bool:
        messages = await read_stream(nats_server.url, stream)
        return any(m.headers["ce-type"].endswith("ParticipantErased") for m in messages)

    try:
        await eventually(erasure_published, what="ParticipantErased on the stream")
        messages = await read_stream(nats_server.url, stream)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    (erased,) = [m for m in messages if m.headers["ce-type"].endswith("ParticipantErased")]
    assert json.loads(erased.data) == {
        "participantId": str(people.mentor),
        "programmeId": people.programme_id,
    }
    nats_server.stop()  # everything flushed to the store files
    files = [p for p in nats_server.store_dir.rglob("*") if p.is_file()]
    raw = b"".join(p.read_bytes() for p in files)
    assert b"ParticipantErased" in raw, "the store holds the stream (the search is meaningful)"
    assert_no_marker(raw, people, "the JetStream store")
    assert_no_marker(caplog.text.encode(), people, "the logs")


# -- after erasure ---------------------------------------------------------------------------------
def everything_readable(app: EnrolmentApplication, people: SimpleNamespace) -> str:
    """Every application read about the programme's participants, as one text."""
    pid = people.programme_id
    reads: list[Any] = []
    for participant_id in (str(people.mentor), str(people.mentee)):
        participant = app.participant(participant_id)
        reads += [m.participant_message(participant), app.export_participant(participant_id)]
    reads += [m.matching_attributes(p) for p in app.participants_for_matching([str(people.mentor)])]
    reads += app.opened(app.participant_views(pid))
    reads.append(app.views.snapshot())
    return "\n".join(json.dumps(r, default=str) if isinstance(r, dict) else str(r) for r in reads)


def test_an_erased_participant_reads_as_erased_everywhere(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    erased = app.participant(str(people.mentor))
    assert (erased.status, erased.employee_id, erased.profile.display_name) == ("erased", "", "")
    assert erased.profile.skills_offered == ("generative-ai",)  # facts stay
    assert erased.profile.levels() == {"generative-ai": 3}
    assert m.participant_message(erased).status == m.PARTICIPANT_STATUS_PB["erased"]
    view = app.views.participants[str(people.mentor)]
    assert (view["status"], view["employee_id"], view["profile"]["email"]) == ("erased", "", "")
    listed = app.opened(app.participant_views(people.programme_id))
    assert {v["participant_id"]: v["status"] for v in listed} == {
        str(people.mentor): "erased",
        str(people.mentee): "enrolled",
    }
    with pytest.raises(NotFound):
        app.find_participant(people.programme_id, people.a["employee"])
    (attributes,) = app.participants_for_matching([str(people.mentor)])
    assert m.matching_attributes(attributes).employee_id == ""
    assert dict(m.matching_attributes(attributes).skill_levels) == {"generative-ai": 3}
    assert app.programme_counts(people.programme_id) == (0, 1)


def test_no_application_call_gives_the_erased_markers_back(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    text = everything_readable(app, people)
    for marker in people.a.values():
        assert marker not in text, f"{marker!r} is still readable"
    assert people.b["name"] in text  # the mentee was not erased


def test_the_export_keeps_the_shape_with_personal_values_erased(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    document = app.export_participant(str(people.mentor))
    json.dumps(document)  # JSON-able
    assert (document["status"], document["erased"], document["employee_id"]) == (
        "erased",
        True,
        ERASED,
    )
    assert document["profile"]["email"] == ERASED
    assert document["erasure_reason"] == "GDPR request 2027-0042"  # for auditors
    history = document["history"]
    assert [h["type"] for h in history] == [
        "Participant.Enrolled",
        "Participant.ProfileUpdated",
        "Participant.Withdrawn",
        "Participant.Erased",
    ]
    assert [h["version"] for h in history] == [1, 2, 3, 4]
    enrolled = history[0]["state"]
    assert (enrolled["employee_id"], enrolled["profile"]["display_name"]) == (ERASED, ERASED)
    assert enrolled["role"] == "mentor"
    assert history[2]["state"]["note"] == ERASED
    assert all(h["envelope"].get("actor") for h in history)


def test_the_export_of_a_live_participant_holds_everything(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    document = app.export_participant(str(people.mentee))
    assert (document["status"], document["employee_id"]) == ("enrolled", people.b["employee"])
    assert document["profile"]["display_name"] == people.b["name"]
    assert document["history"][0]["state"]["profile"]["site"] == people.b["site"]


def test_replay_still_works_after_erasure(
    app: EnrolmentApplication, env: dict[str, str], people: SimpleNamespace
) -> None:
    live = app.views.digest()
    assert app.rebuild_read_model().digest() == live
    again = EnrolmentApplication(env=env)  # no cached keys, nothing in memory
    try:
        assert again.views.digest() == live
        assert again.participant(str(people.mentor)).status == "erased"
        assert again.participant(str(people.mentee)).profile.display_name == people.b["name"]
    finally:
        again.close()


def test_erasure_is_validated_and_happens_once(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    with pytest.raises(ValidationFailed) as error:
        app.erase_participant(str(people.mentee), "")
    assert [v.field for v in error.value.violations] == ["reason"]
    with pytest.raises(ValidationFailed):
        app.erase_participant(str(people.mentee), "x" * 501)
    with pytest.raises(IllegalTransition, match="already erased"):
        app.erase_participant(str(people.mentor), "again")
    with pytest.raises(NotFound):
        app.erase_participant(str(uuid4()), "no one")
    assert app.participant(str(people.mentee)).status == "enrolled"


def test_an_erased_employee_can_enrol_again(
    app: EnrolmentApplication, people: SimpleNamespace, build: SimpleNamespace
) -> None:
    again = enrol(app, build, people.programme_id, MENTOR, people.a)
    assert again.id != people.mentor
    found = app.find_participant(people.programme_id, people.a["employee"])
    assert found.id == again.id
    with pytest.raises(Exception, match="already enrolled"):
        enrol(app, build, people.programme_id, MENTOR, people.a)
    assert app.participant(str(people.mentor)).status == "erased"


def test_the_erased_keys_are_destroyed(app: EnrolmentApplication, people: SimpleNamespace) -> None:
    participant = app.participant(str(people.mentor))
    assert participant.registration_id == ERASED  # the link to the employee is gone too
    assert app.keys.is_destroyed(str(people.mentor))
    assert not app.keys.is_destroyed(str(people.mentee))


def test_the_relay_decodes_without_keys_and_publishes_no_personal_value(
    app: EnrolmentApplication, build: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Integration events are built from events decoded with personal fields withheld."""
    from revmentor.kernel.envelope import WITHHELD

    programme = app.create_programme(
        "Relay", "", "2025-01-01", "2025-12-31", build.topics, ProgrammeRules()
    )
    app.open_enrolment(str(programme.id))
    mark = marker_set("R")
    enrol(app, build, str(programme.id), MENTOR, mark)

    def no_keys(*args: Any) -> Any:
        raise AssertionError("the relay path must not touch participant keys")

    monkeypatch.setattr(app.keys, "decrypt", no_keys)
    enrolled = [
        event
        for n in app.notifications(0, 100)
        for event, _ in [app.envelope_mapper.decode(n, personal=False)]
        if type(event).__qualname__ == "Participant.Enrolled"
    ]
    assert enrolled and enrolled[0].employee_id == WITHHELD
    assert enrolled[0].profile["email"] == WITHHELD
    published = translate(enrolled[0])
    assert published is not None and published.message.participant_id
    assert not any(value in str(published.message) for value in mark.values())


def test_replay_fetches_keys_in_batches_not_one_query_per_participant(
    app: EnrolmentApplication,
    build: SimpleNamespace,
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    programme = app.create_programme(
        "Batch", "", "2025-01-01", "2025-12-31", build.topics, ProgrammeRules()
    )
    app.open_enrolment(str(programme.id))
    for n in range(30):
        enrol(app, build, str(programme.id), MENTEE, marker_set(f"K{n}"))
    replica = EnrolmentApplication(env=env)  # a fresh process: nothing cached

    def one_by_one(subject: str) -> Any:
        raise AssertionError(f"key of {subject} fetched alone during a replay")

    monkeypatch.setattr(replica.keys.store, "get", one_by_one)
    assert replica.rebuild_read_model().digest() == app.views.digest()
    replica.close()


# -- the read model keeps personal values sealed --------------------------------------------
def test_the_read_model_holds_no_personal_value_in_clear_and_queries_open_what_they_show(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    held = json.dumps(app.views.snapshot(), default=str)
    for marker in people.b.values():
        assert marker not in held, "the mentee's values are held sealed only"
    (shown,) = app.opened([app.views.participants[str(people.mentee)]])
    assert (shown["employee_id"], shown["profile"]["email"]) == (
        people.b["employee"],
        people.b["email"],
    )
    assert shown["consent"]["given"] is True and "sealed" not in shown
    assert "registration_id" not in shown, "the index link is never shown"
    by_site = app.participant_views(people.programme_id, site=people.b["site"])
    assert [v["participant_id"] for v in by_site] == [str(people.mentee)]


def test_the_read_model_is_rebuilt_without_a_key_or_a_decryption(
    app: EnrolmentApplication, people: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = app.views.digest()

    def no_keys(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a rebuild touched a key")

    keys = app.envelope_mapper.keys
    assert keys is not None
    for name in ("decrypt", "prefetch", "encrypt"):
        monkeypatch.setattr(keys, name, no_keys)
    assert app.rebuild_read_model().digest() == live


def test_a_key_destroyed_before_the_erasure_is_read_shows_the_view_blank(
    app: EnrolmentApplication, people: SimpleNamespace
) -> None:
    view = app.views.participants[str(people.mentee)]
    app.keys.destroy(str(people.mentee))  # as an erasure does, just after its event
    (shown,) = app.opened([view])
    assert (shown["employee_id"], shown["profile"]["email"], shown["consent"]["given"]) == (
        "",
        "",
        False,
    )
    assert shown["profile"]["learning_needs"] == view["profile"]["learning_needs"], "facts stay"
    m.participant_view_message(shown)  # still a valid message
