"""``programme_state`` of every service's read model never shows personal data.

``programme_state(programme_id)`` is what an auditor's point-in-time replay
(``revmentor.kernel.replay``, ``AuditLogService.ReplayProgramme``) shows of a
programme, so it must hold no personal data (docs/security.md). What must hold,
for enrolment, training, matching, scheduling and feedback, on SQLite and
PostgreSQL: a programme built through the service's application, with every
field named in an event class's ``personal_fields`` (and every profile field in
``PROFILE_PATHS``) filled with a marker found nowhere else, shows none of the
markers - neither in the live model's state nor in a replay of the log - while
the state does show the programme's participants, records, rounds, matches,
mentorships, sessions and surveys (so an empty state cannot pass). The set of
personal fields covered here is the set the domain declares: a new personal
field fails the inventory test until a marker is placed for it. After an
erasure, enrolment's rebuilt and replayed states equal the live one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from support import mentions, tick

from revmentor.enrolment.application import EnrolmentApplication
from revmentor.enrolment.domain.participant import PROFILE_PATHS
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    PERSONAL_FIELDS,
    AvailabilityWindow,
    Consent,
    LearningNeed,
    Profile,
)
from revmentor.enrolment.domain.programme import ProgrammeRules, Topic
from revmentor.feedback.application import FeedbackApplication
from revmentor.feedback.domain.ratings import SessionAnswers, SurveyAnswers
from revmentor.feedback.domain.survey import BASELINE
from revmentor.kernel import replay
from revmentor.kernel.timestamps import stamp
from revmentor.matching.application import MatchingApplication
from revmentor.matching.domain.programme import MatchingProgramme
from revmentor.scheduling.application import SchedulingApplication
from revmentor.training.application import TrainingApplication
from revmentor.training.domain.curriculum import ProgrammeTraining
from revmentor.training.domain.record import TrainingRecord

SERVICES = ("enrolment", "training", "matching", "scheduling", "feedback")

#: Every personal field the domain declares, by event class: what the tests below
#: fill with markers (kept equal to the declarations by the inventory test).
COVERED: dict[str, set[str]] = {
    "Participant.Enrolled": {"employee_id", "consent", "registration_id", *PROFILE_PATHS},
    "Participant.ProfileUpdated": set(PROFILE_PATHS),
    "Participant.Withdrawn": {"note"},
    "Participant.Erased": {"reason"},
    "EmployeeRegistration.Registered": {"participant_id"},
    "TrainingRecord.ModuleWaived": {"reason"},
    "TrainingRecord.CertificationRevoked": {"reason"},
    "Match.Proposed": {"checks", "breakdown", "override_justification"},
    "Match.Declined": {"reason"},
    "Match.Ended": {"reason"},
    "Mentorship.SessionScheduled": {"location", "meeting_link", "agenda"},
    "Mentorship.SessionCancelled": {"reason"},
    "Mentorship.AttendanceDisputed": {"reason"},
    "SessionFeedback.Submitted": {"practices", "note"},
}


@pytest.fixture(autouse=True)
def private_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The development KEK and anything else under var/ stay in the test's directory."""
    monkeypatch.setenv("REVMENTOR_VAR_DIR", str(tmp_path / "var"))


def marker(field: str) -> str:
    return f"PII-{field}-marker"


def shown(app: Any, programme_id: str) -> tuple[Any, str]:
    """The live ``programme_state``, and every text an auditor could be shown of it:
    the live state as JSON and the state replayed from the log."""
    live = app.query(lambda model: model.programme_state(programme_id))
    text = json.dumps(live, sort_keys=True, ensure_ascii=False, default=str)
    replayed = replay.replay(app, None).state_of(programme_id)
    return live, f"{text}\n{replayed}"


