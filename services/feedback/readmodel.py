"""The feedback read model: requests, surveys, pairs and the facts of the report.

Built only from the notification log (replay equals live). It keeps ratings
and survey answers (scores tied to opaque ids) and never a sealed field:
practices and confidential notes are read from the aggregate, by their author.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from revmentor.feedback.domain import outcomes
from revmentor.feedback.domain.pair import ACTIVE, COMPLETED
from revmentor.feedback.domain.programme import Policy
from revmentor.feedback.domain.ratings import MENTEE, MENTOR
from revmentor.feedback.domain.survey import BASELINE, END
from revmentor.kernel.readmodel import ReadModel
from revmentor.kernel.timestamps import parse

_RATING_KEYS = ("usefulness", "topics", "confidence", "pedagogy")


class FeedbackReadModel(ReadModel):
    def __init__(self) -> None:
        super().__init__()
        self.programmes: dict[str, dict[str, Any]] = {}
        #: programme -> participant -> {role, enrolled_at, certified}
        self.participants: dict[str, dict[str, dict[str, Any]]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.surveys: dict[str, dict[str, Any]] = {}
        self.pairs: dict[str, dict[str, Any]] = {}
        self.by_participant: dict[str, dict[str, list[str]]] = {}
        # aggregate id -> what it is about (events carry the aggregate id only)
        self.programme_of_key: dict[str, str] = {}
        self.participation_of_key: dict[str, tuple[str, str]] = {}
        self.session_of_key: dict[str, str] = {}
        self.pair_of_key: dict[str, str] = {}
        #: sessions whose window is neither closed nor voided (the closing job's scan)
        self.open_sessions: set[str] = set()

    def apply(self, event: Any, envelope: dict[str, Any]) -> None:
        handler = _HANDLERS.get(type(event).__qualname__)
        if handler is not None:
            handler(self, event)

    def _index(self, participant_id: str, kind: str, item_id: str) -> None:
        self.by_participant.setdefault(participant_id, {}).setdefault(kind, []).append(item_id)

    def _programme(self, programme_id: str) -> dict[str, Any]:
        return self.programmes.setdefault(
            programme_id,
            {
                "topics": [],
                "policy": Policy().as_dict(),
                "sessions": [],
                "surveys": [],
                "pairs": [],
            },
        )

    # -- programmes and participants ----------------------------------------------------
    def _registered(self, e: Any) -> None:
        self.programme_of_key[str(e.originator_id)] = str(e.programme_id)
        self._programme(str(e.programme_id))

    def _catalogue(self, e: Any) -> None:
        self._programme(self.programme_of_key[str(e.originator_id)])["topics"] = list(e.topics)

    def _policy(self, e: Any) -> None:
        self._programme(self.programme_of_key[str(e.originator_id)])["policy"] = dict(e.policy)

    def _participation(self, e: Any) -> None:
        self._index(e.participant_id, "participations", str(e.programme_id))
        row = {"role": "", "enrolled_at": "", "certified": False}
        self.participants.setdefault(str(e.programme_id), {})[e.participant_id] = row
        self.participation_of_key[str(e.originator_id)] = (str(e.programme_id), e.participant_id)

    def _row(self, e: Any) -> dict[str, Any]:
        programme_id, participant_id = self.participation_of_key[str(e.originator_id)]
        return self.participants[programme_id][participant_id]

    def _enrolled(self, e: Any) -> None:
        self._row(e).update(role=e.role, enrolled_at=e.enrolled_at)

    def _certified(self, e: Any) -> None:
        self._row(e).update(certified=True, role=self._row(e)["role"] or MENTOR)

    # -- sessions -----------------------------------------------------------------------
    def _requested(self, e: Any) -> None:
        programme_id = str(e.programme_id)
        self.sessions[e.session_id] = {
            "session_id": e.session_id,
            "mentorship_id": e.mentorship_id,
            "programme_id": programme_id,
            "mentee_id": e.mentee_id,
            "mentor_id": e.mentor_id,
            "held_at": e.held_at,
            "due_at": e.due_at,
            "closed": False,
            "voided": False,
            "ratings": {},
            "version": e.originator_version,
        }
        self.session_of_key[str(e.originator_id)] = e.session_id
        self.open_sessions.add(e.session_id)
        self._programme(programme_id)["sessions"].append(e.session_id)
        for pid in (e.mentee_id, e.mentor_id):
            self._index(pid, "sessions", e.session_id)

    def _session(self, e: Any) -> dict[str, Any]:
        view = self.sessions[self.session_of_key[str(e.originator_id)]]
        view["version"] = e.originator_version
        return view

    def _submitted(self, e: Any) -> None:
        ratings = {k: getattr(e, k) for k in _RATING_KEYS if getattr(e, k) is not None}
        self._session(e)["ratings"][e.side] = ratings

    def _closed(self, e: Any) -> None:
        self._session(e).update(closed=True, missing=list(e.missing))
        self.open_sessions.discard(e.session_id)

    def _voided(self, e: Any) -> None:
        self._session(e)["voided"] = True
        self.open_sessions.discard(e.session_id)

    # -- surveys ------------------------------------------------------------------------
    def _survey_requested(self, e: Any) -> None:
        survey_id = str(e.originator_id)
        self.surveys[survey_id] = {
            "survey_id": survey_id,
            "programme_id": str(e.programme_id),
            "match_id": e.match_id,
            "participant_id": e.participant_id,
            "side": e.side,
            "kind": e.kind,
            "requested_at": e.requested_at,
            "completed_at": "",
            "answers": {},
        }
        self._programme(str(e.programme_id))["surveys"].append(survey_id)
        self._index(e.participant_id, "surveys", survey_id)

    def _survey_completed(self, e: Any) -> None:
        self.surveys[str(e.originator_id)].update(completed_at=e.at, answers=dict(e.answers))

    # -- pairs --------------------------------------------------------------------------
    def _pair_opened(self, e: Any) -> None:
        self.pairs[e.mentorship_id] = {
            "mentorship_id": e.mentorship_id,
            "programme_id": str(e.programme_id),
            "match_id": e.match_id,
            "mentee_id": e.mentee_id,
            "mentor_id": e.mentor_id,
            "status": ACTIVE,
            "codes": [],
            "reasons": [],
            "flagged_at": "",
        }
        self.pair_of_key[str(e.originator_id)] = e.mentorship_id
        self._programme(str(e.programme_id))["pairs"].append(e.mentorship_id)

    def _pair(self, e: Any) -> dict[str, Any]:
        return self.pairs[self.pair_of_key[str(e.originator_id)]]

    def _linked(self, e: Any) -> None:
        self._pair(e)["match_id"] = e.match_id

    def _pair_completed(self, e: Any) -> None:
        self._pair(e)["status"] = COMPLETED

    def _pair_ended(self, e: Any) -> None:
        self._pair(e)["status"] = "ended"

    def _flagged(self, e: Any) -> None:
        view = self._pair(e)
        if e.new_codes or not view["flagged_at"]:
            view["flagged_at"] = e.at
        view.update(codes=list(e.codes), reasons=list(e.reasons))

    def _cleared(self, e: Any) -> None:
        self._pair(e).update(codes=[], reasons=[], flagged_at="")

    # -- queries ------------------------------------------------------------------------
    def requests_of(self, participant_id: str, open_only: bool, now: str) -> list[dict[str, Any]]:
        """A member's feedback requests, newest session first."""
        out = []
        for sid in self.by_participant.get(participant_id, {}).get("sessions", []):
            view = self.sessions[sid]
            if view["voided"]:
                continue
            side = MENTEE if view["mentee_id"] == participant_id else MENTOR
            closed = view["closed"] or view["due_at"] <= now
            answered = side in view["ratings"]
            if open_only and (closed or answered):
                continue
            out.append(view | {"answered": answered, "closed": closed})
        return sorted(out, key=lambda v: (v["held_at"], v["session_id"]), reverse=True)

    def surveys_of(self, participant_id: str, open_only: bool) -> list[dict[str, Any]]:
        ids = self.by_participant.get(participant_id, {}).get("surveys", [])
        views = [self.surveys[s] for s in ids]
        views = [v for v in views if not (open_only and v["completed_at"])]
        return sorted(views, key=lambda v: (v["requested_at"], v["survey_id"]), reverse=True)

    def due_to_close(self, now: str) -> list[str]:
        """Sessions whose feedback window has passed but is not recorded closed."""
        return sorted(sid for sid in self.open_sessions if self.sessions[sid]["due_at"] <= now)

    def pairs_at_risk(self, programme_id: str) -> list[dict[str, Any]]:
        ids = self.programmes.get(programme_id, {}).get("pairs", [])
        views = [self.pairs[m] for m in ids if self.pairs[m]["codes"]]
        return sorted(views, key=lambda v: (v["flagged_at"], v["mentorship_id"]))

    def participations_of(self, participant_id: str) -> list[dict[str, Any]]:
        """What the funnel holds about them, per programme (exports)."""
        return [
            {"programme_id": programme_id, **people[participant_id]}
            for programme_id, people in sorted(self.participants.items())
            if participant_id in people
        ]

    def pairs_of(self, participant_id: str) -> list[dict[str, Any]]:
        """Their pairs with the at-risk reasons recorded about them (exports)."""
        return [
            dict(p)
            for p in self.pairs.values()
            if participant_id in (p["mentee_id"], p["mentor_id"])
        ]

    def participant_ids(self, participant_id: str) -> dict[str, list[str]]:
        return self.by_participant.get(participant_id, {})

    def facts(self, programme_id: str) -> outcomes.Facts:
        """What the outcomes report of a programme is computed from."""
        programme = self.programmes.get(programme_id) or self._programme(programme_id)
        sessions = [self.sessions[s] for s in programme["sessions"]]
        sessions = [s for s in sessions if not s["voided"]]  # no-shows did not take place
        surveys = [self.surveys[s] for s in programme["surveys"]]
        pairs = [self.pairs[m] for m in programme["pairs"]]
        people = self.participants.get(programme_id, {})
        return outcomes.Facts(
            topics=list(programme["topics"]),
            funnel=_funnel(people, surveys, sessions, pairs),
            sessions_held=len(sessions),
            usefulness=_usefulness(sessions),
            recommend={
                s["participant_id"]: s["answers"]["recommend"]
                for s in _latest(surveys, END).values()
            },
            baseline={p: s["answers"] for p, s in _earliest(surveys, BASELINE).items()},
            end={p: s["answers"] for p, s in _latest(surveys, END).items()},
            days_to_first_session=_days_to_first(people, sessions),
        )

    def programme_state(self, programme_id: str) -> Any:
        """The programme's feedback as aggregates: the outcomes report (small
        groups suppressed, as managers see it), the funnel's people, which side
        answered each session, survey completion and every pair with its
        at-risk codes. No single rating or answer: those stay with the report's
        suppression."""
        programme = self.programmes.get(programme_id)
        if programme is None:
            return {}
        min_group = int(programme["policy"]["min_group_size"])
        return {
            "policy": programme["policy"],
            "topics": programme["topics"],
            "participants": self.participants.get(programme_id, {}),
            "sessions": {s: _session_facts(self.sessions[s]) for s in programme["sessions"]},
            "surveys": {s: _survey_facts(self.surveys[s]) for s in programme["surveys"]},
            "pairs": {m: self.pairs[m] for m in programme["pairs"]},
            "report": outcomes.report(self.facts(programme_id), min_group),
        }

    def snapshot(self) -> Any:
        return {
            "programmes": self.programmes,
            "participants": self.participants,
            "sessions": self.sessions,
            "surveys": self.surveys,
            "pairs": self.pairs,
            "by_participant": self.by_participant,
        }


