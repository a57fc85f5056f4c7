"""The feedback application: session feedback, surveys, the outcomes report, pairs at risk.

What upstream facts cause (``subscriptions`` calls these and records the
upstream position with what they return) and what members and managers do
(the API calls the commands). Whenever something the at-risk rules depend on
changes - feedback submitted, a window closed, a stall, a held session - the
pair is assessed and saved in the same transaction as the change, so the flag
never lags behind or runs ahead of its reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from revmentor.feedback.domain.outcomes import report
from revmentor.feedback.domain.pair import ACTIVE, Pair, pair_key
from revmentor.feedback.domain.participation import Participation, participation_key
from revmentor.feedback.domain.programme import FeedbackProgramme, changed_policy, programme_key
from revmentor.feedback.domain.ratings import MENTEE, MENTOR, SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.session import SessionFeedback, feedback_key
from revmentor.feedback.domain.survey import BASELINE, END, Survey, survey_key
from revmentor.feedback.readmodel import FeedbackReadModel
from revmentor.kernel.application import Saveable, ServiceApplication, expect_version
from revmentor.kernel.context import RequestContext, acting_as, current
from revmentor.kernel.errors import ConcurrencyConflict, IllegalTransition, NotFound
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.timestamps import stamp

log = logging.getLogger(__name__)

#: Who closes feedback windows (the actor of those events and of the flags they cause).
CLOSING_ACTOR = "service:feedback-windows"
#: Tries of a submission made without an expected version (see submit_feedback).
SUBMIT_ATTEMPTS = 3


class UnknownPair(Exception):
    """An ending for a mentorship never opened here: retried, then dead-lettered
    (its opening was dead-lettered first; replaying both in order settles it)."""


class FeedbackApplication(ServiceApplication):
    name = "feedback"

    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))

    #: The read model keeps ratings only: it never needs (so never decrypts) a note.
    read_model_reads_personal = False

    def construct_read_model(self) -> ReadModel:
        return FeedbackReadModel()

    def now(self) -> str:
        return stamp(self.clock())

    # -- loading ------------------------------------------------------------
    def find_programme(self, programme_id: UUID) -> FeedbackProgramme | None:
        found: FeedbackProgramme | None = self.get_as(
            programme_key(programme_id), FeedbackProgramme
        )
        return found

    def programme_of(self, programme_id: UUID) -> FeedbackProgramme:
        """The programme, registered on first sight (consumers)."""
        return self.find_programme(programme_id) or FeedbackProgramme(programme_id=programme_id)

    def programme(self, programme_id: str) -> FeedbackProgramme:
        found = self.find_programme(parse_id("programme_id", programme_id))
        if found is None:
            raise NotFound(f"programme {programme_id} not found")
        return found

    def participation(self, programme_id: UUID, participant_id: str) -> Participation:
        found: Participation | None = self.get_as(
            participation_key(programme_id, participant_id), Participation
        )
        return found or Participation(programme_id=programme_id, participant_id=participant_id)

    def session_feedback(self, session_id: str) -> SessionFeedback:
        canonical = str(parse_id("session_id", session_id))
        found: SessionFeedback | None = self.get_as(feedback_key(canonical), SessionFeedback)
        if found is None:
            raise NotFound(f"no feedback was requested for session {session_id}")
        return found

    def survey(self, survey_id: str) -> Survey:
        found: Survey | None = self.get_as(parse_id("survey_id", survey_id), Survey)
        if found is None:
            raise NotFound(f"survey {survey_id} not found")
        return found

    def find_pair(self, mentorship_id: str) -> Pair | None:
        found: Pair | None = self.get_as(pair_key(mentorship_id), Pair)
        return found

    # -- policy ------------------------------------------------------------
    def set_policy(
        self,
        programme_id: str,
        change: dict[str, int | None],
        expected_version: int = 0,
        administrator: bool = False,
    ) -> FeedbackProgramme:
        programme = self.programme(programme_id)
        expect_version(programme, expected_version, "programme")
        new = changed_policy(programme.policy, change, administrator)
        if new != programme.policy:
            programme.change_policy(new)
            self.save(programme)
        return programme

    # -- consumed facts ------------------------------------------------------------
    def record_catalogue(self, programme_id: UUID, topics: Sequence[str]) -> list[Saveable]:
        programme = self.programme_of(programme_id)
        if list(topics) == programme.topics and programme.version > 1:
            return []
        programme.record_catalogue(list(topics))
        return [programme]

    def record_enrolment(
        self, programme_id: UUID, participant_id: str, role: str, at: str
    ) -> list[Saveable]:
        record = self.participation(programme_id, participant_id)
        return [record] if record.enrol(role, at) else []

    def record_certification(
        self, programme_id: UUID, participant_id: str, at: str
    ) -> list[Saveable]:
        record = self.participation(programme_id, participant_id)
        return [record] if record.certify(at) else []

    def request_surveys(
        self, programme_id: UUID, match_id: str, members: Mapping[str, str], kind: str
    ) -> list[Saveable]:
        """A survey of ``kind`` for each member (side -> participant) not yet asked."""
        programme = self.find_programme(programme_id)
        topics = programme.topics if programme else []
        surveys: list[Saveable] = []
        for side, participant_id in members.items():
            if self.get_as(survey_key(match_id, participant_id, kind), Survey) is not None:
                continue
            surveys.append(
                Survey(
                    programme_id=programme_id,
                    match_id=match_id,
                    participant_id=participant_id,
                    side=side,
                    kind=kind,
                    topics=list(topics) if side == MENTEE else [],
                    requested_at=self.now(),
                )
            )
        return surveys

    def open_pair(
        self, programme_id: UUID, mentorship_id: str, match_id: str, mentee_id: str, mentor_id: str
    ) -> list[Saveable]:
        """The pair of a mentorship (or its match, when it was first seen through
        one of its sessions because the opening was dead-lettered)."""
        pair = self.find_pair(mentorship_id)
        if pair is not None:
            return [pair] if pair.link(match_id) else []
        return [self._new_pair(programme_id, mentorship_id, match_id, mentee_id, mentor_id)]

    def _new_pair(
        self, programme_id: UUID, mentorship_id: str, match_id: str, mentee_id: str, mentor_id: str
    ) -> Pair:
        return Pair(
            programme_id=programme_id,
            mentorship_id=mentorship_id,
            match_id=match_id,
            mentee_id=mentee_id,
            mentor_id=mentor_id,
            opened_at=self.now(),
        )

    def pair_of(
        self, programme_id: UUID, mentorship_id: str, mentee_id: str, mentor_id: str
    ) -> Pair:
        """The pair, opened on first sight when scheduling's opening has not reached
        us (dead-lettered, replayed later: it then only adds the match)."""
        found = self.find_pair(mentorship_id)
        return found or self._new_pair(programme_id, mentorship_id, "", mentee_id, mentor_id)

    def request_feedback(
        self,
        programme_id: UUID,
        session_id: str,
        mentorship_id: str,
        mentee_id: str,
        mentor_id: str,
        held_at: str,
    ) -> list[Saveable]:
        """What a held session causes: feedback asked of both, due after the
        programme's window; the pair's sessions (and any stall) updated."""
        if self.get_as(feedback_key(session_id), SessionFeedback) is not None:
            return []
        registered = self.find_programme(programme_id)
        programme = registered or FeedbackProgramme(programme_id=programme_id)
        due = self.clock() + timedelta(days=programme.window_days)
        feedback = SessionFeedback(
            session_id=session_id,
            mentorship_id=mentorship_id,
            programme_id=programme_id,
            mentee_id=mentee_id,
            mentor_id=mentor_id,
            held_at=held_at,
            due_at=stamp(due),
        )
        changed: list[Saveable] = [] if registered else [programme]
        pair = self.pair_of(programme_id, mentorship_id, mentee_id, mentor_id)
        pair.add_session(session_id, held_at)
        pair.assess(self.now())
        return [*changed, feedback, pair]

    def void_session(self, session_id: str) -> list[Saveable]:
        """A held session settled as a no-show: not asked about, counted nowhere."""
        feedback = self.get_as(feedback_key(session_id), SessionFeedback)
        if feedback is None or not feedback.void(self.now()):
            return []
        pair = self.find_pair(feedback.mentorship_id)
        if pair is None or not pair.void_session(session_id):
            return [feedback]
        pair.assess(self.now())
        return [feedback, pair]

    def flag_stall(
        self, programme_id: UUID, mentorship_id: str, mentee_id: str, mentor_id: str, since: str
    ) -> list[Saveable]:
        pair = self.pair_of(programme_id, mentorship_id, mentee_id, mentor_id)
        if not pair.stall(since):
            return []
        pair.assess(self.now())
        return [pair]

    def close_pair(self, mentorship_id: str, outcome: str) -> list[Saveable]:
        """A completed mentorship asks both for their end survey; any ending clears risk."""
        pair = self.find_pair(mentorship_id)
        if pair is None:
            # Only if its opening was dead-lettered: retried, then dead-lettered
            # too, and replayed after it.
            raise UnknownPair(f"mentorship {mentorship_id} was never opened here")
        completed = outcome == "completed"
        if completed and pair.status == ACTIVE and not pair.match_id:
            # Opened on first sight: the end surveys belong to the match (they are
            # compared with its baseline), so wait, like an unknown pair, for the
            # opening to be replayed.
            raise UnknownPair(f"the match of mentorship {mentorship_id} is not known here yet")
        at = self.now()
        changed = pair.complete(at) if completed else pair.end(outcome, at)
        if not changed:
            return []
        pair.assess(at)
        surveys: list[Saveable] = []
        if completed:
            members = {MENTEE: pair.mentee_id, MENTOR: pair.mentor_id}
            surveys = self.request_surveys(pair.programme_id, pair.match_id, members, END)
        return [pair, *surveys]

    def erase_participant(self, participant_id: str) -> None:
        """Blank their practices and notes in every session they answered (so
        every replica stops showing them at once), then destroy their key here."""
        sessions = self.query(lambda m: m.participant_ids(participant_id)).get("sessions", [])
        for session_id in sessions:
            feedback = self.get_as(feedback_key(session_id), SessionFeedback)
            if feedback is not None and feedback.erase_words(participant_id):
                self.save(feedback)
        self.keys.destroy(participant_id)

    # -- commands ------------------------------------------------------------
    def submit_feedback(
        self,
        session_id: str,
        participant_id: str,
        answers: SessionAnswers,
        expected_version: int = 0,
    ) -> SessionFeedback:
        """A member's feedback (before the due time, again: an edit), saved with
        the pair's view of it. Without an expected version, a race lost to the
        other member (or to the pair's other sessions) is retried: the two
        wrote different things."""
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                return self._submit_once(session_id, participant_id, answers, expected_version)
            except ConcurrencyConflict:
                # With an expected version, only a race lost on the pair alone is
                # retried: the session feedback the client read is unchanged.
                current = self.session_feedback(session_id).version
                if attempt == SUBMIT_ATTEMPTS or expected_version not in (0, current):
                    raise
        raise AssertionError("unreachable")

    def _submit_once(
        self, session_id: str, participant_id: str, answers: SessionAnswers, expected_version: int
    ) -> SessionFeedback:
        feedback = self.session_feedback(session_id)
        expect_version(feedback, expected_version, "session feedback")
        programme = self.programme_of(feedback.programme_id)
        participant_id = str(parse_id("participant_id", participant_id))
        self._require_not_erased(participant_id)
        feedback.submit(participant_id, answers, programme.topics, self.now())
        pair = self.pair_of(
            feedback.programme_id, feedback.mentorship_id, feedback.mentee_id, feedback.mentor_id
        )
        pair.add_session(feedback.session_id, feedback.held_at)
        pair.rate(feedback.session_id, feedback.side_of(participant_id), answers.usefulness)
        pair.assess(self.now())
        self.save(feedback, pair)
        return feedback

    def submit_survey(self, survey_id: str, answers: SurveyAnswers) -> Survey:
        survey = self.survey(survey_id)
        self._require_not_erased(survey.participant_id)
        programme = self.find_programme(survey.programme_id)
        catalogue = programme.topics if programme and survey.side == MENTEE else None
        survey.complete(answers, self.now(), catalogue)
        self.save(survey)
        return survey

    def _require_not_erased(self, participant_id: str) -> None:
        """An erased member's key is gone: nothing more is recorded for them."""
        if self.keys.is_destroyed(participant_id):
            raise IllegalTransition(f"participant {participant_id} was erased: nothing is recorded")

    # -- jobs ------------------------------------------------------------
    def close_due_windows(self, now: datetime) -> int:
        """Close every feedback window past its due time, once each, and assess
        the pair (feedback missing twice in a row)."""
        done = 0
        ctx = current()
        with acting_as(RequestContext(CLOSING_ACTOR, ctx.correlation_id, ctx.causation_id)):
            for session_id in self.query(lambda m: m.due_to_close(stamp(now))):
                try:
                    done += self._close_window(session_id, now)
                except ConcurrencyConflict:
                    continue  # changed meanwhile (another replica, a member): next pass
                except Exception:
                    log.exception("feedback: closing the window of session %s failed", session_id)
        return done

    def _close_window(self, session_id: str, now: datetime) -> int:
        feedback = self.session_feedback(session_id)
        if not feedback.close(stamp(now)):
            return 0
        pair = self.pair_of(
            feedback.programme_id, feedback.mentorship_id, feedback.mentee_id, feedback.mentor_id
        )
        pair.add_session(feedback.session_id, feedback.held_at)
        pair.close_session(feedback.session_id, feedback.missing)
        pair.assess(stamp(now))
        self.save(feedback, pair)
        return 1

    # -- queries ------------------------------------------------------------
    def feedback_requests(self, participant_id: str, open_only: bool) -> list[dict[str, Any]]:
        parse_id("participant_id", participant_id)
        now = self.now()
        return self.query(lambda m: m.requests_of(participant_id, open_only, now))

    def surveys(self, participant_id: str, open_only: bool) -> list[dict[str, Any]]:
        parse_id("participant_id", participant_id)
        return self.query(lambda m: m.surveys_of(participant_id, open_only))

    def outcomes_report(self, programme_id: str) -> dict[str, Any]:
        """The programme's outcomes, every figure over too few people suppressed."""
        programme = self.programme(programme_id)
        pid = str(programme.programme_id)
        facts = self.query(lambda m: m.facts(pid))
        return {
            "programme_id": pid,
            "generated_at": self.now(),
            **report(facts, programme.min_group),
        }

    def pairs_at_risk(self, programme_id: str) -> list[dict[str, Any]]:
        pid = str(self.programme(programme_id).programme_id)
        return self.query(lambda m: m.pairs_at_risk(pid))

    def export_participant(self, participant_id: str) -> dict[str, Any]:
        """Everything held about them: their sessions' feedback (their own answers
        whole, the other member's ratings as they may see them) and their surveys."""
        parse_id("participant_id", participant_id)
        ids = self.query(lambda m: m.participant_ids(participant_id))
        if not ids:
            raise NotFound(f"participant {participant_id} has no feedback or surveys")
        now = self.now()
        sessions = []
        for session_id in ids.get("sessions", []):
            feedback = self.session_feedback(session_id)
            sessions.append({"session_id": session_id, **feedback.view_for(participant_id, now)})
        surveys = [self.survey(s) for s in ids.get("surveys", [])]
        return {
            "service": self.name,
            "participant_id": participant_id,
            "session_feedback": sessions,
            "surveys": [
                {"survey_id": str(s.id), "history": self.event_history(s.id)} for s in surveys
            ],
            "programmes": self.query(lambda m: m.participations_of(participant_id)),
            "pairs": self.query(lambda m: m.pairs_of(participant_id)),
        }


__all__ = ["BASELINE", "END", "FeedbackApplication"]