def assert_no_markers(
    text: str,
    markers: dict[str, str],
    tokens: dict[str, str] | None = None,
    keys: tuple[str, ...] = (),
) -> None:
    """No marker as a substring, no token (a year) as a whole token, and no
    personal field by name either (a value shown withheld or erased is still
    the field shown)."""
    leaked = {field: value for field, value in markers.items() if value in text}
    leaked |= {field: value for field, value in (tokens or {}).items() if mentions(text, value)}
    leaked |= {f"key {key}": key for key in keys if json.dumps(key) in text}
    assert not leaked, f"personal data in programme_state: {leaked}"


# -- the inventory ------------------------------------------------------------------------------
def declared_personal_fields() -> dict[str, set[str]]:
    """Event class -> personal fields, over every aggregate of every service's domain."""
    found: dict[str, set[str]] = {}
    for service in SERVICES:
        package = importlib.import_module(f"revmentor.{service}.domain")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for _, aggregate in inspect.getmembers(module, inspect.isclass):
                if not issubclass(aggregate, Aggregate) or aggregate.__module__ != module.__name__:
                    continue
                for name in dir(aggregate):
                    member = getattr(aggregate, name)
                    fields = (
                        getattr(member, "personal_fields", ()) if inspect.isclass(member) else ()
                    )
                    if fields:
                        found[member.__qualname__] = set(fields)
    return found


def test_every_declared_personal_field_gets_a_marker_here() -> None:
    declared = declared_personal_fields()
    assert declared == COVERED, (
        "personal fields changed: place a marker for each new one in this module's tests"
    )
    assert set(PROFILE_PATHS) == {f"profile.{name}" for name in PERSONAL_FIELDS}


# -- enrolment ------------------------------------------------------------------------------------
TOPICS = [
    Topic("generative-ai", "Generative AI at work"),
    Topic("social-media", "Social media for leaders"),
]


class Marked:
    """Markers for one participant's profile versions, consent and ids."""

    def __init__(self) -> None:
        self.markers: dict[str, str] = {}
        self.tokens: dict[str, str] = {}
        #: instants between the story's steps, for point-in-time replays
        self.instants: list[datetime] = []

    def profile(
        self, tag: str, role: str, birth_year: int, zone: str, window: tuple[str, str]
    ) -> Profile:
        """A valid profile with a marker in every personal field (``PERSONAL_FIELDS``)."""
        start, end = window
        values: dict[str, Any] = {
            "display_name": marker(f"display_name-{tag}"),
            "email": f"pii-email-{tag}-marker@example.com",
            "birth_year": birth_year,
            "department": marker(f"department-{tag}"),
            "manager_employee_id": marker(f"manager_employee_id-{tag}"),
            "site": marker(f"site-{tag}"),
            "time_zone": zone,  # an IANA name is required: a rare zone, used nowhere else
            "languages": (f"qaa-Pii{tag}",),  # a BCP 47 tag is required: a private-use one
            "availability": (AvailabilityWindow(4, start, end),),
        }
        assert set(values) == set(PERSONAL_FIELDS)
        for field in ("display_name", "email", "department", "manager_employee_id", "site"):
            self.markers[f"{tag}.{field}"] = values[field]
        self.markers[f"{tag}.time_zone"] = zone
        self.markers[f"{tag}.languages"] = f"Pii{tag}"
        # Numbers and clock times can only be markers as whole tokens: a year
        # as a token, the window's times as the JSON strings a leak would be.
        # (The weekday, 1-7, cannot be a marker: any small number is.)
        self.tokens[f"{tag}.birth_year"] = str(birth_year)
        self.markers[f"{tag}.availability.start"] = json.dumps(start)
        self.markers[f"{tag}.availability.end"] = json.dumps(end)
        facts: dict[str, Any] = (
            {"skills_offered": ("generative-ai",), "skill_levels": (("generative-ai", 3),)}
            if role == MENTOR
            else {"learning_needs": (LearningNeed("social-media", 1),)}
        )
        return Profile(**values, **facts, meeting_preference="virtual")

    def consent(self, tag: str, given_at: str) -> Consent:
        # ``given`` cannot be a marker: it must be true to enrol.
        self.markers[f"{tag}.consent.notice_version"] = f"PII-consent-{tag}"
        self.markers[f"{tag}.consent.given_at"] = given_at
        return Consent(True, f"PII-consent-{tag}", given_at)

    def employee_id(self, tag: str) -> str:
        value = marker(f"employee_id-{tag}")
        self.markers[f"{tag}.employee_id"] = value
        return value


