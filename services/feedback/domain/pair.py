"""A mentoring pair (one scheduling mentorship) and whether it is at risk.

    opened --sessions held, feedback given--> (flagged at risk <-> cleared)*
           --> completed | ended

The pair keeps what the at-risk rules (:mod:`revmentor.feedback.domain.risk`)
need of each held session - when it was held, the usefulness each member gave,
whether its window closed and who stayed silent - and is saved with every
change to them (a submission, a window closing, a no-show, a stall, a held
session). It is the consistency boundary of its own risk: two changes racing
on one pair meet on its version, one wins and the other is retried, so no
assessment is ever made on a stale view of the pair. A pair is flagged with
every rule it breaks; a new reason flags it again (the programme manager is
told), reasons going away alone do not, and none left clears it. A pair that
completed or ended is no longer at risk.
"""

from __future__ import annotations

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
        #: session id -> {held_at, ratings: side -> usefulness, closed, missing}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.stalled = False
        #: the rules currently broken: code -> sentence
        self.risks: dict[str, str] = {}
        self.flagged_at = ""

    @property
    def at_risk(self) -> bool:
        return bool(self.risks)

    @property
    def session_ids(self) -> list[str]:
        return list(self.sessions)

    class Linked(Aggregate.Event):
        match_id: str

    def link(self, match_id: str) -> bool:
        """The match of a pair first seen through one of its sessions."""
        if self.match_id:
            return False
        self._link(match_id=match_id)
        return True

    @event(Linked)
    def _link(self, match_id: str) -> None:
        self.match_id = match_id

    class SessionAdded(Aggregate.Event):
        session_id: str
        held_at: str

    def add_session(self, session_id: str, held_at: str) -> bool:
        """A held session (clears a stall: the pair met again); once per session."""
        if session_id in self.sessions:
            return False
        self._add_session(session_id=session_id, held_at=held_at)
        return True

    @event(SessionAdded)
    def _add_session(self, session_id: str, held_at: str) -> None:
        self.sessions[session_id] = {
            "held_at": held_at,
            "ratings": {},
            "closed": False,
            "missing": [],
        }
        self.stalled = False

    class SessionRated(Aggregate.Event):
        session_id: str
        side: str
        usefulness: int

    def rate(self, session_id: str, side: str, usefulness: int) -> bool:
        session = self.sessions.get(session_id)
        if session is None or session["ratings"].get(side) == usefulness:
            return False
        self._rate(session_id=session_id, side=side, usefulness=usefulness)
        return True

    @event(SessionRated)
    def _rate(self, session_id: str, side: str, usefulness: int) -> None:
        self.sessions[session_id]["ratings"][side] = usefulness

    class SessionClosed(Aggregate.Event):
        session_id: str
        missing: list[str]

    def close_session(self, session_id: str, missing: list[str]) -> bool:
        session = self.sessions.get(session_id)
        if session is None or session["closed"]:
            return False
        self._close_session(session_id=session_id, missing=list(missing))
        return True

    @event(SessionClosed)
    def _close_session(self, session_id: str, missing: list[str]) -> None:
        self.sessions[session_id].update(closed=True, missing=missing)

    class SessionVoided(Aggregate.Event):
        session_id: str

    def void_session(self, session_id: str) -> bool:
        """A held session settled as a no-show no longer counts."""
        if session_id not in self.sessions:
            return False
        self._void_session(session_id=session_id)
        return True

    @event(SessionVoided)
    def _void_session(self, session_id: str) -> None:
        del self.sessions[session_id]

    def records(self) -> list[risk.SessionRecord]:
        """The pair's sessions as the at-risk rules read them, in the order held."""
        ordered = sorted(self.sessions.items(), key=lambda item: (item[1]["held_at"], item[0]))
        return [
            risk.SessionRecord(
                usefulness=tuple(s["ratings"].values()),
                missing=tuple(s["missing"]),
                closed=s["closed"],
            )
            for _, s in ordered
        ]

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

    def assess(self, at: str) -> bool:
        """Apply the at-risk rules to the pair as it is now; True if its risk
        changed (flagged, reasons changed, or cleared)."""
        active = self.status == ACTIVE
        found = dict(risk.reasons(self.records(), self.stalled)) if active else {}
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
