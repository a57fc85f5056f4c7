"""Enrolment commands and queries over the event store.

Each command loads what it needs, lets the domain decide, and saves every
resulting event in one transaction. Input is validated completely before
anything is written, so a refused command leaves nothing behind.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from revmentor.enrolment.domain import rules
from revmentor.enrolment.domain.participant import EmployeeRegistration, Participant
from revmentor.enrolment.domain.profile import Consent, Profile
from revmentor.enrolment.domain.programme import Programme, ProgrammeRules, Topic
from revmentor.enrolment.readmodel import EnrolmentReadModel
from revmentor.kernel.application import ServiceApplication
from revmentor.kernel.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    NotFound,
    ValidationFailed,
    Violations,
    shown,
)
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel

MAX_ATTRIBUTE_BATCH = 1000


class EnrolmentApplication(ServiceApplication):
    name = "enrolment"

    def construct_read_model(self) -> ReadModel:
        return EnrolmentReadModel()

    @property
    def views(self) -> EnrolmentReadModel:
        """The caught-up read model, for single-threaded use (tests, tools).

        Request handlers read through :meth:`query` instead, which holds the
        catch-up lock while reading.
        """
        self.catch_up()
        assert isinstance(self.read_model, EnrolmentReadModel)
        return self.read_model

    # -- programme commands -----------------------------------------------------
    def create_programme(
        self,
        name: str,
        description: str,
        start_date: str,
        end_date: str,
        topics: list[Topic],
        programme_rules: ProgrammeRules,
    ) -> Programme:
        v = Violations()
        rules.check_programme(v, name, description, start_date, end_date, topics, programme_rules)
        v.raise_if_any()
        programme = Programme(
            name=name.strip(),
            description=description,
            start_date=start_date,
            end_date=end_date,
            topics=[{"code": t.code, "title": t.title} for t in topics],
            rules=programme_rules.to_dict(),
        )
        self.save(programme)
        return programme

    def open_enrolment(self, programme_id: str, expected_version: int = 0) -> Programme:
        return self._change_programme(programme_id, expected_version, Programme.open_enrolment)

    def close_enrolment(self, programme_id: str, expected_version: int = 0) -> Programme:
        return self._change_programme(programme_id, expected_version, Programme.close_enrolment)

    def launch(self, programme_id: str, expected_version: int = 0) -> Programme:
        return self._change_programme(programme_id, expected_version, Programme.launch)

    def close_programme(self, programme_id: str, expected_version: int = 0) -> Programme:
        return self._change_programme(programme_id, expected_version, Programme.close)

    def _change_programme(self, programme_id: str, expected_version: int, change: Any) -> Programme:
        programme = self.programme(programme_id)
        _expect_version(programme, expected_version)
        change(programme)
        self.save(programme)
        return programme

    # -- participant commands ---------------------------------------------------
    def enrol(
        self,
        programme_id: str,
        employee_id: str,
        role: str,
        profile: Profile,
        consent: Consent,
        this_year: int | None = None,
    ) -> Participant:
        programme = self.programme(programme_id)
        v = Violations()
        rules.check_enrolment(
            v,
            employee_id,
            role,
            profile,
            consent,
            programme.topic_codes,
            programme.programme_rules,
            this_year or _this_year(),
        )
        v.raise_if_any()
        programme.require_enrolment_open()
        self._refuse_duplicate(programme.id, employee_id)
        if not consent.given_at:
            consent = Consent(True, consent.notice_version, datetime.now(UTC).isoformat())
        participant = Participant(
            programme_id=programme.id,
            employee_id=employee_id,
            role=role,
            profile=profile.to_dict(),
            consent=consent.to_dict(),
        )
        registration = EmployeeRegistration.register(programme.id, employee_id, participant.id)
        try:
            self.save(participant, registration)
        except ConcurrencyConflict:
            self._refuse_duplicate(programme.id, employee_id)
            raise
        return participant

    def _refuse_duplicate(self, programme_id: UUID, employee_id: str) -> None:
        existing = self._registered_participant(programme_id, employee_id)
        if existing is not None:
            raise AlreadyExists(
                f"employee {employee_id} is already enrolled in programme {programme_id} "
                f"as participant {existing}"
            )

    def _registered_participant(self, programme_id: UUID, employee_id: str) -> UUID | None:
        try:
            index: Any = self.repository.get(EmployeeRegistration.id_for(programme_id, employee_id))
        except AggregateNotFoundError:
            return None
        assert isinstance(index, EmployeeRegistration)
        return index.participant_id

    def update_profile(
        self,
        participant_id: str,
        profile: Profile,
        expected_version: int = 0,
        this_year: int | None = None,
    ) -> Participant:
        participant = self.participant(participant_id)
        programme = self.programme(str(participant.programme_id))
        v = Violations()
        rules.check_profile(
            v,
            participant.role,
            profile,
            programme.topic_codes,
            programme.programme_rules,
            this_year or _this_year(),
            participant.employee_id,
        )
        v.raise_if_any()
        _expect_version(participant, expected_version)
        if participant.update_profile(profile):
            self.save(participant)
        return participant

    def withdraw(
        self, participant_id: str, reason: str, note: str, expected_version: int = 0
    ) -> Participant:
        participant = self.participant(participant_id)
        v = Violations()
        rules.check_withdrawal(v, reason, note)
        v.raise_if_any()
        _expect_version(participant, expected_version)
        participant.withdraw(reason, note)
        self.save(participant)
        return participant

    # -- queries -------------------------------------------------------------------
    def programme(self, programme_id: str) -> Programme:
        found = self._get(parse_id("programme_id", programme_id), Programme)
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def participant(self, participant_id: str) -> Participant:
        found = self._get(parse_id("participant_id", participant_id), Participant)
        if found is None:
            raise NotFound(f"participant {participant_id} not found")
        return found

    def find_participant(self, programme_id: str, employee_id: str) -> Participant:
        programme = self.programme(programme_id)
        participant_id = self._registered_participant(programme.id, employee_id)
        if participant_id is None:
            raise NotFound(
                f"no participant with employee id {shown(employee_id)} in {programme_id}"
            )
        return self.participant(str(participant_id))

    def programme_counts(self, programme_id: str) -> tuple[int, int]:
        def counts(model: Any) -> tuple[int, int]:
            view = model.programmes.get(programme_id, {})
            return view.get("mentor_count", 0), view.get("mentee_count", 0)

        return self.query(counts)

    def participants_for_matching(self, participant_ids: list[str]) -> list[Participant]:
        v = Violations()
        v.check(
            1 <= len(participant_ids) <= MAX_ATTRIBUTE_BATCH,
            "participant_ids",
            f"ask for 1-{MAX_ATTRIBUTE_BATCH} participants at a time",
        )
        for i, value in enumerate(participant_ids[:MAX_ATTRIBUTE_BATCH]):
            try:
                parse_id(f"participant_ids[{i}]", value)
            except ValidationFailed as error:
                v.items += error.violations
        v.raise_if_any()
        return [self.participant(pid) for pid in participant_ids]

    def _get(self, aggregate_id: UUID, kind: type[Aggregate]) -> Any:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, kind) else None


def _expect_version(aggregate: Aggregate, expected_version: int) -> None:
    v = Violations()
    v.check(expected_version >= 0, "expected_version", "must be 0 (any version) or positive")
    v.raise_if_any()
    if expected_version and aggregate.version != expected_version:
        raise ConcurrencyConflict(
            f"{type(aggregate).__name__.lower()} {aggregate.id} is at version "
            f"{aggregate.version}, not {expected_version}: read it again and retry"
        )


def _this_year() -> int:
    return datetime.now(UTC).year