@pytest.fixture
def enrolment_app(store: dict[str, str]) -> Iterator[EnrolmentApplication]:
    app = EnrolmentApplication(env=store)
    yield app
    app.close()


def enrolment_story(app: EnrolmentApplication, marked: Marked) -> tuple[str, dict[str, str]]:
    """A mentor who changes every profile field, a mentee who withdraws with a note,
    a mentee erased with a reason. (programme id, participant id by story role)."""
    programme = app.create_programme(
        "Privacy pilot", "", "2025-01-01", "2025-12-31", TOPICS, ProgrammeRules()
    )
    programme_id = str(programme.id)
    app.open_enrolment(programme_id)

    mentor = app.enrol(
        programme_id,
        marked.employee_id("ma"),
        MENTOR,
        marked.profile("ma", MENTOR, 1931, "Pacific/Chatham", ("06:07", "08:19")),
        marked.consent("ma", "1936-02-03T04:05:06Z"),
    )
    updated = marked.profile("mb", MENTOR, 1932, "Asia/Kathmandu", ("05:11", "07:23"))
    marked.instants.append(tick())
    app.update_profile(str(mentor.id), updated)
    assert app.participant(str(mentor.id)).profile == updated, "every profile field changed"

    leaver = app.enrol(
        programme_id,
        marked.employee_id("ea"),
        MENTEE,
        marked.profile("ea", MENTEE, 1933, "Pacific/Marquesas", ("13:17", "15:29")),
        marked.consent("ea", "1937-03-04T05:06:07Z"),
    )
    marked.markers["ea.withdrawal_note"] = marker("withdrawal-note")
    marked.instants.append(tick())
    app.withdraw(str(leaver.id), "workload", marked.markers["ea.withdrawal_note"])
    marked.instants.append(tick())

    erased = app.enrol(
        programme_id,
        marked.employee_id("xa"),
        MENTEE,
        marked.profile("xa", MENTEE, 1934, "Australia/Eucla", ("16:41", "18:53")),
        marked.consent("xa", "1938-04-05T06:07:08Z"),
    )
    marked.markers["xa.erasure_reason"] = marker("erasure-reason")
    marked.instants.append(tick())
    app.erase_participant(str(erased.id), marked.markers["xa.erasure_reason"])

    for tag, participant in (("ma", mentor), ("ea", leaver), ("xa", erased)):
        # the registration index's id links the employee to the participant:
        # sealed (``registration_id``), never shown. (``Registered.participant_id``
        # cannot be a marker: it is the participant's id, which the state shows.)
        registration = participant.registration_id
        assert isinstance(registration, UUID)
        marked.markers[f"{tag}.registration_id"] = str(registration)
        marked.markers[f"{tag}.registration_id.hex"] = registration.hex
    ids = {"mentor": str(mentor.id), "leaver": str(leaver.id), "erased": str(erased.id)}
    return programme_id, ids


