"""A mentoring pair (one scheduling mentorship) and whether it is at risk.

    opened --sessions held, feedback given--> (flagged at risk <-> cleared)*
           --> completed | ended

The pair keeps its held sessions in order, so the at-risk rules
(:mod:`revmentor.feedback.domain.risk`) can be assessed on them whenever
something they depend on changes: feedback submitted, a feedback window
closed, a stall reported by scheduling, a session held. A pair is flagged with
every rule it breaks; a new reason flags it again (the programme manager is
told), reasons going away alone do not, and none left clears it. A pair that
completed or ended is no longer at risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.feedback.domain import risk

ACTIVE = "active"
COMPLETED = "completed"
ENDED = "ended"


def pair_key(mentorship_id: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:feedback:pair:{mentorship_id}")


class Pair(Aggregate):
    class Opened(Aggregate.Created):
        programme_id: UUID
        mentorship_id: str
        match_id: str
        mentee_id: str
        mentor_id: str
        opened_at: str

    @staticmethod
    def create_id(mentorship_id: str, **_: object) -> UUID:
        return pair_key(mentorship_id)

    @event(Opened)
    def __init__(
        self,
        programme_id: UUID,
        mentorship_id: str,
        match_id: str,
        mentee_id: str,
        mentor_id: str,
        opened_at: str,
    ) -> None:
        self.programme_id = programme_id
        self.mentorship_id = mentorship_id
        self.match_id = match_id
        self.mentee_id = mentee_id
        self.mentor_id = mentor_id
        self.opened_at = opened_at
        self.status = ACTIVE
        self.session_ids: list[str] = []
        self.stalled = False
        #: the rules currently broken: code -> sentence
        self.risks: dict[str, str] = {}
        self.flagged_at = ""

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)

    class SessionAdded(Aggregate.Event):
        session_id: str

    def add_session(self, session_id: str) -> bool:
        """A held session (clears a stall: the pair met again); once per session."""
        if session_id in self.session_ids:
            return False
        self._add_session(session_id=session_id)
        return True

    @event(SessionAdded)
    def _add_session(self, session_id: str) -> None:
        self.session_ids.append(session_id)
        self.stalled = False

    class Stalled(Aggregate.Event):
        since: str

    def stall(self, since: str) -> bool:
        if self.stalled or self.status != ACTIVE:
            return False
        self._stall(since=since)
        return True

    @event(Stalled)
    def _stall(self, since: str) -> None:
        self.stalled = True

    class Completed(Aggregate.Event):
        at: str

    def complete(self, at: str) -> bool:
        if self.status != ACTIVE:
            return False
        self._complete(at=at)
        return True

    @event(Completed)
    def _complete(self, at: str) -> None:
        self.status = COMPLETED
        self.stalled = False

    class Ended(Aggregate.Event):
        outcome: str
        at: str

    def end(self, outcome: str, at: str) -> bool:
        if self.status != ACTIVE:
            return False
        self._end(outcome=outcome, at=at)
        return True

    @event(Ended)
    def _end(self, outcome: str, at: str) -> None:
        self.status = ENDED
        self.stalled = False

    # -- risk ------------------------------------------------------------------------------
    class FlaggedAtRisk(Aggregate.Event):
        programme_id: UUID
        mentorship_id: str
        mentee_id: str
        mentor_id: str
        codes: list[str]
        reasons: list[str]
        new_codes: list[str]
        at: str

    class RiskCleared(Aggregate.Event):
        programme_id: UUID
        mentorship_id: str
        mentee_id: str
        mentor_id: str
        at: str

    @property
    def _facts(self) -> dict[str, Any]:
        """Who the pair is, carried by its risk events (what integrators are told)."""
        return {
            "programme_id": self.programme_id,
            "mentorship_id": self.mentorship_id,
            "mentee_id": self.mentee_id,
            "mentor_id": self.mentor_id,
        }

    def assess(self, sessions: Sequence[risk.SessionRecord], at: str) -> bool:
        """Apply the at-risk rules to ``sessions`` (this pair's, in order); True
        if the pair's risk changed (flagged, reasons changed, or cleared)."""
        found = dict(risk.reasons(sessions, self.stalled)) if self.status == ACTIVE else {}
        if found == self.risks:
            return False
        if not found:
            self._clear(at=at, **self._facts)
            return True
        new = [code for code in found if code not in self.risks]
        self._flag(
            codes=list(found), reasons=list(found.values()), new_codes=new, at=at, **self._facts
        )
        return True

    @event(FlaggedAtRisk)
    def _flag(
        self,
        programme_id: UUID,
        mentorship_id: str,
        mentee_id: str,
        mentor_id: str,
        codes: list[str],
        reasons: list[str],
        new_codes: list[str],
        at: str,
    ) -> None:
        if new_codes or not self.flagged_at:
            self.flagged_at = at
        self.risks = dict(zip(codes, reasons, strict=True))

    @event(RiskCleared)
    def _clear(
        self, programme_id: UUID, mentorship_id: str, mentee_id: str, mentor_id: str, at: str
    ) -> None:
        self.risks = {}
        self.flagged_at = ""