def _session_facts(view: dict[str, Any]) -> dict[str, Any]:
    facts = {k: v for k, v in view.items() if k not in ("ratings", "session_id")}
    return facts | {"answered": sorted(view["ratings"])}


def _survey_facts(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in ("answers", "survey_id")}


def _funnel(
    people: dict[str, dict[str, Any]],
    surveys: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    pairs: list[dict[str, Any]],
) -> dict[str, dict[str, int]]:
    """Role -> stage -> people who reached it. Matched: a baseline survey was asked
    of them (one per confirmed match); met: a member of a held session."""
    reached: dict[str, dict[str, set[str]]] = {
        role: {stage: set() for stage in outcomes.FUNNEL} for role in (MENTEE, MENTOR)
    }
    for pid, row in people.items():
        if row["role"] in reached and row["enrolled_at"]:
            reached[row["role"]]["enrolled"].add(pid)
        if row["certified"]:
            reached[MENTOR]["certified"].add(pid)
    for survey in surveys:
        if survey["kind"] == BASELINE and survey["side"] in reached:
            reached[survey["side"]]["matched"].add(survey["participant_id"])
    for session in sessions:
        reached[MENTEE]["met"].add(session["mentee_id"])
        reached[MENTOR]["met"].add(session["mentor_id"])
    for pair in pairs:
        if pair["status"] == COMPLETED:
            reached[MENTEE]["completed"].add(pair["mentee_id"])
            reached[MENTOR]["completed"].add(pair["mentor_id"])
    return {role: {k: len(v) for k, v in stages.items()} for role, stages in reached.items()}


