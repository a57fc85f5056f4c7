"""Feedback on one held session: requested of both members, blind until both
have answered or the window has closed, confidential notes for their author only.

    requested --a member submits--> (editable by its author until the due time)
    requested --due time passes--> closed (who did not answer is recorded)

One aggregate per session (id derived from the session id), so a redelivered
"session held" never asks twice, and one submission per member: a second
submission before the due time is an edit of the first, after it a refusal.
Free text (practices to adopt, the confidential note) is sealed with the
answering member's own key, so erasing one member shreds their words only.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.feedback.domain.ratings import MENTEE, MENTOR, SessionAnswers
from revmentor.kernel.envelope import ERASED
from revmentor.kernel.errors import FieldViolation, IllegalTransition, ValidationFailed


def feedback_key(session_id: UUID | str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:feedback:session:{session_id}")


class SessionFeedback(Aggregate):
    class Requested(Aggregate.Created):
        session_id: str
        mentorship_id: str
        programme_id: UUID
        mentee_id: str
        mentor_id: str
        held_at: str
        due_at: str

    @staticmethod
    def create_id(session_id: str, **_: Any) -> UUID:
        return feedback_key(session_id)

    @event(Requested)
    def __init__(
        self,
        session_id: str,
        mentorship_id: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
        held_at: str,
        due_at: str,
    ) -> None:
        self.session_id = session_id
        self.mentorship_id = mentorship_id
        self.programme_id = programme_id
        self.mentee_id = mentee_id
        self.mentor_id = mentor_id
        self.held_at = held_at
        self.due_at = due_at
        #: side -> answers as a dict (see SessionAnswers), with "submitted_at"
        self.answers: dict[str, dict[str, Any]] = {}
        self.closed = False
        self.voided = False
        self.missing: list[str] = []
        #: sides whose member was erased: their words blanked, nothing more taken
        self.erased: list[str] = []

    # -- reading ---------------------------------------------------------------------
    def side_of(self, participant_id: str) -> str:
        if participant_id == self.mentee_id:
            return MENTEE
        if participant_id == self.mentor_id:
            return MENTOR
        raise ValidationFailed(
            [FieldViolation("participant_id", "must be a member of this session's pair")]
        )

    def window_open(self, now: str) -> bool:
        return not self.closed and not self.voided and now < self.due_at

    def revealed(self, now: str) -> bool:
        """Each member sees the other's ratings once both answered or the window
        closed (its due time passed). A voided session (a no-show) is never
        closed: only answers both gave before it was voided are shown."""
        if len(self.answers) == 2:
            return True
        return not self.voided and (self.closed or now >= self.due_at)

    def view_for(self, participant_id: str, now: str) -> dict[str, Any]:
        """What a member may see: their own answers whole, the other's ratings
        once revealed, never the other's practices or confidential note."""
        mine = self.side_of(participant_id)
        other = MENTOR if mine == MENTEE else MENTEE
        view: dict[str, Any] = {"own": self.answers.get(mine), "other": None}
        theirs = self.answers.get(other)
        if theirs is not None and self.revealed(now):
            view["other"] = _ratings_of(theirs)
        view["revealed"] = self.revealed(now)
        return view

    def ratings(self) -> dict[str, dict[str, Any]]:
        """Per side, the ratings only (reports, managers, integration events)."""
        return {side: _ratings_of(a) for side, a in self.answers.items()}

    # -- commands ----------------------------------------------------------------------
    class Submitted(Aggregate.Event):
        #: sealed with the answering member's own key: erasing one member
        #: shreds their words only, never the other member's
        personal_fields = ("practices", "note")
        personal_subject_field = "participant_id"
        session_id: str
        programme_id: UUID
        mentorship_id: str
        participant_id: str
        side: str
        usefulness: int
        topics: list[str]
        practices: list[str]
        confidence: int | None
        pedagogy: int | None
        note: str
        at: str
        edit: bool

    def submit(
        self, participant_id: str, answers: SessionAnswers, catalogue: list[str], now: str
    ) -> None:
        """Record (or, before the due time, edit) a member's feedback.

        Once both have answered each sees the other's ratings, so from then on
        an edit may change the member's own words (practices, note) but not
        their ratings: rating blind is the point of the reveal."""
        side = self.side_of(participant_id)
        answers.check(side, catalogue)
        if side in self.erased:
            raise IllegalTransition(f"participant {participant_id} was erased: nothing is recorded")
        if self.voided:
            raise IllegalTransition(
                f"session {self.session_id} was recorded as a no-show: no feedback is asked"
            )
        if not self.window_open(now):
            raise IllegalTransition(
                f"the feedback window for session {self.session_id} closed at {self.due_at}"
            )
        mine = self.answers.get(side)
        if mine is not None and len(self.answers) == 2 and _ratings_changed(mine, answers):
            raise IllegalTransition(
                "both members have answered and seen each other's ratings: the ratings "
                "are final; only practices and the note can still be edited"
            )
        fields = asdict(answers)
        fields["topics"] = list(answers.topics)
        fields["practices"] = list(answers.practices)
        self._submit(
            session_id=self.session_id,
            programme_id=self.programme_id,
            mentorship_id=self.mentorship_id,
            participant_id=participant_id,
            side=side,
            at=now,
            edit=side in self.answers,
            **fields,
        )

    @event(Submitted)
    def _submit(
        self,
        session_id: str,
        programme_id: UUID,
        mentorship_id: str,
        participant_id: str,
        side: str,
        usefulness: int,
        topics: list[str],
        practices: list[str],
        confidence: int | None,
        pedagogy: int | None,
        note: str,
        at: str,
        edit: bool,
    ) -> None:
        self.answers[side] = {
            "usefulness": usefulness,
            "topics": topics,
            "practices": practices,
            "confidence": confidence,
            "pedagogy": pedagogy,
            "note": note,
            "submitted_at": at,
        }

    class Closed(Aggregate.Event):
        session_id: str
        programme_id: UUID
        mentorship_id: str
        missing: list[str]
        at: str

    def close(self, now: str) -> bool:
        """Close the window once the due time has passed; once only."""
        if self.closed or self.voided or now < self.due_at:
            return False
        missing = [side for side in (MENTEE, MENTOR) if side not in self.answers]
        self._close(
            session_id=self.session_id,
            programme_id=self.programme_id,
            mentorship_id=self.mentorship_id,
            missing=missing,
            at=now,
        )
        return True

    @event(Closed)
    def _close(
        self, session_id: str, programme_id: UUID, mentorship_id: str, missing: list[str], at: str
    ) -> None:
        self.closed = True
        self.missing = missing

    class Voided(Aggregate.Event):
        """The manager settled a disputed session as a no-show: it did not take
        place, so nobody is asked about it and it counts nowhere."""

        session_id: str
        programme_id: UUID
        mentorship_id: str
        at: str

    def void(self, now: str) -> bool:
        if self.voided:
            return False
        self._void(
            session_id=self.session_id,
            programme_id=self.programme_id,
            mentorship_id=self.mentorship_id,
            at=now,
        )
        return True

    @event(Voided)
    def _void(self, session_id: str, programme_id: UUID, mentorship_id: str, at: str) -> None:
        self.voided = True

    class WordsErased(Aggregate.Event):
        """A member was erased: their practices and note are blanked in every
        view and every replica at once (the destroyed key alone would leave a
        replica's cached key reading them for a while), and nothing more is
        taken from them - recorded whether they answered or not, so a
        submission racing the erasure loses on this aggregate's version."""

        participant_id: str
        side: str

    def erase_words(self, participant_id: str) -> bool:
        side = self.side_of(participant_id)
        if side in self.erased:
            return False
        self._erase_words(participant_id=participant_id, side=side)
        return True

    @event(WordsErased)
    def _erase_words(self, participant_id: str, side: str) -> None:
        self.erased.append(side)
        if side in self.answers:
            self.answers[side].update(practices=ERASED_TEXT, note=ERASED_TEXT)


_RATING_KEYS = ("usefulness", "topics", "confidence", "pedagogy", "submitted_at")
#: What an erased member's words read as (the kernel's marker for shredded fields).
ERASED_TEXT = ERASED


def _ratings_changed(mine: dict[str, Any], answers: SessionAnswers) -> bool:
    return (
        mine["usefulness"] != answers.usefulness
        or sorted(mine["topics"]) != sorted(answers.topics)
        or mine.get("confidence") != answers.confidence
        or mine.get("pedagogy") != answers.pedagogy
    )


def _ratings_of(answers: dict[str, Any]) -> dict[str, Any]:
    return {k: answers[k] for k in _RATING_KEYS if answers.get(k) is not None}