def test_enrolment_programme_state_shows_no_personal_data(
    enrolment_app: EnrolmentApplication,
) -> None:
    marked = Marked()
    programme_id, ids = enrolment_story(enrolment_app, marked)
    state, text = shown(enrolment_app, programme_id)

    assert state["programme"]["name"] == "Privacy pilot"
    statuses = {pid: view["status"] for pid, view in state["participants"].items()}
    assert statuses == {
        ids["mentor"]: "enrolled",
        ids["leaver"]: "withdrawn",
        ids["erased"]: "erased",
    }
    assert state["participants"][ids["leaver"]]["withdrawal_reason"] == "workload"
    assert len(marked.markers) > 40 and len(marked.tokens) == 4
    # the states an auditor gets at instants between the steps (the personal
    # values were live then, and the model read them)
    past = [replay.replay(enrolment_app, at).state_of(programme_id) for at in marked.instants]
    before_erasure = json.loads(past[-1])["participants"]
    assert before_erasure[ids["erased"]]["status"] == "enrolled"
    text = "\n".join([text, *past])
    assert_no_markers(
        text,
        marked.markers,
        marked.tokens,
        keys=("profile", "employee_id", "consent", "registration_id", "note", "reason"),
    )


def test_enrolment_replay_equals_live_after_an_erasure(
    enrolment_app: EnrolmentApplication,
) -> None:
    programme_id, ids = enrolment_story(enrolment_app, Marked())
    live = enrolment_app.query(lambda model: model.programme_state(programme_id))
    assert live["participants"][ids["erased"]]["status"] == "erased"
    assert live["programme"]["mentee_count"] == 0 and live["programme"]["mentor_count"] == 1

    rebuilt = enrolment_app.rebuild_read_model().programme_state(programme_id)
    assert rebuilt == live
    replayed = replay.replay(enrolment_app, None).state_of(programme_id)
    assert replayed == replay.canonical(live)


# -- training -------------------------------------------------------------------------------------
def open_record(app: TrainingApplication, programme_id: UUID, role: str) -> str:
    """A record opened as the enrolment subscription opens it."""
    participant_id = uuid.uuid4()
    programme = app.find_programme(programme_id)
    assert programme is not None
    record = TrainingRecord.open(
        participant_id, programme_id, role, programme.current_version, programme.current_modules
    )
    app.save(record)
    return str(participant_id)


def complete_all(app: TrainingApplication, participant_id: str) -> None:
    record = app.record(participant_id)
    for module in record.pinned:
        if record.credited.get(module.id) or not module.required:
            continue
        if module.kind == "workshop":
            app.record_attendance(participant_id, module.id, "2027-01-04")
        else:
            app.complete_module(participant_id, module.id, 100)


def test_training_programme_state_shows_no_personal_data(store: dict[str, str]) -> None:
    app = TrainingApplication(env=store)
    try:
        programme_id = uuid.uuid4()
        app.save(ProgrammeTraining.register(programme_id, "2027-01-11"))
        waived = open_record(app, programme_id, "mentor")
        revoked = open_record(app, programme_id, "mentor")
        mentee = open_record(app, programme_id, "mentee")
        markers = {
            "waiver.feedback": marker("waiver-reason-1"),
            "waiver.hierarchy": marker("waiver-reason-2"),
            "revocation": marker("revocation-reason"),
        }
        app.waive_module(waived, "feedback", markers["waiver.feedback"])
        app.waive_module(waived, "hierarchy-power-distance", markers["waiver.hierarchy"])
        complete_all(app, revoked)
        assert app.record(revoked).status == "certified"
        app.revoke_certification(revoked, markers["revocation"])
        app.start_module(mentee, "mentee-expectations")

        state, text = shown(app, str(programme_id))
    finally:
        app.close()

    statuses = {pid: view["status"] for pid, view in state["records"].items()}
    assert statuses == {waived: "in_progress", revoked: "revoked", mentee: "in_progress"}
    assert state["programme"]["start_date"] == "2027-01-11"
    assert_no_markers(text, markers, keys=("reason", "waiver_reasons", "revocation_reason"))