def _usefulness(sessions: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Rater -> the usefulness they gave, every session."""
    out: dict[str, list[int]] = {}
    for session in sessions:
        for side, ratings in session["ratings"].items():
            rater = session["mentee_id"] if side == MENTEE else session["mentor_id"]
            out.setdefault(rater, []).append(int(ratings["usefulness"]))
    return out


def _completed(surveys: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    done = [s for s in surveys if s["kind"] == kind and s["completed_at"]]
    return sorted(done, key=lambda s: (s["completed_at"], s["survey_id"]))


def _earliest(surveys: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """Respondent -> their first completed survey of ``kind`` (a rematched person
    is measured from where they started)."""
    out: dict[str, dict[str, Any]] = {}
    for survey in _completed(surveys, kind):
        out.setdefault(survey["participant_id"], survey)
    return out


def _latest(surveys: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {s["participant_id"]: s for s in _completed(surveys, kind)}


def _days_to_first(
    people: dict[str, dict[str, Any]], sessions: list[dict[str, Any]]
) -> dict[str, float]:
    """Participant -> days from their enrolment to their first held session.

    Left out: anyone whose enrolment is unknown, and anyone whose first session
    was held *before* their enrolment - a data error (a session logged for a
    date before the person was on the platform), not a wait of zero days.
    Counting it as 0 would pull the mean down silently; measuring from their
    first session after enrolment would report a later session as their first.
    Both leave the figure with fewer people, which its people count shows.
    """
    first: dict[str, str] = {}
    for session in sessions:
        for pid in (session["mentee_id"], session["mentor_id"]):
            if pid not in first or session["held_at"] < first[pid]:
                first[pid] = session["held_at"]
    out = {}
    for pid, held_at in first.items():
        enrolled_at = people.get(pid, {}).get("enrolled_at", "")
        if not enrolled_at:
            continue
        delta = parse(held_at) - parse(enrolled_at)
        if delta.total_seconds() >= 0:
            out[pid] = delta.total_seconds() / 86400
    return out


_HANDLERS: dict[str, Callable[[FeedbackReadModel, Any], None]] = {
    "FeedbackProgramme.Registered": FeedbackReadModel._registered,
    "FeedbackProgramme.CatalogueRecorded": FeedbackReadModel._catalogue,
    "FeedbackProgramme.PolicyChanged": FeedbackReadModel._policy,
    "Participation.Registered": FeedbackReadModel._participation,
    "Participation.Enrolled": FeedbackReadModel._enrolled,
    "Participation.Certified": FeedbackReadModel._certified,
    "SessionFeedback.Requested": FeedbackReadModel._requested,
    "SessionFeedback.Submitted": FeedbackReadModel._submitted,
    "SessionFeedback.Closed": FeedbackReadModel._closed,
    "SessionFeedback.Voided": FeedbackReadModel._voided,
    "Survey.Requested": FeedbackReadModel._survey_requested,
    "Survey.Completed": FeedbackReadModel._survey_completed,
    "Pair.Opened": FeedbackReadModel._pair_opened,
    "Pair.Linked": FeedbackReadModel._linked,
    "Pair.Completed": FeedbackReadModel._pair_completed,
    "Pair.Ended": FeedbackReadModel._pair_ended,
    "Pair.FlaggedAtRisk": FeedbackReadModel._flagged,
    "Pair.RiskCleared": FeedbackReadModel._cleared,
}
