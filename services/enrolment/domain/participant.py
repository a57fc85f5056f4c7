"""A participant of one programme, and the index that keeps employee ids unique.

The participant id is random and is the only id that leaves the service. The
:class:`EmployeeRegistration` index has an id derived from programme and
employee id, so two enrolments of the same employee race on one aggregate id
and exactly one wins - uniqueness by construction, in the same transaction.

Personal data (DESIGN section 4): each event class lists its personal
attributes in ``personal_fields``; the kernel's mapper encrypts them with the
participant's own key. Role, programme, topics (skills offered and their
levels, learning needs) and meeting preference stay in clear: they are the
business facts published on NATS (levels go to matching over gRPC), and the
relay and read model need them after an erasure too.
Once the key is destroyed those fields replay as the kernel's erased marker,
which the ``Erased`` event then wipes from the state.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from revmentor.enrolment.domain.profile import PERSONAL_FIELDS, Consent, Profile, erased_profile
from revmentor.kernel.errors import IllegalTransition

ENROLLED = "enrolled"
WITHDRAWN = "withdrawn"
ERASED = "erased"

#: Personal attribute paths of the events that carry a profile.
PROFILE_PATHS = tuple(f"profile.{name}" for name in PERSONAL_FIELDS)

#: Subject of the erasure reason: the service's audit key, which is never
#: destroyed, so auditors can still read why a person was erased.
AUDIT_SUBJECT = "service:enrolment-audit"


class Participant(Aggregate):
    """A mentor or mentee enrolled in a programme."""

    class Enrolled(Aggregate.Created):
        # registration_id is sealed too: in clear it would let anyone holding
        # the index key link an erased participant back to an employee id.
        personal_fields = ("employee_id", "consent", "registration_id", *PROFILE_PATHS)
        programme_id: UUID
        employee_id: str
        role: str
        profile: dict[str, Any]
        consent: dict[str, Any]
        registration_id: UUID | None

    class ProfileUpdated(Aggregate.Event):
        personal_fields = PROFILE_PATHS
        programme_id: UUID
        profile: dict[str, Any]
        changed_fields: list[str]

    class Withdrawn(Aggregate.Event):
        personal_fields = ("note",)
        programme_id: UUID
        reason: str
        note: str

    class Erased(Aggregate.Event):
        """The person's data is erased (their key is destroyed right after)."""

        personal_fields = ("reason",)
        personal_subject = AUDIT_SUBJECT
        programme_id: UUID
        reason: str

    @event(Enrolled)
    def __init__(
        self,
        programme_id: UUID,
        employee_id: str,
        role: str,
        profile: dict[str, Any],
        consent: dict[str, Any],
        registration_id: UUID | None = None,
    ):
        self.programme_id = programme_id
        self.registration_id = registration_id
        self.employee_id = employee_id
        self.role = role
        self.profile_data = profile
        self.consent_data = consent
        self.status = ENROLLED
        self.withdrawal_reason = ""
        self.withdrawal_note = ""
        self.erasure_reason = ""

    @property
    def profile(self) -> Profile:
        return Profile.from_dict(self.profile_data)

    @property
    def consent(self) -> Consent:
        return Consent(**self.consent_data)

    @property
    def is_erased(self) -> bool:
        return self.status == ERASED

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

    def erase(self, reason: str) -> None:
        """Forget the person; enrolled or withdrawn alike, but only once."""
        if self.is_erased:
            raise IllegalTransition(f"participant {self.id} is already erased")
        self._erased(programme_id=self.programme_id, reason=reason)

    def _require_enrolled(self, action: str) -> None:
        if self.status != ENROLLED:
            raise IllegalTransition(f"cannot {action}: participant {self.id} is {self.status}")

    @event(ProfileUpdated)
    def _profile_updated(
        self, programme_id: UUID, profile: dict[str, Any], changed_fields: list[str]
    ) -> None:
        self.profile_data = profile

    @event(Withdrawn)
    def _withdrawn(self, programme_id: UUID, reason: str, note: str) -> None:
        self.status = WITHDRAWN
        self.withdrawal_reason = reason
        self.withdrawal_note = note

    @event(Erased)
    def _erased(self, programme_id: UUID, reason: str) -> None:
        """Wipe every personal value; the facts (role, topics, status codes) remain.

        ``registration_id`` is left alone: it reads as erased once the key is
        destroyed, and until then it lets a retried erasure finish the job.
        """
        self.status = ERASED
        self.employee_id = ""
        self.profile_data = erased_profile(self.profile_data)
        self.consent_data = Consent(False, "", "").to_dict()
        self.withdrawal_note = ""
        self.erasure_reason = reason


class EmployeeRegistration(Aggregate):
    """Index: (programme, employee id) -> participant id, unique by its own id.

    The id is HMAC-SHA256(index key, programme | employee id | generation): not
    computable without the service's secret index key, so a leaked database
    cannot be searched by brute-forcing employee numbers. The participant id is
    sealed with the registration's own key, destroyed on erasure, so the
    history no longer links the employee to the erased participant. A released
    registration is never reused: the employee's next enrolment takes the next
    generation.
    """

    class Registered(Aggregate.Created):
        personal_fields = ("participant_id",)
        participant_id: UUID

    @staticmethod
    def id_for(index_key: bytes, programme_id: UUID, employee_id: str, generation: int = 0) -> UUID:
        """Derived, never published: the employee id itself is not stored here."""
        message = f"revmentor:enrolment:{programme_id}\x1f{employee_id}\x1f{generation}"
        digest = hmac.new(index_key, message.encode(), hashlib.sha256).digest()
        return UUID(bytes=digest[:16], version=4)

    @classmethod
    def register(
        cls,
        index_key: bytes,
        programme_id: UUID,
        employee_id: str,
        participant_id: UUID,
        generation: int = 0,
    ) -> EmployeeRegistration:
        registration_id = cls.id_for(index_key, programme_id, employee_id, generation)
        return cls(id=registration_id, participant_id=participant_id)

    @event(Registered)
    def __init__(self, id: UUID, participant_id: UUID):
        self.participant_id: UUID | None = participant_id
        self.released = False

    @event("Released")
    def release(self) -> None:
        """The participant was erased: the employee may enrol again."""
        self.participant_id = None
        self.released = True
