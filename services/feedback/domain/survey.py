"""A baseline or end survey of one member of a pair.

Baseline surveys are requested when a match is confirmed, end surveys when the
mentorship completes; one per (match, member, kind), its id derived from them,
so redelivered events never ask twice. Answered once: the outcomes report
compares end with baseline, and a changing baseline would move the goalposts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.feedback.domain.ratings import SurveyAnswers
from revmentor.kernel.errors import IllegalTransition

BASELINE = "baseline"
END = "end"
KINDS = (BASELINE, END)


def survey_key(match_id: str, participant_id: str, kind: str) -> UUID:
    return uuid5(NAMESPACE_URL, f"revmentor:feedback:survey:{match_id}:{participant_id}:{kind}")


class Survey(Aggregate):
    class Requested(Aggregate.Created):
        programme_id: UUID
        match_id: str
        participant_id: str
        side: str
        kind: str
        topics: list[str]
        requested_at: str

    @staticmethod
    def create_id(match_id: str, participant_id: str, kind: str, **_: Any) -> UUID:
        return survey_key(match_id, participant_id, kind)

    @event(Requested)
    def __init__(
        self,
        programme_id: UUID,
        match_id: str,
        participant_id: str,
        side: str,
        kind: str,
        topics: list[str],
        requested_at: str,
    ) -> None:
        self.programme_id = programme_id
        self.match_id = match_id
        self.participant_id = participant_id
        self.side = side
        self.kind = kind
        self.topics = topics
        self.requested_at = requested_at
        self.answers: dict[str, Any] = {}
        self.completed_at = ""

    class Completed(Aggregate.Event):
        programme_id: UUID
        match_id: str
        participant_id: str
        kind: str
        answers: dict[str, Any]
        at: str

    def complete(
        self, answers: SurveyAnswers, now: str, catalogue: Sequence[str] | None = None
    ) -> None:
        """Answer once. ``catalogue``: the programme's topics now, when they became
        known after the survey was requested (else those recorded with it)."""
        if self.completed_at:
            raise IllegalTransition(
                f"this {self.kind} survey was completed at {self.completed_at}; it is answered once"
            )
        answers.check(self.side, list(catalogue) if catalogue else self.topics)
        self._complete(
            programme_id=self.programme_id,
            match_id=self.match_id,
            participant_id=self.participant_id,
            kind=self.kind,
            answers=answers.as_dict(),
            at=now,
        )

    @event(Completed)
    def _complete(
        self,
        programme_id: UUID,
        match_id: str,
        participant_id: str,
        kind: str,
        answers: dict[str, Any],
        at: str,
    ) -> None:
        self.answers = answers
        self.completed_at = at