# -- matching -------------------------------------------------------------------------------------
class Attributes:
    """What enrolment's GetMatchingAttributes would answer, per participant id."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}

    def __call__(self, ids: Any) -> dict[str, dict[str, Any]]:
        return {pid: self.rows[pid] for pid in ids if pid in self.rows}


#: The one language the pairs share: matching's explanation says
#: "shared language: <it>", so it is a marker placed inside the sealed ``checks``.
CHECKS_LANGUAGE = "pii-checks-language-marker"


def join(
    app: MatchingApplication,
    attributes: Attributes,
    programme_id: str,
    role: str,
    tag: str,
    department: str = "",
    languages: tuple[str, ...] = (CHECKS_LANGUAGE,),
) -> str:
    """A member of the pool, as the enrolment and training subscriptions add one."""
    pid = str(uuid.uuid4())
    pool = app.programme(programme_id)
    pool.enrol(pid, role)
    if role == "mentor":
        pool.set_certified(pid, True)
    app.save(pool)
    attributes.rows[pid] = {
        "participant_id": pid,
        "role": role,
        "status": "enrolled",
        "employee_id": marker(f"employee_id-{tag}"),
        "manager_employee_id": "",
        "department": department or marker(f"department-{tag}"),
        "site": marker(f"site-{tag}"),
        "time_zone": "Europe/Paris",
        "birth_year": 1998 if role == "mentor" else 1970,
        "languages": list(languages),
        "skills_offered": ["generative-ai"] if role == "mentor" else [],
        "skill_levels": {},
        "learning_needs": [("generative-ai", 1)] if role == "mentee" else [],
        "availability": [(d, "09:00", "12:00") for d in (1, 2, 3)],
        "meeting_preference": "either",
    }
    return pid


def test_matching_programme_state_shows_no_personal_data(store: dict[str, str]) -> None:
    attributes = Attributes()
    app = MatchingApplication(env=store, attributes=attributes)
    try:
        pool = MatchingProgramme(programme_id=uuid.uuid4())
        pool.record_rules(
            {"min_age_gap_years": 10, "mentor_capacity": 1, "same_department_allowed": False}
        )
        app.save(pool)
        programme_id = str(pool.programme_id)
        for tag in ("m1", "m2"):
            join(app, attributes, programme_id, "mentor", tag)
        mentees = [join(app, attributes, programme_id, "mentee", tag) for tag in ("e1", "e2")]
        lonely = join(app, attributes, programme_id, "mentee", "e9", languages=("ja",))

        round_record = app.run_round(programme_id)
        proposals = {p["mentee_id"]: p for p in round_record.proposals}
        assert set(proposals) == set(mentees)
        markers = {
            "decline": marker("decline-reason"),
            "end": marker("end-reason"),
            "override": marker("override-justification"),
        }
        declined = proposals[mentees[0]]
        app.respond(declined["match_id"], mentees[0], False, markers["decline"])
        confirmed = proposals[mentees[1]]
        app.respond(confirmed["match_id"], mentees[1], True)
        app.respond(confirmed["match_id"], confirmed["mentor_id"], True)
        app.end_match(confirmed["match_id"], "dissolved", markers["end"])
        # a manual match over a failed constraint, with its justification
        shared = marker("shared-department")
        mentor = join(app, attributes, programme_id, "mentor", "m3", department=shared)
        mentee = join(app, attributes, programme_id, "mentee", "e3", department=shared)
        manual = app.propose_match(
            programme_id, mentee, mentor, ["same_department"], markers["override"]
        )

        records = [app.match(m) for m in (declined["match_id"], confirmed["match_id"])]
        records.append(manual)
        state, text = shown(app, programme_id)
    finally:
        app.close()

    assert list(state["rounds"]) == [str(round_record.id)]
    assert [u["mentee_id"] for u in state["rounds"][str(round_record.id)]["unmatched"]] == [lonely]
    statuses = {view["match_id"]: view["status"] for view in state["matches"].values()}
    assert statuses == {
        declined["match_id"]: "declined",
        confirmed["match_id"]: "dissolved",
        str(manual.id): "proposed",
    }
    # The sealed explanation: the marker placed in it and every sentence of it.
    explanations = {
        f"checks.{record.id}.{check['code']}": check["explanation"]
        for record in records
        for check in record.checks
    }
    assert any(CHECKS_LANGUAGE in sentence for sentence in explanations.values())
    markers |= explanations | {"checks.language": CHECKS_LANGUAGE}
    # The sealed breakdown is computed numbers: no marker can be put in it, so
    # neither its entries (here) nor its keys (below) may show.
    markers |= {
        f"breakdown.{record.id}": json.dumps(record.breakdown, sort_keys=True) for record in records
    }
    # Enrolment's attributes are fetched for a command and never stored.
    markers |= {
        f"attributes.{pid}.{key}": str(row[key])
        for pid, row in attributes.rows.items()
        for key in ("employee_id", "department", "site")
    }
    sealed = ("checks", "breakdown", "contribution", "explanation", "override_justification")
    reasons = ("reason", "decline_reason", "end_reason")
    assert_no_markers(text, markers, keys=sealed + reasons)


# -- scheduling -----------------------------------------------------------------------------------
class Clock:
    """An application clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def stamp(self) -> str:
        return stamp(self.now)


