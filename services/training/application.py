"""The training application: curricula, training records, certification, deadlines.

Commands load one aggregate, apply the domain rule and save; certification is
recorded by the same save as the completion that earned it. Records are
opened by the enrolment subscription (:mod:`revmentor.training.subscriptions`),
never by a command. Queries over many records read the read model.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from revmentor.kernel.application import ServiceApplication, expect_version
from revmentor.kernel.context import RequestContext, acting_as, current
from revmentor.kernel.errors import ConcurrencyConflict, NotFound, Violations
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel
from revmentor.training.domain import rules
from revmentor.training.domain.curriculum import (
    DEFAULT_VERSION,
    Module,
    ProgrammeTraining,
    default_modules,
)
from revmentor.training.domain.record import TrainingRecord, record_id_for
from revmentor.training.readmodel import TrainingReadModel

#: Who flags overdue mentors (recorded as the actor of MarkedOverdue).
DEADLINE_ACTOR = "service:training-deadline-checker"


class TrainingApplication(ServiceApplication):
    name = "training"

    def construct_read_model(self) -> ReadModel:
        return TrainingReadModel()

    @property
    def views(self) -> TrainingReadModel:
        """The caught-up read model, for single-threaded use (tests, tools)."""
        self.catch_up()
        assert isinstance(self.read_model, TrainingReadModel)
        return self.read_model

    # -- curricula and deadlines ------------------------------------------------------
    def define_curriculum(self, programme_id: str, modules: list[Module]) -> ProgrammeTraining:
        programme = self.programme(programme_id)
        v = Violations()
        rules.check_modules(v, modules)
        v.raise_if_any()
        programme.define_curriculum(modules)
        self.save(programme)
        return programme

    def set_deadline(self, programme_id: str, deadline: str) -> ProgrammeTraining:
        programme = self.programme(programme_id)
        v = Violations()
        rules.parse_date(v, "deadline", deadline)
        v.raise_if_any()
        if programme.set_deadline(deadline):
            self.save(programme)
        return programme

    def curriculum(
        self, programme_id: str, version: int | None = None
    ) -> tuple[int, list[dict[str, Any]]]:
        """(version, modules): ``version`` of the programme's curriculum, or the current one."""
        programme = self.programme(programme_id)
        wanted = programme.current_version if version is None else version
        v = Violations()
        rules.check_version(v, "version", wanted)
        v.raise_if_any()
        modules = programme.modules_of(wanted)
        if modules is None:
            raise NotFound(f"programme {programme_id} has no curriculum version {wanted}")
        return wanted, modules

    # -- record commands ----------------------------------------------------------------
    def start_module(
        self, participant_id: str, module_id: str, expected_version: int = 0
    ) -> TrainingRecord:
        v = Violations()
        rules.check_module_id(v, module_id)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            if record.start_module(module_id):
                self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def complete_module(
        self,
        participant_id: str,
        module_id: str,
        score: int,
        attempt: int = 0,
        expected_version: int = 0,
    ) -> TrainingRecord:
        v = Violations()
        rules.check_module_id(v, module_id)
        rules.check_score(v, score, attempt)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            record.complete_module(module_id, score, attempt, _now())
            self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def record_attendance(
        self, participant_id: str, module_id: str, session_date: str, expected_version: int = 0
    ) -> TrainingRecord:
        v = Violations()
        rules.check_module_id(v, module_id)
        rules.parse_date(v, "session_date", session_date)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            record.record_attendance(module_id, session_date, _now())
            self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def waive_module(
        self, participant_id: str, module_id: str, reason: str, expected_version: int = 0
    ) -> TrainingRecord:
        v = Violations()
        rules.check_module_id(v, module_id)
        rules.check_reason(v, reason)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            record.waive(module_id, reason.strip(), _now())
            self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def revoke_certification(
        self, participant_id: str, reason: str, expected_version: int = 0
    ) -> TrainingRecord:
        v = Violations()
        rules.check_reason(v, reason)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            record.revoke(reason.strip())
            self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def request_recertification(
        self, participant_id: str, curriculum_version: int = 0, expected_version: int = 0
    ) -> TrainingRecord:
        """Re-pin to ``curriculum_version`` (0: the programme's current version)."""
        v = Violations()
        rules.check_version(v, "curriculum_version", curriculum_version)
        v.raise_if_any()

        def command() -> TrainingRecord:
            record = self._record_at(participant_id, expected_version)
            programme = self.get_as(
                ProgrammeTraining.create_id(record.programme_id), ProgrammeTraining
            )
            if programme is None:
                version, modules = DEFAULT_VERSION, default_modules()
            else:
                version = curriculum_version or programme.current_version
                found = programme.modules_of(version)
                if found is None:
                    raise NotFound(
                        f"programme {record.programme_id} has no curriculum version {version}"
                    )
                modules = found
            record.request_recertification(version, modules, _now())
            self.save(record)
            return record

        return self.unless_pinned(expected_version, command)

    def _record_at(self, participant_id: str, expected_version: int) -> TrainingRecord:
        record = self.record(participant_id)
        expect_version(record, expected_version, "training record")
        return record

    # -- deadlines ------------------------------------------------------------------------
    def flag_overdue(self, now: datetime) -> int:
        """Flag every mentor still uncertified after their programme's deadline.

        Idempotent and restart-safe: the flag is part of the record, so a
        record is flagged once however often (and by however many replicas)
        this runs. Returns how many records were flagged by this call.
        """
        today = now.astimezone(UTC).date()
        candidates = self.query(lambda model: model.overdue_candidates(today))
        flagged = 0
        ctx = current()
        check = RequestContext(DEADLINE_ACTOR, ctx.correlation_id, ctx.causation_id)
        with acting_as(check):
            for participant_id, deadline in candidates:
                record = self.record(participant_id)
                if not record.flag_overdue(deadline, today):
                    continue
                try:
                    self.save(record)
                except ConcurrencyConflict:
                    continue  # another replica or a command got there first: next round
                flagged += 1
        return flagged

    # -- consumed upstream facts ------------------------------------------------------------
    def erase_participant(self, participant_id: UUID) -> None:
        """Crypto-shred what this service holds about the participant (idempotent)."""
        self.keys.destroy(str(participant_id))
        self.keys.destroy(str(record_id_for(participant_id)))

    def find_programme(self, programme_id: UUID) -> ProgrammeTraining | None:
        found: ProgrammeTraining | None = self.get_as(
            ProgrammeTraining.create_id(programme_id), ProgrammeTraining
        )
        return found

    def find_record(self, participant_id: UUID) -> TrainingRecord | None:
        found: TrainingRecord | None = self.get_as(record_id_for(participant_id), TrainingRecord)
        return found

    # -- queries ----------------------------------------------------------------------------
    def programme(self, programme_id: str) -> ProgrammeTraining:
        found = self.find_programme(parse_id("programme_id", programme_id))
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def record(self, participant_id: str) -> TrainingRecord:
        found = self.find_record(parse_id("participant_id", participant_id))
        if found is None:
            raise NotFound(f"training record of participant {participant_id} not found")
        return found

    def export_participant(self, participant_id: str) -> dict[str, Any]:
        """Everything training holds about one participant (GDPR art. 15/20)."""
        record = self.record(participant_id)
        return {
            "service": self.name,
            "participant_id": str(record.participant_id),
            "programme_id": str(record.programme_id),
            "version": record.version,
            "history": self.event_history(record.id),
        }

    def readiness(self, programme_id: str, today: date | None = None) -> dict[str, Any]:
        programme = self.programme(programme_id)
        day = today or datetime.now(UTC).date()
        return self.query(lambda model: model.readiness(str(programme.programme_id), day))

    def certified_mentors(self, programme_id: str) -> list[dict[str, Any]]:
        programme = self.programme(programme_id)
        return self.query(lambda model: model.certified_mentors(str(programme.programme_id)))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
