"""The training application on SQLite and PostgreSQL: commands, queries, deadlines,
replay, erasure - and the enrolment subscription fed by the real enrolment
application and relay over a real nats-server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import UUID

import pytest
from support import eventually

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.enrolment.integration import translate as enrolment_translate
from revmentor.kernel.cloudevents import ReceivedEvent
from revmentor.kernel.consumer import SubscriptionRunner
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import ConcurrencyConflict, NotFound, ValidationFailed
from revmentor.kernel.natsserver import LocalNatsServer
from revmentor.kernel.relay import Relay
from revmentor.training.application import DEADLINE_ACTOR, TrainingApplication
from revmentor.training.domain.curriculum import DEFAULT_MODULES, Module
from revmentor.training.domain.curriculum import MENTOR as T_MENTOR
from revmentor.training.domain.record import CERTIFIED, CLOSED, NOT_STARTED, record_id_for
from revmentor.training.integration import translate
from revmentor.training.subscriptions import enrolment_subscription, participant_enrolled


def complete_all(app: TrainingApplication, participant_id: str) -> None:
    record = app.record(participant_id)
    for m in record.pinned:
        if record.credited.get(m.id):
            continue
        if m.required and m.kind == "workshop":
            app.record_attendance(participant_id, m.id, "2027-01-04")
        elif m.required:
            app.complete_module(participant_id, m.id, 100)


def test_commands_certify_and_queries_see_it(training_app: TrainingApplication, seed) -> None:
    programme = seed.programme()
    mentors = [seed.record(programme) for _ in range(3)]
    mentee = seed.record(programme, "mentee")
    complete_all(training_app, mentors[0])
    training_app.complete_module(mentors[1], "active-listening", 10)
    record = training_app.record(mentors[0])
    assert record.status == CERTIFIED
    certified = training_app.certified_mentors(programme)
    assert [v["participant_id"] for v in certified] == [mentors[0]]
    readiness = training_app.readiness(programme, today=date(2027, 1, 1))
    assert readiness["mentors"] == 3 and readiness["certified_mentors"] == 1
    assert readiness["counts"] == {
        ("mentee", NOT_STARTED): 1,
        ("mentor", CERTIFIED): 1,
        ("mentor", "in_progress"): 1,
        ("mentor", NOT_STARTED): 1,
    }
    assert readiness["overdue"] == []
    late = training_app.readiness(programme, today=date(2027, 1, 12))
    assert late["overdue"] == sorted(mentors[1:])
    assert mentee not in late["overdue"]
    # every certification is published, as MentorCertified
    published = [translate(e) for e in _events(training_app)]
    names = [p.name for p in published if p is not None]
    assert names.count("MentorCertified") == 1 and names.count("TrainingRecordOpened") == 4


def _events(app: TrainingApplication) -> list:
    return [app.envelope_mapper.decode(n)[0] for n in app.notifications(0, 10000)]


def test_refusals_write_nothing(training_app: TrainingApplication, seed) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    before = len(training_app.notifications(0, 1000))
    with pytest.raises(ValidationFailed):
        training_app.complete_module(mentor, "active-listening", 150, -1)
    with pytest.raises(NotFound):
        training_app.record("3f6b3c1e-8a4e-4f4f-9f0c-2d7f5d0f9a11")
    with pytest.raises(ValidationFailed):
        training_app.record("not-a-uuid")
    with pytest.raises(ConcurrencyConflict):
        training_app.start_module(mentor, "active-listening", expected_version=7)
    with pytest.raises(NotFound):
        training_app.request_recertification(mentor, 5)
    assert len(training_app.notifications(0, 1000)) == before


def test_curriculum_versions_and_recertification(training_app: TrainingApplication, seed) -> None:
    programme = seed.programme()
    old = seed.record(programme)
    complete_all(training_app, old)
    extra = Module("ai-ethics", "AI ethics", "e_learning", True, 30, 60, T_MENTOR)
    training_app.define_curriculum(programme, [*DEFAULT_MODULES, extra])
    assert training_app.curriculum(programme)[0] == 1
    assert training_app.curriculum(programme, 0)[1][0]["id"] == "mentoring-foundations"
    new = seed.record(programme)
    assert training_app.record(new).curriculum_version == 1
    assert training_app.record(old).curriculum_version == 0, "pinned records are untouched"
    assert training_app.record(old).status == CERTIFIED
    record = training_app.request_recertification(old)
    assert record.curriculum_version == 1 and record.status == "in_progress"
    training_app.complete_module(old, "ai-ethics", 60)
    assert training_app.record(old).status == CERTIFIED


def test_flag_overdue_is_idempotent(training_app: TrainingApplication, seed) -> None:
    programme = seed.programme(start_date="2027-01-11")
    late = seed.record(programme)
    done = seed.record(programme)
    complete_all(training_app, done)
    before = datetime(2027, 1, 11, 23, 0, tzinfo=UTC)
    after = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)
    assert training_app.flag_overdue(before) == 0
    assert training_app.flag_overdue(after) == 1
    assert training_app.flag_overdue(after) == 0
    # a second application on the same store (a restarted or second replica) agrees
    other = TrainingApplication(env=training_app.env)
    try:
        assert other.flag_overdue(after) == 0
    finally:
        other.close()
    assert training_app.record(late).overdue and not training_app.record(done).overdue
    flagged = [
        (e, env)
        for n in training_app.notifications(0, 1000)
        for e, env in [training_app.envelope_mapper.decode(n)]
        if type(e).__qualname__ == "TrainingRecord.MarkedOverdue"
    ]
    assert len(flagged) == 1 and flagged[0][1]["actor"] == DEADLINE_ACTOR
    training_app.set_deadline(programme, "2027-02-01")
    assert training_app.readiness(programme, today=date(2027, 1, 20))["overdue"] == []


def test_replay_equals_live(training_app: TrainingApplication, seed) -> None:
    programme = seed.programme()
    mentors = [seed.record(programme) for _ in range(4)]
    seed.record(programme, "mentee")
    complete_all(training_app, mentors[0])
    complete_all(training_app, mentors[1])
    training_app.revoke_certification(mentors[1], "no longer eligible")
    training_app.waive_module(mentors[2], "feedback", "ran the feedback workshop")
    training_app.complete_module(mentors[3], "active-listening", 20)
    training_app.set_deadline(programme, "2027-01-01")
    training_app.flag_overdue(datetime(2027, 3, 1, tzinfo=UTC))
    live = training_app.views.digest()
    assert training_app.rebuild_read_model().digest() == live
    restarted = TrainingApplication(env=training_app.env)
    try:
        assert restarted.views.digest() == live
    finally:
        restarted.close()


def test_erasure_shreds_the_reasons_and_keeps_the_facts(
    training_app: TrainingApplication, seed
) -> None:
    programme = seed.programme()
    mentor = seed.record(programme)
    training_app.waive_module(mentor, "feedback", "medical reasons, see HR")
    complete_all(training_app, mentor)
    training_app.revoke_certification(mentor, "conduct complaint")
    digest = training_app.views.digest()
    training_app.erase_participant(UUID(mentor))
    fresh = TrainingApplication(env=training_app.env)
    try:
        record = fresh.record(mentor)
        assert record.waiver_reasons["feedback"] == ERASED
        assert record.revocation_reason == ERASED
        assert record.status == "revoked"
        assert fresh.rebuild_read_model().digest() == digest
    finally:
        fresh.close()


# -- consuming the real enrolment events ------------------------------------------------------
@contextlib.asynccontextmanager
async def pipeline(
    enrolment: EnrolmentApplication, training: TrainingApplication, url: str
) -> AsyncIterator[None]:
    stop = asyncio.Event()
    relay = Relay(enrolment, enrolment_translate, url, idle_seconds=0.02)
    task = asyncio.create_task(relay.run(stop))
    sub = enrolment_subscription(training, backoff=(0.1,), ack_wait=5.0)
    try:
        async with SubscriptionRunner(url, [sub], fetch_timeout=0.5, graceful_timeout=2.0):
            yield
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def _profile(role: str) -> Profile:
    mentor = role == MENTOR
    return Profile(
        display_name="Ada Lovelace",
        email="ada@example.com",
        birth_year=1999 if mentor else 1966,
        department="Finance" if mentor else "Sales",
        manager_employee_id="M-1",
        site="Paris",
        time_zone="Europe/Paris",
        languages=("en",),
        skills_offered=("generative-ai",) if mentor else (),
        learning_needs=() if mentor else (LearningNeed("generative-ai", 1),),
        availability=(AvailabilityWindow(2, "09:00", "10:30"),),
    )


def enrolment_story(enrolment: EnrolmentApplication) -> dict[str, str]:
    """A programme, a mentor, a mentee who withdraws, and a mentor who is erased."""
    programme = enrolment.create_programme(
        "Pilot", "", "2027-01-11", "2027-06-30", [Topic("generative-ai", "AI")], ProgrammeRules()
    )
    pid = str(programme.id)
    enrolment.open_enrolment(pid)
    consent = Consent(True, "2027-01")
    ids = {"programme": pid}
    for key, employee, role in (
        ("mentor", "E1", MENTOR),
        ("mentee", "E2", MENTEE),
        ("erased", "E3", MENTOR),
    ):
        ids[key] = str(enrolment.enrol(pid, employee, role, _profile(role), consent).id)
    enrolment.withdraw(ids["mentee"], "workload", "")
    enrolment.erase_participant(ids["erased"], "asked to be forgotten")
    return ids


def enrolled_event(participant_id: str, programme_id: str, sequence: int) -> ReceivedEvent:
    return ReceivedEvent(
        id=f"enrolment:{sequence}",
        source="/revmentor/enrolment",
        type="revmentor.enrolment.v1.ParticipantEnrolled",
        time="",
        subject=programme_id,
        sequence=sequence,
        actor="",
        correlation_id="",
        causation_id="",
        traceparent="",
        data={"participantId": participant_id, "programmeId": programme_id, "role": "mentor"},
    )


async def test_enrolment_events_open_close_and_erase_records(
    training_app: TrainingApplication, nats_server: LocalNatsServer, tmp_path: Path
) -> None:
    enrolment = EnrolmentApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(tmp_path / "e.db")}
    )
    try:
        ids = await asyncio.to_thread(enrolment_story, enrolment)
        async with pipeline(enrolment, training_app, nats_server.url):

            async def caught_up() -> bool:  # the erasure is the story's last event
                return await asyncio.to_thread(training_app.keys.is_destroyed, ids["erased"])

            await eventually(caught_up, timeout=20, what="training caught up with enrolment")
    finally:
        enrolment.close()
    mentor = training_app.record(ids["mentor"])
    assert mentor.curriculum_version == 0 and mentor.role == "mentor"
    assert {m.audience for m in mentor.pinned} == {"mentor"}
    mentee = training_app.record(ids["mentee"])
    assert mentee.status == CLOSED and {m.audience for m in mentee.pinned} == {"mentee"}
    assert training_app.programme(ids["programme"]).deadline == "2027-01-11"
    assert training_app.keys.is_destroyed(ids["erased"])
    assert training_app.keys.is_destroyed(str(record_id_for(ids["erased"])))
    assert len(training_app.views.records) == 3
    envelopes = [
        training_app.envelope_mapper.decode(n)[1] for n in training_app.notifications(0, 100)
    ]
    assert {e["actor"] for e in envelopes} == {"service:training"}

    # even past the kernel's tracking, an enrolment applied again opens nothing new
    again = participant_enrolled(training_app, enrolled_event(ids["mentor"], ids["programme"], 999))
    assert list(again) == []
