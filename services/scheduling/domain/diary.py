"""A participant's diary: the sessions they are booked into, across all their
mentorships (a mentor may have several mentees).

It is the consistency boundary of "nobody is double-booked": booking a session
saves the mentorship and both members' diaries in one transaction, so two
sessions booked at once for the same person meet on that diary's version and
one of them is refused. Only session ids and UTC intervals live here.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import IllegalTransition
from revmentor.scheduling.domain.times import parse_stamp, stamp


def diary_key(participant_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:scheduling:diary:{participant_id}")


class DoubleBooked(IllegalTransition):
    """The person already has a session at that time."""


class Diary(Aggregate):
    class Opened(Aggregate.Created):
        participant_id: str

    @staticmethod
    def create_id(participant_id: str) -> UUID:
        return diary_key(participant_id)

    @event(Opened)
    def __init__(self, participant_id: str) -> None:
        self.participant_id = participant_id
        #: session id -> [start, end] (RFC 3339 UTC)
        self.busy: dict[str, list[str]] = {}

    def clash(self, session_id: str, start: datetime, end: datetime) -> str | None:
        """The id of a booked session overlapping [start, end), if any."""
        for other, (s, e) in sorted(self.busy.items()):
            if (
                other != session_id
                and parse_stamp(s, "start") < end
                and start < parse_stamp(e, "end")
            ):
                return other
        return None

    def book(self, session_id: str, start: datetime, end: datetime, who: str) -> None:
        """Reserve [start, end) for ``session_id``; DoubleBooked on an overlap."""
        other = self.clash(session_id, start, end)
        if other is not None:
            s, e = self.busy[other]
            raise DoubleBooked(f"the {who} is already booked from {s} to {e}: choose another time")
        self._book(session_id, stamp(start), stamp(end))

    class Booked(Aggregate.Event):
        session_id: str
        start: str
        end: str

    @event(Booked)
    def _book(self, session_id: str, start: str, end: str) -> None:
        self.busy[session_id] = [start, end]

    class Released(Aggregate.Event):
        session_id: str

    @event(Released)
    def _release(self, session_id: str) -> None:
        self.busy.pop(session_id, None)

    def release(self, session_id: str) -> bool:
        if session_id not in self.busy:
            return False
        self._release(session_id)
        return True

    def intervals(self) -> list[tuple[datetime, datetime]]:
        return sorted(
            (parse_stamp(s, "start"), parse_stamp(e, "end")) for s, e in self.busy.values()
        )
