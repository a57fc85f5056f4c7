"""A match between one mentee and one mentor, from proposal to its end.

    proposed --both accept--> confirmed --end--> completed | dissolved
    proposed --one declines--> declined
    proposed --response window passes--> expired      (counts as declined)
    proposed --a side withdraws or is erased--> cancelled
    confirmed --a side withdraws or is erased--> dissolved (cause recorded)

The explanation (every constraint with the derived facts that passed it), the
decline and end reasons and an override's justification are sealed with the
match's own key (``personal_fields``): erasing either participant destroys it,
and the match keeps its shape (ids, statuses, scores) for audits.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from revmentor.kernel.errors import FieldViolation, IllegalTransition, ValidationFailed
from revmentor.matching.domain.programme import MENTEE, MENTOR

PROPOSED = "proposed"
CONFIRMED = "confirmed"
DECLINED = "declined"
EXPIRED = "expired"
CANCELLED = "cancelled"
COMPLETED = "completed"
DISSOLVED = "dissolved"
STATUSES = (PROPOSED, CONFIRMED, DECLINED, EXPIRED, CANCELLED, COMPLETED, DISSOLVED)
#: Statuses holding the mentee and a place of the mentor.
OPEN = (PROPOSED, CONFIRMED)

ROUND = "round"
MANUAL = "manual"

PENDING = "pending"
ACCEPTED = "accepted"
REFUSED = "declined"

#: Why a match ended without anyone choosing it.
WITHDRAWN_CAUSE = "participant_withdrawn"
ERASED_CAUSE = "participant_erased"
REVOKED_CAUSE = "certification_revoked"


def round_match_id(round_id: UUID | str, mentee_id: str) -> UUID:
    """Deterministic: one proposal per mentee per round, whatever retries happen."""
    return uuid5(NAMESPACE_URL, f"revmentor:matching:match:{round_id}:{mentee_id}")


class Match(Aggregate):
    class Proposed(Aggregate.Created):
        #: The breakdown is derived from personal attributes too (an age-gap
        #: value and the target give the gap back): sealed like the checks.
        personal_fields = ("checks", "breakdown", "override_justification")
        programme_id: UUID
        mentee_id: str
        mentor_id: str
        origin: str
        round_id: str
        score: float
        breakdown: list[dict[str, Any]]
        checks: list[dict[str, Any]]
        override_justification: str
        overridden: list[str]
        proposed_at: str
        expires_at: str

    class PairEvent(Aggregate.Event):
        """Every later event names the pair again, so a reader of one event
        (the relay, an auditor's timeline) needs no other."""

        programme_id: UUID
        mentee_id: str
        mentor_id: str

    @event(Proposed)
    def __init__(
        self,
        id: UUID,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
        origin: str,
        round_id: str,
        score: float,
        breakdown: list[dict[str, Any]],
        checks: list[dict[str, Any]],
        override_justification: str,
        overridden: list[str],
        proposed_at: str,
        expires_at: str,
    ) -> None:
        self.programme_id = programme_id
        self.mentee_id = mentee_id
        self.mentor_id = mentor_id
        self.origin = origin
        self.round_id = round_id
        self.score = score
        self.breakdown = breakdown
        self.checks = checks
        self.override_justification = override_justification
        self.overridden = overridden
        self.proposed_at = proposed_at
        self.expires_at = expires_at
        self.status = PROPOSED
        self.answers = {MENTEE: PENDING, MENTOR: PENDING}
        self.confirmed_at = ""
        self.ended_at = ""
        self.declined_by = ""
        self.decline_reason = ""
        self.end_reason = ""
        self.end_cause = ""

    # -- reading ---------------------------------------------------------------------
    @property
    def _pair(self) -> dict[str, Any]:
        return {
            "programme_id": self.programme_id,
            "mentee_id": self.mentee_id,
            "mentor_id": self.mentor_id,
        }

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def side_of(self, participant_id: str) -> str:
        """mentee or mentor; INVALID_ARGUMENT when the participant is neither."""
        if participant_id == self.mentee_id:
            return MENTEE
        if participant_id == self.mentor_id:
            return MENTOR
        raise ValidationFailed(
            [FieldViolation("participant_id", "must be this match's mentee or mentor")]
        )

    def _require(self, status: str, doing: str) -> None:
        if self.status != status:
            raise IllegalTransition(f"match {self.id} is {self.status}: cannot {doing}")

    def _require_unexpired(self, at: str) -> None:
        """An answer after the response window is refused even before the expiry
        job has recorded it: the proposal already counts as declined."""
        if self.expires_at and at >= self.expires_at:
            raise IllegalTransition(
                f"the proposal expired at {self.expires_at} and counts as declined; "
                "the next round can propose again"
            )

    # -- answers -----------------------------------------------------------------------
    class Accepted(PairEvent):
        participant_id: str
        side: str
        at: str

    @event(Accepted)
    def _accept(
        self,
        participant_id: str,
        side: str,
        at: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.answers[side] = ACCEPTED

    class Confirmed(PairEvent):
        at: str

    @event(Confirmed)
    def _confirm(self, at: str, programme_id: UUID, mentee_id: str, mentor_id: str) -> None:
        self.status = CONFIRMED
        self.confirmed_at = at

    def accept(self, participant_id: str, at: str) -> bool:
        """Record one side's yes; the second yes confirms (same save). False if repeated."""
        side = self.side_of(participant_id)
        self._require(PROPOSED, "accept it")
        self._require_unexpired(at)
        if self.answers[side] == ACCEPTED:
            return False
        self._accept(participant_id, side, at, **self._pair)
        if all(answer == ACCEPTED for answer in self.answers.values()):
            self._confirm(at, **self._pair)
        return True

    class Declined(PairEvent):
        personal_fields = ("reason",)
        participant_id: str
        side: str
        reason: str
        at: str

    @event(Declined)
    def _decline(
        self,
        participant_id: str,
        side: str,
        reason: str,
        at: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.answers[side] = REFUSED
        self.status = DECLINED
        self.declined_by = participant_id
        self.decline_reason = reason
        self.ended_at = at

    def decline(self, participant_id: str, reason: str, at: str) -> None:
        side = self.side_of(participant_id)
        self._require(PROPOSED, "decline it")
        self._require_unexpired(at)
        self._decline(participant_id, side, reason, at, **self._pair)

    class Expired(PairEvent):
        at: str

    @event(Expired)
    def _expire(self, at: str, programme_id: UUID, mentee_id: str, mentor_id: str) -> None:
        self.status = EXPIRED
        self.ended_at = at

    def expire(self, now: str) -> bool:
        """Expire if still unanswered at ``now`` (ISO UTC); False otherwise.

        Idempotent: only a proposal can expire, so however many checkers run,
        the expiry is recorded once (a second save loses on the version).
        """
        if self.status != PROPOSED or now < self.expires_at:
            return False
        self._expire(now, **self._pair)
        return True

    # -- ends --------------------------------------------------------------------------
    class Cancelled(PairEvent):
        cause: str
        at: str

    @event(Cancelled)
    def _cancel(
        self, cause: str, at: str, programme_id: UUID, mentee_id: str, mentor_id: str
    ) -> None:
        self.status = CANCELLED
        self.end_cause = cause
        self.ended_at = at

    class Ended(PairEvent):
        personal_fields = ("reason",)
        outcome: str
        cause: str
        reason: str
        at: str

    @event(Ended)
    def _end(
        self,
        outcome: str,
        cause: str,
        reason: str,
        at: str,
        programme_id: UUID,
        mentee_id: str,
        mentor_id: str,
    ) -> None:
        self.status = outcome
        self.end_cause = cause
        self.end_reason = reason
        self.ended_at = at

    def end(self, outcome: str, reason: str, at: str) -> None:
        """A manager ends a confirmed match as completed or dissolved."""
        self._require(CONFIRMED, f"end it as {outcome}")
        self._end(outcome, outcome, reason, at, **self._pair)

    def close_for(self, cause: str, at: str) -> bool:
        """A side left (withdrawn, erased) or the mentor lost certification.

        A proposal is cancelled; a confirmed match is dissolved, except on a
        revoked certification, which leaves a running mentorship to the
        programme manager. False when nothing changed.
        """
        if self.status == PROPOSED:
            self._cancel(cause, at, **self._pair)
            return True
        if self.status == CONFIRMED and cause != REVOKED_CAUSE:
            self._end(DISSOLVED, cause, "", at, **self._pair)
            return True
        return False