def test_scheduling_programme_state_shows_no_personal_data(store: dict[str, str]) -> None:
    clock = Clock(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    app = SchedulingApplication(env=store, clock=clock)
    try:
        programme = app.programme_of(uuid.uuid4())
        programme.record_facts("2027-01-11", "2027-06-30", 6)
        app.save(programme)
        programme_id = programme.programme_id
        mentee, mentor = str(uuid.uuid4()), str(uuid.uuid4())
        app.save(*app.open_mentorship(str(uuid.uuid4()), programme_id, mentee, mentor))
        [view] = app.mentorships(programme_id=str(programme_id))
        mentorship = view["mentorship_id"]

        markers = {
            "meeting_link": f"https://meet.example/{marker('meeting_link')}",
            "agenda.1": marker("agenda-1"),
            "location.2": marker("location-2"),
            "agenda.2": marker("agenda-2"),
            "location.3": marker("location-3"),
            "cancel": marker("cancel-reason"),
            "dispute": marker("dispute-reason"),
        }
        _, held = app.schedule_session(
            mentorship,
            "2027-02-10T10:00",
            "Europe/Paris",
            60,
            "virtual",
            meeting_link=markers["meeting_link"],
            agenda=markers["agenda.1"],
        )
        _, cancelled = app.schedule_session(
            mentorship,
            "2027-02-24T10:00",
            "Europe/Paris",
            60,
            "in_person",
            location=markers["location.2"],
            agenda=markers["agenda.2"],
        )
        _, ahead = app.schedule_session(
            mentorship,
            "2027-03-10T10:00",
            "Europe/Paris",
            90,
            "in_person",
            location=markers["location.3"],
        )
        app.cancel_session(mentorship, cancelled, markers["cancel"], mentor, "mentor")
        clock.now = datetime(2027, 2, 10, 10, 0, tzinfo=UTC)  # the first session has started
        app.record_attendance(mentorship, held, "held", mentee, "mentee")
        app.dispute_attendance(mentorship, held, markers["dispute"], mentor)

        state, text = shown(app, str(programme_id))
    finally:
        app.close()

    [(key, shown_mentorship)] = state["mentorships"].items()
    assert key == mentorship and shown_mentorship["mentee_id"] == mentee
    sessions = {s["session_id"]: s["status"] for s in shown_mentorship["sessions"]}
    assert sessions == {held: "disputed", cancelled: "cancelled", ahead: "scheduled"}
    personal = ("location", "meeting_link", "agenda", "reason", "cancel_reason", "dispute_reason")
    assert_no_markers(text, markers, keys=personal)


# -- feedback -------------------------------------------------------------------------------------
CATALOGUE = ["generative-ai", "social-media"]


def test_feedback_programme_state_shows_no_personal_data(store: dict[str, str]) -> None:
    clock = Clock(datetime(2027, 2, 1, 9, 0, tzinfo=UTC))
    app = FeedbackApplication(env=store, clock=clock)
    try:
        programme_id = uuid.uuid4()
        mentee, mentor = str(uuid.uuid4()), str(uuid.uuid4())
        match_id, mentorship_id = str(uuid.uuid4()), str(uuid.uuid4())
        # What the upstream events cause, as feedback's subscriptions apply them.
        app.save(*app.record_catalogue(programme_id, CATALOGUE))
        app.save(*app.record_enrolment(programme_id, mentee, "mentee", clock.stamp()))
        app.save(*app.record_enrolment(programme_id, mentor, "mentor", clock.stamp()))
        app.save(*app.record_certification(programme_id, mentor, clock.stamp()))
        members = {"mentee": mentee, "mentor": mentor}
        app.save(*app.request_surveys(programme_id, match_id, members, BASELINE))
        app.save(*app.open_pair(programme_id, mentorship_id, match_id, mentee, mentor))
        sessions = [str(uuid.uuid4()), str(uuid.uuid4())]
        pair = (mentorship_id, mentee, mentor)
        app.save(*app.request_feedback(programme_id, sessions[0], *pair, clock.stamp()))

        markers = {
            "practices.1": marker("practice-1"),
            "practices.2": marker("practice-2"),
            "note.mentee": marker("note-mentee"),
            "note.mentor": marker("note-mentor"),
            "practices.edited": marker("practice-edited"),
            "note.edited": marker("note-edited"),
            "note.second": marker("note-second-session"),
        }
        topics = ("generative-ai",)
        first = SessionAnswers(
            usefulness=4,
            topics=topics,
            practices=(markers["practices.1"], markers["practices.2"]),
            confidence=3,
            note=markers["note.mentee"],
        )
        app.submit_feedback(sessions[0], mentee, first)
        app.submit_feedback(
            sessions[0],
            mentor,
            SessionAnswers(usefulness=5, topics=topics, pedagogy=4, note=markers["note.mentor"]),
        )
        edited = SessionAnswers(
            usefulness=4,
            topics=topics,
            practices=(markers["practices.edited"],),
            confidence=3,
            note=markers["note.edited"],
        )
        app.submit_feedback(sessions[0], mentee, edited)  # the words may still change
        clock.now += timedelta(days=7)
        app.save(*app.request_feedback(programme_id, sessions[1], *pair, clock.stamp()))
        app.submit_feedback(
            sessions[1],
            mentee,
            SessionAnswers(usefulness=3, confidence=2, note=markers["note.second"]),
        )
        clock.now += timedelta(days=60)
        assert app.close_due_windows(clock()) == 2  # both windows pass their due time

        surveys = {
            side: [s["survey_id"] for s in app.surveys(pid, open_only=False)]
            for side, pid in members.items()
        }
        app.submit_survey(surveys["mentee"][0], SurveyAnswers(3, 8, dict.fromkeys(CATALOGUE, 2)))
        app.submit_survey(
            surveys["mentor"][0], SurveyAnswers(4, 9, coaching_confidence=4, pedagogy=3)
        )
        state, text = shown(app, str(programme_id))
    finally:
        app.close()

    assert set(state["participants"]) == {mentee, mentor}
    assert {s: v["answered"] for s, v in state["sessions"].items()} == {
        sessions[0]: ["mentee", "mentor"],
        sessions[1]: ["mentee"],
    }
    assert state["sessions"][sessions[1]]["missing"] == ["mentor"]
    assert {v["participant_id"] for v in state["surveys"].values()} == {mentee, mentor}
    assert all(v["completed_at"] for v in state["surveys"].values())
    assert list(state["pairs"]) == [mentorship_id]
    # no words, and no single rating or survey answer either (docs/security.md)
    personal = ("practices", "note", "ratings", "answers", "usefulness", "recommend")
    assert_no_markers(text, markers, keys=personal)
