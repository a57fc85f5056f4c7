"""A participant of one programme, and the index that keeps employee ids unique.

The participant id is random and is the only id that leaves the service. The
:class:`EmployeeRegistration` index has an id derived from programme and
employee id, so two enrolments of the same employee race on one aggregate id
and exactly one wins - uniqueness by construction, in the same transaction.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.enrolment.domain.profile import Consent, Profile
from revmentor.kernel.errors import IllegalTransition

ENROLLED = "enrolled"
WITHDRAWN = "withdrawn"


class Participant(Aggregate):
    """A mentor or mentee enrolled in a programme."""

    @event("Enrolled")
    def __init__(
        self,
        programme_id: UUID,
        employee_id: str,
        role: str,
        profile: dict[str, Any],
        consent: dict[str, Any],
    ):
        self.programme_id = programme_id
        self.employee_id = employee_id
        self.role = role
        self.profile_data = profile
        self.consent_data = consent
        self.status = ENROLLED
        self.withdrawal_reason = ""
        self.withdrawal_note = ""

    @property
    def profile(self) -> Profile:
        return Profile.from_dict(self.profile_data)

    @property
    def consent(self) -> Consent:
        return Consent(**self.consent_data)

    def update_profile(self, profile: Profile) -> list[str]:
        """Replace the profile; returns the names of the fields that changed."""
        self._require_enrolled("update the profile")
        changed = self.profile.changed_fields(profile)
        if changed:
            self._profile_updated(
                programme_id=self.programme_id, profile=profile.to_dict(), changed_fields=changed
            )
        return changed

    def withdraw(self, reason: str, note: str) -> None:
        self._require_enrolled("withdraw")
        self._withdrawn(programme_id=self.programme_id, reason=reason, note=note)

    def _require_enrolled(self, action: str) -> None:
        if self.status != ENROLLED:
            raise IllegalTransition(f"cannot {action}: participant {self.id} is {self.status}")

    @event("ProfileUpdated")
    def _profile_updated(
        self, programme_id: UUID, profile: dict[str, Any], changed_fields: list[str]
    ) -> None:
        self.profile_data = profile

    @event("Withdrawn")
    def _withdrawn(self, programme_id: UUID, reason: str, note: str) -> None:
        self.status = WITHDRAWN
        self.withdrawal_reason = reason
        self.withdrawal_note = note


class EmployeeRegistration(Aggregate):
    """Index: (programme, employee id) -> participant id, unique by its own id."""

    @staticmethod
    def id_for(programme_id: UUID, employee_id: str) -> UUID:
        """Derived, never published: the employee id itself is not stored here."""
        return uuid5(NAMESPACE_URL, f"revmentor:enrolment:{programme_id}:{employee_id}")

    @classmethod
    def register(
        cls, programme_id: UUID, employee_id: str, participant_id: UUID
    ) -> EmployeeRegistration:
        return cls(id=cls.id_for(programme_id, employee_id), participant_id=participant_id)

    @event("Registered")
    def __init__(self, id: UUID, participant_id: UUID):
        self.participant_id = participant_id
