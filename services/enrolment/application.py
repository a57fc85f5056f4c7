"""Enrolment commands and queries over the event store.

Each command loads what it needs, lets the domain decide, and saves every
resulting event in one transaction. Input is validated completely before
anything is written, so a refused command leaves nothing behind.

Privacy (DESIGN section 4): personal fields are sealed per participant by the
kernel's mapper; :meth:`erase_participant` crypto-shreds a participant and
:meth:`export_participant` returns everything held about one (GDPR art. 15/20).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any
from uuid import UUID

from revmentor.enrolment.domain import rules
from revmentor.enrolment.domain.participant import EmployeeRegistration, Participant
from revmentor.enrolment.domain.profile import PERSONAL_FIELDS, Consent, Profile
from revmentor.enrolment.domain.programme import Programme, ProgrammeRules, Topic
from revmentor.enrolment.readmodel import EnrolmentReadModel, blank_personal
from revmentor.kernel import timestamps
from revmentor.kernel.application import ServiceApplication, expect_version, jsonable
from revmentor.kernel.envelope import ERASED, put_values
from revmentor.kernel.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    IllegalTransition,
    NotFound,
    ValidationFailed,
    Violations,
)
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel

MAX_ATTRIBUTE_BATCH = 1000

#: Purpose of the service secret that keys the employee registration index.
REGISTRATION_INDEX = "enrolment-registration-index"


class EnrolmentApplication(ServiceApplication):
    name = "enrolment"
    # the read model keeps personal values sealed; queries open what they show
    read_model_reads_personal = False
    read_model_keeps_sealed = True

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
        expect_version(programme, expected_version)
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
        generation = self._free_generation(programme.id, employee_id)
        if not consent.given_at:
            consent = Consent(True, consent.notice_version, datetime.now(UTC).isoformat())
        registration_id = EmployeeRegistration.id_for(
            self.index_key, programme.id, employee_id, generation
        )
        participant = Participant(
            programme_id=programme.id,
            employee_id=employee_id,
            role=role,
            profile=profile.to_dict(),
            consent=consent.to_dict(),
            registration_id=registration_id,
        )
        registration = EmployeeRegistration.register(
            self.index_key, programme.id, employee_id, participant.id, generation
        )
        try:
            self.save(participant, registration)
        except ConcurrencyConflict:
            self._refuse_duplicate(programme.id, employee_id)
            raise
        return participant

    @cached_property
    def index_key(self) -> bytes:
        """Keys the registration index ids (a secret kept wrapped in the key store)."""
        return self.keys.service_secret(REGISTRATION_INDEX)

    def _free_generation(self, programme_id: UUID, employee_id: str) -> int:
        """The registration generation a new enrolment takes; ALREADY_EXISTS if taken."""
        generation, registration = self._live_registration(programme_id, employee_id)
        if registration is not None:
            self._refuse_duplicate(programme_id, employee_id)
        return generation

    def _refuse_duplicate(self, programme_id: UUID, employee_id: str) -> None:
        existing = self._registered_participant(programme_id, employee_id)
        if existing is not None:
            # The employee id is not echoed: error messages end up in logs.
            raise AlreadyExists(
                f"this employee is already enrolled in programme {programme_id} "
                f"as participant {existing}"
            )

    def _live_registration(
        self, programme_id: UUID, employee_id: str
    ) -> tuple[int, EmployeeRegistration | None]:
        """The first generation not released: its registration, or None if free."""
        for generation in itertools.count():
            registration_id = EmployeeRegistration.id_for(
                self.index_key, programme_id, employee_id, generation
            )
            found = self.get_as(registration_id, EmployeeRegistration)
            if found is None or not found.released:
                return generation, found
        raise AssertionError("unreachable")  # pragma: no cover

    def _registered_participant(self, programme_id: UUID, employee_id: str) -> UUID | None:
        registration = self._live_registration(programme_id, employee_id)[1]
        return registration.participant_id if registration is not None else None

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
        expect_version(participant, expected_version)
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
        expect_version(participant, expected_version)
        participant.withdraw(reason, note)
        self.save(participant)
        return participant

    # -- privacy -------------------------------------------------------------------
    def erase_participant(self, participant_id: str, reason: str) -> Participant:
        """Crypto-shred one participant (GDPR art. 17).

        Records ``Participant.Erased`` (its reason sealed with the service's
        audit key, so auditors can still read why) and releases the employee
        registration in one transaction, then destroys the registration's and
        the participant's keys. A crash in between leaves the keys; erasing
        again finishes the job and then answers FAILED_PRECONDITION.
        """
        v = Violations()
        rules.check_erasure(v, reason)
        v.raise_if_any()
        participant = self.participant(participant_id)
        if participant.is_erased:
            self._shred(participant)
            raise IllegalTransition(f"participant {participant_id} is already erased")
        registration = self._registration_of(participant)
        participant.erase(reason)
        if registration is not None:
            registration.release()
        self.save(participant, registration)
        self._shred(participant)
        return participant

    def _registration_of(self, participant: Participant) -> EmployeeRegistration | None:
        registration_id = participant.registration_id
        if not isinstance(registration_id, UUID):
            return None
        found = self.get_as(registration_id, EmployeeRegistration)
        return found if found is not None and not found.released else None

    def _shred(self, participant: Participant) -> None:
        if isinstance(participant.registration_id, UUID):
            self.keys.destroy(str(participant.registration_id))
        self.keys.destroy(str(participant.id))

    def export_participant(self, participant_id: str) -> dict[str, Any]:
        """Everything held about one participant, JSON-able (GDPR art. 15/20).

        The current state and the whole event history with envelopes; for an
        erased participant the same shape, personal values shown as erased.
        """
        participant = self.participant(participant_id)
        return jsonable(
            {
                "service": self.name,
                "exported_at": datetime.now(UTC).isoformat(),
                "participant_id": str(participant.id),
                "programme_id": str(participant.programme_id),
                "status": participant.status,
                "erased": participant.is_erased,
                "role": participant.role,
                "employee_id": _shown_erased(participant, participant.employee_id),
                "profile": _profile_shown(participant),
                "consent": ERASED if participant.is_erased else participant.consent_data,
                "withdrawal_reason": participant.withdrawal_reason,
                "withdrawal_note": _shown_erased(participant, participant.withdrawal_note),
                "erasure_reason": participant.erasure_reason,
                "enrolled_at": participant.created_on.isoformat(),
                "version": participant.version,
                "history": self.event_history(participant.id),
            }
        )

    # -- queries -------------------------------------------------------------------
    def programme(self, programme_id: str) -> Programme:
        found = self.get_as(parse_id("programme_id", programme_id), Programme)
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def participant(self, participant_id: str) -> Participant:
        found = self.get_as(parse_id("participant_id", participant_id), Participant)
        if found is None:
            raise NotFound(f"participant {participant_id} not found")
        return found

    def find_participant(self, programme_id: str, employee_id: str) -> Participant:
        """By employee id; an erased participant is no longer linked to one (NOT_FOUND)."""
        programme = self.programme(programme_id)
        participant_id = self._registered_participant(programme.id, employee_id)
        if participant_id is None:
            raise NotFound(f"no participant with that employee id in programme {programme_id}")
        return self.participant(str(participant_id))

    def participant_views(
        self, programme_id: str, role: str = "", status: str = "", topic: str = "", site: str = ""
    ) -> list[dict[str, Any]]:
        """The programme's participants with that role, status, topic and site
        ('' for any), in enrolment order, still sealed (see :meth:`opened`).
        The site is personal: filtering on it opens every candidate's values."""
        found = self.query(lambda model: model.list_participants(programme_id, role, status, topic))
        if not site:
            return found
        return [
            v
            for v, o in zip(found, self.opened(found), strict=True)
            if o["profile"]["site"] == site
        ]

    def opened(self, views: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of participant views with their personal values opened (erased
        markers where a key is gone): what a query shows, decrypted only now."""
        values = iter(self.open_sealed([s for view in views for s in view["sealed"]]))
        shown = []
        for view in views:
            copy = {k: v for k, v in view.items() if k != "sealed"}
            copy["profile"] = dict(view["profile"])
            for _ in view["sealed"]:
                opened = next(values)
                opened.pop("registration_id", None)  # sealed for the index, never shown
                put_values(copy, opened)
            if copy["consent"] == ERASED:  # the key went before Erased was read
                blank_personal(copy)
            shown.append(copy)
        return shown

    def programme_counts(self, programme_id: str) -> tuple[int, int]:
        def counts(model: Any) -> tuple[int, int]:
            view = model.programmes.get(programme_id, {})
            return view.get("mentor_count", 0), view.get("mentee_count", 0)

        return self.query(counts)

    def participants_for_matching(
        self, participant_ids: list[str], as_of: str = ""
    ) -> list[Participant]:
        """The participants, in the order asked, now or as they were at ``as_of``.

        ``as_of`` (RFC 3339 with an offset, empty = now) lets an auditor re-run a
        matching round on the attributes it saw: see :meth:`participant_as_of`.
        """
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
        instant = _instant(v, "as_of", as_of)
        v.raise_if_any()
        if instant is None:
            return [self.participant(pid) for pid in participant_ids]
        rebuilt = {
            pid: self.participant_as_of(pid, instant) for pid in dict.fromkeys(participant_ids)
        }
        return [rebuilt[pid] for pid in participant_ids]

    def participant_as_of(self, participant_id: str, instant: datetime) -> Participant:
        """The participant as their stored events up to ``instant`` make them.

        The events are folded in version order while their timestamp is at or
        before ``instant``; none (not enrolled yet, or not a participant) is
        NOT_FOUND, as an unknown id is. An erased participant cannot be rebuilt
        (the key that sealed their personal fields is destroyed): whatever the
        instant, they are answered as they are now - erased, personal fields
        blank - so nothing pretends to be what they were.
        """
        not_found = NotFound(f"participant {participant_id} not found as of {instant.isoformat()}")
        stored = list(self.recorder.select_events(parse_id("participant_id", participant_id)))
        self.envelope_mapper.prefetch(stored)
        events = [self.envelope_mapper.decode(s)[0] for s in stored]
        first = events[0] if events else None
        if not isinstance(first, Participant.Enrolled) or first.timestamp > instant:
            raise not_found
        if any(isinstance(e, Participant.Erased) for e in events):
            return _folded(events)  # the whole history: the Erased event blanks the rest
        return _folded(_prefix_until(events, instant))


def _instant(v: Violations, field: str, text: str) -> datetime | None:
    """An RFC 3339 instant with an offset, or None when empty (= now)."""
    if not text:
        return None
    try:
        return timestamps.parse(text)
    except ValueError:
        v.add(field, "must be an RFC 3339 instant with an offset, e.g. 2027-01-11T09:00:00Z")
        return None


def _prefix_until(events: list[Any], instant: datetime) -> list[Any]:
    """The leading events stamped at or before ``instant`` (versions stay contiguous)."""
    kept = []
    for stored in events:
        if stored.timestamp > instant:
            break
        kept.append(stored)
    return kept


def _folded(events: list[Any]) -> Participant:
    """The aggregate the events make, applied in order as the repository does."""
    aggregate: Any = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    assert isinstance(aggregate, Participant)
    return aggregate


def _this_year() -> int:
    return datetime.now(UTC).year


def _shown_erased(participant: Participant, value: str) -> str:
    return ERASED if participant.is_erased else value


def _profile_shown(participant: Participant) -> dict[str, Any]:
    if not participant.is_erased:
        return participant.profile_data
    return {k: ERASED if k in PERSONAL_FIELDS else v for k, v in participant.profile_data.items()}
