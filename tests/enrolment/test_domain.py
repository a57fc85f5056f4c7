"""The aggregates on their own: programme lifecycle, participant rules, the uniqueness index."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

import pytest

from revmentor.enrolment.domain.participant import (
    ENROLLED,
    ERASED,
    PROFILE_PATHS,
    WITHDRAWN,
    EmployeeRegistration,
    Participant,
)
from revmentor.enrolment.domain.profile import (
    MENTEE,
    MENTOR,
    PERSONAL_FIELDS,
    Consent,
    Profile,
)
from revmentor.enrolment.domain.programme import (
    CLOSED,
    DRAFT,
    ENROLMENT_CLOSED,
    ENROLMENT_OPEN,
    LAUNCHED,
    STATUSES,
    Programme,
    ProgrammeRules,
)
from revmentor.kernel.errors import IllegalTransition

ACTIONS: dict[str, Callable[[Programme], None]] = {
    "open_enrolment": Programme.open_enrolment,
    "close_enrolment": Programme.close_enrolment,
    "launch": Programme.launch,
    "close": Programme.close,
}

#: (from status, action) -> (to status, event name); everything else is illegal.
ALLOWED = {
    (DRAFT, "open_enrolment"): (ENROLMENT_OPEN, "EnrolmentOpened"),
    (DRAFT, "close"): (CLOSED, "Closed"),
    (ENROLMENT_OPEN, "close_enrolment"): (ENROLMENT_CLOSED, "EnrolmentClosed"),
    (ENROLMENT_OPEN, "close"): (CLOSED, "Closed"),
    (ENROLMENT_CLOSED, "open_enrolment"): (ENROLMENT_OPEN, "EnrolmentOpened"),
    (ENROLMENT_CLOSED, "launch"): (LAUNCHED, "Launched"),
    (ENROLMENT_CLOSED, "close"): (CLOSED, "Closed"),
    (LAUNCHED, "close"): (CLOSED, "Closed"),
}

ILLEGAL = [pair for pair in itertools.product(STATUSES, ACTIONS) if pair not in ALLOWED]

#: The shortest way to reach each status from a new programme.
PATH_TO = {
    DRAFT: [],
    ENROLMENT_OPEN: ["open_enrolment"],
    ENROLMENT_CLOSED: ["open_enrolment", "close_enrolment"],
    LAUNCHED: ["open_enrolment", "close_enrolment", "launch"],
    CLOSED: ["close"],
}


def new_programme() -> Programme:
    return Programme(
        name="Pilot",
        description="",
        start_date="2025-01-01",
        end_date="2025-12-31",
        topics=[{"code": "generative-ai", "title": "GenAI"}, {"code": "low-code", "title": "LC"}],
        rules=ProgrammeRules(session_minutes=90).to_dict(),
    )


def programme_in(status: str) -> Programme:
    programme = new_programme()
    for action in PATH_TO[status]:
        ACTIONS[action](programme)
    programme.collect_events()  # as if saved
    assert programme.status == status
    return programme


def replay(events: list[Any]) -> Any:
    aggregate = None
    for e in events:
        aggregate = e.mutate(aggregate)
    return aggregate


# -- programme -------------------------------------------------------------------------------------
def test_new_programme_is_a_draft_at_version_1() -> None:
    programme = new_programme()
    assert programme.status == DRAFT
    assert programme.version == 1
    assert programme.topic_codes == ["generative-ai", "low-code"]
    assert programme.programme_rules == ProgrammeRules(session_minutes=90)
    assert [type(e).__name__ for e in programme.collect_events()] == ["Created"]


@pytest.mark.parametrize(("status", "action"), sorted(ALLOWED))
def test_allowed_transition(status: str, action: str) -> None:
    programme = programme_in(status)
    before = programme.version
    ACTIONS[action](programme)
    to_status, event_name = ALLOWED[(status, action)]
    assert programme.status == to_status
    assert programme.version == before + 1
    events = programme.collect_events()
    assert [type(e).__name__ for e in events] == [event_name]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_transition_is_refused_and_changes_nothing(status: str, action: str) -> None:
    programme = programme_in(status)
    before = programme.version
    with pytest.raises(IllegalTransition, match=f"programme is {status}"):
        ACTIONS[action](programme)
    assert programme.status == status
    assert programme.version == before
    assert programme.collect_events() == []


def test_the_matrix_covers_twelve_illegal_transitions() -> None:
    assert len(ALLOWED) == 8 and len(ILLEGAL) == 12
    assert all(action == "close" or status != CLOSED for status, action in ALLOWED)


@pytest.mark.parametrize("status", STATUSES)
def test_only_an_open_programme_accepts_enrolments(status: str) -> None:
    programme = programme_in(status)
    assert programme.accepts_enrolments is (status == ENROLMENT_OPEN)
    if status == ENROLMENT_OPEN:
        programme.require_enrolment_open()
    else:
        with pytest.raises(IllegalTransition, match="enrolment must be open"):
            programme.require_enrolment_open()


def test_enrolment_can_reopen_and_the_history_replays() -> None:
    programme = new_programme()
    events = list(programme.collect_events())
    for action in ["open_enrolment", "close_enrolment", "open_enrolment", "close_enrolment"]:
        ACTIONS[action](programme)
    programme.launch()
    programme.close()
    events += programme.collect_events()
    assert programme.version == 7
    copy = replay(events)
    assert isinstance(copy, Programme)
    assert (copy.status, copy.version, copy.topics) == (CLOSED, 7, programme.topics)


# -- participant -----------------------------------------------------------------------------------
@pytest.fixture
def participant(build: SimpleNamespace) -> Participant:
    p = Participant(
        programme_id=uuid4(),
        employee_id="E-1",
        role=MENTOR,
        profile=build.profile(MENTOR).to_dict(),
        consent=Consent(True, "2025-01", "2025-01-02T03:04:05+00:00").to_dict(),
    )
    p.collect_events()
    return p


def test_new_participant_is_enrolled(participant: Participant, build: SimpleNamespace) -> None:
    assert participant.status == ENROLLED
    assert participant.version == 1
    assert participant.profile == build.profile(MENTOR)
    assert participant.consent == Consent(True, "2025-01", "2025-01-02T03:04:05+00:00")
    assert (participant.withdrawal_reason, participant.withdrawal_note) == ("", "")


def test_profile_round_trips_through_its_dict(build: SimpleNamespace) -> None:
    for role in (MENTOR, MENTEE):
        original = build.profile(role)
        assert Profile.from_dict(original.to_dict()) == original


def test_skill_levels_round_trip_in_one_canonical_order(build: SimpleNamespace) -> None:
    skills = ("social-media", "generative-ai")
    levelled = build.profile(
        MENTOR, skills_offered=skills, skill_levels=(("social-media", 1), ("generative-ai", 3))
    )
    assert levelled.skill_levels == (("generative-ai", 3), ("social-media", 1))
    same = build.profile(
        MENTOR, skills_offered=skills, skill_levels=(("generative-ai", 3), ("social-media", 1))
    )
    assert levelled == same and hash(levelled) == hash(same)
    data = levelled.to_dict()
    assert data["skill_levels"] == {"generative-ai": 3, "social-media": 1}
    assert Profile.from_dict(data) == levelled


def test_a_profile_recorded_before_skill_levels_reads_as_unlevelled(
    build: SimpleNamespace,
) -> None:
    data = build.profile(MENTOR).to_dict()
    del data["skill_levels"]
    assert Profile.from_dict(data).skill_levels == ()


def test_a_new_skill_level_is_a_profile_change(
    participant: Participant, build: SimpleNamespace
) -> None:
    new = build.profile(MENTOR, skill_levels=(("generative-ai", 3),))
    assert participant.update_profile(new) == ["skill_levels"]
    assert participant.profile.levels() == {"generative-ai": 3}
    (event,) = participant.collect_events()
    assert event.profile["skill_levels"] == {"generative-ai": 3}


def test_skill_levels_are_business_facts_not_personal_data() -> None:
    assert "skill_levels" not in PERSONAL_FIELDS  # like skills_offered: in clear
    assert "profile.skill_levels" not in PROFILE_PATHS


def test_update_profile_records_the_changed_fields(
    participant: Participant, build: SimpleNamespace
) -> None:
    new = build.profile(MENTOR, site="Lyon", languages=("en",), meeting_preference="either")
    changed = participant.update_profile(new)
    assert changed == ["languages", "meeting_preference", "site"]
    assert participant.profile == new
    assert participant.version == 2
    (event,) = participant.collect_events()
    assert type(event).__name__ == "ProfileUpdated"
    assert event.changed_fields == changed
    assert event.programme_id == participant.programme_id
    assert event.profile == new.to_dict()


def test_update_with_the_same_profile_records_nothing(
    participant: Participant, build: SimpleNamespace
) -> None:
    assert participant.update_profile(build.profile(MENTOR)) == []
    assert participant.version == 1
    assert participant.collect_events() == []


def test_withdraw_records_reason_and_note(participant: Participant) -> None:
    participant.withdraw("workload", "too many projects")
    assert participant.status == WITHDRAWN
    assert (participant.withdrawal_reason, participant.withdrawal_note) == (
        "workload",
        "too many projects",
    )
    (event,) = participant.collect_events()
    assert type(event).__name__ == "Withdrawn"
    assert event.programme_id == participant.programme_id


def test_a_withdrawn_participant_can_neither_update_nor_withdraw_again(
    participant: Participant, build: SimpleNamespace
) -> None:
    participant.withdraw("personal", "")
    participant.collect_events()
    with pytest.raises(IllegalTransition, match="withdrawn"):
        participant.update_profile(build.profile(MENTOR, site="Lyon"))
    with pytest.raises(IllegalTransition, match="withdrawn"):
        participant.withdraw("other", "again")
    assert participant.collect_events() == []
    assert participant.version == 2
    assert participant.profile.site == "Paris"
    assert participant.withdrawal_reason == "personal"


def test_participant_history_replays(participant: Participant, build: SimpleNamespace) -> None:
    fresh = Participant(
        programme_id=participant.programme_id,
        employee_id="E-2",
        role=MENTEE,
        profile=build.profile(MENTEE).to_dict(),
        consent=Consent(True, "2025-01").to_dict(),
    )
    fresh.update_profile(build.profile(MENTEE, department="Sales"))
    fresh.withdraw("left_company", "")
    copy = replay(fresh.collect_events())
    assert isinstance(copy, Participant)
    assert (copy.status, copy.version, copy.profile.department) == (WITHDRAWN, 3, "Sales")


# -- employee registration index -------------------------------------------------------------------
INDEX_KEY = b"k" * 32


def test_registration_id_is_deterministic_per_programme_and_employee() -> None:
    programme = uuid4()
    assert EmployeeRegistration.id_for(INDEX_KEY, programme, "E-1") == (
        EmployeeRegistration.id_for(INDEX_KEY, UUID(str(programme)), "E-1")
    )
    assert isinstance(EmployeeRegistration.id_for(INDEX_KEY, programme, "E-1"), UUID)


def test_registration_ids_differ_across_programmes_employees_and_generations() -> None:
    programmes = [uuid4() for _ in range(5)]
    employees = ["E-1", "E-2", "e-1", "E-10", "E-1 "]
    ids = {
        EmployeeRegistration.id_for(INDEX_KEY, p, e, g)
        for p in programmes
        for e in employees
        for g in (0, 1)
    }
    assert len(ids) == len(programmes) * len(employees) * 2


def test_registration_id_needs_the_index_key() -> None:
    """Without the secret key the id cannot be brute-forced from employee numbers."""
    programme = uuid4()
    assert EmployeeRegistration.id_for(INDEX_KEY, programme, "E-1") != (
        EmployeeRegistration.id_for(b"x" * 32, programme, "E-1")
    )


def test_registration_does_not_reveal_the_employee_id() -> None:
    programme = uuid4()
    registration = EmployeeRegistration.register(
        INDEX_KEY, programme, "E-12345", participant_id=uuid4()
    )
    (event,) = registration.collect_events()
    assert "E-12345" not in repr(vars(event))


def test_register_uses_the_derived_id() -> None:
    programme, participant_id = uuid4(), uuid4()
    registration = EmployeeRegistration.register(INDEX_KEY, programme, "E-7", participant_id)
    assert registration.id == EmployeeRegistration.id_for(INDEX_KEY, programme, "E-7")
    assert registration.participant_id == participant_id
    assert registration.version == 1


def test_a_released_registration_frees_the_employee() -> None:
    registration = EmployeeRegistration.register(INDEX_KEY, uuid4(), "E-7", uuid4())
    registration.release()
    assert (registration.released, registration.participant_id) == (True, None)


def test_erase_wipes_personal_values_and_keeps_the_facts(
    participant: Participant, build: SimpleNamespace
) -> None:
    participant.update_profile(build.profile(MENTOR, skill_levels=(("generative-ai", 3),)))
    participant.erase("GDPR request 42")
    assert participant.status == ERASED
    assert participant.employee_id == ""
    assert participant.profile.display_name == ""
    assert participant.profile.skills_offered == ("generative-ai",)
    assert participant.profile.levels() == {"generative-ai": 3}
    assert participant.consent.given is False
    assert participant.erasure_reason == "GDPR request 42"
    with pytest.raises(IllegalTransition, match="already erased"):
        participant.erase("again")
    with pytest.raises(IllegalTransition, match="erased"):
        participant.withdraw("other", "")
