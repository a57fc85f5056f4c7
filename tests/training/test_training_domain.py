"""Every training rule on the aggregates alone: no store, no clock, no I/O."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from revmentor.kernel.errors import AlreadyExists, IllegalTransition, ValidationFailed, Violations
from revmentor.training.domain import rules
from revmentor.training.domain.curriculum import (
    DEFAULT_MODULES,
    E_LEARNING,
    MENTEE,
    MENTOR,
    READING,
    WORKSHOP,
    Module,
    ProgrammeTraining,
    default_modules,
)
from revmentor.training.domain.record import (
    CERTIFIED,
    CLOSED,
    COMPLETED,
    IN_PROGRESS,
    NOT_STARTED,
    REVOKED,
    TrainingRecord,
    record_id_for,
)

AT = "2027-01-05T10:00:00Z"


def mentor_record(modules: list[dict] | None = None, version: int = 0) -> TrainingRecord:
    return TrainingRecord.open(uuid4(), uuid4(), MENTOR, version, modules or default_modules())


def finish(record: TrainingRecord, skip: str = "") -> None:
    """Pass every required module except ``skip``."""
    for m in record.pinned:
        if not m.required or m.id == skip:
            continue
        if m.kind == WORKSHOP:
            record.record_attendance(m.id, "2027-01-04", AT)
        else:
            record.complete_module(m.id, max(m.pass_mark, 1), 0, AT)


def names(record: TrainingRecord) -> list[str]:
    return [type(e).__name__ for e in record.collect_events()]


# -- the default curriculum ---------------------------------------------------------------
def test_default_curriculum_covers_the_issue() -> None:
    titles = " | ".join(m.title.lower() for m in DEFAULT_MODULES)
    for words in (
        "foundations of mentoring",
        "active listening",
        "how adults learn",
        "confidentiality",
        "hierarchy and power distance",
        "feedback",
        "younger mentor",
        "learning goals",
    ):
        assert words in titles
    assert {m.kind for m in DEFAULT_MODULES} == {E_LEARNING, WORKSHOP, READING}
    assert any(not m.required for m in DEFAULT_MODULES)
    assert all(m.pass_mark == 0 for m in DEFAULT_MODULES if m.kind == WORKSHOP)
    v = Violations()
    rules.check_modules(v, list(DEFAULT_MODULES))
    assert not v.items


# -- pinning -------------------------------------------------------------------------------
def test_record_pins_the_version_and_only_its_audience() -> None:
    mentor = mentor_record()
    assert mentor.curriculum_version == 0
    assert {m.audience for m in mentor.pinned} == {MENTOR}
    mentee = TrainingRecord.open(uuid4(), uuid4(), MENTEE, 0, default_modules())
    assert {m.id for m in mentee.pinned} == {"mentee-expectations", "mentee-learning-goals"}
    assert mentor.id == record_id_for(mentor.participant_id), "deterministic id"


def test_a_new_curriculum_version_does_not_change_pinned_records() -> None:
    programme = ProgrammeTraining.register(uuid4(), "2027-01-11")
    assert programme.current_version == 0 and programme.deadline == "2027-01-11"
    record = mentor_record(programme.current_modules, programme.current_version)
    extra = Module("ai-ethics", "AI ethics", E_LEARNING, True, 30, 60, MENTOR)
    version = programme.define_curriculum([*DEFAULT_MODULES, extra])
    assert version == 1 and programme.current_version == 1
    assert "ai-ethics" not in [m.id for m in record.pinned]
    assert programme.modules_of(0) == default_modules()
    assert programme.modules_of(2) is None
    finish(record)
    assert record.status == CERTIFIED and record.curriculum_version == 0


# -- progress and certification -------------------------------------------------------------
def test_certification_is_automatic_when_every_required_module_is_done() -> None:
    record = mentor_record()
    assert record.status == NOT_STARTED
    record.start_module("mentoring-foundations")
    assert record.status == IN_PROGRESS
    assert not record.start_module("mentoring-foundations"), "starting twice is a no-op"
    finish(record, skip="feedback")
    assert record.status == IN_PROGRESS, "one required module left"
    record.record_attendance("feedback", "2027-01-04", AT)
    assert record.status == CERTIFIED and record.certified_at == AT
    assert names(record).count("Certified") == 1
    # the optional module does not matter, and doing it later keeps the certification
    record.complete_module("coaching-toolkit", 0, 0, AT)
    assert record.status == CERTIFIED


def test_failed_attempts_are_kept_and_numbered() -> None:
    record = mentor_record()
    assert record.complete_module("active-listening", 50, 0, AT) == 1
    assert record.module_status("active-listening") == "failed"
    with pytest.raises(AlreadyExists):
        record.complete_module("active-listening", 90, 1, AT)  # attempt 1 again: a retry
    with pytest.raises(ValidationFailed) as skipped:
        record.complete_module("active-listening", 90, 3, AT)
    assert skipped.value.violations[0].field == "attempt"
    assert record.complete_module("active-listening", 70, 2, AT) == 2  # pass mark is 70
    attempts = record.attempts["active-listening"]
    assert [(a["attempt"], a["score"], a["passed"]) for a in attempts] == [
        (1, 50, False),
        (2, 70, True),
    ]
    with pytest.raises(IllegalTransition):
        record.complete_module("active-listening", 100, 0, AT)  # already passed


def test_workshops_are_attended_and_other_modules_completed() -> None:
    record = mentor_record()
    with pytest.raises(ValidationFailed) as workshop:
        record.complete_module("feedback", 100, 0, AT)
    assert workshop.value.violations[0].field == "module_id"
    with pytest.raises(ValidationFailed):
        record.record_attendance("active-listening", "2027-01-04", AT)
    with pytest.raises(ValidationFailed):
        record.complete_module("no-such-module", 100, 0, AT)
    record.record_attendance("feedback", "2027-01-04", AT)
    with pytest.raises(IllegalTransition):
        record.record_attendance("feedback", "2027-01-05", AT)


def test_waivers_count_towards_certification_and_keep_the_reason() -> None:
    record = mentor_record()
    finish(record, skip="hierarchy-power-distance")
    record.waive("hierarchy-power-distance", "ran the same workshop last year", AT)
    assert record.module_status("hierarchy-power-distance") == "waived"
    assert record.waiver_reasons["hierarchy-power-distance"] == "ran the same workshop last year"
    assert record.status == CERTIFIED
    with pytest.raises(IllegalTransition):
        record.waive("hierarchy-power-distance", "again", AT)


def test_reasons_are_sealed_as_personal_data() -> None:
    assert TrainingRecord.ModuleWaived.personal_fields == ("reason",)
    assert TrainingRecord.CertificationRevoked.personal_fields == ("reason",)


def test_a_mentee_completes_the_orientation() -> None:
    record = TrainingRecord.open(uuid4(), uuid4(), MENTEE, 0, default_modules())
    finish(record)
    assert record.status == COMPLETED
    with pytest.raises(IllegalTransition):
        record.revoke("mentees are not certified")
    with pytest.raises(IllegalTransition):
        record.request_recertification(1, default_modules(), AT)


# -- revocation and re-certification ---------------------------------------------------------
def test_revocation_needs_a_certified_mentor_and_blocks_progress() -> None:
    record = mentor_record()
    with pytest.raises(IllegalTransition):
        record.revoke("not certified yet")
    finish(record)
    record.revoke("breach of confidentiality")
    assert record.status == REVOKED and record.revocation_reason == "breach of confidentiality"
    with pytest.raises(IllegalTransition):
        record.revoke("twice")
    with pytest.raises(IllegalTransition):
        record.complete_module("coaching-toolkit", 0, 0, AT)
    # after a revocation the same version may be taken again, from scratch
    record.request_recertification(0, default_modules(), AT)
    assert record.status == IN_PROGRESS and record.credited == {}
    finish(record)
    assert record.status == CERTIFIED


def test_recertification_needs_a_newer_version_and_keeps_unchanged_passes() -> None:
    record = mentor_record()
    finish(record, skip="active-listening")
    record.waive("active-listening", "taught this course", AT)
    assert record.status == CERTIFIED
    with pytest.raises(IllegalTransition):
        record.request_recertification(0, default_modules(), AT)  # not newer
    changed = [dict(m) for m in default_modules()]
    for m in changed:
        if m["id"] == "psychological-safety":
            m["pass_mark"] = 90  # changed: must be passed again
    changed.append(Module("ai-ethics", "AI ethics", E_LEARNING, True, 30, 60, MENTOR).to_dict())
    record.request_recertification(1, changed, AT)
    assert record.curriculum_version == 1 and record.status == IN_PROGRESS
    assert record.module_status("mentoring-foundations") == "passed", "unchanged: kept"
    assert record.module_status("psychological-safety") != "passed", "changed: redo"
    assert record.module_status("active-listening") != "waived", "waivers do not carry over"
    for module_id, score in (("psychological-safety", 95), ("ai-ethics", 80)):
        record.complete_module(module_id, score, 0, AT)
    assert record.status == IN_PROGRESS
    record.complete_module("active-listening", 75, 0, AT)
    assert record.status == CERTIFIED
    events = names(record)
    assert events.count("Certified") == 2 and events.count("RecertificationRequested") == 1


# -- withdrawal and deadlines -----------------------------------------------------------------
def test_withdrawal_closes_the_record_for_good() -> None:
    record = mentor_record()
    assert record.close()
    assert not record.close(), "a redelivered withdrawal changes nothing"
    assert record.status == CLOSED
    with pytest.raises(IllegalTransition):
        record.complete_module("active-listening", 90, 0, AT)
    with pytest.raises(IllegalTransition):
        record.request_recertification(1, default_modules(), AT)
    assert not record.flag_overdue("2027-01-01", date(2027, 2, 1))


def test_overdue_is_flagged_exactly_once_and_only_after_the_deadline() -> None:
    record = mentor_record()
    assert not record.flag_overdue("2027-01-11", date(2027, 1, 11)), "the deadline day is fine"
    assert record.flag_overdue("2027-01-11", date(2027, 1, 12))
    assert not record.flag_overdue("2027-01-11", date(2027, 1, 13))
    assert names(record).count("MarkedOverdue") == 1
    certified = mentor_record()
    finish(certified)
    assert not certified.flag_overdue("2027-01-11", date(2027, 2, 1))
    mentee = TrainingRecord.open(uuid4(), uuid4(), MENTEE, 0, default_modules())
    assert not mentee.flag_overdue("2027-01-11", date(2027, 2, 1))


# -- rules -------------------------------------------------------------------------------------
def test_curriculum_rules_name_each_field() -> None:
    v = Violations()
    rules.check_modules(
        v,
        [
            Module("Bad Id", "", "video", True, 0, 150, "boss"),
            Module("dup", "A", WORKSHOP, False, 10, 50, MENTOR),
            Module("dup", "B", READING, False, 10, 0, MENTEE),
        ],
    )
    fields = [item.field for item in v.items]
    assert fields == [
        "modules[0].module_id",
        "modules[0].title",
        "modules[0].kind",
        "modules[0].audience",
        "modules[0].estimated_minutes",
        "modules[0].pass_mark",
        "modules[1].pass_mark",
        "modules[2].module_id",
        "modules",
    ]


def test_command_rules() -> None:
    v = Violations()
    rules.check_score(v, 101, -1)
    rules.check_reason(v, " ")
    rules.check_module_id(v, "X")
    assert rules.parse_date(v, "deadline", "2027-02-30") is None
    assert rules.parse_date(v, "session_date", "soon") is None
    assert [i.field for i in v.items] == [
        "score",
        "attempt",
        "reason",
        "module_id",
        "deadline",
        "session_date",
    ]
