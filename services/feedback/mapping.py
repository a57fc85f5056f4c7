"""Conversions between the feedback gRPC messages and the domain."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from revmentor.feedback.domain.programme import BOUNDS, FeedbackProgramme
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.survey import BASELINE, END, Survey
from revmentor.feedback.v1 import feedback_pb2 as pb
from revmentor.kernel.errors import FieldViolation, ValidationFailed

KIND = {BASELINE: pb.SURVEY_KIND_BASELINE, END: pb.SURVEY_KIND_END}
#: The policy fields a request may set, in the order the message has them.
POLICY_FIELDS = tuple(BOUNDS)


#: Where each answer the domain checks sits in the request (first name segment).
SUBMIT_FEEDBACK_PATHS = {
    "usefulness": "answers.ratings.",
    "topics": "answers.ratings.",
    "confidence": "answers.ratings.",
    "pedagogy": "answers.ratings.",
    "practices": "answers.",
    "note": "answers.",
}
SUBMIT_SURVEY_PATHS = {
    name: "answers."
    for name in ("understanding", "recommend", "skills", "coaching_confidence", "pedagogy")
}


def in_request(error: ValidationFailed, paths: Mapping[str, str]) -> ValidationFailed:
    """The domain's violations named as the request's fields (``usefulness`` ->
    ``answers.ratings.usefulness``), so a client knows which field to fix."""

    def named(field: str) -> str:
        head = re.split(r"[.\[]", field, maxsplit=1)[0]
        return paths.get(head, "") + field

    return ValidationFailed(
        [FieldViolation(named(v.field), v.description) for v in error.violations]
    )


# -- requests -> domain ------------------------------------------------------------------
def policy_change_from(request: pb.SetFeedbackPolicyRequest) -> dict[str, int | None]:
    """Every policy field: its value when present in the request, else None (keep)."""
    return {
        name: int(getattr(request, name)) if request.HasField(name) else None
        for name in POLICY_FIELDS
    }


def session_answers_from(message: pb.Answers) -> SessionAnswers:
    ratings = message.ratings
    return SessionAnswers(
        usefulness=ratings.usefulness,
        topics=tuple(ratings.topics),
        practices=tuple(message.practices),
        confidence=ratings.confidence if ratings.HasField("confidence") else None,
        pedagogy=ratings.pedagogy if ratings.HasField("pedagogy") else None,
        note=message.note,
    )


def survey_answers_from(message: pb.SurveyAnswers) -> SurveyAnswers:
    return SurveyAnswers(
        understanding=message.understanding,
        recommend=message.recommend,
        skills=dict(message.skills),
        coaching_confidence=(
            message.coaching_confidence if message.HasField("coaching_confidence") else None
        ),
        pedagogy=message.pedagogy if message.HasField("pedagogy") else None,
    )


# -- domain -> responses -----------------------------------------------------------------
def policy_message(programme: FeedbackProgramme) -> pb.FeedbackPolicy:
    return pb.FeedbackPolicy(
        programme_id=str(programme.programme_id),
        feedback_window_days=programme.window_days,
        min_group_size=programme.min_group,
        topics=programme.topics,
        version=programme.version,
    )


def ratings_message(ratings: Mapping[str, Any] | None) -> pb.Ratings | None:
    if not ratings:
        return None
    return pb.Ratings(
        usefulness=int(ratings["usefulness"]),
        topics=list(ratings.get("topics") or []),
        confidence=ratings.get("confidence"),
        pedagogy=ratings.get("pedagogy"),
        submitted_at=str(ratings.get("submitted_at", "")),
    )


def answers_message(answers: Mapping[str, Any] | None) -> pb.Answers | None:
    if not answers:
        return None
    practices = answers.get("practices")
    return pb.Answers(
        ratings=ratings_message(answers),
        practices=list(practices) if isinstance(practices, list) else [],
        note=str(answers.get("note") or ""),
    )


def session_feedback_message(
    record: Any, view: Mapping[str, Any], closed: bool, answered: list[str]
) -> pb.SessionFeedback:
    return pb.SessionFeedback(
        session_id=record.session_id,
        mentorship_id=record.mentorship_id,
        programme_id=str(record.programme_id),
        held_at=record.held_at,
        due_at=record.due_at,
        closed=closed,
        revealed=bool(view["revealed"]),
        own=answers_message(view["own"]),
        other=ratings_message(view["other"]),
        answered=answered,
        version=record.version,
        voided=record.voided,
    )


def request_message(view: Mapping[str, Any]) -> pb.FeedbackRequest:
    return pb.FeedbackRequest(
        session_id=view["session_id"],
        mentorship_id=view["mentorship_id"],
        due_at=view["due_at"],
        answered=bool(view["answered"]),
        closed=bool(view["closed"]),
    )


def survey_answers_message(answers: Mapping[str, Any]) -> pb.SurveyAnswers | None:
    if not answers:
        return None
    return pb.SurveyAnswers(
        understanding=int(answers["understanding"]),
        recommend=int(answers["recommend"]),
        skills={k: int(v) for k, v in (answers.get("skills") or {}).items()},
        coaching_confidence=answers.get("coaching_confidence"),
        pedagogy=answers.get("pedagogy"),
    )


def survey_message(survey: Survey, topics: list[str], with_answers: bool) -> pb.Survey:
    return pb.Survey(
        survey_id=str(survey.id),
        programme_id=str(survey.programme_id),
        match_id=survey.match_id,
        participant_id=survey.participant_id,
        kind=KIND.get(survey.kind, pb.SURVEY_KIND_UNSPECIFIED),
        topics=topics,
        requested_at=survey.requested_at,
        completed_at=survey.completed_at,
        answers=survey_answers_message(survey.answers) if with_answers else None,
    )


def survey_view_message(view: Mapping[str, Any], topics: list[str]) -> pb.Survey:
    """A survey in a list: without its answers."""
    return pb.Survey(
        survey_id=view["survey_id"],
        programme_id=view["programme_id"],
        match_id=view["match_id"],
        participant_id=view["participant_id"],
        kind=KIND.get(view["kind"], pb.SURVEY_KIND_UNSPECIFIED),
        topics=topics if view["side"] == "mentee" else [],
        requested_at=view["requested_at"],
        completed_at=view["completed_at"],
    )


def figure_message(figure: Mapping[str, Any]) -> pb.Figure:
    return pb.Figure(
        value=figure["value"], people=int(figure["people"]), suppressed=bool(figure["suppressed"])
    )


def change_message(change: Mapping[str, Any]) -> pb.Change:
    distribution = change.get("distribution") or {}
    return pb.Change(
        mean=figure_message(change["mean"]),
        distribution={int(k): int(v) for k, v in distribution.items()},
    )


def report_message(report: Mapping[str, Any]) -> pb.OutcomesReport:
    return pb.OutcomesReport(
        programme_id=report["programme_id"],
        generated_at=report["generated_at"],
        min_group_size=int(report["min_group_size"]),
        funnel=[
            pb.FunnelStage(stage=s["stage"], role=s["role"], count=figure_message(s))
            for s in report["funnel"]
        ],
        sessions_held=int(report["sessions_held"]["value"] or 0),  # deprecated: 0 if hidden
        sessions=figure_message(report["sessions_held"]),
        average_usefulness=figure_message(report["average_usefulness"]),
        nps=figure_message(report["nps"]),
        mentee_skill_change={
            topic: change_message(c) for topic, c in report["mentee_skill_change"].items()
        },
        mentor_pedagogy_change=change_message(report["mentor_pedagogy_change"]),
        mentor_confidence_change=change_message(report["mentor_confidence_change"]),
        understanding_change=change_message(report["understanding_change"]),
        days_enrolment_to_first_session=figure_message(report["days_enrolment_to_first_session"]),
    )


def pair_message(view: Mapping[str, Any]) -> pb.PairAtRisk:
    return pb.PairAtRisk(
        mentorship_id=view["mentorship_id"],
        mentee_id=view["mentee_id"],
        mentor_id=view["mentor_id"],
        reasons=list(view["reasons"]),
        codes=list(view["codes"]),
        flagged_at=view["flagged_at"],
    )
