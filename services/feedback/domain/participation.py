"""One participant of one programme, as far as the outcomes funnel needs:
their role, when they enrolled, whether they were certified.

One small aggregate per participant rather than a list in the programme: ten
thousand enrolments are ten thousand independent writes, none contending on a
shared aggregate. Registered on first sight (enrolment or training, whichever
stream delivers first) and completed by the other.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def participation_key(programme_id: UUID | str, participant_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:feedback:participation:{programme_id}:{participant_id}")


class Participation(Aggregate):
    class Registered(Aggregate.Created):
        programme_id: UUID
        participant_id: str

    @staticmethod
    def create_id(programme_id: UUID, participant_id: str) -> UUID:
        return participation_key(programme_id, participant_id)

    @event(Registered)
    def __init__(self, programme_id: UUID, participant_id: str) -> None:
        self.programme_id = programme_id
        self.participant_id = participant_id
        self.role = ""
        self.enrolled_at = ""
        self.certified = False

    class Enrolled(Aggregate.Event):
        role: str
        enrolled_at: str

    def enrol(self, role: str, enrolled_at: str) -> bool:
        """Record the enrolment once (a redelivery or a re-enrolment changes nothing)."""
        if self.enrolled_at:
            return False
        self._enrol(role=role, enrolled_at=enrolled_at)
        return True

    @event(Enrolled)
    def _enrol(self, role: str, enrolled_at: str) -> None:
        self.role = role
        self.enrolled_at = enrolled_at

    class Certified(Aggregate.Event):
        at: str

    def certify(self, at: str) -> bool:
        if self.certified:
            return False
        self._certify(at=at)
        return True

    @event(Certified)
    def _certify(self, at: str) -> None:
        self.certified = True
