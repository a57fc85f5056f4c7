"""A participant's training record, with the curriculum version pinned.

One record per participant, its id derived from the participant id, so a
redelivered enrolment can never open a second one. The record carries the
modules of the version it pinned: later curriculum versions do not touch it
until a programme manager asks the mentor to re-certify on one.

    not_started -> in_progress -> certified (mentor) | completed (mentee)
    certified -> revoked -> (re-certification) -> in_progress -> certified
    certified -> (re-certification on a newer version) -> in_progress | certified
    any -> closed (the participant withdrew; nothing changes afterwards)

Certification is automatic: the command that passes or waives the last
required module records ``Certified`` in the same transaction. Failed attempts
are kept. Waiver and revocation reasons are free text: sealed with the
record's key (``personal_fields``), destroyed when the participant is erased.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import (
    AlreadyExists,
    FieldViolation,
    IllegalTransition,
    ValidationFailed,
)
from revmentor.training.domain.curriculum import MENTEE, MENTOR, WORKSHOP, Module

NOT_STARTED = "not_started"
IN_PROGRESS = "in_progress"
CERTIFIED = "certified"
COMPLETED = "completed"
REVOKED = "revoked"
CLOSED = "closed"
STATUSES = (NOT_STARTED, IN_PROGRESS, CERTIFIED, COMPLETED, REVOKED, CLOSED)
#: Statuses in which every required module is done.
DONE = (CERTIFIED, COMPLETED)

PASSED = "passed"
WAIVED = "waived"


def record_id_for(participant_id: UUID | str) -> UUID:
    """The record id of a participant: deterministic, so creation is idempotent."""
    return uuid5(NAMESPACE_URL, f"revmentor:training:record:{participant_id}")


class TrainingRecord(Aggregate):
    """The training of one mentor (certification) or mentee (orientation)."""

    class Opened(Aggregate.Created):
        participant_id: UUID
        programme_id: UUID
        role: str
        curriculum_version: int
        modules: list[dict[str, Any]]

    class ModuleStarted(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        module_id: str

    class ModuleCompleted(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        module_id: str
        score: int
        attempt: int
        passed: bool
        recorded_at: str

    class AttendanceRecorded(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        module_id: str
        session_date: str

    class ModuleWaived(Aggregate.Event):
        personal_fields = ("reason",)
        participant_id: UUID
        programme_id: UUID
        module_id: str
        reason: str

    class Certified(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        role: str
        curriculum_version: int
        certified_at: str

    class CertificationRevoked(Aggregate.Event):
        personal_fields = ("reason",)
        participant_id: UUID
        programme_id: UUID
        reason: str

    class RecertificationRequested(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        from_version: int
        to_version: int
        modules: list[dict[str, Any]]
        kept: list[str]

    class Closed(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID

    class MarkedOverdue(Aggregate.Event):
        participant_id: UUID
        programme_id: UUID
        deadline: str

    @classmethod
    def open(
        cls,
        participant_id: UUID,
        programme_id: UUID,
        role: str,
        curriculum_version: int,
        modules: list[dict[str, Any]],
    ) -> TrainingRecord:
        """Pin ``curriculum_version``; keep only the modules meant for ``role``."""
        if role not in (MENTOR, MENTEE):
            raise ValidationFailed([FieldViolation("role", "must be mentor or mentee")])
        return cls(
            id=record_id_for(participant_id),
            participant_id=participant_id,
            programme_id=programme_id,
            role=role,
            curriculum_version=curriculum_version,
            modules=[dict(m) for m in modules if m["audience"] == role],
        )

    @event(Opened)
    def __init__(
        self,
        id: UUID,
        participant_id: UUID,
        programme_id: UUID,
        role: str,
        curriculum_version: int,
        modules: list[dict[str, Any]],
    ):
        self.participant_id = participant_id
        self.programme_id = programme_id
        self.role = role
        self.curriculum_version = curriculum_version
        self.modules = modules
        self.status = NOT_STARTED
        self.started: list[str] = []
        self.attempts: dict[str, list[dict[str, Any]]] = {}
        self.attended: dict[str, str] = {}
        self.credited: dict[str, str] = {}
        self.waiver_reasons: dict[str, str] = {}
        self.certified_at = ""
        self.revocation_reason = ""
        self.overdue = False

    # -- queries ----------------------------------------------------------------
    @property
    def pinned(self) -> list[Module]:
        return [Module.from_dict(m) for m in self.modules]

    def module(self, module_id: str) -> Module:
        for m in self.pinned:
            if m.id == module_id:
                return m
        raise ValidationFailed(
            [
                FieldViolation(
                    "module_id",
                    f"is not a module of this record (curriculum version "
                    f"{self.curriculum_version}, {self.role})",
                )
            ]
        )

    @property
    def required_ids(self) -> list[str]:
        return [m.id for m in self.pinned if m.required]

    @property
    def is_done(self) -> bool:
        return self.status in DONE

    @property
    def is_certified_mentor(self) -> bool:
        return self.role == MENTOR and self.status == CERTIFIED

    def module_status(self, module_id: str) -> str:
        credit = self.credited.get(module_id)
        if credit:
            return credit
        attempts = self.attempts.get(module_id)
        if attempts and not attempts[-1]["passed"]:
            return "failed"
        return "started" if module_id in self.started else NOT_STARTED

    def next_attempt(self, module_id: str) -> int:
        return len(self.attempts.get(module_id, [])) + 1

    # -- commands -----------------------------------------------------------------
    def start_module(self, module_id: str) -> bool:
        """Note that the participant began ``module_id``; False if already noted."""
        self._require_progress("start a module")
        self._require_not_credited(self.module(module_id))
        if module_id in self.started:
            return False
        self._module_started(
            participant_id=self.participant_id, programme_id=self.programme_id, module_id=module_id
        )
        return True

    def complete_module(self, module_id: str, score: int, attempt: int, at: str) -> int:
        """Record one attempt (pass or fail); returns its number. May certify."""
        self._require_progress("record a completion")
        module = self.module(module_id)
        if module.kind == WORKSHOP:
            raise ValidationFailed(
                [FieldViolation("module_id", "is a workshop: record attendance instead")]
            )
        self._require_not_credited(module)
        expected = self.next_attempt(module_id)
        if attempt and attempt < expected:
            raise AlreadyExists(f"attempt {attempt} of module {module_id} is already recorded")
        if attempt and attempt > expected:
            raise ValidationFailed(
                [FieldViolation("attempt", f"must be {expected} (the next attempt) or 0")]
            )
        self._module_completed(
            participant_id=self.participant_id,
            programme_id=self.programme_id,
            module_id=module_id,
            score=score,
            attempt=expected,
            passed=module.passes(score),
            recorded_at=at,
        )
        self._certify_if_done(at)
        return expected

    def record_attendance(self, module_id: str, session_date: str, at: str) -> None:
        self._require_progress("record attendance")
        module = self.module(module_id)
        if module.kind != WORKSHOP:
            raise ValidationFailed(
                [FieldViolation("module_id", f"is a {module.kind} module, not a workshop")]
            )
        self._require_not_credited(module)
        self._attendance_recorded(
            participant_id=self.participant_id,
            programme_id=self.programme_id,
            module_id=module_id,
            session_date=session_date,
        )
        self._certify_if_done(at)

    def waive(self, module_id: str, reason: str, at: str) -> None:
        self._require_progress("waive a module")
        self._require_not_credited(self.module(module_id))
        self._module_waived(
            participant_id=self.participant_id,
            programme_id=self.programme_id,
            module_id=module_id,
            reason=reason,
        )
        self._certify_if_done(at)

    def revoke(self, reason: str) -> None:
        if self.role != MENTOR or self.status != CERTIFIED:
            raise IllegalTransition(
                f"cannot revoke: record {self.id} is {self.status} ({self.role}); "
                "only a certified mentor's certification can be revoked"
            )
        self._revoked(
            participant_id=self.participant_id, programme_id=self.programme_id, reason=reason
        )

    def request_recertification(
        self, to_version: int, modules: list[dict[str, Any]], at: str
    ) -> None:
        """Re-pin to ``to_version``: newer than the pinned one (or the same after a revocation).

        Credit for a module whose definition is unchanged carries over, except
        after a revocation (everything is taken again); waivers never carry over.
        The mentor is certified again at once if nothing is left to do.
        """
        if self.role != MENTOR:
            raise IllegalTransition("only mentors are certified, so only they re-certify")
        if self.status == CLOSED:
            raise IllegalTransition(f"cannot re-certify: record {self.id} is closed")
        revoked = self.status == REVOKED
        newest_allowed = to_version >= self.curriculum_version if revoked else False
        if not (to_version > self.curriculum_version or newest_allowed):
            raise IllegalTransition(
                f"record {self.id} is pinned to curriculum version {self.curriculum_version}: "
                "re-certification needs a newer version"
                + ("" if revoked else " (or a revoked certification)")
            )
        mine = [dict(m) for m in modules if m["audience"] == self.role]
        old = {m["id"]: m for m in self.modules}
        kept = (
            []
            if revoked
            else [
                m["id"]
                for m in mine
                if old.get(m["id"]) == m and self.credited.get(m["id"]) == PASSED
            ]
        )
        self._recertification_requested(
            participant_id=self.participant_id,
            programme_id=self.programme_id,
            from_version=self.curriculum_version,
            to_version=to_version,
            modules=mine,
            kept=kept,
        )
        self._certify_if_done(at)

    def close(self) -> bool:
        """The participant withdrew; False if already closed (redelivery)."""
        if self.status == CLOSED:
            return False
        self._closed(participant_id=self.participant_id, programme_id=self.programme_id)
        return True

    def flag_overdue(self, deadline: str, today: date) -> bool:
        """Flag an uncertified mentor after ``deadline`` (the last day); once per record."""
        if self.overdue or self.role != MENTOR or self.status in (CERTIFIED, CLOSED):
            return False
        if not deadline or today <= date.fromisoformat(deadline):
            return False
        self._marked_overdue(
            participant_id=self.participant_id, programme_id=self.programme_id, deadline=deadline
        )
        return True

    # -- guards -------------------------------------------------------------------
    def _require_progress(self, action: str) -> None:
        if self.status == CLOSED:
            raise IllegalTransition(f"cannot {action}: record {self.id} is closed (withdrawn)")
        if self.status == REVOKED:
            raise IllegalTransition(
                f"cannot {action}: the certification was revoked; request re-certification first"
            )

    def _require_not_credited(self, module: Module) -> None:
        credit = self.credited.get(module.id)
        if credit:
            raise IllegalTransition(f"module {module.id} is already {credit}")

    def _certify_if_done(self, at: str) -> None:
        if self.status not in (NOT_STARTED, IN_PROGRESS):
            return
        if all(self.credited.get(mid) for mid in self.required_ids):
            self._certified(
                participant_id=self.participant_id,
                programme_id=self.programme_id,
                role=self.role,
                curriculum_version=self.curriculum_version,
                certified_at=at,
            )

    def _progressed(self) -> None:
        if self.status == NOT_STARTED:
            self.status = IN_PROGRESS

    # -- events -------------------------------------------------------------------
    @event(ModuleStarted)
    def _module_started(self, participant_id: UUID, programme_id: UUID, module_id: str) -> None:
        self.started = [*self.started, module_id]
        self._progressed()

    @event(ModuleCompleted)
    def _module_completed(
        self,
        participant_id: UUID,
        programme_id: UUID,
        module_id: str,
        score: int,
        attempt: int,
        passed: bool,
        recorded_at: str,
    ) -> None:
        entry = {"attempt": attempt, "score": score, "passed": passed, "recorded_at": recorded_at}
        self.attempts = {**self.attempts, module_id: [*self.attempts.get(module_id, []), entry]}
        if passed:
            self.credited = {**self.credited, module_id: PASSED}
        self._progressed()

    @event(AttendanceRecorded)
    def _attendance_recorded(
        self, participant_id: UUID, programme_id: UUID, module_id: str, session_date: str
    ) -> None:
        self.attended = {**self.attended, module_id: session_date}
        self.credited = {**self.credited, module_id: PASSED}
        self._progressed()

    @event(ModuleWaived)
    def _module_waived(
        self, participant_id: UUID, programme_id: UUID, module_id: str, reason: str
    ) -> None:
        self.credited = {**self.credited, module_id: WAIVED}
        self.waiver_reasons = {**self.waiver_reasons, module_id: reason}
        self._progressed()

    @event(Certified)
    def _certified(
        self,
        participant_id: UUID,
        programme_id: UUID,
        role: str,
        curriculum_version: int,
        certified_at: str,
    ) -> None:
        self.status = CERTIFIED if role == MENTOR else COMPLETED
        self.certified_at = certified_at
        self.revocation_reason = ""

    @event(CertificationRevoked)
    def _revoked(self, participant_id: UUID, programme_id: UUID, reason: str) -> None:
        self.status = REVOKED
        self.certified_at = ""
        self.revocation_reason = reason

    @event(RecertificationRequested)
    def _recertification_requested(
        self,
        participant_id: UUID,
        programme_id: UUID,
        from_version: int,
        to_version: int,
        modules: list[dict[str, Any]],
        kept: list[str],
    ) -> None:
        self.curriculum_version = to_version
        self.modules = modules
        self.credited = {mid: PASSED for mid in kept}
        self.waiver_reasons = {}
        self.started = [mid for mid in self.started if mid in kept]
        self.status = IN_PROGRESS
        self.certified_at = ""

    @event(Closed)
    def _closed(self, participant_id: UUID, programme_id: UUID) -> None:
        self.status = CLOSED

    @event(MarkedOverdue)
    def _marked_overdue(self, participant_id: UUID, programme_id: UUID, deadline: str) -> None:
        self.overdue = True
