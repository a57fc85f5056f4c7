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

from revmentor.feedback.domain import risk
from revmentor.feedback.domain.outcomes import report
from revmentor.feedback.domain.pair import Pair, pair_key
from revmentor.feedback.domain.participation import Participation, participation_key
from revmentor.feedback.domain.programme import FeedbackProgramme, changed_policy, programme_key
from revmentor.feedback.domain.ratings import MENTEE, MENTOR, SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.session import SessionFeedback, feedback_key
from revmentor.feedback.domain.survey import BASELINE, END, Survey, survey_key
from revmentor.feedback.readmodel import FeedbackReadModel
from revmentor.kernel.application import Saveable, ServiceApplication, expect_version
from revmentor.kernel.context import RequestContext, acting_as, current
from revmentor.kernel.errors import ConcurrencyConflict, NotFound
from revmentor.kernel.ids import parse_id
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.timestamps import stamp

log = logging.getLogger(__name__)

#: Who closes feedback windows (the actor of those events and of the flags they cause).
CLOSING_ACTOR = "service:feedback-windows"


class FeedbackApplication(ServiceApplication):
    name = "feedback"

    def __init__(
        self, env: dict[str, str] | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        super().__init__(env)
        self.clock = clock or (lambda: datetime.now(UTC))

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
        parse_id("session_id", session_id)
        found: SessionFeedback | None = self.get_as(feedback_key(session_id), SessionFeedback)
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
        self, programme_id: str, change: dict[str, int | None], expected_version: int = 0
    ) -> FeedbackProgramme:
        programme = self.programme(programme_id)
        expect_version(programme, expected_version, "programme")
        new = changed_policy(programme.policy, change)
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
        if self.find_pair(mentorship_id) is not None:
            return []
        return [
            Pair(
                programme_id=programme_id,
                mentorship_id=mentorship_id,
                match_id=match_id,
                mentee_id=mentee_id,
                mentor_id=mentor_id,
                opened_at=self.now(),
            )
        ]

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
        pair = self.find_pair(mentorship_id)
        if pair is None:  # the pair's opening is always first on scheduling's stream
            log.warning("feedback: session %s of unknown mentorship %s", session_id, mentorship_id)
            return [*changed, feedback]
        pair.add_session(session_id)
        self._assess(pair, {session_id: feedback})
        return [*changed, feedback, pair]

    def flag_stall(self, mentorship_id: str, since: str) -> list[Saveable]:
        pair = self.find_pair(mentorship_id)
        if pair is None or not pair.stall(since):
            return []
        self._assess(pair)
        return [pair]

    def close_pair(self, mentorship_id: str, outcome: str) -> list[Saveable]:
        """A completed mentorship asks both for their end survey; any ending clears risk."""
        pair = self.find_pair(mentorship_id)
        if pair is None:
            return []
        at = self.now()
        changed = pair.complete(at) if outcome == "completed" else pair.end(outcome, at)
        if not changed:
            return []
        self._assess(pair)
        surveys: list[Saveable] = []
        if outcome == "completed":
            members = {MENTEE: pair.mentee_id, MENTOR: pair.mentor_id}
            surveys = self.request_surveys(pair.programme_id, pair.match_id, members, END)
        return [pair, *surveys]

    def erase_participant(self, participant_id: str) -> None:
        """Crypto-shred their practices and confidential notes (sealed with their key)."""
        self.keys.destroy(participant_id)

    # -- risk ------------------------------------------------------------
    def _assess(self, pair: Pair, changed: Mapping[str, SessionFeedback] | None = None) -> bool:
        """Apply the at-risk rules to the pair's sessions (``changed``: ones being
        saved with it, newer than the store's)."""
        found = []
        for session_id in pair.session_ids:
            feedback = (changed or {}).get(session_id) or self.get_as(
                feedback_key(session_id), SessionFeedback
            )
            if feedback is not None:
                found.append(feedback)
        found.sort(key=lambda f: (f.held_at, f.session_id))  # logged late, held earlier
        return pair.assess([_record(f) for f in found], self.now())

    # -- commands ------------------------------------------------------------
    def submit_feedback(
        self,
        session_id: str,
        participant_id: str,
        answers: SessionAnswers,
        expected_version: int = 0,
    ) -> SessionFeedback:
        """A member's feedback (before the due time, again: an edit)."""
        feedback = self.session_feedback(session_id)
        expect_version(feedback, expected_version, "session feedback")
        programme = self.programme_of(feedback.programme_id)
        feedback.submit(participant_id, answers, programme.topics, self.now())
        pair = self.find_pair(feedback.mentorship_id)
        if pair is not None and self._assess(pair, {session_id: feedback}):
            self.save(feedback, pair)
        else:
            self.save(feedback)
        return feedback

    def submit_survey(self, survey_id: str, answers: SurveyAnswers) -> Survey:
        survey = self.survey(survey_id)
        programme = self.find_programme(survey.programme_id)
        catalogue = programme.topics if programme and survey.side == MENTEE else None
        survey.complete(answers, self.now(), catalogue)
        self.save(survey)
        return survey

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
        pair = self.find_pair(feedback.mentorship_id)
        if pair is not None and self._assess(pair, {session_id: feedback}):
            self.save(feedback, pair)
        else:
            self.save(feedback)
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
        }


def _record(feedback: SessionFeedback) -> risk.SessionRecord:
    ratings = feedback.ratings()
    return risk.SessionRecord(
        usefulness=tuple(int(r["usefulness"]) for r in ratings.values()),
        missing=tuple(feedback.missing),
        closed=feedback.closed,
    )


__all__ = ["BASELINE", "END", "FeedbackApplication"]
